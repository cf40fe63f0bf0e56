// npm run bench:abuse — what one user's abuse does to a quiet bystander. For each abuse (a connection
// storm of one user, a slow reader in a group, a login flood of wrong passwords from another address and
// from the bystander's own, another user's flood of requests from that address, a send flood), a
// bystander's request p99 while it runs, divided by the same p99 measured just before it in the same run
// (target <= 2x), plus how many of the abuser's requests were refused and how fast. Median of BENCH_RUNS.
//
// The runtime runs as `npm start`'s entry in a child process with the stack's default limits, so the
// server's work is not mixed with this process's clients, and each abuser runs in a worker thread, so
// its callbacks do not delay the bystander's. Every client here is on loopback: the first login
// flood binds its sockets to 127.0.0.2, which the local front (taking the source from the TCP peer
// address, never from a header) sees as another source than the bystander's 127.0.0.1; the second, and
// the request flood, come from 127.0.0.1 like the bystander, as any black-box client on one machine does.
import WebSocket from 'ws';
import { DEFAULT_RATE_LIMITS } from '#shared/config/rate-limits.js';
import { type AbuserOutcome, type AbuserTask, type RunningAbuser, startAbuser } from './lib/abuser.js';
import { type BenchUser, makeGroup, register } from './lib/chat-users.js';
import { HttpClient } from './lib/http.js';
import { type ChildRuntime, printHeader, printLoad, spawnStartEntry } from './lib/runtime.js';
import { median, ms, percentile, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Only the abuses whose names are listed (comma-separated, e.g. `login flood,send flood`); all by default. */
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim().toLowerCase());
/** Bystander requests per phase (GET /me or a send, one at a time). */
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const GAP_MS = 20;
/** One send per token interval of the stack's default send limit (the runtime runs with the defaults): ms. */
const SEND_GAP_MS = 1000 / DEFAULT_RATE_LIMITS.send.ratePerSecond;
const FLOOD_SOURCE = '127.0.0.2';
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

// The stack's defaults for every limit: nothing inherited from the caller's shell.
for (const name of Object.keys(process.env)) {
  if (
    /^(SEND_|FRAME_|LOGIN_|PASSWORD_HASH_|MAX_CONNECTIONS_PER_USER|MAX_PENDING|GROUPS_|NON_FRIEND|CONNECT_)/.test(
      name,
    )
  )
    delete process.env[name];
}

interface Prepared {
  /** The bystander's request; its latency is measured by the caller. */
  request: () => Promise<void>;
  /** Pause between two bystander requests (ms; default GAP_MS). */
  gapMs?: number;
  /** Runs in both phases (alone and during), so that only the abuse differs between them. */
  ambient?: () => RunningAbuser;
  /** Starts the abuse; its `stop()` ends it and says what was refused. */
  abuse: () => RunningAbuser & { note?: () => string };
  cleanup: () => Promise<void>;
}

interface Abuse {
  readonly name: string;
  readonly bystander: string;
  prepare(rt: ChildRuntime, http: HttpClient): Promise<Prepared>;
}

/** The bystander's GET /me; anything but 200 stops the benchmark (a 5xx is a bug). */
const getMe = (http: HttpClient, user: BenchUser) => async () => {
  const res = await http.call('/me', { method: 'GET', token: user.token });
  if (res.status !== 200) throw new Error(`bystander GET /me: ${res.status} ${JSON.stringify(res.body)}`);
};

/** Opens a socket; resolves with it, or with the HTTP status that refused the upgrade. */
function openSocket(url: string): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    socket.once('error', () => resolve(0));
  });
}

/** One user's abuse, `task` given that user's token, beside another user's `GET /me`. */
const oneUser = (
  name: string,
  prefix: string,
  task: (rt: ChildRuntime, token: string) => AbuserTask,
): Abuse => ({
  name,
  bystander: 'GET /me',
  async prepare(rt, http) {
    const [abuser, quiet] = await Promise.all([register(http, `${prefix}a`), register(http, `${prefix}q`)]);
    return {
      request: getMe(http, quiet),
      abuse: () => startAbuser(task(rt, abuser.token)),
      cleanup: async () => undefined,
    };
  },
});

