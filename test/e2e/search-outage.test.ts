import { afterAll, describe, expect, it } from 'vitest';
import { remoteTarget } from '../support/remote-target.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';

interface Client {
  base: string;
  token?: string;
}

async function call(c: Client, method: string, path: string, body?: unknown) {
  const res = await fetch(c.base + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value, or fails with `what` after `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

// Runs its own runtime, whose OpenSearch process it kills; skipped against a remote deployment.
describe.runIf(!remoteTarget())('an OpenSearch process killed under load', () => {
  let runtime: RuntimeProcess | undefined;
  afterAll(async () => {
    await runtime?.stop();
  });

  it('is restarted by the runtime, reported by /health while down, and leaves no message unindexed', async () => {
    runtime = await startRuntimeProcess({ SEND_BURST: '1000', SEND_RATE_PER_SECOND: '100' });
    const rt = runtime;
    const searchPid = Number(/search pid (\d+)/.exec(rt.output())?.[1]);
    expect(searchPid).toBeGreaterThan(0);
    const anon: Client = { base: rt.httpUrl };
    const suffix = Date.now().toString(36);
    const register = async (name: string): Promise<Client & { id: string }> => {
      const res = await call(anon, 'POST', '/auth/register', {
        username: `${name}_${suffix}`,
        password: 'a long enough password',
        displayName: name,
      });
      expect(res.status).toBe(201);
      return { base: rt.httpUrl, token: res.body.token, id: res.body.user.userId };
    };
    const [a, b] = await Promise.all([register('outage_a'), register('outage_b')]);
    const req = await call(a, 'POST', '/friend-requests', { toUserId: b.id });
    const accepted = await call(b, 'POST', `/friend-requests/${req.body.requestId}/accept`, {});
    const conversationId = accepted.body.conversationId as string;
    const health = () => call(anon, 'GET', '/health');
    expect((await health()).body).toMatchObject({ status: 'ok', dependencies: { search: 'ok' } });

    // Two senders write until told to stop; each acknowledged message is noted with the phase it was sent in.
    type Phase = 'before' | 'outage' | 'after';
    let phase = 'before' as Phase;
    let stop = false;
    const acked = new Map<string, { messageId: string; phase: Phase }>();
    const sender = async (who: Client, tag: string) => {
      for (let i = 0; !stop; i++) {
        const sentIn = phase;
        const clientMessageId = `${tag}-${i}`;
        const res = await call(who, 'POST', `/conversations/${conversationId}/messages`, {
          clientMessageId,
          text: `outage probe ${clientMessageId}`,
        }).catch(() => undefined);
        if (res && (res.status === 201 || res.status === 200))
          acked.set(clientMessageId, { messageId: res.body.messageId, phase: sentIn });
        await sleep(50);
      }
    };
    const senders = Promise.all([sender(a, 'a'), sender(b, 'b')]);
    await until('a first burst', 30_000, async () => (acked.size >= 10 ? true : undefined));

    // Killed by its pid, as an out-of-memory kill would: no shutdown hook runs in the engine.
    process.kill(searchPid, 'SIGKILL');
    phase = 'outage';
    const down = await until('/health to report search down', 60_000, async () => {
      const res = await health();
      return res.status === 503 ? res.body : undefined;
    });
    expect(down.error.code).toBe('unavailable');
    expect(down.error.dependencies).toMatchObject({
      search: 'unavailable',
      database: 'ok',
    });
    // The runtime, not the test, brings the engine back. /health may answer 200 a moment before the
    // supervisor logs the restart (its own readiness probe polls), so both are awaited.
    const up = await until('/health to report search up again', 240_000, async () => {
      const res = await health();
      return res.status === 200 ? res.body : undefined;
    });
    expect(up).toMatchObject({ status: 'ok', dependencies: { search: 'ok' } });
    const back = await until('the runtime to log the restart', 30_000, async () => {
      return /opensearch is back \(pid (\d+), restart 1\)/.exec(rt.output()) ?? undefined;
    }).catch(() => null);
    expect(back, rt.output().slice(-3000)).not.toBeNull();
    expect(Number(back?.[1])).not.toBe(searchPid);
    phase = 'after';
    const atRecovery = acked.size;
    await until('a few sends after the recovery', 30_000, async () =>
      acked.size >= atRecovery + 5 ? true : undefined,
    );
    stop = true;
    await senders;
    const sentDuringOutage = [...acked.values()].filter((m) => m.phase === 'outage');
    expect(sentDuringOutage.length).toBeGreaterThan(0);

    // The table: every stored message of the conversation, read through the API.
    const stored: string[] = [];
    for (let afterSeq = 0, more = true; more; ) {
      const page = await call(
        a,
        'GET',
        `/conversations/${conversationId}/messages?afterSeq=${afterSeq}&limit=200`,
      );
      expect(page.status).toBe(200);
      for (const m of page.body.items) stored.push(m.messageId);
      afterSeq = page.body.items.at(-1)?.seq ?? afterSeq;
      more = page.body.hasMore;
    }
    for (const m of acked.values()) expect(stored).toContain(m.messageId);

    // The index catches up on its own (stream retries), with no backfill or replay run by anyone.
    const indexed = async () => {
      const res = await fetch(`${rt.searchEndpoint}/messages/_search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          size: 10_000,
          _source: ['messageId'],
          query: { term: { conversationId } },
        }),
      });
      const body = (await res.json()) as { hits?: { hits?: { _source: { messageId: string } }[] } };
      return new Set((body.hits?.hits ?? []).map((h) => h._source.messageId));
    };
    const missing = await until('the index to hold every stored message', 240_000, async () => {
      const ids = await indexed();
      const left = stored.filter((id) => !ids.has(id));
      return left.length === 0 ? left : undefined;
    }).catch(async (err) => {
      const ids = await indexed();
      throw new Error(`${(err as Error).message}: ${stored.filter((id) => !ids.has(id)).length} missing`);
    });
    expect(missing).toEqual([]);
    expect((await indexed()).size).toBe(stored.length);
  }, 600_000);
});
