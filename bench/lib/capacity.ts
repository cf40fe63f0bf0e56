import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import type { DocClient } from '#shared/clients/dynamodb.js';
import { onThreadReport } from './thread-reports.js';

/** Data-plane operations that accept `ReturnConsumedCapacity`; others are passed through untouched. */
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

export interface OpTotals {
  calls: number;
  failed: number;
  /** Calls whose response carried ConsumedCapacity. */
  reportedCalls: number;
  /** Sum of the CapacityUnits DynamoDB (Local) reported. */
  reported: number;
  /** The same from item sizes and the published pricing rules (see `estimate`). */
  estimated: number;
  /** Reported units per table (TransactWriteItems and BatchGetItem report one entry per table). */
  reportedByTable: Map<string, number>;
  estimatedByTable: Map<string, number>;
  kind: 'read' | 'write';
}

interface ConsumedCapacity {
  TableName?: string;
  CapacityUnits?: number;
}

/** Calls made outside any HTTP request handled in this process (stream pollers, sagas, ...). */
export const NO_REQUEST = '(no HTTP request)';

// Which HTTP request of this process's servers (the local fronts) a DynamoDB call serves: the request's
// handler, and everything it awaits, runs in the async context entered when the request starts.
const currentRequest = new AsyncLocalStorage<string>();
let tracking = false;
function trackRequests(): void {
  if (tracking) return;
  tracking = true;
  subscribe('http.server.request.start', (message) => {
    const { request } = message as { request: IncomingMessage };
    currentRequest.enterWith(`${request.method} ${(request.url ?? '').split('?')[0]}`);
  });
}

/** One DynamoDB call's capacity: what the engine reported (per table) and the estimate from sizes. */
export interface CapacityRecord {
  readonly op: string;
  readonly kind: 'read' | 'write';
  /** A cancelled transaction or failed condition reports no capacity (it does consume some on AWS). */
  readonly failed: boolean;
  /** Undefined when the response carried no ConsumedCapacity. */
  readonly reported?: Array<[string, number]>;
  readonly estimated: Array<[string, number]>;
}

// The document client's initialize-step middleware type (the stack's `add` is overloaded by step).
type Middleware = InitializeMiddleware<ServiceInputTypes, ServiceOutputTypes>;

/**
 * A middleware that asks for `ReturnConsumedCapacity: TOTAL` on data-plane calls and hands each call's
 * capacity to `onRecord` (an object for single-item calls, an array for transactions and batches).
 */
export function capacityMiddleware(onRecord: (record: CapacityRecord) => void): Middleware {
  return ((
    next: (args: { input: unknown }) => Promise<{ output: unknown }>,
    context: { commandName?: string },
  ) =>
    async (args: { input: unknown }) => {
      const op = String(context.commandName ?? '').replace(/Command$/, '');
      const kind = READS.has(op) ? 'read' : WRITES.has(op) ? 'write' : undefined;
      if (!kind) return next(args);
      const input = { ...(args.input as Record<string, unknown>), ReturnConsumedCapacity: 'TOTAL' };
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next({ ...args, input });
      } catch (err) {
        onRecord({ op, kind, failed: true, estimated: [] });
        throw err;
      }
      const output = result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] } & Record<
        string,
        unknown
      >;
      const consumed = output.ConsumedCapacity;
      onRecord({
        op,
        kind,
        failed: false,
        reported:
          consumed === undefined
            ? undefined
            : (Array.isArray(consumed) ? consumed : [consumed]).map((c) => [
                c.TableName ?? '?',
                c.CapacityUnits ?? 0,
              ]),
        estimated: estimate(op, input, output),
      });
      return result;
    }) as unknown as Middleware;
}

/**
 * Sums consumed capacity per DynamoDB operation for every call made through a document client: a
 * middleware asks for `ReturnConsumedCapacity: TOTAL` and adds up what comes back (an object for
 * single-item calls, an array for transactions and batches). Calls are also kept apart by the HTTP
 * request they serve (`snapshot(route => ...)`). Install it once; `reset` between phases.
 */
export class CapacityMeter {
  /** route ("POST /friend-requests/x/accept" or NO_REQUEST) -> operation -> totals */
  private byRoute = new Map<string, Map<string, OpTotals>>();

  /** Meters the calls made through `client` in this process, by the HTTP request they serve. */
  install(client: DocClient): void {
    trackRequests();
    client.middlewareStack.add(
      capacityMiddleware((record) => this.add(currentRequest.getStore() ?? NO_REQUEST, record)),
      { step: 'initialize', name: 'benchConsumedCapacity', override: true },
    );
  }

  /**
   * Also meters the calls of the local functions' threads (each has its own client), which report them
   * through `thread-probe.ts`, by the HTTP route of the invocation they serve.
   */
  listenToFunctions(): void {
    onThreadReport((r) => {
      if (r.kind === 'capacity') this.add(r.route ?? NO_REQUEST, r.record);
    });
  }

  private add(route: string, r: CapacityRecord): void {
    const totals = this.totals(route, r.op, r.kind);
    totals.calls++;
    if (r.failed) {
      totals.failed++;
      return;
    }
    if (r.reported) {
      totals.reportedCalls++;
      for (const [table, units] of r.reported) {
        totals.reported += units;
        totals.reportedByTable.set(table, (totals.reportedByTable.get(table) ?? 0) + units);
      }
    }
    for (const [table, units] of r.estimated) {
      totals.estimated += units;
      totals.estimatedByTable.set(table, (totals.estimatedByTable.get(table) ?? 0) + units);
    }
  }

