// npm run bench:auth — register and login through the local HTTP front, and the scrypt KDF alone.
import { randomBytes } from 'node:crypto';
import { hashPassword, kdfParams, verifyPassword } from '#shared/auth/passwords.js';
import { HttpClient } from './lib/http.js';
import { benchMain } from './lib/runtime.js';
import { median, ms, type Summary, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const PASSWORD = 'bench-password-1';
const tag = randomBytes(4).toString('hex');

/** Every KDF_EVERY-th call is followed by a KDF call alone, so both see the same machine load. */
const KDF_EVERY = 4;

async function registerAll(http: HttpClient, names: string[], kdf: number[]): Promise<number[]> {
  const samples: number[] = [];
  for (const [i, username] of names.entries()) {
    const start = performance.now();
    const res = await http.call('/auth/register', {
      body: { username, password: PASSWORD, displayName: 'b' },
    });
    samples.push(performance.now() - start);
    if (res.status !== 201)
      throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    if (i % KDF_EVERY === 0) {
      const t = performance.now();
      await hashPassword(PASSWORD);
      kdf.push(performance.now() - t);
    }
  }
  return samples;
}

async function loginAll(http: HttpClient, names: string[], kdf: number[], stored: string): Promise<number[]> {
  const samples: number[] = [];
  for (const [i, username] of names.entries()) {
    const start = performance.now();
    const res = await http.call('/auth/login', { body: { username, password: PASSWORD } });
    samples.push(performance.now() - start);
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    if (i % KDF_EVERY === 0) {
      const t = performance.now();
      const ok = await verifyPassword(PASSWORD, stored);
      kdf.push(performance.now() - t);
      if (!ok) throw new Error('verifyPassword rejected a fresh hash');
    }
  }
  return samples;
}

const names = (run: number | string, n: number) =>
  Array.from({ length: n }, (_, i) => `ba_${tag}_${run}_${i}`);

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;
const row = (s: Summary) => `p50 ${ms(s.p50).padStart(8)} p99 ${ms(s.p99).padStart(8)}`;

await benchMain('auth: register and login latency, and the KDF share', async (runtime) => {
  const { N, r, p, keyLength } = kdfParams();
  console.log(
    `KDF: scrypt N=${N} (2^${Math.log2(N)}) r=${r} p=${p} keyLength=${keyLength} bytes, ` +
      `${((128 * N * r * p) / 2 ** 20).toFixed(0)} MiB per derivation` +
      `${process.env.SCRYPT_N || process.env.SCRYPT_R || process.env.SCRYPT_P ? ' (from SCRYPT_* env)' : ' (defaults)'}`,
  );
  console.log('the handlers run in this process and use the same kdfParams()\n');

  const http = new HttpClient(runtime.httpUrl, 1);
  try {
    const stored = await hashPassword(PASSWORD);
    const warm = names('w', 10);
    await registerAll(http, warm, []);
    await loginAll(http, warm, [], stored);

    console.log(
      `${USERS} sequential registrations then ${USERS} logins per run, ${RUNS} runs (10 warm-up each first)`,
    );
    console.log(
      `after every ${KDF_EVERY}th call the same process times one hashPassword (registrations) or verifyPassword ` +
        '(logins) alone, so the KDF is measured under the same load as the requests\n',
    );
    const rows: Array<{ reg: Summary; log: Summary; hash: Summary; verify: Summary }> = [];
    for (let run = 1; run <= RUNS; run++) {
      const users = names(run, USERS);
      const hashes: number[] = [];
      const verifies: number[] = [];
      const reg = summarize(await registerAll(http, users, hashes));
      const log = summarize(await loginAll(http, users, verifies, stored));
      const hash = summarize(hashes);
      const verify = summarize(verifies);
      rows.push({ reg, log, hash, verify });
      console.log(
        `run ${run}: register ${row(reg)}   login ${row(log)}\n` +
          `       hashPassword ${row(hash)}   verifyPassword ${row(verify)}   ` +
          `KDF share of p50: register ${pct(hash.p50, reg.p50)}, login ${pct(verify.p50, log.p50)}`,
      );
    }
    const med = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f));
    const regP50 = med((r) => r.reg.p50);
    const logP50 = med((r) => r.log.p50);
    const hashP50 = med((r) => r.hash.p50);
    const verifyP50 = med((r) => r.verify.p50);
    console.log('');
    console.log(`median over ${RUNS} runs:`);
    console.log(`  register       p50 ${ms(regP50)}  p99 ${ms(med((r) => r.reg.p99))}`);
    console.log(`  login          p50 ${ms(logP50)}  p99 ${ms(med((r) => r.log.p99))}`);
    console.log(
      `  hashPassword   p50 ${ms(hashP50)}  p99 ${ms(med((r) => r.hash.p99))}  (in-process, no HTTP)`,
    );
    console.log(
      `  verifyPassword p50 ${ms(verifyP50)}  p99 ${ms(med((r) => r.verify.p99))}  (in-process, no HTTP)`,
    );
    console.log(
      `KDF share of the median register p50: ${pct(hashP50, regP50)} (the rest, ${ms(regP50 - hashP50)}: HTTP front, ` +
        'validation, one TransactWriteItems, token signing)',
    );
    console.log(
      `KDF share of the median login p50:    ${pct(verifyP50, logP50)} (the rest, ${ms(logP50 - verifyP50)}: HTTP front, ` +
        'validation, two GetItems, token signing)',
    );
    if (hashP50 > regP50 || verifyP50 > logP50) {
      console.log(
        '! the KDF alone came out slower than a whole request: the machine is too busy for this split to mean much',
      );
    }
  } finally {
    http.close();
  }
});
