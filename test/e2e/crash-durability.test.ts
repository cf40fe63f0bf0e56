import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteTarget } from '../support/remote-target.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';

interface Client {
  base: string;
  token?: string;
}

async function post(c: Client, path: string, body: unknown) {
  const res = await fetch(c.base + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

// Runs its own runtime with a persistent data directory; skipped against a remote deployment.
describe.runIf(!remoteTarget())('durability across a crash', () => {
  let dataDir: string;
  let runtime: RuntimeProcess | undefined;
  afterAll(async () => {
    await runtime?.stop('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged message, with no gap, when the runtime is killed during a burst', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chat-crash-'));
    runtime = await startRuntimeProcess({ DATA_DIR: dataDir });
    const anon: Client = { base: runtime.httpUrl };
    const reg = async (name: string) => {
      const res = await post(anon, '/auth/register', {
        username: name,
        password: 'password-123',
        displayName: name,
      });
      expect(res.status).toBe(201);
      return {
        id: res.body.user.userId as string,
        client: { base: runtime!.httpUrl, token: res.body.token },
      };
    };
    const suffix = Date.now().toString(36);
    const [a, b] = await Promise.all([reg(`crash_a_${suffix}`), reg(`crash_b_${suffix}`)]);
    const req = await post(a.client, '/friend-requests', { toUserId: b.id });
    const accepted = await post(b.client, `/friend-requests/${req.body.requestId}/accept`, {});
    const conversationId = accepted.body.conversationId as string;

    // Three senders fire messages until the process dies under them.
    const acked = new Map<string, { seq: number; messageId: string }>();
    let stop = false;
    const sender = async (who: typeof a, tag: string) => {
      for (let i = 0; !stop; i++) {
        const clientMessageId = `${tag}-${i}`;
        try {
          const res = await post(who.client, `/conversations/${conversationId}/messages`, {
            clientMessageId,
            text: clientMessageId,
          });
          if (res.status === 201 || res.status === 200) acked.set(clientMessageId, res.body);
        } catch {
          return; // connection refused or reset: the runtime is gone
        }
      }
    };
    const burst = Promise.all([sender(a, 'a1'), sender(a, 'a2'), sender(b, 'b1')]);
    while (acked.size < 20) await new Promise((r) => setTimeout(r, 20));
    // SIGKILL: no shutdown hook runs; the kernel then kills the DynamoDB engine too (parent-death signal).
    await runtime.stop('SIGKILL');
    stop = true;
    await burst;
    expect(acked.size).toBeGreaterThanOrEqual(20);

    runtime = await startRuntimeProcess({ DATA_DIR: dataDir });
    const client: Client = { base: runtime.httpUrl, token: a.client.token };
    const res = await fetch(`${client.base}/conversations/${conversationId}/messages?limit=200`, {
      headers: { authorization: `Bearer ${client.token}` },
    });
    const stored = ((await res.json()) as any).items as any[];
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    const bySender = new Map(stored.map((m) => [m.clientMessageId, m]));
    for (const [clientMessageId, message] of acked) {
      expect(bySender.get(clientMessageId)?.messageId, clientMessageId).toBe(message.messageId);
    }
    const next = await post(client, `/conversations/${conversationId}/messages`, {
      clientMessageId: 'after',
      text: 'after',
    });
    expect(next.status).toBe(201);
    expect(next.body.seq).toBe(stored.length + 1);
  }, 300_000);
});
