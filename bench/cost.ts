// npm run cost — what the stack would cost on AWS, from what real scenarios consume on the local runtime.
// Each scenario runs at a modest size against an in-process runtime; bench/lib/cost-meter.ts counts what
// AWS would meter (DynamoDB request units by AWS's rules, Lambda invocations and GB-seconds at each
// function's configured memory, API Gateway requests and WebSocket messages, SQS requests, Step
// Functions transitions, DynamoDB Streams records, search requests, log bytes); bench/lib/cost-model.ts
// prices it with infra/prices.ts and scales it linearly. Then the idle monthly floor of each stage,
// read from its synthesized template.
import { PRICE_REGION, PRICES, PRICES_READ_ON } from '#infra/prices.js';
import type { CfnTemplate } from '#infra/synth.js';
import { LocalLambdas } from '#local/lambdas.js';
import { cachedTemplate } from '#local/template-cache.js';
import { readTopology } from '#local/topology.js';
import { listConnectionsOfUsers } from '#shared/data/connections-repo.js';
import { ChatSocket } from './lib/chat-socket.js';
import { type BenchUser, befriend, makeGroup, register } from './lib/chat-users.js';
import { accessLogLineBytes, CostMeter } from './lib/cost-meter.js';
import {
  type CostLine,
  fmtQuantity,
  fmtUsd,
  idleFloor,
  priceUsage,
  scheduledTargets,
  total,
  type Usage,
} from './lib/cost-model.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain, type InProcessRuntime, rootDir, THREAD_PROBE } from './lib/runtime.js';

const MESSAGES = Number(process.env.COST_MESSAGES ?? 200);
const GROUP_SIZE = 10;
const ACCEPTS = Number(process.env.COST_ACCEPTS ?? 50);
const LARGE_GROUP = Number(process.env.COST_LARGE_GROUP ?? 1000);
const DELETIONS = Number(process.env.COST_DELETIONS ?? 3);
/** The account deleted: this many friends and groups (of three members each). */
const DELETED_FRIENDS = 10;
const DELETED_GROUPS = 5;

// Set-up registers over a thousand users; the KDF's cost is not what is priced here (sign-up is not a scenario).
process.env.SCRYPT_N ??= '1024';
process.env.SEND_RATE_PER_SECOND = '1000000';
process.env.SEND_BURST = '1000000';
// Log as deployed: the stack sets no level, so Powertools logs at INFO, and metrics go out as EMF lines.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';

const PROD_CONTEXT = { stage: 'prod', prodAccount: '123456789012', prodRegion: PRICE_REGION };

