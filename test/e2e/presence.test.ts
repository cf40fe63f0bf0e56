// Presence over the public API: online with the first connection, offline with the last one closed or
// a killed client, one event per change however many connections, visible to friends and group
// co-members only.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { api, type WsClient, wsUrl } from '../support/clients.js';
import { befriend, type E2eUser, signUp } from '../support/e2e-users.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();
const rootDir = fileURLToPath(new URL('../..', import.meta.url));

const presenceOf = (ws: WsClient, userId: string) =>
  ws.next((f) => f.type === 'presence' && f.userId === userId);

async function friendEntry(viewer: E2eUser, friendId: string) {
  const res = await api('/friends', { token: viewer.token });
  expect(res.status).toBe(200);
  return res.body.items.find((f: any) => f.user.userId === friendId);
}

async function group(owner: E2eUser, members: E2eUser[]) {
  const res = await api('/groups', {
    method: 'POST',
    token: owner.token,
    body: { name: 'presence group', memberIds: members.map((m) => m.userId) },
  });
  expect(res.status).toBe(201);
  return res.body.conversationId as string;
}

/** A client in another process, killed with SIGKILL: no close frame, the OS drops its socket. */
function clientProcess(token: string): Promise<{ kill: () => Promise<void> }> {
  const script = `
    const WebSocket = require('ws');
    const ws = new WebSocket(process.argv[1] + '?token=' + encodeURIComponent(process.argv[2]));
    ws.on('open', () => process.stdout.write('open\\n'));
    ws.on('error', (e) => { process.stderr.write(String(e)); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script, wsUrl(), token], { cwd: rootDir, stdio: 'pipe' });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`client exited with ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('open')) return;
      child.removeAllListeners('exit');
      resolve({
        kill: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGKILL');
          }),
      });
    });
  });
}

describe('presence', () => {
  it('goes online with the first connection and offline with the last, one event each, to friends', async () => {
    const [a, b] = await Promise.all([signUp('pa'), signUp('pb')]);
    await befriend(a, b);
    const watcher = await connect(a.token);
    expect((await friendEntry(a, b.userId)).presence).toEqual({ status: 'offline', lastSeenAt: null });

    // Five connections at once: one `online` event, not five.
    const sockets = await Promise.all(Array.from({ length: 5 }, () => connect(b.token)));
    const online = await presenceOf(watcher, b.userId);
    expect(online).toMatchObject({ type: 'presence', userId: b.userId, status: 'online', lastSeenAt: null });
    expect((await friendEntry(a, b.userId)).presence).toEqual({ status: 'online', lastSeenAt: null });
    const profile = await api(`/users/${b.userId}`, { token: a.token });
    expect(profile.body.presence).toEqual({ status: 'online', lastSeenAt: null });

    // Closing all but one changes nothing; closing the last one is the next (and only) change.
    await Promise.all(sockets.slice(1).map((s) => s.close()));
    expect((await friendEntry(a, b.userId)).presence.status).toBe('online');
    const before = new Date().toISOString();
    await sockets[0]?.close();
    const offline = await presenceOf(watcher, b.userId);
    expect(offline).toMatchObject({ status: 'offline', userId: b.userId });
    expect(offline.version).toBeGreaterThan(online.version);
    expect(offline.lastSeenAt >= before).toBe(true);
    const entry = await friendEntry(a, b.userId);
    expect(entry.presence.status).toBe('offline');
    expect(entry.presence.lastSeenAt >= before).toBe(true);
  });

  it('takes a killed client offline', async () => {
    const [a, b] = await Promise.all([signUp('pk'), signUp('pl')]);
    await befriend(a, b);
    const watcher = await connect(a.token);
    const client = await clientProcess(b.token);
    expect(await presenceOf(watcher, b.userId)).toMatchObject({ status: 'online' });
    await client.kill();
    expect(await presenceOf(watcher, b.userId)).toMatchObject({ status: 'offline' });
    expect((await friendEntry(a, b.userId)).presence.status).toBe('offline');
  });

  it('goes offline when the server closes the last connection (logout)', async () => {
    const [a, b] = await Promise.all([signUp('po'), signUp('pp')]);
    await befriend(a, b);
    const watcher = await connect(a.token);
    await connect(b.token);
    expect(await presenceOf(watcher, b.userId)).toMatchObject({ status: 'online' });
    expect((await api('/auth/logout', { method: 'POST', token: b.token })).status).toBe(204);
    expect(await presenceOf(watcher, b.userId)).toMatchObject({ status: 'offline' });
  });

  it('shows presence to friends and group co-members only, never across a block', async () => {
    const [a, b, c, stranger] = await Promise.all([signUp('pv'), signUp('pw'), signUp('px'), signUp('py')]);
    await group(a, [b, c]);
    await connect(a.token);
    const seenBy = async (viewer: E2eUser) => {
      const res = await api(`/users/${a.userId}`, { token: viewer.token });
      expect(res.status).toBe(200);
      return res.body.presence;
    };
    expect(await seenBy(b)).toEqual({ status: 'online', lastSeenAt: null });
    expect(await seenBy(c)).toEqual({ status: 'online', lastSeenAt: null });
    expect(await seenBy(stranger)).toBeUndefined();
    expect(await seenBy(a)).toBeUndefined();
    // A blocks B: B, still in the group, sees no presence of A (nor A of B).
    expect((await api(`/blocks/${b.userId}`, { method: 'POST', token: a.token })).status).toBe(204);
    expect(await seenBy(b)).toBeUndefined();
    expect((await api(`/users/${b.userId}`, { token: a.token })).body.presence).toBeUndefined();
    expect(await seenBy(c)).toEqual({ status: 'online', lastSeenAt: null });
  });

  it('sends no presence of a former friend', async () => {
    const [a, b] = await Promise.all([signUp('pf'), signUp('pg')]);
    await befriend(a, b);
    expect((await api(`/friends/${b.userId}`, { method: 'DELETE', token: a.token })).status).toBe(204);
    const watcher = await connect(a.token);
    await connect(b.token);
    expect((await api(`/users/${b.userId}`, { token: a.token })).body.presence).toBeUndefined();
    await expect(watcher.next((f) => f.type === 'presence', 1_500)).rejects.toThrow();
  }, 20_000);
});
