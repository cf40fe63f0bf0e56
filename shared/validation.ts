import type { z } from 'zod';
import { InvalidRequestError } from './errors.js';

/** Validates input against a schema; the 400 message names the first offending field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : where;
  const message = issue ? `${field}: ${issue.message}` : `${where} is invalid`;
  throw new InvalidRequestError(message, { field });
}