await benchMain('cost', async (runtime) => {
  const template = await cachedTemplate(rootDir);
  const topology = readTopology(template);
  const stageFormat = (protocol: string) => {
    const api = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties?.ProtocolType === protocol,
    )?.[0];
    const stage = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::ApiGatewayV2::Stage' && (r.Properties?.ApiId as { Ref?: string })?.Ref === api,
    );
    return (stage?.Properties?.AccessLogSettings as { Format?: string } | undefined)?.Format;
  };
  const meter = new CostMeter({
    runtime,
    ws: topology.ws,
    httpAccessLogBytes: accessLogLineBytes(stageFormat('HTTP')),
    wsAccessLogBytes: accessLogLineBytes(stageFormat('WEBSOCKET')),
  });
  const print = (line = '') => meter.print(line);
  const http = new HttpClient(runtime.httpUrl);
  print(`prices: ${PRICE_REGION}, read on ${PRICES_READ_ON} (infra/prices.ts)`);

  // Scheduled functions first, on empty tables: what one run costs on an idle stage.
  // Its functions' threads get this process's environment (the runtime's, see startLocalRuntime) and meters.
  const lambdas = new LocalLambdas(topology, rootDir, { preload: [THREAD_PROBE] });
  const scheduledRun = new Map<string, Usage>();
  for (const s of scheduledTargets(template)) {
    if (scheduledRun.has(s.functionId)) continue;
    const event = {
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      resources: [s.ruleId],
      detail: {},
    };
    await lambdas.invoke(s.functionId, event); // a first run may set things up; the second is the steady one
    meter.reset();
    await lambdas.invoke(s.functionId, event);
    await runtime.streams.idle();
    // Under the sampling reservoir (1 trace a second) every scheduled run is traced.
    const usage = meter.snapshot().usage;
    scheduledRun.set(s.functionId, { ...usage, traces: usage.lambdaInvocations });
  }

  const scenarios: Array<{ name: string; scale: number; per: string; units: number; snap: Snap }> = [];
  const run = async (
    name: string,
    per: string,
    scale: number,
    body: () => Promise<number>,
    setup?: () => Promise<void>,
  ) => {
    await setup?.();
    await settle(runtime);
    await meter.quiet();
    meter.reset();
    const started = performance.now();
    const units = await body();
    await settle(runtime);
    await meter.quiet();
    const snap = meter.snapshot();
    scenarios.push({ name, scale, per, units, snap });
    print(`  ${name}: ${units} ${per} measured in ${Math.round(performance.now() - started)} ms`);
  };

  print('\nregistering users…');
  const users = await pool(
    Array.from({ length: Math.max(LARGE_GROUP, 2 + GROUP_SIZE + 2 * ACCEPTS) }),
    10,
    () => register(http),
  );
  print('running scenarios…');

  // 1) A direct conversation: both friends connected, both sending (each waiting for its acks).
  {
    const [a, b] = users as [BenchUser, BenchUser];
    const conversationId = await befriend(http, a, b);
    const sockets = await Promise.all([a, b].map((u) => ChatSocket.connect(runtime.wsUrl, u.token)));
    const each = Math.ceil(MESSAGES / 2);
    await run('direct conversation, both connected', 'messages', 1_000_000, async () => {
      const received = expectMessages(sockets, 2 * each);
      await Promise.all(
        sockets.map(async (s, i) => {
          for (let n = 0; n < each; n++) await send(s, conversationId, `d${i}-${n}`);
        }),
      );
      await received.wait(60_000);
      return 2 * each;
    });
    await closeAndWait(sockets, [a, b]);
  }

  // 2) A 10-member group, every member connected, each sending in turn (concurrently with the others).
  {
    const members = users.slice(2, 2 + GROUP_SIZE);
    const conversationId = await makeGroup(http, members);
    const sockets = await Promise.all(members.map((u) => ChatSocket.connect(runtime.wsUrl, u.token)));
    const each = Math.ceil(MESSAGES / GROUP_SIZE);
    await run('10-member group, all connected', 'messages', 1_000_000, async () => {
      const received = expectMessages(sockets, each * GROUP_SIZE * (GROUP_SIZE - 1));
      await Promise.all(
        sockets.map(async (s, i) => {
          for (let n = 0; n < each; n++) await send(s, conversationId, `g${i}-${n}`);
        }),
      );
      await received.wait(60_000);
      return each * GROUP_SIZE;
    });
    await closeAndWait(sockets, members);
  }

  // 3) Friend requests accepted: request and accept, both users connected (they get the events).
  {
    const first = 2 + GROUP_SIZE;
    const pairs = Array.from(
      { length: ACCEPTS },
      (_, i) => [users[first + 2 * i], users[first + 2 * i + 1]] as [BenchUser, BenchUser],
    );
    const sockets = await pool(pairs.flat(), 20, (u) => ChatSocket.connect(runtime.wsUrl, u.token));
    await run('friend request + accept', 'accepts', 1_000, async () => {
      await pool(pairs, 10, ([a, b]) => befriend(http, a, b));
      return ACCEPTS;
    });
    await closeAndWait(sockets, pairs.flat());
  }

  // 4) A 1,000-member group (the create-group saga), members not connected.
  {
    const [owner, ...others] = users.slice(0, LARGE_GROUP) as [BenchUser, ...BenchUser[]];
    await run(`${LARGE_GROUP}-member group creation (saga)`, 'groups', 1, async () => {
      const res = await http.call<{ operation: { operationId: string } }>('/groups', {
        token: owner.token,
        body: { name: 'large', memberIds: others.map((u) => u.userId) },
      });
      if (res.status !== 202) throw new Error(`large group: ${res.status} ${JSON.stringify(res.body)}`);
      await runtime.executions.drain();
      return 1;
    });
  }

  // 5) Account deletions (the delete-account saga), each account with friends and small groups.
  {
    const friends = users.slice(LARGE_GROUP - DELETED_FRIENDS * DELETIONS);
    const doomed: BenchUser[] = [];
    await run(
      `account deletion (${DELETED_FRIENDS} friends, ${DELETED_GROUPS} groups)`,
      'deletions',
      1,
      async () => {
        await pool(doomed, DELETIONS, async (me) => {
          const res = await http.call('/me', { method: 'DELETE', token: me.token });
          if (res.status !== 202) throw new Error(`delete: ${res.status} ${JSON.stringify(res.body)}`);
        });
        await runtime.executions.drain();
        return DELETIONS;
      },
      async () => {
        for (let d = 0; d < DELETIONS; d++) {
          const me = await register(http, 'del');
          const mine = friends.slice(d * DELETED_FRIENDS, (d + 1) * DELETED_FRIENDS);
          await pool(mine, 5, (f) => befriend(http, f, me));
          for (let g = 0; g < DELETED_GROUPS; g++) {
            await makeGroup(http, [me, mine[g] as BenchUser, mine[g + 1] as BenchUser]);
          }
          doomed.push(me);
        }
      },
    );
  }

  print(`\n## Cost per unit of work (${PRICE_REGION}, prices of ${PRICES_READ_ON})\n`);
  for (const s of scenarios) printScenario(print, s);

  print(`\n## Idle monthly floor per stage (from the synthesized templates)\n`);
  const stages: Array<[string, CfnTemplate]> = [
    ['dev', template],
    ['prod', await cachedTemplate(rootDir, PROD_CONTEXT)],
  ];
  for (const [stage, t] of stages) {
    const lines = idleFloor(t, scheduledRun);
    print(`### ${stage}: ${fmtUsd(total(lines))} per month\n`);
    print('| item | quantity per month | price (infra/prices.ts) | $ per month | note |');
    print('|---|---:|---|---:|---|');
    for (const l of lines) {
      print(
        `| ${l.label} | ${fmtQuantity(l.quantity)} ${l.unit} | ${l.price} | ${fmtUsd(l.usd)} | ${l.note ?? ''} |`,
      );
    }
    print();
  }
  print(
    'Not in the floor: DynamoDB storage and point-in-time recovery (per GB stored, $0 for empty tables), ' +
      'custom metrics (billed by the hour a metric is emitted), data transfer out.',
  );
});

