// npm run bench:reactions — N members reacting at once to ONE message (every change of a conversation
// takes the next change number, so they commit one after another), against the floor of the same N
// reactions spread over N conversations (no contention), measured in the same run.

import { type BenchUser, befriend, makeGroup, register } from './lib/chat-users.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain } from './lib/runtime.js';
import { median, ms } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 50);
// Set-up registers the members; their KDF cost is what bench:auth measures, not this benchmark.
process.env.SCRYPT_N ??= '1024';
// The owner posts a message to every member's conversation per run, past the per-user send limit,
// which is not what this measures (each member reacts once per run, well within it).
process.env.SEND_RATE_PER_SECOND ??= '100000';
process.env.SEND_BURST ??= '100000';

const EMOJI = ['👍', '🎉', '❤️', '🔥', '😂'];

/** Sends one message and returns its seq. */
async function post(http: HttpClient, u: BenchUser, conversationId: string, text: string): Promise<number> {
  const res = await http.call<{ seq: number }>(`/conversations/${conversationId}/messages`, {
    token: u.token,
    body: { clientMessageId: `${text}-${Date.now()}`, text },
  });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.seq;
}

/** All reactions at once; returns the wall time (ms) until the last one answered 200. */
async function burst(
  http: HttpClient,
  reactions: ReadonlyArray<{ u: BenchUser; conversationId: string; seq: number; emoji: string }>,
) {
  const started = performance.now();
  await Promise.all(
    reactions.map(async ({ u, conversationId, seq, emoji }) => {
      const res = await http.call(`/conversations/${conversationId}/messages/${seq}/reactions`, {
        token: u.token,
        body: { emoji },
      });
      if (res.status !== 200) throw new Error(`react: ${res.status} ${JSON.stringify(res.body)}`);
    }),
  );
  return performance.now() - started;
}

await benchMain(`reactions: ${MEMBERS} members reacting at once to one message`, async (runtime) => {
  const http = new HttpClient(runtime.httpUrl, MEMBERS * 2);
  const owner = await register(http, 'rxo');
  const members = await pool(
    Array.from({ length: MEMBERS }, (_, i) => i),
    8,
    () => register(http, 'rxm'),
  );
  const group = await makeGroup(http, [owner, ...members]);
  // The floor: each member reacts in a direct conversation of its own with the owner.
  const directs = await pool(members, 8, (m) => befriend(http, owner, m));
  const hot: number[] = [];
  const floor: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const emoji = EMOJI[(run - 1) % EMOJI.length] as string;
    const seq = await post(http, owner, group, `hot-${run}`);
    const seqs = await pool(directs, 8, (c) => post(http, owner, c, `cold-${run}`));
    // Alternate which goes first, so that neither always meets a warmer runtime.
    const measure = [
      async () =>
        floor.push(
          await burst(
            http,
            members.map((u, i) => ({
              u,
              conversationId: directs[i] as string,
              seq: seqs[i] as number,
              emoji,
            })),
          ),
        ),
      async () =>
        hot.push(
          await burst(
            http,
            members.map((u) => ({ u, conversationId: group, seq, emoji })),
          ),
        ),
    ];
    if (run % 2 === 0) measure.reverse();
    for (const m of measure) await m();
    const check = await http.call<{ items: Array<{ seq: number; reactions?: Record<string, number> }> }>(
      `/conversations/${group}/messages?afterSeq=${seq - 1}&limit=1`,
      { token: owner.token },
    );
    const count = check.body.items[0]?.reactions?.[emoji];
    if (count !== MEMBERS) throw new Error(`run ${run}: ${count} ${emoji}, expected ${MEMBERS}`);
    console.log(
      `run ${run}: one message ${ms(hot[hot.length - 1] as number)}, ${MEMBERS} conversations ${ms(floor[floor.length - 1] as number)} (count ${count})`,
    );
  }
  const h = median(hot);
  const f = median(floor);
  console.log(`\nmedian of ${RUNS} runs, ${MEMBERS} reactions each:`);
  console.log(`  floor, ${MEMBERS} conversations (no contention): ${ms(f)}`);
  console.log(`  one message (all under one change counter):   ${ms(h)}`);
  console.log(`  ratio: ${(h / f).toFixed(2)}x the floor; every count exact`);
});
