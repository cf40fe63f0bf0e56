// Counts what an in-process local runtime consumes, the way AWS would meter it, from the outside: SDK
// middleware on the handlers' clients, an observer of every Lambda invocation, the Step Functions
// executions' event logs, the HTTP servers' and clients' diagnostics channels, and the bytes the
// functions write to stdout/stderr (what CloudWatch Logs would ingest).
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { observeInvocations } from '#local/lambdas.js';
import type { LocalRuntime } from '#local/runtime.js';
import type { ApiTopology } from '#local/topology.js';
import { ddb } from '#shared/clients/dynamodb.js';
import { sfnClient } from '#shared/clients/sfn.js';
import { CapacityMeter } from './capacity.js';
import { emptyUsage, type Usage } from './cost-model.js';
import { onThreadReport, type ThreadReport } from './thread-reports.js';
import { chunks, meterSendsAndPushes } from './usage-middleware.js';

const KB = 1024;

/**
 * Share of invocations X-Ray records under Lambda's default sampling rule (the first request each second,
 * then 5%): at millions of requests the reservoir is small, so 5% is used per unit of work.
 */
export const XRAY_SAMPLED_SHARE = 0.05;

/**
 * CloudWatch Logs bytes Lambda itself writes per invocation in the text log format: a START, END and
 * REPORT line, and the XRAY line of an actively traced function. Measured from a sample of each line.
 */
export const PLATFORM_LOG_BYTES = Buffer.byteLength(
  [
    'START RequestId: 0b6a0c4e-3f7a-4c41-9f1d-2f8f5b0c9a11 Version: $LATEST',
    'END RequestId: 0b6a0c4e-3f7a-4c41-9f1d-2f8f5b0c9a11',
    'REPORT RequestId: 0b6a0c4e-3f7a-4c41-9f1d-2f8f5b0c9a11\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 98 MB\t',
    'XRAY TraceId: 1-6745a1b2-0123456789abcdef01234567\tSegmentId: 0123456789abcdef\tSampled: true\t',
  ].join('\n'),
);

/** Bytes of one access-log line of a stage's format: each `$context.x` taken as 16 characters. */
export function accessLogLineBytes(format: string | undefined): number {
  if (!format) return 0;
  return Buffer.byteLength(format.replace(/\$context\.[A-Za-z0-9_.]+/g, 'x'.repeat(16)));
}

export interface MeterOptions {
  readonly runtime: LocalRuntime;
  /** The WebSocket API's routes: a two-way route's response is one more message. */
  readonly ws: ApiTopology;
  /** Access-log bytes per request of each API stage (from the template's formats). */
  readonly httpAccessLogBytes: number;
  readonly wsAccessLogBytes: number;
}

interface Counts {
  usage: Usage;
  invocationsByFunction: Map<string, { invocations: number; gbSeconds: number }>;
  failedInvocations: number;
  appLogBytes: number;
  connectionMinutes: number;
  searchBulkRequests: number;
}

/** Meters a running local runtime; `reset` between scenarios, `snapshot` after one. */
export class CostMeter {
  private counts = fresh();
  /** Open connections by id and when they opened (kept across resets). */
  private readonly connectedAt = new Map<string, number>();
  private lastInvocationAt = 0;
  private readonly capacity = new CapacityMeter();
  private readonly writes: Array<(chunk: unknown, ...rest: unknown[]) => boolean> = [];

