// npm run bench:health — GET /health and WebSocket ping->pong round trips against the local runtime.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpClient } from './lib/http.js';
import { benchMain } from './lib/runtime.js';
import { median, ms, type Summary, summarize } from './lib/stats.js';
import { WsClient } from './lib/ws.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const WARMUP = 200;

async function healthRound(http: HttpClient, calls: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    const res = await http.call('/health');
    samples.push(performance.now() - start);
    if (res.status !== 200) throw new Error(`GET /health answered ${res.status} ${JSON.stringify(res.body)}`);
  }
  return samples;
}

async function pingRound(ws: WsClient, calls: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    const frame = await ws.request('ping');
    samples.push(performance.now() - start);
    if (frame.type !== 'pong') throw new Error(`ping answered ${JSON.stringify(frame)}`);
  }
  return samples;
}

await benchMain('health: GET /health and WebSocket ping round trips', async (runtime) => {
  // One socket, sequential calls: the figures are round trips, not throughput.
  const http = new HttpClient(runtime.httpUrl, 1);
  const session = await http.expect<{ token: string }>(201, '/auth/register', {
    body: {
      username: `bench_h_${randomBytes(6).toString('hex')}`,
      password: 'bench-password-1',
      displayName: 'bench',
    },
  });
  const ws = await WsClient.connect(runtime.wsUrl, session.token);
  try {
    console.log(`client: node:http keep-alive agent (1 socket) and one ws connection, in the same process`);
    console.log(
      `GET /health = HTTP front + handler + one strongly consistent GetItem on the local DynamoDB engine`,
    );
    console.log(`ping = ws front + authorizer context + ping handler, answered as the route response`);
    console.log(`${CALLS} sequential calls each per run, ${RUNS} runs, after ${WARMUP} warm-up calls each\n`);
    await healthRound(http, WARMUP);
    await pingRound(ws, WARMUP);

    const health: Summary[] = [];
    const ping: Summary[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const h = summarize(await healthRound(http, CALLS));
      const p = summarize(await pingRound(ws, CALLS));
      health.push(h);
      ping.push(p);
      console.log(
        `run ${run}: /health p50 ${ms(h.p50).padStart(8)} p99 ${ms(h.p99).padStart(8)} (max ${ms(h.max)})` +
          `   ping p50 ${ms(p.p50).padStart(8)} p99 ${ms(p.p99).padStart(8)} (max ${ms(p.max)})`,
      );
    }
    console.log('');
    console.log(
      `median over ${RUNS} runs: GET /health  p50 ${ms(median(health.map((s) => s.p50)))}  p99 ${ms(median(health.map((s) => s.p99)))}`,
    );
    console.log(
      `median over ${RUNS} runs: ws ping      p50 ${ms(median(ping.map((s) => s.p50)))}  p99 ${ms(median(ping.map((s) => s.p99)))}`,
    );
  } finally {
    await ws.close();
    http.close();
    // The front runs the $disconnect handler after the socket closed; runtime.stop() does not wait for
    // it, so give it a moment before the DynamoDB engine goes away.
    await sleep(1_000);
  }
});
