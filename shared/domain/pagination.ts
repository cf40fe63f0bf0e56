import { InvalidRequestError } from '../errors.js';
import type { PageQuery } from '../protocol/requests.js';

/** One page of a list and the opaque cursor of the next one (`null` on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A sort key: strings compared in order, each ascending or descending. */
export interface SortOrder<T> {
  readonly key: (item: T) => readonly string[];
  readonly descending: readonly boolean[];
}

function compareKeys(a: readonly string[], b: readonly string[], descending: readonly boolean[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = (a[i] as string).localeCompare(b[i] as string);
    if (c !== 0) return descending[i] ? -c : c;
  }
  return 0;
}

function decodeCursor(cursor: string, length: number): string[] {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === length && key.every((k) => typeof k === 'string')) return key;
  } catch {
    // falls through to the 400
  }
  throw new InvalidRequestError('cursor: not a cursor this list gave out', { field: 'cursor' });
}

/**
 * Sorts items by a unique key and returns the page after the cursor. The cursor is the last item's key
 * (base64url JSON), so a page boundary stays put when items are added or removed elsewhere in the list.
 */
export function paginate<T>(items: readonly T[], order: SortOrder<T>, query: PageQuery): Page<T> {
  const sorted = [...items].sort((a, b) => compareKeys(order.key(a), order.key(b), order.descending));
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, order.descending.length);
  const start = after
    ? sorted.findIndex((item) => compareKeys(order.key(item), after, order.descending) > 0)
    : 0;
  const rest = start < 0 ? [] : sorted.slice(start);
  const page = rest.slice(0, query.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rest.length > query.limit && last !== undefined
      ? Buffer.from(JSON.stringify(order.key(last))).toString('base64url')
      : null;
  return { items: page, nextCursor };
}
