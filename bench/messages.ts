// npm run bench:messages — messaging throughput and latency through the local fronts, one hot
// conversation against the same number of bare TransactWriteItems calls, and capacity per message.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '#shared/clients/dynamodb.js';
import { sendCounters } from '#shared/domain/messages.js';
import { CapacityMeter } from './lib/capacity.js';
import { ChatSocket } from './lib/chat-socket.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain, type InProcessRuntime } from './lib/runtime.js';
import { median, ms, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIENTS = 50;
const GROUP_SIZE = 5;
const PER_CLIENT = Number(process.env.BENCH_MESSAGES_PER_CLIENT ?? 20);
const HOT_SENDERS = 10;
const LARGE_GROUP = Number(process.env.BENCH_LARGE_GROUP ?? 300);
const LARGE_CONNECTED = 30;
const HOT_PER_SENDER = Number(process.env.BENCH_HOT_PER_SENDER ?? 50);
const tag = randomBytes(3).toString('hex');
let userCounter = 0;

// Set-up registers hundreds of users; the KDF's cost is what bench:auth measures.
process.env.SCRYPT_N ??= '1024';
const meter = new CapacityMeter();
meter.install(ddb);

interface User {
  userId: string;
  token: string;
}

async function register(http: HttpClient): Promise<User> {
  const username = `bm${tag}_${++userCounter}`;
  const res = await http.call<{ user: { userId: string }; token: string }>('/auth/register', {
    body: { username, password: 'bench-password', displayName: username },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body.user.userId, token: res.body.token };
}

async function makeGroup(http: HttpClient, members: User[]): Promise<string> {
  const [owner, ...others] = members as [User, ...User[]];
  const res = await http.call<{ conversationId: string }>('/groups', {
    token: owner.token,
    body: { name: 'bench', memberIds: others.map((u) => u.userId) },
  });
  if (res.status !== 201) throw new Error(`group: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.conversationId;
}

/** Sends answered 503 (the send gave up under contention; nothing was written) and sent again. */
let unavailable = 0;

/** What a client does on 503: send again with the same clientMessageId, which never duplicates. */
async function sendUntilAcked(socket: ChatSocket, frame: Record<string, unknown>) {
  for (;;) {
    const answer = await socket.request(frame, 60_000);
    if (answer.type === 'ack') return answer;
    if (answer.code !== 'unavailable') throw new Error(`send failed: ${JSON.stringify(answer)}`);
    unavailable++;
  }
}

/** 50 clients in groups of 5, each sending messages one after another (waiting for each ack). */
async function groupsRun(runtime: InProcessRuntime, http: HttpClient) {
  const users = await pool(Array.from({ length: CLIENTS }), 10, () => register(http));
  const groups: User[][] = [];
  for (let i = 0; i < CLIENTS; i += GROUP_SIZE) groups.push(users.slice(i, i + GROUP_SIZE));
  const conversations = await Promise.all(groups.map((g) => makeGroup(http, g)));
  const sockets = await Promise.all(users.map((u) => ChatSocket.connect(runtime.wsUrl, u.token)));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let expected = 0;
  let received = 0;
  let allReceived: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  for (const s of sockets) {
    s.onEvent = (frame, at) => {
      if (frame.type !== 'message') return;
      const m = frame.message as { clientMessageId: string };
      const t0 = sentAt.get(m.clientMessageId);
      if (t0 !== undefined) latencies.push(at - t0);
      if (++received === expected) allReceived();
    };
  }
  expected = CLIENTS * PER_CLIENT * (GROUP_SIZE - 1);
  const started = performance.now();
  await Promise.all(
    sockets.map(async (s, i) => {
      const conversationId = conversations[Math.floor(i / GROUP_SIZE)];
      for (let n = 0; n < PER_CLIENT; n++) {
        const clientMessageId = `c${i}-${n}`;
        sentAt.set(clientMessageId, performance.now());
        await sendUntilAcked(s, {
          action: 'sendMessage',
          conversationId,
          clientMessageId,
          text: `hello ${n}`,
        });
      }
    }),
  );
  const acked = performance.now();
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  const elapsedMs = acked - started;
  await Promise.all(sockets.map((s) => s.close()));
  return { messages: CLIENTS * PER_CLIENT, elapsedMs, latencies, received, expected };
}

/** One conversation, 10 concurrent senders through the WebSocket front. */
async function hotRun(runtime: InProcessRuntime, http: HttpClient) {
  const users = await pool(Array.from({ length: HOT_SENDERS }), 10, () => register(http));
  const conversationId = await makeGroup(http, users);
  const sockets = await Promise.all(users.map((u) => ChatSocket.connect(runtime.wsUrl, u.token)));
  const before = { ...sendCounters };
  meter.reset();
  const started = performance.now();
  await Promise.all(
    sockets.map(async (s, i) => {
      for (let n = 0; n < HOT_PER_SENDER; n++) {
        await sendUntilAcked(s, {
          action: 'sendMessage',
          conversationId,
          clientMessageId: `h${i}-${n}`,
          text: 'hot',
        });
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const capacity = meter.snapshot().get('TransactWriteItems');
  await Promise.all(sockets.map((s) => s.close()));
  const messages = HOT_SENDERS * HOT_PER_SENDER;
  return {
    messages,
    elapsedMs,
    attempts: sendCounters.attempts - before.attempts,
    conflicts: sendCounters.staleRetries - before.staleRetries,
    // DynamoDB Local under-reports transactions; AWS bills 2 WCU per KB per item of a transaction.
    capacityPerMessage: capacity ? capacity.estimated / messages : Number.NaN,
    capacityReportedPerMessage: capacity ? capacity.reported / messages : Number.NaN,
  };
}

/**
 * The same number of bare TransactWriteItems, same shape (counter update on condition, message put,
 * guard put, membership check), issued straight to DynamoDB Local by 10 concurrent workers on one
 * conversation, retrying lost races the same way: the floor the full path is compared with.
 */
async function bareRun(endpoint: string, tables: Record<string, string>, contended: boolean) {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint }));
  const conversationIds = Array.from(
    { length: HOT_SENDERS },
    (_, i) => `bare_${tag}_${Date.now()}_${contended ? 0 : i}`,
  );
  for (const conversationId of new Set(conversationIds)) {
    await client.send(
      new PutCommand({ TableName: tables.conversations, Item: { conversationId, lastSeq: 0 } }),
    );
    for (let w = 0; w < HOT_SENDERS; w++) {
      await client.send(
        new PutCommand({ TableName: tables.members, Item: { conversationId, userId: `w${w}` } }),
      );
    }
  }
  let attempts = 0;
  const started = performance.now();
  await Promise.all(
    conversationIds.map(async (conversationId, w) => {
      let lastSeq = (
        await client.send(
          new GetCommand({ TableName: tables.conversations, Key: { conversationId }, ConsistentRead: true }),
        )
      ).Item?.lastSeq as number;
      for (let n = 0; n < HOT_PER_SENDER; n++) {
        for (;;) {
          attempts++;
          try {
            await client.send(
              new TransactWriteCommand({
                TransactItems: [
                  {
                    Update: {
                      TableName: tables.conversations,
                      Key: { conversationId },
                      UpdateExpression: 'SET lastSeq = :seq',
                      ConditionExpression: 'lastSeq = :prev',
                      ExpressionAttributeValues: { ':seq': lastSeq + 1, ':prev': lastSeq },
                      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                    },
                  },
                  {
                    Put: {
                      TableName: tables.messageGuards,
                      Item: { conversationId, guardKey: `w${w}#${n}`, seq: lastSeq + 1 },
                      ConditionExpression: 'attribute_not_exists(guardKey)',
                    },
                  },
                  {
                    ConditionCheck: {
                      TableName: tables.members,
                      Key: { conversationId, userId: `w${w}` },
                      ConditionExpression: 'attribute_exists(userId)',
                    },
                  },
                  {
                    Put: {
                      TableName: tables.messages,
                      Item: { conversationId, seq: lastSeq + 1, senderId: `w${w}`, text: 'hot', version: 1 },
                      ConditionExpression: 'attribute_not_exists(seq)',
                    },
                  },
                ],
              }),
            );
            lastSeq++;
            break;
          } catch (err) {
            const old = (err as { CancellationReasons?: { Item?: { lastSeq?: { N?: string } } }[] })
              .CancellationReasons?.[0]?.Item?.lastSeq?.N;
            if (old === undefined) throw err;
            lastSeq = Number(old);
          }
        }
      }
    }),
  );
  return { elapsedMs: performance.now() - started, attempts };
}