  reset(): void {
    this.byRoute = new Map();
  }

  /** Totals per operation over the calls of the routes `include` accepts (all calls by default). */
  snapshot(include: (route: string) => boolean = () => true): Map<string, OpTotals> {
    const merged = new Map<string, OpTotals>();
    for (const [route, ops] of this.byRoute) {
      if (!include(route)) continue;
      for (const [op, t] of ops) {
        const m = merged.get(op) ?? emptyTotals(t.kind);
        m.calls += t.calls;
        m.failed += t.failed;
        m.reportedCalls += t.reportedCalls;
        m.reported += t.reported;
        m.estimated += t.estimated;
        for (const [table, u] of t.reportedByTable)
          m.reportedByTable.set(table, (m.reportedByTable.get(table) ?? 0) + u);
        for (const [table, u] of t.estimatedByTable) {
          m.estimatedByTable.set(table, (m.estimatedByTable.get(table) ?? 0) + u);
        }
        merged.set(op, m);
      }
    }
    return merged;
  }

  /** The routes seen since the last reset, with their number of DynamoDB calls. */
  routes(): Map<string, number> {
    const calls = new Map<string, number>();
    for (const [route, ops] of this.byRoute) {
      calls.set(
        route,
        [...ops.values()].reduce((n, t) => n + t.calls, 0),
      );
    }
    return calls;
  }

  private totals(route: string, op: string, kind: 'read' | 'write'): OpTotals {
    let ops = this.byRoute.get(route);
    if (!ops) {
      ops = new Map();
      this.byRoute.set(route, ops);
    }
    let t = ops.get(op);
    if (!t) {
      t = emptyTotals(kind);
      ops.set(op, t);
    }
    return t;
  }
}

function emptyTotals(kind: 'read' | 'write'): OpTotals {
  return {
    calls: 0,
    failed: 0,
    reportedCalls: 0,
    reported: 0,
    estimated: 0,
    reportedByTable: new Map(),
    estimatedByTable: new Map(),
    kind,
  };
}

// ---------------------------------------------------------------------------------------------------
// Capacity from item sizes, for when the database does not report it (and as a cross-check).
// Rules: strongly consistent read 1 RCU per 4 KB (eventually consistent half), standard write 1 WCU per
// 1 KB, transactional write 2 WCU per 1 KB per item. Assumptions, stated in the output: a ConditionCheck
// costs like a transactional write of its item; Update/Delete/ConditionCheck items, whose stored size
// the request does not show, are under 1 KB; every read request costs at least one unit (also an empty
// Query), and so does every key of a BatchGetItem, found or not.

const KB = 1024;
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** DynamoDB's size of a value as the document client writes it (approximate for numbers). */
export function valueSize(v: unknown): number {
  if (typeof v === 'string') return utf8(v);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const digits = String(v).replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (typeof v === 'boolean' || v === null || v === undefined) return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce<number>((n, e) => n + valueSize(e), 0);
  if (Array.isArray(v)) return 3 + v.reduce<number>((n, e) => n + 1 + valueSize(e), 0);
  if (typeof v === 'object') {
    return 3 + Object.entries(v as object).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0);
  }
  return 0;
}

export function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + utf8(k) + valueSize(v), 0);
}

const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / (4 * KB))) * (consistent ? 1 : 0.5);

type Item = Record<string, unknown>;

/** Units per table for one successful call. */
function estimate(op: string, input: Item, output: Item): Array<[string, number]> {
  const table = String(input.TableName ?? '?');
  const consistent = input.ConsistentRead === true;
  switch (op) {
    case 'GetItem':
      return [[table, readUnits(output.Item ? itemSize(output.Item as Item) : 0, consistent)]];
    case 'Query':
    case 'Scan':
      // Items read before any filter count too; the response only shows those that passed it.
      return [
        [
          table,
          readUnits(
            ((output.Items as Item[] | undefined) ?? []).reduce((n, i) => n + itemSize(i), 0),
            consistent,
          ),
        ],
      ];
    case 'BatchGetItem': {
      // Each key is read like a GetItem: a key that is not found still costs the minimum.
      const requested =
        (input.RequestItems as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }> | undefined) ??
        {};
      const responses = (output.Responses as Record<string, Item[]> | undefined) ?? {};
      const unprocessed = (output.UnprocessedKeys as Record<string, { Keys?: unknown[] }> | undefined) ?? {};
      return Object.entries(requested).map(([t, r]) => {
        const consistent = r.ConsistentRead === true;
        const found = responses[t] ?? [];
        const processed = (r.Keys?.length ?? 0) - (unprocessed[t]?.Keys?.length ?? 0);
        const missing = Math.max(0, processed - found.length);
        return [
          t,
          found.reduce((n, i) => n + readUnits(itemSize(i), consistent), 0) +
            missing * readUnits(0, consistent),
        ];
      });
    }
    case 'PutItem':
      return [[table, Math.max(1, Math.ceil(itemSize(input.Item as Item) / KB))]];
    case 'UpdateItem':
    case 'DeleteItem':
      return [[table, 1]];
    case 'TransactWriteItems':
      return ((input.TransactItems as Item[] | undefined) ?? []).map((t) => {
        const [action] = Object.values(t) as Array<{ TableName: string; Item?: Item }>;
        const bytes = action?.Item ? itemSize(action.Item) : 0;
        return [String(action?.TableName ?? '?'), 2 * Math.max(1, Math.ceil(bytes / KB))];
      });
    default:
      return [];
  }
}
