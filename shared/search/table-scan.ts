import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DocClient } from '../clients/dynamodb.js';

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
