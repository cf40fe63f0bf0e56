// npm run bench:messages (part 1 of 2; part 2 is bench/messages-flood.ts) — the ordered writer under
// load: hot-conversation throughput against bare one-message transactions, send-to-receive latency
// against one bare transaction, write capacity per message, and a large group. Rate limits are lifted
// here (they are what part 2 measures), so that the figures are the pipeline's, not the limit's.
import { ddb } from '#shared/clients/dynamodb.js';
import { bareTransactions } from './lib/bare-transactions.js';
import { CapacityMeter } from './lib/capacity.js';
import { ChatSocket } from './lib/chat-socket.js';
import { type BenchUser, makeGroup, register } from './lib/chat-users.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain, type InProcessRuntime } from './lib/runtime.js';
import { SdkRequestCounter } from './lib/sdk-requests.js';
import { sequencerTotals } from './lib/sequencer-totals.js';
import { median, ms, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIENTS = 50;
const GROUP_SIZE = 5;
const PER_CLIENT = Number(process.env.BENCH_MESSAGES_PER_CLIENT ?? 20);
const LARGE_GROUP = Number(process.env.BENCH_LARGE_GROUP ?? 300);
const LARGE_CONNECTED = 30;
/** `BENCH_HOT_SHAPES=10x50,50x20` (senders x messages each) by default. */
const HOT_SHAPES = (process.env.BENCH_HOT_SHAPES ?? `10x${process.env.BENCH_HOT_PER_SENDER ?? 50},50x20`)
  .split(',')
  .map((shape) => {
    const [senders, perSender] = shape.split('x').map(Number);
    if (!senders || !perSender) throw new Error(`BENCH_HOT_SHAPES: bad shape "${shape}"`);
    return { senders, perSender };
  });

// Set-up registers hundreds of users; the KDF's cost is what bench:auth measures.
process.env.SCRYPT_N ??= '1024';
process.env.SEND_RATE_PER_SECOND = '1000000';
process.env.SEND_BURST = '1000000';

const meter = new CapacityMeter();
meter.install(ddb);
meter.listenToFunctions();
const requests = new SdkRequestCounter();
requests.install();
sequencerTotals();

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

/** Sends and waits for the ack; a refusal is a benchmark failure. */
async function send(socket: ChatSocket, frame: Record<string, unknown>) {
  const answer = await socket.request(frame, 60_000);
  if (answer.type !== 'ack') throw new Error(`send failed: ${JSON.stringify(answer)}`);
  return answer;
}

/** 50 clients in groups of 5, each sending messages one after another (waiting for each ack). */
async function groupsRun(runtime: InProcessRuntime, http: HttpClient) {
  const users = await pool(Array.from({ length: CLIENTS }), 10, () => register(http));
  const groups: BenchUser[][] = [];
  for (let i = 0; i < CLIENTS; i += GROUP_SIZE) groups.push(users.slice(i, i + GROUP_SIZE));
  const conversations = await Promise.all(groups.map((g) => makeGroup(http, g)));
  const sockets = await Promise.all(users.map((u) => ChatSocket.connect(runtime.wsUrl, u.token)));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const expected = CLIENTS * PER_CLIENT * (GROUP_SIZE - 1);
  let received = 0;
  let allReceived: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  for (const s of sockets) {
    s.onEvent = (frame, at) => {
      if (frame.type !== 'message') return;
      const t0 = sentAt.get((frame.message as { clientMessageId: string }).clientMessageId);
      if (t0 !== undefined) latencies.push(at - t0);
      if (++received === expected) allReceived();
    };
  }
  const started = performance.now();
  await Promise.all(
    sockets.map(async (s, i) => {
      const conversationId = conversations[Math.floor(i / GROUP_SIZE)];
      for (let n = 0; n < PER_CLIENT; n++) {
        const clientMessageId = `c${i}-${n}`;
        sentAt.set(clientMessageId, performance.now());
        await send(s, {
          action: 'sendMessage',
          conversationId,
          clientMessageId,
          text: `hello ${n}`,
          previousAcked: true,
        });
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  await Promise.all(sockets.map((s) => s.close()));
  return {
    rate: (CLIENTS * PER_CLIENT) / (elapsedMs / 1000),
    latency: summarize(latencies),
    received,
    expected,
  };
}

/**
 * One conversation, `senders` concurrent senders, each waiting for its answer before the next send:
 * over HTTP (201 once committed; no WebSocket connection, so the figure is the ordered writer's) or
 * over WebSocket (every sender is connected, so each message is also fanned out to all the others).
 */
async function hotRun(
  runtime: InProcessRuntime,
  http: HttpClient,
  senders: number,
  perSender: number,
  transport: 'http' | 'ws',
) {
  const users = await pool(Array.from({ length: senders }), 10, () => register(http));
  const conversationId = await makeGroup(http, users);
  const sockets =
    transport === 'ws' ? await Promise.all(users.map((u) => ChatSocket.connect(runtime.wsUrl, u.token))) : [];
  const before = sequencerTotals();
  meter.reset();
  requests.reset();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    users.map(async (user, i) => {
      for (let n = 0; n < perSender; n++) {
        const clientMessageId = `h${i}-${n}`;
        const socket = sockets[i];
        if (socket) {
          await send(socket, {
            action: 'sendMessage',
            conversationId,
            clientMessageId,
            text: 'hot',
            previousAcked: true,
          });
          continue;
        }
        const res = await http.call(`/conversations/${conversationId}/messages`, {
          token: user.token,
          body: { clientMessageId, text: 'hot' },
        });
        if (res.status !== 201) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const sdk = requests.snapshot();
  const writes = meter.snapshot();
  const sequencerCounters = sequencerTotals();
  await Promise.all(sockets.map((s) => s.close()));
  const messages = senders * perSender;
  const transactions = sequencerCounters.transactions - before.transactions;
  return {
    rate: messages / (elapsedMs / 1000),
    /** This process's CPU (runtime, functions and clients alike) per message, ms. */
    cpuMsPerMessage: cpuMs(cpu) / messages,
    sdkPerMessage: sdk.total / messages,
    sdkByCommand: sdk.byCommand,
    messagesPerTransaction: (sequencerCounters.messages - before.messages) / transactions,
    staleRetries: sequencerCounters.staleRetries - before.staleRetries,
    flushes: sequencerCounters.flushes - before.flushes,
    lateFrames: sequencerCounters.lateFrames - before.lateFrames,
    // AWS's rules (2 WCU per KB per item in a transaction; 1 WCU per KB for a single write).
    transactionWcu: (writes.get('TransactWriteItems')?.estimated ?? Number.NaN) / messages,
    rateLimitWcu: (writes.get('UpdateItem')?.estimated ?? 0) / messages,
    reportedWcu: (writes.get('TransactWriteItems')?.reported ?? Number.NaN) / messages,
  };
}

await benchMain('bench:messages', async (runtime) => {
  const http = new HttpClient(runtime.httpUrl);
  const e = runtime.environment;
  const tables = {
    conversations: e.CONVERSATIONS_TABLE as string,
    members: e.MEMBERS_TABLE as string,
    messages: e.MESSAGES_TABLE as string,
    messageGuards: e.MESSAGE_GUARDS_TABLE as string,
  };

  console.log('1) one hot conversation, every sender waiting for its answer, vs bare transactions');
  console.log(
    '   (floor: as many workers committing bare one-message transactions, one conversation each, same engine, same run)',
  );
  const capacity: Array<{ tx: number; rl: number; reported: number }> = [];
  for (const transport of ['http', 'ws'] as const) {
    for (const { senders, perSender } of HOT_SHAPES) {
      const rows = [];
      for (let r = 1; r <= RUNS; r++) {
        const hot = await hotRun(runtime, http, senders, perSender, transport);
        const bareCpu = process.cpuUsage();
        const bare = await bareTransactions(runtime.dynamoEndpoint, tables, senders, perSender);
        const bareCpuMs = cpuMs(process.cpuUsage(bareCpu)) / (senders * perSender);
        const ratio = hot.rate / bare.transactionsPerSecond;
        rows.push({ hot, bare, ratio });
        if (transport === 'http' && senders === HOT_SHAPES[0]?.senders) {
          capacity.push({ tx: hot.transactionWcu, rl: hot.rateLimitWcu, reported: hot.reportedWcu });
        }
        console.log(
          `   ${transport} ${senders} x ${perSender} run ${r}: ${hot.rate.toFixed(0)} msg/s (${hot.messagesPerTransaction.toFixed(1)} messages per transaction, ` +
            `${hot.staleRetries} stale retries, ${hot.flushes} flush markers, ${hot.lateFrames} late frames); bare ${bare.transactionsPerSecond.toFixed(0)} tx/s; ratio ${ratio.toFixed(2)}x`,
        );
        console.log(
          `      node CPU ${hot.cpuMsPerMessage.toFixed(2)} ms per message (bare ${bareCpuMs.toFixed(2)} ms per transaction); ` +
            `${hot.sdkPerMessage.toFixed(1)} AWS SDK requests per message: ${Object.entries(hot.sdkByCommand)
              .map(([name, n]) => `${name} ${(n / (senders * perSender)).toFixed(2)}`)
              .join(', ')}`,
        );
      }
      console.log(
        `   ${transport} ${senders} x ${perSender} median: ${median(rows.map((r) => r.hot.rate)).toFixed(0)} msg/s, bare ${median(
          rows.map((r) => r.bare.transactionsPerSecond),
        ).toFixed(0)} tx/s, ratio ${median(rows.map((r) => r.ratio)).toFixed(2)}x (target >= 1.5x)\n`,
      );
    }
  }

  console.log(
    `2) ${CLIENTS} WebSocket clients in groups of ${GROUP_SIZE}, ${PER_CLIENT} messages each, each waiting for its ack`,
  );
  const latencyRows: Array<{
    g: Awaited<ReturnType<typeof groupsRun>>;
    singleP50: number;
    loadedP50: number;
  }> = [];
  for (let r = 1; r <= RUNS; r++) {
    const g = await groupsRun(runtime, http);
    const single = await bareTransactions(runtime.dynamoEndpoint, tables, 1, 200);
    const loaded = await bareTransactions(runtime.dynamoEndpoint, tables, CLIENTS, PER_CLIENT);
    const singleP50 = summarize(single.latencies).p50;
    const loadedP50 = summarize(loaded.latencies).p50;
    latencyRows.push({ g, singleP50, loadedP50 });
    console.log(
      `   run ${r}: ${g.rate.toFixed(0)} msg/s; send-to-receive p50 ${ms(g.latency.p50)} p99 ${ms(g.latency.p99)}; delivered ${g.received}/${g.expected}; ` +
        `bare transaction p50 ${ms(singleP50)} alone, ${ms(loadedP50)} with ${CLIENTS} concurrent workers; ` +
        `ratio ${(g.latency.p50 / singleP50).toFixed(2)}x / ${(g.latency.p50 / loadedP50).toFixed(2)}x`,
    );
  }
  const m = (f: (x: (typeof latencyRows)[number]) => number) => median(latencyRows.map(f));
  console.log(
    `   median: p50 ${ms(m((x) => x.g.latency.p50))}, p99 ${ms(m((x) => x.g.latency.p99))}; p50 / bare transaction p50: ` +
      `${m((x) => x.g.latency.p50 / x.singleP50).toFixed(2)}x against one transaction alone, ` +
      `${m((x) => x.g.latency.p50 / x.loadedP50).toFixed(2)}x against one under the same concurrency (target <= 3x)\n`,
  );

  console.log(
    `3) write capacity per stored message by AWS's rules (hot conversation, ${HOT_SHAPES[0]?.senders} senders): ` +
      `${median(capacity.map((c) => c.tx)).toFixed(2)} WCU in the group-commit transactions + ${median(capacity.map((c) => c.rl)).toFixed(2)} WCU rate limit ` +
      `(engine reported ${median(capacity.map((c) => c.reported)).toFixed(2)} WCU for the transactions); one transaction per message took 8 WCU\n`,
  );

  console.log(
    `4) a ${LARGE_GROUP}-member group (built by the saga, fanned out from the stream), ${LARGE_CONNECTED} members connected`,
  );
  const large = [];
  for (let r = 1; r <= RUNS; r++) {
    const x = await largeGroupRun(runtime, http);
    large.push(x);
    console.log(
      `   run ${r}: sender ack p50 ${ms(x.ack.p50)}; last connected member received p50 ${ms(x.lastReceive.p50)} after the send`,
    );
  }
  console.log(
    `   median: ack ${ms(median(large.map((x) => x.ack.p50)))}, delivery to all connected ${ms(median(large.map((x) => x.lastReceive.p50)))}`,
  );
});

/** Large conversations: the sender's ack must not wait for the fan-out to hundreds of members. */
async function largeGroupRun(runtime: InProcessRuntime, http: HttpClient) {
  const users = await pool(Array.from({ length: LARGE_GROUP }), 10, () => register(http));
  const [owner, ...others] = users as [BenchUser, ...BenchUser[]];
  const created = await http.call<{
    operation: { operationId: string };
    conversation: { conversationId: string };
  }>('/groups', { token: owner.token, body: { name: 'large', memberIds: others.map((u) => u.userId) } });
  if (created.status !== 202) throw new Error(`large group: ${created.status}`);
  for (;;) {
    const op = await http.call<{ status: string }>(`/operations/${created.body.operation.operationId}`, {
      token: owner.token,
    });
    if (op.body.status === 'succeeded') break;
    if (op.body.status !== 'running') throw new Error(`large group: ${op.body.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const conversationId = created.body.conversation.conversationId;
  const sender = await ChatSocket.connect(runtime.wsUrl, owner.token);
  const listeners = await Promise.all(
    others.slice(0, LARGE_CONNECTED).map((u) => ChatSocket.connect(runtime.wsUrl, u.token)),
  );
  const acks: number[] = [];
  const lasts: number[] = [];
  for (let n = 0; n < 10; n++) {
    const clientMessageId = `large-${n}`;
    const arrivals: number[] = [];
    const all = new Promise<void>((resolve) => {
      for (const l of listeners) {
        l.onEvent = (frame, at) => {
          if (
            frame.type === 'message' &&
            (frame.message as { clientMessageId: string }).clientMessageId === clientMessageId
          ) {
            arrivals.push(at);
            if (arrivals.length === listeners.length) resolve();
          }
        };
      }
    });
    const t0 = performance.now();
    await send(sender, { action: 'sendMessage', conversationId, clientMessageId, text: 'to many' });
    acks.push(performance.now() - t0);
    await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
    lasts.push(Math.max(...arrivals) - t0);
  }
  await Promise.all([sender, ...listeners].map((s) => s.close()));
  return { ack: summarize(acks), lastReceive: summarize(lasts) };
}