await benchMain('bench:messages', async (runtime) => {
  const http = new HttpClient(runtime.httpUrl);
  const tables = {
    conversations: runtime.environment.CONVERSATIONS_TABLE as string,
    members: runtime.environment.MEMBERS_TABLE as string,
    messages: runtime.environment.MESSAGES_TABLE as string,
    messageGuards: runtime.environment.MESSAGE_GUARDS_TABLE as string,
  };

  console.log(
    `1) ${CLIENTS} WebSocket clients in groups of ${GROUP_SIZE}, ${PER_CLIENT} messages each (sequential per client)`,
  );
  const groupRuns = [];
  for (let r = 1; r <= RUNS; r++) {
    const g = await groupsRun(runtime, http);
    const s = summarize(g.latencies);
    const rate = g.messages / (g.elapsedMs / 1000);
    groupRuns.push({ rate, p50: s.p50, p99: s.p99 });
    console.log(
      `   run ${r}: ${rate.toFixed(0)} msg/s; send-to-receive p50 ${ms(s.p50)} p99 ${ms(s.p99)}; delivered ${g.received}/${g.expected}; ` +
        `503s resent so far ${unavailable}`,
    );
  }
  console.log(
    `   median: ${median(groupRuns.map((g) => g.rate)).toFixed(0)} msg/s, p50 ${ms(median(groupRuns.map((g) => g.p50)))}, p99 ${ms(median(groupRuns.map((g) => g.p99)))}\n`,
  );

  console.log(
    `2) one hot conversation, ${HOT_SENDERS} concurrent senders x ${HOT_PER_SENDER} messages, vs bare transactions`,
  );
  const rows = [];
  for (let r = 1; r <= RUNS; r++) {
    const hot = await hotRun(runtime, http);
    const bare = await bareRun(runtime.dynamoEndpoint, tables, true);
    const bareSpread = await bareRun(runtime.dynamoEndpoint, tables, false);
    const ratio = hot.elapsedMs / bare.elapsedMs;
    rows.push({ hot, bare, bareSpread, ratio });
    console.log(
      `   run ${r}: full path ${(hot.messages / (hot.elapsedMs / 1000)).toFixed(0)} msg/s (${hot.attempts} transactions, ${hot.conflicts} lost races retried); ` +
        `bare, same conversation ${(hot.messages / (bare.elapsedMs / 1000)).toFixed(0)} msg/s (${bare.attempts} transactions); ` +
        `bare, one conversation per worker ${(hot.messages / (bareSpread.elapsedMs / 1000)).toFixed(0)} msg/s; ratio full/bare ${ratio.toFixed(2)}x`,
    );
  }
  const last = rows[rows.length - 1]?.hot;
  console.log(
    `   median: full ${median(rows.map((r) => r.hot.messages / (r.hot.elapsedMs / 1000))).toFixed(0)} msg/s, ` +
      `bare ${median(rows.map((r) => r.hot.messages / (r.bare.elapsedMs / 1000))).toFixed(0)} msg/s, ` +
      `ratio ${median(rows.map((r) => r.ratio)).toFixed(2)}x (target <= 1.5x), lost races per message ${median(rows.map((r) => r.hot.conflicts / r.hot.messages)).toFixed(2)}`,
  );
  console.log(
    `\n3) capacity per stored message (its TransactWriteItems; lost races, which AWS also bills, not counted): ${last?.capacityPerMessage.toFixed(2)} WCU ` +
      `by AWS's rules from item sizes (DynamoDB Local reported ${last?.capacityReportedPerMessage.toFixed(2)} WCU; it under-reports transactions)`,
  );

  console.log(
    `\n4) a ${LARGE_GROUP}-member group (built by the saga, fanned out from the stream), ${LARGE_CONNECTED} members connected`,
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
  const [owner, ...others] = users as [User, ...User[]];
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
    const ack = await sender.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId,
      text: 'to many',
    });
    if (ack.type !== 'ack') throw new Error(`send failed: ${JSON.stringify(ack)}`);
    acks.push(performance.now() - t0);
    await Promise.race([all, new Promise((r) => setTimeout(r, 10_000))]);
    lasts.push(Math.max(...arrivals) - t0);
  }
  await Promise.all([sender, ...listeners].map((s) => s.close()));
  return { ack: summarize(acks), lastReceive: summarize(lasts) };
}