const connectionStorm = oneUser('connection storm', 'cs', (rt, token) => ({
  kind: 'connectionStorm',
  wsUrl: rt.wsUrl,
  token,
  concurrency: 30,
}));

/** Pushes the functions gave up on (logged as warnings by the runtime). */
const countPushFailures = (output: string) => (output.match(/push failed/g) ?? []).length;

const slowReader: Abuse = {
  name: 'slow reader',
  bystander: 'HTTP send in the group',
  async prepare(rt, http) {
    const users = await Promise.all(Array.from({ length: 5 }, () => register(http, 'sr')));
    const [quiet, reader, ...loud] = users as [BenchUser, BenchUser, ...BenchUser[]];
    const conversationId = await makeGroup(http, [quiet, reader, ...loud]);
    // The reader holds its whole connection cap; during the abuse none of its sockets reads.
    const readers = await Promise.all(
      Array.from({ length: 10 }, () => openSocket(`${rt.wsUrl}?token=${encodeURIComponent(reader.token)}`)),
    );
    const sockets = readers.filter((s): s is WebSocket => typeof s !== 'number');
    let n = 0;
    return {
      request: async () => {
        const res = await http.call(`/conversations/${conversationId}/messages`, {
          token: quiet.token,
          body: { clientMessageId: `q${++n}`, text: 'quiet' },
        });
        if (res.status !== 201) throw new Error(`bystander send: ${res.status} ${JSON.stringify(res.body)}`);
      },
      // Within the bystander's own send limit however fast its sends are answered.
      gapMs: SEND_GAP_MS,
      // Three members keep the group busy with 4,000-character messages, in both phases.
      ambient: () =>
        startAbuser({
          kind: 'loudMembers',
          httpUrl: rt.httpUrl,
          tokens: loud.map((u) => u.token),
          conversationId,
          text: 'x'.repeat(4000),
          gapMs: SEND_GAP_MS,
        }),
      abuse: () => {
        const before = countPushFailures(rt.output());
        for (const s of sockets) (s as unknown as { _socket: { pause(): void } })._socket.pause();
        return {
          stop: async () => ({ attempts: 0, refused: 0, other: 0, refusalMs: [] }),
          note: () =>
            `${sockets.length} paused sockets; ${countPushFailures(rt.output()) - before} pushes to them refused or timed out`,
        };
      },
      cleanup: async () => {
        for (const s of sockets) s.terminate();
      },
    };
  },
};

/** Wrong passwords, 30 at a time, from `source`: another address than the bystander's, or its own. */
const loginFloodFrom = (name: string, source: string): Abuse => ({
  name,
  bystander: 'GET /me',
  async prepare(rt, http) {
    const [victim, quiet] = await Promise.all([register(http, 'lv'), register(http, 'lq')]);
    const me = await http.expect<{ username: string }>(200, '/me', { method: 'GET', token: victim.token });
    return {
      request: getMe(http, quiet),
      abuse: () =>
        startAbuser({
          kind: 'loginFlood',
          httpUrl: rt.httpUrl,
          username: me.username,
          concurrency: 30,
          localAddress: source,
        }),
      cleanup: async () => undefined,
    };
  },
});
const loginFlood = loginFloodFrom('login flood', FLOOD_SOURCE);
/** As a black-box client on one machine floods: from the bystander's own address. */
const loginFloodSameAddress = loginFloodFrom('login flood same address', '127.0.0.1');

/** Another user of the bystander's address keeps 30 authorized requests in flight. */
const requestFlood = oneUser('request flood', 'rf', (rt, token) => ({
  kind: 'requestFlood',
  httpUrl: rt.httpUrl,
  token,
  concurrency: 30,
}));

