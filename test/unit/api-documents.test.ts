import { readFile } from 'node:fs/promises';
import { Parser } from '@asyncapi/parser';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { httpRoutes, wsRoutes } from '#infra/routes.js';
import * as errors from '#shared/errors.js';
import { asyncApiDocument } from '#shared/protocol/asyncapi.js';
import { errorCodes } from '#shared/protocol/objects.js';
import { httpOperations, openApiDocument } from '#shared/protocol/openapi.js';

const committed = async (name: string) =>
  JSON.parse(await readFile(new URL(`../../docs/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

describe('published API documents', () => {
  it('docs/openapi.json and docs/asyncapi.json are what the zod schemas generate (run npm run docs:api)', async () => {
    expect(await committed('openapi.json')).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(await committed('asyncapi.json')).toEqual(JSON.parse(JSON.stringify(asyncApiDocument())));
  });

  it('documents every HTTP route of the CDK app, and nothing else', () => {
    const routes = httpRoutes.map((r) => r.route).filter((r) => r !== '$default');
    expect(Object.keys(httpOperations).sort()).toEqual(routes.sort());
    const doc = openApiDocument() as unknown as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    for (const spec of httpRoutes.filter((r) => r.route !== '$default')) {
      const [method, path] = spec.route.split(' ') as [string, string];
      const op = doc.paths[path]?.[method.toLowerCase()];
      expect(op, spec.route).toBeDefined();
      // Public routes, and only those, need no token.
      expect(op?.security?.length === 0, spec.route).toBe(spec.public === true);
    }
  });

  it('documents every WebSocket action of the CDK app, and nothing else', () => {
    const actions = wsRoutes.map((r) => r.routeKey).filter((k) => !k.startsWith('$'));
    const doc = asyncApiDocument() as { operations: Record<string, { action: string }> };
    const sent = Object.entries(doc.operations)
      .filter(([, op]) => op.action === 'send')
      .map(([name]) => name);
    expect(sent.sort()).toEqual(actions.sort());
  });

  it('lists every error code the code base can report', () => {
    const reported = [
      new errors.InvalidRequestError('x'),
      new errors.UnauthorizedError(),
      new errors.InvalidCredentialsError(),
      new errors.ForbiddenError(),
      new errors.ForbiddenError('x', 'not_a_member'),
      new errors.ForbiddenError('x', 'not_friends'),
      new errors.NotFoundError(),
      new errors.PayloadTooLargeError(),
      new errors.UnsupportedMediaTypeError('text/plain'),
      new errors.RequestTimeoutError(),
      // The HTTP front answers this one itself, before any handler (no class of its own).
      new errors.AppError('headers_too_large', 431, 'x'),
      new errors.ThrottledError(1),
      new errors.UnavailableError(),
      errors.toAppError(new Error('boom')),
      ...(
        [
          'username_taken',
          'already_friends',
          'request_pending',
          'version_conflict',
          'idempotency_key_reused',
        ] as const
      ).map((code) => new errors.ConflictError(code, 'x')),
    ];
    for (const err of reported)
      expect(errorCodes[err.code as keyof typeof errorCodes], err.code).toBe(err.status);
    expect(new Set(reported.map((e) => e.code)).size).toBe(Object.keys(errorCodes).length);
  });

  it('the OpenAPI document is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument() as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('the AsyncAPI document is valid AsyncAPI 3 (no errors or warnings from the AsyncAPI parser)', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApiDocument()));
    // Spectral severities: 0 error, 1 warning, 2 information, 3 hint.
    const problems = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.code} ${d.message} at ${d.path.join('.')}`);
    expect(problems).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(document?.operations().length).toBeGreaterThan(10);
  });
});
