// npm run bench:messages (part 2 of 2) — one user floods 200 sendMessage frames 10 ms apart next to a
// quiet user sending in another conversation, with the stack's default rate limits: the quiet user's
// send latency p99 with the flood against without it, and how fast and how often the flood is refused.
import { DEFAULT_RATE_LIMITS } from '#shared/config/rate-limits.js';
import { ChatSocket } from './lib/chat-socket.js';
import { type BenchUser, befriend, makeGroup, register } from './lib/chat-users.js';
import { HttpClient } from './lib/http.js';
import { benchMain } from './lib/runtime.js';
import { median, ms, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FLOOD_FRAMES = 200;
const FLOOD_GAP_MS = 10;
const QUIET_SENDS = 30;
// Two thirds of the quiet user's own limit (the stack's default), so only the flood is refused.
const QUIET_GAP_MS = 1500 / DEFAULT_RATE_LIMITS.send.ratePerSecond;

process.env.SCRYPT_N ??= '1024';
for (const name of ['SEND_RATE_PER_SECOND', 'SEND_BURST']) delete process.env[name];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The quiet user's sends, one after another: latency from send to ack, ms. */
async function quietSends(socket: ChatSocket, conversationId: string, prefix: string): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < QUIET_SENDS; i++) {
    const t0 = performance.now();
    const answer = await socket.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: `${prefix}${i}`,
      text: 'quiet',
      // Like the SDK: one send at a time, so the server need not wait out its reorder window.
      previousAcked: true,
    });
    if (answer.type !== 'ack') throw new Error(`quiet send refused: ${JSON.stringify(answer)}`);
    latencies.push(performance.now() - t0);
    await sleep(QUIET_GAP_MS);
  }
  return latencies;
}

await benchMain('bench:messages (flood)', async (runtime) => {
  const http = new HttpClient(runtime.httpUrl);
  console.log(
    `5) flood: ${FLOOD_FRAMES} frames ${FLOOD_GAP_MS} ms apart from one user into a 3-member group, next to a quiet user ` +
      `sending ${QUIET_SENDS} messages (each waiting for its ack) in a direct conversation; default rate limits`,
  );
  const rows = [];
  for (let r = 1; r <= RUNS; r++) {
    const [flooder, m1, m2, quiet, friend] = (await Promise.all(
      Array.from({ length: 5 }, () => register(http, 'fl')),
    )) as [BenchUser, BenchUser, BenchUser, BenchUser, BenchUser];
    const floodConversation = await makeGroup(http, [flooder, m1, m2]);
    const quietConversation = await befriend(http, quiet, friend);
    const sockets = await Promise.all(
      [flooder, m1, m2, quiet, friend].map((u) => ChatSocket.connect(runtime.wsUrl, u.token)),
    );
    const [floodSocket, , , quietSocket] = sockets as [
      ChatSocket,
      ChatSocket,
      ChatSocket,
      ChatSocket,
      ChatSocket,
    ];
    const alone = await quietSends(quietSocket, quietConversation, `a${r}-`);
    const refusals: number[] = [];
    let acked = 0;
    let throttled = 0;
    let other = 0;
    let floodMs = 0;
    const flood = (async () => {
      const floodStart = performance.now();
      const answers: Promise<void>[] = [];
      for (let i = 0; i < FLOOD_FRAMES; i++) {
        const t0 = performance.now();
        answers.push(
          floodSocket
            .request(
              {
                action: 'sendMessage',
                conversationId: floodConversation,
                clientMessageId: `f${i}`,
                text: 'flood',
              },
              60_000,
            )
            .then((answer) => {
              if (answer.type === 'ack') acked++;
              else if (answer.code === 'throttled') {
                throttled++;
                refusals.push(performance.now() - t0);
              } else other++;
            }),
        );
        await sleep(FLOOD_GAP_MS);
      }
      floodMs = performance.now() - floodStart;
      await Promise.all(answers);
    })();
    const during = await quietSends(quietSocket, quietConversation, `d${r}-`);
    await flood;
    await Promise.all(sockets.map((s) => s.close()));
    const a = summarize(alone);
    const d = summarize(during);
    const refusal = summarize(refusals);
    rows.push({ ratio: d.p99 / a.p99, a, d, refusal, acked, throttled, other });
    console.log(
      `   run ${r}: quiet send p99 ${ms(a.p99)} alone, ${ms(d.p99)} during the flood (p50 ${ms(a.p50)} / ${ms(d.p50)}), ratio ${(d.p99 / a.p99).toFixed(2)}x; ` +
        `flood: ${FLOOD_FRAMES} frames sent in ${ms(floodMs)}, ${acked} acked, ${throttled} throttled, ${other} other; refusal after p50 ${ms(refusal.p50)} p99 ${ms(refusal.p99)}`,
    );
  }
  console.log(
    `   median: quiet p99 ratio ${median(rows.map((x) => x.ratio)).toFixed(2)}x (target <= 2x); throttled ${median(rows.map((x) => x.throttled))} of ${FLOOD_FRAMES}; ` +
      `refusals answered in p50 ${ms(median(rows.map((x) => x.refusal.p50)))}, p99 ${ms(median(rows.map((x) => x.refusal.p99)))}; ` +
      `answers other than ack or throttled: ${median(rows.map((x) => x.other))}`,
  );
});
