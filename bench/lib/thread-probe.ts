// Loaded by every local function's worker thread before the function (the runtime's `functionPreload`),
// when a benchmark runs the runtime: it meters that thread's own SDK clients and sequencer counters, as
// the benchmark's meters do in its own thread, and sends what it sees there (thread-reports.ts).
import { createRequire } from 'node:module';
import { currentInvocation } from '#local/invocation-context.js';
import { ddb } from '#shared/clients/dynamodb.js';
import { sequencerCounters } from '#shared/domain/sequencer.js';
import { capacityMiddleware } from './capacity.js';
import { report } from './thread-reports.js';
import { meterSendsAndPushes } from './usage-middleware.js';

/** The HTTP route of the invocation being served, as the in-process meter names it ("POST /x/1"). */
function route(): string | undefined {
  const event = currentInvocation()?.event as
    | { requestContext?: { http?: { method?: string } }; rawPath?: string }
    | undefined;
  const method = event?.requestContext?.http?.method;
  return method ? `${method} ${event?.rawPath ?? ''}` : undefined;
}

ddb.middlewareStack.add(
  capacityMiddleware((record) => report({ kind: 'capacity', route: route(), record })),
  { step: 'initialize', name: 'benchConsumedCapacity', override: true },
);

// Only functions the template gives the callback URL can push (the client needs it).
meterSendsAndPushes(report, Boolean(process.env.WS_CALLBACK_URL));

// Every SDK request of the thread, by command (the shared base client's `send` is the one point all
// clients go through, as in sdk-requests.ts).
type Send = (this: unknown, command: { constructor: { name: string } }, ...rest: unknown[]) => unknown;
const { Client } = createRequire(import.meta.url)('@smithy/core/client') as {
  Client: { prototype: { send: Send } };
};
const send = Client.prototype.send;
Client.prototype.send = function (this: unknown, command, ...rest) {
  report({ kind: 'sdk', command: command.constructor.name.replace(/Command$/, '') });
  return send.call(this, command, ...rest);
};

// The sequencer's counters are plain numbers it increments: each change is reported as it happens.
const counters = sequencerCounters as unknown as Record<string, number>;
for (const counter of Object.keys(counters)) {
  let value = counters[counter] ?? 0;
  Object.defineProperty(counters, counter, {
    get: () => value,
    set: (next: number) => {
      report({ kind: 'sequencer', counter, delta: next - value });
      value = next;
    },
  });
}
