import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DocClient } from '../clients/dynamodb.js';

/** Every item of a table, strongly consistent; for checkers and operations, never for request paths. */
export async function scanTable<T = Record<string, unknown>>(
  client: DocClient,
  tableName: string,
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every page of a query, strongly consistent unless `consistent: false`. */
export async function queryAll<T>(
  client: DocClient,
  input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'ConsistentRead' | 'ExclusiveStartKey'>,
  options: { consistent?: boolean } = {},
): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({ ...input, ConsistentRead: options.consistent ?? true, ExclusiveStartKey: start }),
    );
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export interface ScanOptions {
  /** Parallel scan segments (DynamoDB's Segment/TotalSegments). */
  readonly segments: number;
  /** Items per page. */
  readonly pageSize: number;
  /** No new page is started once this time (epoch ms) has passed. */
  readonly deadline?: number;
}

/**
 * Scans a table strongly consistently in parallel segments, handing each page to `onPage` (pages of a
 * segment one after another, segments concurrently); memory stays bounded by segments x page size.
 * Resolves `true` when every segment reached its end, `false` when the deadline stopped it.
 */
export async function scanPages(
  client: DocClient,
  tableName: string,
  options: ScanOptions,
  onPage: (items: Record<string, unknown>[]) => Promise<void>,
): Promise<boolean> {
  let complete = true;
  await Promise.all(
    Array.from({ length: options.segments }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        if (options.deadline !== undefined && Date.now() > options.deadline) {
          complete = false;
          return;
        }
        const page = await client.send(
          new ScanCommand({
            TableName: tableName,
            ConsistentRead: true,
            Segment: segment,
            TotalSegments: options.segments,
            Limit: options.pageSize,
            ExclusiveStartKey: start,
          }),
        );
        if (page.Items?.length) await onPage(page.Items);
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
  return complete;
}

/** One page of one scan segment. */
export interface ScanPage {
  items: Record<string, unknown>[];
  /** Where the segment goes on; undefined at its end. */
  next: Record<string, unknown> | undefined;
}

/**
 * Reads one page of one segment of a parallel scan, eventually consistent (half the cost): for
 * reconcilers that budget their reads page by page and tolerate an item older than its document.
 */
export async function scanSegmentPage(
  client: DocClient,
  tableName: string,
  page: { segment: number; totalSegments: number; limit: number; start?: Record<string, unknown> },
): Promise<ScanPage> {
  const res = await client.send(
    new ScanCommand({
      TableName: tableName,
      Segment: page.segment,
      TotalSegments: page.totalSegments,
      Limit: page.limit,
      ExclusiveStartKey: page.start,
    }),
  );
  return { items: res.Items ?? [], next: res.LastEvaluatedKey };
}