const sendFlood: Abuse = {
  name: 'send flood',
  bystander: 'GET /me',
  async prepare(rt, http) {
    const users = await Promise.all(Array.from({ length: 4 }, () => register(http, 'sf')));
    const [flooder, m1, m2, quiet] = users as [BenchUser, BenchUser, BenchUser, BenchUser];
    const conversationId = await makeGroup(http, [flooder, m1, m2]);
    return {
      request: getMe(http, quiet),
      abuse: () =>
        startAbuser({
          kind: 'sendFlood',
          wsUrl: rt.wsUrl,
          token: flooder.token,
          conversationId,
          // Past the send limit's burst within the first round trip, so the limit is what answers.
          concurrency: 80,
        }),
      cleanup: async () => undefined,
    };
  },
};

/** The bystander's latencies: SAMPLES requests one after another, `gapMs` apart. */
async function measure(request: () => Promise<void>, gapMs = GAP_MS): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    await request();
    out.push(performance.now() - t0);
    await sleep(gapMs);
  }
  return out;
}

printHeader('bench:abuse — a quiet bystander next to one abuser');
const runtime = await spawnStartEntry();
console.log(`runtime: child process (npm start's entry), ready in ${Math.round(runtime.readyMs)} ms`);
console.log(
  `${RUNS} runs; per abuse and run: ${SAMPLES} bystander requests ${GAP_MS} ms apart (sends ${SEND_GAP_MS} ms) alone, then ${SAMPLES} ` +
    'during the abuse; the ratio is p99 during / p99 alone (target <= 2x)\n',
);
const http = new HttpClient(runtime.httpUrl);
let failed = false;
try {
  // Warm-up: the first calls load every handler.
  const warm = await register(http, 'w');
  await measure(getMe(http, warm));
  const abuses = [connectionStorm, slowReader, loginFlood, loginFloodSameAddress, requestFlood, sendFlood];
  for (const abuse of abuses.filter((a) => !ONLY || ONLY.includes(a.name))) {
    const rows: Array<{ ratio: number; alone: number; during: number; out: AbuserOutcome }> = [];
    for (let run = 1; run <= RUNS; run++) {
      const { request, gapMs, ambient, abuse: start, cleanup } = await abuse.prepare(runtime, http);
      const background = ambient?.();
      if (background) await sleep(500);
      const alone = await measure(request, gapMs);
      const running = start();
      await sleep(500);
      const during = await measure(request, gapMs);
      const out = await running.stop();
      const note = running.note?.();
      const ambientOut = await background?.stop();
      await cleanup();
      const a = summarize(alone);
      const d = summarize(during);
      rows.push({ ratio: d.p99 / a.p99, alone: a.p99, during: d.p99, out });
      console.log(
        `${abuse.name} run ${run}: bystander ${abuse.bystander} p99 ${ms(a.p99)} alone, ${ms(d.p99)} during ` +
          `(p50 ${ms(a.p50)} / ${ms(d.p50)}), ratio ${(d.p99 / a.p99).toFixed(2)}x; abuser: ${out.attempts} attempts, ` +
          `${out.refused} refused (429) in p50 ${ms(percentile(out.refusalMs, 50))} p99 ${ms(percentile(out.refusalMs, 99))}, ` +
          `${out.other} other${note ? `; ${note}` : ''}` +
          (ambientOut
            ? `; group traffic: ${ambientOut.attempts} sends, ${ambientOut.refused} throttled, ${ambientOut.other} other`
            : ''),
      );
      // Let queued disconnects and pushes drain before the next measurement.
      await sleep(2_000);
    }
    const ratio = median(rows.map((r) => r.ratio));
    console.log(
      `=> ${abuse.name}: median ratio ${ratio.toFixed(2)}x ${ratio <= 2 ? '(within 2x)' : '(OVER 2x)'}; ` +
        `median p99 ${ms(median(rows.map((r) => r.alone)))} alone, ${ms(median(rows.map((r) => r.during)))} during; ` +
        `refused ${median(rows.map((r) => r.out.refused))} of ${median(rows.map((r) => r.out.attempts))}, ` +
        `refusal p99 ${ms(median(rows.map((r) => percentile(r.out.refusalMs, 99))))}; other answers ${median(rows.map((r) => r.out.other))}\n`,
    );
  }
} catch (err) {
  console.error(err);
  failed = true;
} finally {
  http.close();
  await runtime.stop();
  printLoad('end');
}
process.exit(failed ? 1 : 0);
