// Metering of SQS sends and `@connections` pushes on this JavaScript realm's product clients, in the
// units AWS bills them: one SQS request per 64 KB of payload, one WebSocket message per 32 KB. Used
// inside the function threads (thread-probe.ts) and in the benchmark's own thread (cost-meter.ts).
import { connectionsClient } from '#shared/clients/connections.js';
import { sqsClient } from '#shared/clients/sqs.js';
import type { ThreadReport } from './thread-reports.js';

const KB = 1024;
/** Billing units of `bytes` in units of `size` (at least one). */
export const chunks = (bytes: number, size: number) => Math.max(1, Math.ceil(bytes / size));

type UsageReport = Extract<ThreadReport, { kind: 'sqs' | 'push' }>;

/**
 * Adds middlewares to this realm's SQS client and, when `pushes` is set (the client needs the callback
 * URL), its `@connections` client, calling `report` for every request.
 */
export function meterSendsAndPushes(report: (r: UsageReport) => void, pushes = true): void {
  sqsClient().middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as {
        QueueUrl?: string;
        MessageBody?: string;
        Entries?: Array<{ MessageBody?: string }>;
      };
      const body = input.MessageBody ?? (input.Entries ?? []).map((e) => e.MessageBody ?? '').join('');
      report({
        kind: 'sqs',
        fifo: (input.QueueUrl ?? '').endsWith('.fifo'),
        chunks: chunks(Buffer.byteLength(body), 64 * KB),
      });
      return next(args);
    },
    { step: 'initialize', name: 'benchSqs', override: true },
  );
  if (!pushes) return;
  connectionsClient().middlewareStack.add(
    (next, context) => async (args) => {
      if (String(context.commandName) === 'PostToConnectionCommand') {
        const data = (args.input as { Data?: Uint8Array | string }).Data ?? '';
        const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        report({ kind: 'push', chunks: chunks(bytes, 32 * KB) });
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchConnections', override: true },
  );
}
