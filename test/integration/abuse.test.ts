import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readAbuseLimits } from '#shared/config/abuse-limits.js';
import { listUserConnections } from '#shared/data/connections-repo.js';
import { pushToConnections } from '#shared/domain/push.js';
import { api, httpUrl, UpgradeRefused, WsClient } from '../support/clients.js';
import { befriend, signUp } from '../support/e2e-users.js';
import { wsSessions } from '../support/ws-sessions.js';

// Each abuse runs next to a quiet bystander; what is compared is behaviour (no 5xx, the bystander's
// requests succeed), never a duration.
const connect = wsSessions();

/** A quiet user's requests, over HTTP and WebSocket, until `stop` resolves; returns every outcome. */
async function bystander(stop: Promise<unknown>): Promise<string[]> {
  const me = await signUp('quiet');
  const socket = await connect(me.token);
  const outcomes: string[] = [];
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  do {
    const res = await api('/me', { token: me.token });
    outcomes.push(`http ${res.status}`);
    const pong = await socket.request({ action: 'ping' }).catch((e: Error) => ({ type: e.message }));
    outcomes.push(`ws ${pong.type}`);
  } while (!done);
  return outcomes;
}

/** A POST from a given loopback source address (the flood's own "client IP"); status and body text. */
function postFrom(
  localAddress: string,
  path: string,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const url = new URL(path, httpUrl());
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function inParallel<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

describe('one user cannot take everyone down', () => {
  it('caps one user’s connection storm while a bystander is served', async () => {
    const attacker = await signUp('storm');
    let finish: () => void = () => undefined;
    const stop = new Promise<void>((r) => {
      finish = r;
    });
    const quiet = bystander(stop);
    const outcomes = await inParallel(150, 30, async () => {
      try {
        const client = await WsClient.connect(attacker.token);
        client.socket.terminate();
        return 'open';
      } catch (err) {
        return err instanceof UpgradeRefused ? `refused ${err.status}` : `error ${(err as Error).message}`;
      }
    });
    finish();
    const seen = await quiet;
    expect(new Set(outcomes)).toSatisfy((s: Set<string>) =>
      [...s].every((o) => o === 'open' || o === 'refused 429'),
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((o) => o !== 'http 200' && o !== 'ws pong')).toEqual([]);
    // Once the storm is over the attacker can connect again: places of dropped sockets are freed.
    let reconnected: WsClient | undefined;
    for (let i = 0; i < 100 && !reconnected; i++) {
      reconnected = await connect(attacker.token).catch(() => undefined);
      if (!reconnected) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reconnected).toBeDefined();
  });

  it('refuses a connect past the per-user cap with 429 throttled in the contract shape, and frees a place on close', async () => {
    const holder = await signUp('cap');
    const max = Number(process.env.MAX_CONNECTIONS_PER_USER ?? 10);
    const open: WsClient[] = [];
    for (let i = 0; i < max; i++) open.push(await WsClient.connect(holder.token));
    const refusal = await WsClient.connect(holder.token).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(UpgradeRefused);
    const refused = refusal as UpgradeRefused;
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error).toMatchObject({ code: 'throttled', retryAfterMs: 1000 });
    expect(refused.retryAfter).toBe('1');
    // Closing one socket frees one place.
    open.pop()?.socket.close();
    let again: WsClient | undefined;
    for (let i = 0; i < 50 && !again; i++) {
      again = await WsClient.connect(holder.token).catch(() => undefined);
      if (!again) await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toBeDefined();
    for (const client of [...open, again]) client?.socket.close();
  });

  it('limits how often one user connects, however briefly each socket lives, and not anyone else', async () => {
    const [looper, other] = await Promise.all([signUp('loop'), signUp('other')]);
    // The runtime runs with the stack's defaults (burst 20, then 1/s).
    const { burst } = readAbuseLimits(process.env).connects;
    // Open and drop sockets one after another: the connection cap is never reached, the connect limit is.
    let opened = 0;
    let refusal: UpgradeRefused | undefined;
    for (let i = 0; i < 10 * burst && !refusal; i++) {
      try {
        const client = await WsClient.connect(looper.token);
        opened++;
        client.socket.terminate();
      } catch (err) {
        if (!(err instanceof UpgradeRefused)) throw err;
        refusal = err;
      }
    }
    expect(refusal?.status).toBe(429);
    expect(opened).toBeGreaterThanOrEqual(burst);
    // The refusal is in the contract's error shape, with when to retry.
    const error = JSON.parse(refusal?.body ?? '{}').error;
    expect(error).toMatchObject({ code: 'throttled', retryAfterMs: expect.any(Number) });
    expect(Number(refusal?.retryAfter)).toBeGreaterThanOrEqual(1);
    // Another user connects as usual meanwhile.
    expect((await (await connect(other.token)).request({ action: 'ping' })).type).toBe('pong');
    // After the refill the looper connects again.
    await new Promise((r) => setTimeout(r, error.retryAfterMs));
    expect((await (await connect(looper.token)).request({ action: 'ping' })).type).toBe('pong');
  });

  it('never lets a member who stops reading hold up sends or other members’ pushes', async () => {
    const [slow, sender] = await Promise.all([signUp('slow'), signUp('sender')]);
    const conversationId = await befriend(sender, slow);
    const slowSocket = await connect(slow.token);
    const senderSocket = await connect(sender.token);
    // The slow member's client stops reading its socket for good.
    (slowSocket.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const [slowConnection] = await listUserConnections(slow.userId);
    const big = { type: 'filler', text: 'x'.repeat(120_000) };
    const pushed = await pushToConnections(Array(150).fill(slowConnection?.connectionId), big);
    // Its buffer fills and further pushes are refused at once instead of waiting for it.
    expect(pushed.delivered + pushed.failed).toBe(150);
    expect(pushed.failed).toBeGreaterThan(0);
    const sends = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        api(`/conversations/${conversationId}/messages`, {
          method: 'POST',
          token: sender.token,
          body: { clientMessageId: `slow-${i}`, text: `message ${i}` },
        }),
      ),
    );
    expect(sends.map((s) => s.status)).toEqual([201, 201, 201, 201, 201]);
    // The sender's own socket is served as usual.
    expect((await senderSocket.request({ action: 'ping' })).type).toBe('pong');
    const history = await api(`/conversations/${conversationId}/messages`, { token: sender.token });
    expect(history.body.items).toHaveLength(5);
  });

  it('throttles a flood of wrong passwords per username with 429 throttled, while a bystander is served', async () => {
    const victim = await signUp('victim');
    let finish: () => void = () => undefined;
    const stop = new Promise<void>((r) => {
      finish = r;
    });
    const quiet = bystander(stop);
    const flood = (
      await inParallel(120, 20, () =>
        postFrom('127.0.0.5', '/auth/login', { username: victim.username, password: 'wrong password!' }),
      )
    ).map((r) => r.status);
    finish();
    const seen = await quiet;
    expect(flood.every((s) => s === 401 || s === 429)).toBe(true);
    expect(flood.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(seen.filter((o) => o !== 'http 200' && o !== 'ws pong')).toEqual([]);
    // The refusal is in the contract's shape.
    const res = await api('/auth/login', {
      method: 'POST',
      body: { username: victim.username, password: 'wrong password!' },
    });
    expect(res.status).toBe(429);
    expect(res.body.error).toMatchObject({ code: 'throttled' });
    expect(res.body.error.retryAfterMs).toBeGreaterThan(0);
  });

  it('throttles login attempts per source address across usernames', async () => {
    // All at once, so that they reach the per-source bucket faster than it refills.
    const answers = await inParallel(100, 100, (i) =>
      postFrom('127.0.0.6', '/auth/login', {
        username: `nobody${i}x${Date.now()}`,
        password: 'whatever it is',
      }),
    );
    expect(answers.every((a) => a.status === 401 || a.status === 429)).toBe(true);
    const bySource = answers.filter((a) => a.status === 429 && a.text.includes('Too many login attempts'));
    expect(bySource.length).toBeGreaterThan(0);
  });

  it('spends no victim’s login budget on attempts its source is already refused for', async () => {
    const victim = await signUp('spared');
    const source = '127.0.0.7';
    const { loginPerSource, loginPerUsername } = readAbuseLimits(process.env);
    // The source spends its own budget on made-up names, one after another, until it is refused.
    let refused = 0;
    for (let i = 0; i < loginPerSource.burst * 3 && refused < 3; i++) {
      const res = await postFrom(source, '/auth/login', {
        username: `madeup${i}x${Date.now()}`,
        password: 'whatever it is',
      });
      expect([401, 429]).toContain(res.status);
      if (res.status === 429) refused++;
    }
    expect(refused).toBe(3);
    // More guesses at the victim's name from that source than the victim's own budget holds.
    const guesses = await inParallel(loginPerUsername.burst + 5, 1, () =>
      postFrom(source, '/auth/login', { username: victim.username, password: 'wrong password!' }),
    );
    expect(guesses.filter((g) => g.status === 429).length).toBeGreaterThan(loginPerUsername.burst / 2);
    // The victim, from elsewhere, still logs in: the refused guesses took nothing from its bucket.
    const res = await postFrom('127.0.0.8', '/auth/login', {
      username: victim.username,
      password: 'a long enough password',
    });
    expect(res.status, res.text).toBe(200);
  });
});
