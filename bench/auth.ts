// npm run bench:auth — register and login through the local HTTP front, and the scrypt KDF alone.
import { randomBytes } from 'node:crypto';
import { hashPassword, kdfParams, verifyPassword } from '#shared/auth/passwords.js';
import { HttpClient } from './lib/http.js';
import { benchMain } from './lib/runtime.js';
import { median, ms, type Summary, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const KDF_SAMPLES = Number(process.env.BENCH_KDF_SAMPLES ?? 50);
const PASSWORD = 'bench-password-1';
const tag = randomBytes(4).toString('hex');

async function registerAll(http: HttpClient, names: string[]): Promise<number[]> {
  const samples: number[] = [];
  for (const username of names) {
    const start = performance.now();
    const res = await http.call('/auth/register', {
      body: { username, password: PASSWORD, displayName: 'b' },
    });
    samples.push(performance.now() - start);
    if (res.status !== 201)
      throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return samples;
}

async function loginAll(http: HttpClient, names: string[]): Promise<number[]> {
  const samples: number[] = [];
  for (const username of names) {
    const start = performance.now();
    const res = await http.call('/auth/login', { body: { username, password: PASSWORD } });
    samples.push(performance.now() - start);
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return samples;
}

const names = (run: number | string, n: number) =>
  Array.from({ length: n }, (_, i) => `ba_${tag}_${run}_${i}`);

const row = (s: Summary) => `p50 ${ms(s.p50).padStart(8)} p99 ${ms(s.p99).padStart(8)}`;

await benchMain('auth: register and login latency, and the KDF share', async (runtime) => {
  const { N, r, p, keyLength } = kdfParams;
  console.log(
    `KDF: scrypt N=${N} (2^${Math.log2(N)}) r=${r} p=${p} keyLength=${keyLength} bytes, ` +
      `${((128 * N * r * p) / 2 ** 20).toFixed(0)} MiB per derivation` +
      `${process.env.SCRYPT_N || process.env.SCRYPT_R || process.env.SCRYPT_P ? ' (from SCRYPT_* env)' : ' (defaults)'}`,
  );
  console.log('the handlers run in this process and use the same kdfParams object\n');

  const http = new HttpClient(runtime.httpUrl, 1);
  try {
    const warm = names('w', 10);
    await registerAll(http, warm);
    await loginAll(http, warm);

    console.log(
      `${USERS} sequential registrations then ${USERS} logins per run, ${RUNS} runs (10 warm-up each first)`,
    );
    const reg: Summary[] = [];
    const log: Summary[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const users = names(run, USERS);
      const a = summarize(await registerAll(http, users));
      const b = summarize(await loginAll(http, users));
      reg.push(a);
      log.push(b);
      console.log(`run ${run}: register ${row(a)}   login ${row(b)}`);
    }
    const regP50 = median(reg.map((s) => s.p50));
    const logP50 = median(log.map((s) => s.p50));
    console.log('');
    console.log(
      `median over ${RUNS} runs: register p50 ${ms(regP50)}  p99 ${ms(median(reg.map((s) => s.p99)))}`,
    );
    console.log(
      `median over ${RUNS} runs: login    p50 ${ms(logP50)}  p99 ${ms(median(log.map((s) => s.p99)))}`,
    );

    // The KDF alone, same process, same parameters, runtime idle.
    const hashes: number[] = [];
    const verifies: number[] = [];
    let stored = await hashPassword(PASSWORD);
    for (let i = 0; i < KDF_SAMPLES; i++) {
      let start = performance.now();
      stored = await hashPassword(PASSWORD);
      hashes.push(performance.now() - start);
      start = performance.now();
      const ok = await verifyPassword(PASSWORD, stored);
      verifies.push(performance.now() - start);
      if (!ok) throw new Error('verifyPassword rejected a fresh hash');
    }
    const h = summarize(hashes);
    const v = summarize(verifies);
    console.log('');
    console.log(`KDF in-process, ${KDF_SAMPLES} sequential calls each:`);
    console.log(`  hashPassword   ${row(h)}`);
    console.log(`  verifyPassword ${row(v)}`);
    console.log('');
    console.log(
      `KDF share of register p50: ${((100 * h.p50) / regP50).toFixed(0)}% (${ms(h.p50)} of ${ms(regP50)}; ` +
        `the rest, ${ms(regP50 - h.p50)}, is HTTP, validation, one TransactWriteItems and token signing)`,
    );
    console.log(
      `KDF share of login p50:    ${((100 * v.p50) / logP50).toFixed(0)}% (${ms(v.p50)} of ${ms(logP50)}; ` +
        `the rest, ${ms(logP50 - v.p50)}, is HTTP, validation, two GetItems and token signing)`,
    );
  } finally {
    http.close();
  }
});