type Snap = ReturnType<CostMeter['snapshot']>;

function printScenario(
  print: (line?: string) => void,
  s: { name: string; scale: number; per: string; units: number; snap: Snap },
) {
  const lines = priceUsage(s.snap.usage, s.units, s.scale);
  const per1 = priceUsage(s.snap.usage, s.units, 1);
  const scale =
    s.scale === 1 ? `per ${s.per.replace(/s$/, '')}` : `per ${s.scale.toLocaleString('en-US')} ${s.per}`;
  print(`### ${s.name}: ${fmtUsd(total(lines))} ${scale}\n`);
  print(
    `measured over ${s.units} ${s.per}; counts per ${s.per.replace(/s$/, '')} are shown to check each line`,
  );
  print();
  print(`| item | per ${s.per.replace(/s$/, '')} | ${scale} | price (infra/prices.ts) | $ ${scale} |`);
  print('|---|---:|---:|---|---:|');
  lines.forEach((l: CostLine, i) => {
    const unitPrice =
      l.price === 'none'
        ? (l.note ?? '')
        : `${l.price} ($${PRICES[l.price].usd}/${PRICES[l.price].per.toLocaleString('en-US')})`;
    print(
      `| ${l.label}${l.note && l.price !== 'none' ? ` (${l.note})` : ''} | ${fmtQuantity(per1[i]?.quantity ?? 0)} | ${fmtQuantity(l.quantity)} | ${unitPrice} | ${fmtUsd(l.usd)} |`,
    );
  });
  const fns = [...s.snap.byFunction]
    .sort((a, b) => b[1].invocations - a[1].invocations)
    .map(([id, f]) => `${id.replace(/[0-9A-F]{8}$/, '')} ${fmtQuantity(f.invocations / s.units)}`)
    .join(', ');
  print();
  print(`invocations per ${s.per.replace(/s$/, '')}: ${fns}`);
  print(
    `DynamoDB engine reported ${fmtQuantity(s.snap.reported.writeRequestUnits / s.units)} WCU and ` +
      `${fmtQuantity(s.snap.reported.readRequestUnits / s.units)} RCU per ${s.per.replace(/s$/, '')} ` +
      `(${fmtQuantity(s.snap.dynamoCalls / s.units)} calls); WebSocket connection minutes in the run: ${s.snap.connectionMinutes}` +
      (s.snap.failedInvocations ? `; ${s.snap.failedInvocations} failed invocations` : ''),
  );
  print();
}

/** Sends one message over the socket and waits for its ack, flagged as the SDK's outbox flags it. */
async function send(socket: ChatSocket, conversationId: string, clientMessageId: string) {
  const answer = await socket.request(
    { action: 'sendMessage', conversationId, clientMessageId, text: 'hello there', previousAcked: true },
    60_000,
  );
  if (answer.type !== 'ack') throw new Error(`send failed: ${JSON.stringify(answer)}`);
}

/** Counts message events over these sockets; `wait` resolves once `count` arrived, failing after `timeoutMs`. */
function expectMessages(sockets: readonly ChatSocket[], count: number) {
  let seen = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  for (const s of sockets) {
    s.onEvent = (frame) => {
      if (frame.type === 'message' && ++seen === count) done();
    };
  }
  return {
    wait: async (timeoutMs: number) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} messages delivered`)), timeoutMs);
      });
      try {
        await Promise.race([all, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until sagas and streams are done, so what a scenario set off is counted with it. */
/**
 * Closes sockets and waits until their `$disconnect`s have removed every connection of `users`, so that
 * the next scenario is not charged for them.
 */
async function closeAndWait(sockets: readonly ChatSocket[], users: readonly BenchUser[]) {
  await Promise.all(sockets.map((s) => s.close()));
  const ids = users.map((u) => u.userId);
  for (let waited = 0; waited < 60_000; waited += 200) {
    if ((await listConnectionsOfUsers(ids)).length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the closed sockets were still recorded after 60 s');
}

async function settle(runtime: InProcessRuntime) {
  await runtime.executions.drain();
  await runtime.streams.idle({ timeoutMs: 120_000 });
}
