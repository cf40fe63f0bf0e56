// npm run bench:friends — friend-request accepts under 20 concurrent clients, and the DynamoDB capacity
// each accept consumes.
import { randomBytes } from 'node:crypto';
import { ddb } from '#shared/clients/dynamodb.js';
import { CapacityMeter, NO_REQUEST, type OpTotals } from './lib/capacity.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain } from './lib/runtime.js';
import { median, ms, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 200);
const tag = randomBytes(4).toString('hex');

// Set-up creates 400 users per run; their KDF cost is what bench:auth measures, not this benchmark.
// Read by shared/auth/passwords.ts when the handlers are loaded, i.e. during startLocalRuntime.
const scryptFromEnv = process.env.SCRYPT_N !== undefined;
process.env.SCRYPT_N ??= '1024';

const meter = new CapacityMeter();
// The handlers run in this process and share this singleton: every call they make is measured.
meter.install(ddb);
meter.listenToFunctions();

interface Session {
  token: string;
  user: { userId: string };
}

const isAccept = (route: string) => /^POST \/friend-requests\/[^/]+\/accept$/.test(route);
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
    `set-up users hash with scrypt N=${kdfParams().N}${scryptFromEnv ? ' (SCRYPT_N from env)' : ' (lowered for set-up speed; accepts run no KDF)'}`,
  );
  console.log(
    `${PAIRS} pairs per run: ${CLIENTS} clients register both users and send the requests, then ${CLIENTS} clients accept them`,
  );
  console.log('no WebSocket connections are open, so the accept pushes find no connection to post to\n');

  const http = new HttpClient(runtime.httpUrl, CLIENTS);
  const results: Array<{ p50: number; p99: number; rate: number }> = [];
  let lastOps = new Map<string, OpTotals>();
  let lastAccepts = 0;
  let sendOps = new Map<string, OpTotals>();
  let lastBackground = new Map<string, OpTotals>();
  let lastOther: Array<[string, number]> = [];
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
      sendOps = meter.snapshot((route) => route === 'POST /friend-requests');
      // Stream handlers (search indexing of the new users, ...) run in this process: let them finish
      // so that the timed phase does not share the CPU with the set-up's backlog.
      const idleStart = performance.now();
      await runtime.streams.idle({ timeoutMs: 180_000 });
      const idleMs = performance.now() - idleStart;

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
      lastOps = meter.snapshot(isAccept);
      lastBackground = meter.snapshot((route) => route === NO_REQUEST);
      lastOther = [...meter.routes()].filter(([route]) => route !== NO_REQUEST && !isAccept(route));
      lastAccepts = requests.length;
      const s = summarize(latencies);
      const cap = perAccept(lastOps, requests.length);
      const rate = requests.length / (wallMs / 1000);
      results.push({ p50: s.p50, p99: s.p99, rate });
      console.log(
        `run ${run}: accept p50 ${ms(s.p50).padStart(8)} p99 ${ms(s.p99).padStart(8)} (max ${ms(s.max)})  ` +
          `${rate.toFixed(0).padStart(4)} pairs/s (${requests.length} in ${ms(wallMs)})  ` +
          `per accept ${fmtUnits(cap.rcu)} RCU + ${fmtUnits(cap.wcu)} WCU reported, ` +
          `${fmtUnits(cap.estRcu)} + ${fmtUnits(cap.estWcu)} theoretical  ` +
          `(streams drained in ${ms(idleMs)} before)`,
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
      `DynamoDB capacity per accept request (last run, ${lastAccepts} accepts; every call made while serving an accept request):`,
    );
    console.log(
      allReported
        ? '  source: REPORTED by the local DynamoDB engine (ReturnConsumedCapacity=TOTAL was set on every call and every response carried ConsumedCapacity)'
        : noneReported
          ? '  source: the local DynamoDB engine returned NO ConsumedCapacity: only the THEORETICAL figures below apply'
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
    const notes = [
      'theoretical = item sizes and the published rules: strongly consistent read 1 RCU per 4 KB and at least 1',
      'per request, also for a Query that finds nothing, and per BatchGetItem key, found or not (as for GetItem);',
      'transactional write 2 WCU per 1 KB per item, ConditionCheck counted the same; Update, Delete and',
      'ConditionCheck items assumed under 1 KB (the request does not show their stored size).',
      'Failed calls (cancelled transactions, failed conditions) report nothing here but consume capacity on AWS.',
    ];
    for (const note of notes) console.log(`  ${note}`);
    const under = (op: string) => {
      const t = ops.get(op);
      return t !== undefined && t.reported < t.estimated;
    };
    if (allReported && (under('TransactWriteItems') || under('Query') || under('BatchGetItem'))) {
      console.log('');
      console.log(
        '  ! the local DynamoDB engine reports less than those rules give; expect the THEORETICAL figure on AWS:',
      );
      if (under('TransactWriteItems')) {
        console.log(
          '    - TransactWriteItems: Local does not charge 2 WCU per item (three small Puts on one table',
        );
        console.log(
          '      report 2 WCU where the per-item rule gives 6); several accept items share a table.',
        );
      }
      if (under('Query')) console.log('    - Query: Local reports 0 RCU for a Query that finds nothing.');
      if (under('BatchGetItem'))
        console.log('    - BatchGetItem: Local reports 0 RCU for keys it does not find.');
    }

    const background = [...lastBackground.values()];
    const bgCalls = background.reduce((n, t) => n + t.calls, 0);
    if (bgCalls || lastOther.length) {
      console.log('');
      const units = (kind: 'read' | 'write', key: 'reported' | 'estimated') =>
        fmtUnits(background.filter((t) => t.kind === kind).reduce((n, t) => n + t[key], 0));
      console.log(
        `not counted above, made during the last accept phase outside any request (stream handlers): ${bgCalls} calls, ` +
          `reported ${units('read', 'reported')} RCU + ${units('write', 'reported')} WCU, ` +
          `theoretical ${units('read', 'estimated')} RCU + ${units('write', 'estimated')} WCU ` +
          `(${[...lastBackground].map(([op, t]) => `${op} ${t.calls}`).join(', ')})`,
      );
      for (const [route, calls] of lastOther) console.log(`  also from ${route}: ${calls} calls`);
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