  constructor(options: MeterOptions) {
    const { runtime } = options;
    this.capacity.install(ddb);
    this.capacity.listenToFunctions();
    // What the functions' threads send and push (thread-probe.ts), and this thread's own product clients.
    const count = (r: ThreadReport) => {
      if (r.kind === 'sqs') {
        if (r.fifo) this.counts.usage.sqsFifoRequests += r.chunks;
        else this.counts.usage.sqsStandardRequests += r.chunks;
      } else if (r.kind === 'push') this.counts.usage.webSocketMessages += r.chunks;
    };
    onThreadReport(count);
    meterSendsAndPushes(count);
    const twoWay = new Set(options.ws.routes.filter((r) => r.returnResponse).map((r) => r.routeKey));

    // Step Functions: every state entered (and every retry) is a transition.
    runtime.executions.observeEvents = (_machine, event) => {
      if (event.type === 'StateEntered' || event.type === 'StateRetried')
        this.counts.usage.stateTransitions++;
    };
    void sfnClient();

    observeInvocations((fn, event, result, ms, _failed) => {
      this.lastInvocationAt = Date.now();
      const c = this.counts;
      const gbSeconds = (Math.ceil(ms) / 1000) * (fn.memoryMb / 1024);
      c.usage.lambdaInvocations++;
      c.usage.lambdaGbSeconds += gbSeconds;
      c.usage.traces += XRAY_SAMPLED_SHARE;
      c.usage.logBytes += PLATFORM_LOG_BYTES;
      const byFn = c.invocationsByFunction.get(fn.logicalId) ?? { invocations: 0, gbSeconds: 0 };
      byFn.invocations++;
      byFn.gbSeconds += gbSeconds;
      c.invocationsByFunction.set(fn.logicalId, byFn);
      if (_failed) c.failedInvocations++;
      const e = event as {
        Records?: Array<{ eventSource?: string; eventSourceARN?: string; body?: string }>;
        requestContext?: { eventType?: string; routeKey?: string; connectionId?: string };
        body?: string;
        type?: string;
      };
      const records = e.Records ?? [];
      if (records[0]?.eventSource === 'aws:dynamodb') c.usage.streamRecords += records.length;
      if (records[0]?.eventSource === 'aws:sqs') {
        // The mapping's poller: one ReceiveMessage that returned the batch, one DeleteMessageBatch.
        const bytes = records.reduce((n, r) => n + Buffer.byteLength(r.body ?? ''), 0);
        const n = 2 * chunks(bytes, 64 * KB);
        if (records[0].eventSourceARN?.endsWith('.fifo')) c.usage.sqsFifoRequests += n;
        else c.usage.sqsStandardRequests += n;
      }
      const ctx = e.requestContext;
      if (ctx?.eventType && e.type !== 'REQUEST') {
        // A WebSocket event (not its authorizer): a frame in, and its response out on a two-way route.
        c.usage.logBytes += options.wsAccessLogBytes;
        if (ctx.eventType === 'MESSAGE') {
          c.usage.webSocketMessages += chunks(Buffer.byteLength(e.body ?? ''), 32 * KB);
          const out = typeof result === 'string' ? result : (result as { body?: unknown } | undefined)?.body;
          if (twoWay.has(ctx.routeKey ?? '') && typeof out === 'string') {
            c.usage.webSocketMessages += chunks(Buffer.byteLength(out), 32 * KB);
          }
        }
        if (ctx.eventType === 'CONNECT' && ctx.connectionId)
          this.connectedAt.set(ctx.connectionId, Date.now());
        if (ctx.eventType === 'DISCONNECT' && ctx.connectionId) {
          const at = this.connectedAt.get(ctx.connectionId);
          if (at !== undefined) c.connectionMinutes += Math.max(1, Math.ceil((Date.now() - at) / 60_000));
          this.connectedAt.delete(ctx.connectionId);
        }
      }
    });

    // HTTP API requests: every request the HTTP front serves, in 512 KB increments of its body.
    const httpPort = Number(new URL(runtime.httpUrl).port);
    subscribe('http.server.request.start', (message) => {
      const { request } = message as { request: IncomingMessage };
      if (request.socket.localPort !== httpPort) return;
      const length = Number(request.headers['content-length'] ?? 0);
      this.counts.usage.httpRequests += chunks(length, 512 * KB);
      this.counts.usage.logBytes += options.httpAccessLogBytes;
    });
    // Requests to the search domain.
    const search = new URL(runtime.searchEndpoint);
    subscribe('http.client.request.start', (message) => {
      const { request } = message as { request: ClientRequest };
      const host = request.getHeader('host');
      if (String(host) !== search.host) return;
      this.counts.usage.searchRequests++;
      if (request.path.includes('_bulk')) this.counts.searchBulkRequests++;
    });

    // What the functions print is what CloudWatch Logs ingests: counted, and kept off the console
    // (stdout: the INFO lines and metrics) unless it is an error (stderr). The command prints with `print`.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      this.writes.push(write);
      const quiet = stream === process.stdout;
      (stream as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
        const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
        this.counts.appLogBytes += bytes;
        this.counts.usage.logBytes += bytes;
        if (!quiet) return write(chunk, ...rest);
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      };
    }
  }

  /** Writes to the real stdout without being counted as function output. */
  print(line = ''): void {
    this.writes[0]?.(`${line}\n`);
  }

  /** Resolves once no invocation has ended for `quietMs` (e.g. `$disconnect`s after sockets closed). */
  async quiet(quietMs = 1_000, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() - this.lastInvocationAt < quietMs && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  reset(): void {
    this.counts = fresh();
    this.capacity.reset();
  }

  /** Usage since the last reset, with DynamoDB units by AWS's rules and what the engine reported. */
  snapshot() {
    const c = this.counts;
    let wru = 0;
    let rru = 0;
    let reportedWru = 0;
    let reportedRru = 0;
    let dynamoCalls = 0;
    for (const t of this.capacity.snapshot().values()) {
      dynamoCalls += t.calls;
      if (t.kind === 'write') {
        wru += t.estimated;
        reportedWru += t.reported;
      } else {
        rru += t.estimated;
        reportedRru += t.reported;
      }
    }
    return {
      usage: { ...c.usage, writeRequestUnits: wru, readRequestUnits: rru },
      reported: { writeRequestUnits: reportedWru, readRequestUnits: reportedRru },
      dynamoCalls,
      // Copies, not the live counters: the next scenario's set-up runs before the next reset.
      byFunction: new Map([...c.invocationsByFunction].map(([id, f]) => [id, { ...f }])),
      failedInvocations: c.failedInvocations,
      appLogBytes: c.appLogBytes,
      connectionMinutes: c.connectionMinutes,
      searchBulkRequests: c.searchBulkRequests,
    };
  }
}

function fresh(): Counts {
  return {
    usage: emptyUsage(),
    invocationsByFunction: new Map(),
    failedInvocations: 0,
    appLogBytes: 0,
    connectionMinutes: 0,
    searchBulkRequests: 0,
  };
}
