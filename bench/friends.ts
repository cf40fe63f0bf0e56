// npm run bench:friends — friend-request accepts under 20 concurrent clients, and the DynamoDB capacity
// each accept consumes.
import { randomBytes } from 'node:crypto';
import { ddb } from '#shared/clients/dynamodb.js';
import { CapacityMeter, type OpTotals } from './lib/capacity.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain } from './lib/runtime.js';
import { median, ms, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const tag = randomBytes(4).toString('hex');

// Set-up creates thousands of users; their KDF cost is what bench:auth measures, not this benchmark.
// Read by shared/auth/passwords.ts when the handlers are loaded, i.e. during startLocalRuntime.
const scryptFromEnv = process.env.SCRYPT_N !== undefined;
process.env.SCRYPT_N ??= '1024';

const meter = new CapacityMeter();
// The handlers run in this process and share this singleton: every call they make is measured.
meter.install(ddb);

interface Session {
  token: string;
  user: { userId: string };
}

const fmtUnits = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

function perAccept(ops: Map<string, OpTotals>, accepts: number) {
  let reads = 0;
  let writes = 0;
  let estReads = 0;
  let estWrites = 0;
  for (const t of ops.values()) {
    if (t.kind === 'read') {
      reads += t.reported;
      estReads += t.estimated;
    } else {
      writes += t.reported;
      estWrites += t.estimated;
    }
  }
  return {
    rcu: reads / accepts,
    wcu: writes / accepts,
    estRcu: estReads / accepts,
    estWcu: estWrites / accepts,
  };
}

await benchMain(`friends: accept latency and capacity, ${CLIENTS} concurrent clients`, async (runtime) => {
  const { kdfParams } = await import('#shared/auth/passwords.js');
  console.log(
    `set-up users hash with scrypt N=${kdfParams.N}${scryptFromEnv ? ' (SCRYPT_N from env)' : ' (lowered for set-up speed; accepts run no KDF)'}`,
  );
  console.log(
    `${PAIRS} pairs per run: ${CLIENTS} clients register both users and send the requests, then ${CLIENTS} clients accept them`,
  );
  console.log('no WebSocket connections are open, so the accept pushes find no connection to post to\n');

  const http = new HttpClient(runtime.httpUrl, CLIENTS);
  const results: Array<{ p50: number; p99: number; rate: number; rcu: number; wcu: number }> = [];
  let lastOps = new Map<string, OpTotals>();
  let lastAccepts = 0;
  let sendOps = new Map<string, OpTotals>();
  try {
    for (let run = 1; run <= RUNS; run++) {
      // Set-up (not timed): users and pending requests.
      const users = await pool(
        Array.from({ length: 2 * PAIRS }, (_, i) => i),
        CLIENTS,
        (i) =>
          http.expect<Session>(201, '/auth/register', {
            body: { username: `bf_${tag}_${run}_${i}`, password: 'bench-password-1', displayName: `f${i}` },
          }),
      );
      meter.reset();
      const requests = await pool(
        Array.from({ length: PAIRS }, (_, i) => i),
        CLIENTS,
        async (i) => {
          const from = users[2 * i] as Session;
          const to = users[2 * i + 1] as Session;
          const req = await http.expect<{ requestId: string }>(201, '/friend-requests', {
            token: from.token,
            body: { toUserId: to.user.userId },
          });
          return { requestId: req.requestId, token: to.token, friendId: from.user.userId };
        },
      );
      sendOps = meter.snapshot();

      // Timed: the accepts, CLIENTS at a time. Only accepts run now, so every DynamoDB call is theirs.
      meter.reset();
      const latencies: number[] = [];
      const start = performance.now();
      await pool(requests, CLIENTS, async (r) => {
        const t = performance.now();
        const res = await http.call<{ friend?: { userId: string }; conversationId?: string }>(
          `/friend-requests/${encodeURIComponent(r.requestId)}/accept`,
          { method: 'POST', token: r.token },
        );
        latencies.push(performance.now() - t);
        if (res.status !== 200 || res.body.friend?.userId !== r.friendId || !res.body.conversationId) {
          throw new Error(`accept ${r.requestId}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      });
      const wallMs = performance.now() - start;
      lastOps = meter.snapshot();
      lastAccepts = requests.length;
      const s = summarize(latencies);
      const cap = perAccept(lastOps, requests.length);
      const rate = requests.length / (wallMs / 1000);
      results.push({ p50: s.p50, p99: s.p99, rate, rcu: cap.rcu, wcu: cap.wcu });
      console.log(
        `run ${run}: accept p50 ${ms(s.p50).padStart(8)} p99 ${ms(s.p99).padStart(8)} (max ${ms(s.max)})  ` +
          `${rate.toFixed(0).padStart(4)} pairs/s (${requests.length} in ${ms(wallMs)})  ` +
          `reported ${fmtUnits(cap.rcu)} RCU + ${fmtUnits(cap.wcu)} WCU per accept`,
      );
    }

    console.log('');
    console.log(
      `median over ${RUNS} runs: accept p50 ${ms(median(results.map((r) => r.p50)))}  ` +
        `p99 ${ms(median(results.map((r) => r.p99)))}  ${median(results.map((r) => r.rate)).toFixed(0)} accepted pairs/s`,
    );

    // Capacity per accept, from the last run.
    const ops = lastOps;
    const allReported = [...ops.values()].every((t) => t.reportedCalls === t.calls - t.failed);
    const noneReported = [...ops.values()].every((t) => t.reportedCalls === 0);
    console.log('');
    console.log(
      `DynamoDB capacity per accept request (last run, ${lastAccepts} accepts; all calls made while only accepts ran):`,
    );
    console.log(
      allReported
        ? '  source: REPORTED by DynamoDB Local (ReturnConsumedCapacity=TOTAL was set on every call and every response carried ConsumedCapacity)'
        : noneReported
          ? '  source: DynamoDB Local returned NO ConsumedCapacity: only the THEORETICAL figures below apply'
          : '  source: MIXED: some responses carried no ConsumedCapacity (see the reported/calls column)',
    );
    console.log(
      '  operation            calls/accept  reported/accept  theoretical/accept  (responses with ConsumedCapacity / calls)',
    );
    for (const [op, t] of [...ops].sort()) {
      const unit = t.kind === 'read' ? 'RCU' : 'WCU';
      console.log(
        `  ${op.padEnd(20)} ${(t.calls / lastAccepts).toFixed(2).padStart(12)}  ` +
          `${`${fmtUnits(t.reported / lastAccepts)} ${unit}`.padStart(15)}  ` +
          `${`${fmtUnits(t.estimated / lastAccepts)} ${unit}`.padStart(18)}  (${t.reportedCalls}/${t.calls}` +
          `${t.failed ? `, ${t.failed} failed` : ''})`,
      );
      if (op === 'TransactWriteItems') {
        const tables = [...new Set([...t.reportedByTable.keys(), ...t.estimatedByTable.keys()])].sort();
        for (const table of tables) {
          const reported = (t.reportedByTable.get(table) ?? 0) / lastAccepts;
          const estimated = (t.estimatedByTable.get(table) ?? 0) / lastAccepts;
          console.log(
            `      ${table.padEnd(32)} ${`${fmtUnits(reported)} WCU`.padStart(15)}  ${`${fmtUnits(estimated)} WCU`.padStart(18)}` +
              `  (items: ${fmtUnits(estimated / 2)})`,
          );
        }
      }
    }
    const cap = perAccept(ops, lastAccepts);
    const tx = ops.get('TransactWriteItems');
    console.log(
      `  total: reported ${fmtUnits(cap.rcu)} RCU + ${fmtUnits(cap.wcu)} WCU; theoretical ${fmtUnits(cap.estRcu)} RCU + ${fmtUnits(cap.estWcu)} WCU`,
    );
    if (tx) {
      console.log(
        `  TransactWriteItems alone: reported ${fmtUnits(tx.reported / lastAccepts)} WCU, theoretical ${fmtUnits(tx.estimated / lastAccepts)} WCU ` +
          `(${fmtUnits(tx.calls / lastAccepts)} calls per accept)`,
      );
    }
    console.log(
      '  theoretical = item sizes and the published rules: strongly consistent read 1 RCU per 4 KB, at least 1 per',
    );
    console.log(
      '  request (also for an empty Query); transactional write 2 WCU per 1 KB per item, ConditionCheck counted the',
    );
    console.log(
      '  same; Update/Delete/ConditionCheck items assumed under 1 KB (their stored size is not in the request).',
    );
    console.log(
      '  Failed calls (cancelled transactions, failed conditions) report nothing here but do consume capacity on AWS.',
    );
    if (allReported && (cap.rcu !== cap.estRcu || cap.wcu !== cap.estWcu)) {
      console.log('');
      console.log(
        '  ! DynamoDB Local reports less than the published rules give, so expect the THEORETICAL figure on AWS:',
      );
      if (tx && tx.reported !== tx.estimated) {
        console.log(
          '    - TransactWriteItems: Local reports per table, not 2 WCU per item (3 small Puts on one table report',
        );
        console.log(
          '      2 WCU where AWS bills 6); here several items share the friendRequests, friendships, members and',
        );
        console.log('      userConversations tables.');
      }
      const query = ops.get('Query');
      if (query && query.reported !== query.estimated) {
        console.log(
          '    - Query: Local reports 0 for a Query that finds nothing; on AWS a Query without results consumes the',
        );
        console.log(
          '      minimum for its read type (1 RCU strongly consistent). These are the empty connection look-ups.',
        );
      }
    }

    const sendTx = sendOps.get('TransactWriteItems');
    if (sendTx) {
      const send = perAccept(sendOps, PAIRS);
      console.log('');
      console.log(
        `for comparison, per POST /friend-requests (last run): reported ${fmtUnits(send.rcu)} RCU + ${fmtUnits(send.wcu)} WCU ` +
          `(TransactWriteItems ${fmtUnits(sendTx.reported / PAIRS)} WCU); theoretical ${fmtUnits(send.estRcu)} RCU + ` +
          `${fmtUnits(send.estWcu)} WCU (TransactWriteItems ${fmtUnits(sendTx.estimated / PAIRS)} WCU)`,
      );
    }
  } finally {
    http.close();
  }
});
