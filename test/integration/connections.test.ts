import { describe, expect, it } from 'vitest';
import { config } from '#shared/config/env.js';
import {
  CONNECTION_TTL_SECONDS,
  listUserConnections,
  saveConnection,
} from '#shared/data/connections-repo.js';
import { CONNECT_GRACE_MS, pushToUsers } from '#shared/domain/push.js';
import { handler as connect } from '../../functions/ws/connect.js';
import { handler as disconnect } from '../../functions/ws/disconnect.js';
import { scanAll, unique } from '../support/tables.js';

const wsEvent = (routeKey: string, connectionId: string, userId?: string) =>
  ({
    requestContext: {
      routeKey,
      eventType: routeKey === '$connect' ? 'CONNECT' : 'DISCONNECT',
      connectionId,
      connectedAt: Date.now(),
      authorizer: userId ? { userId } : undefined,
    },
  }) as never;

describe('WebSocket connection records', () => {
  it('records a connection on $connect with a TTL of at most two hours and removes it on $disconnect', async () => {
    const userId = unique('user');
    const connectionId = `${unique('c')}=`;
    const res = await connect(wsEvent('$connect', connectionId, userId));
    expect(res).toMatchObject({ statusCode: 200 });
    const [conn] = await listUserConnections(userId);
    expect(conn?.connectionId).toBe(connectionId);
    const items = await scanAll('connections');
    const meta = items.find((i) => i.connectionId === connectionId);
    const slots = items.filter((i) => i.pk === `USER#${userId}` && i.sk.startsWith('SLOT#'));
    expect(meta).toMatchObject({ userId });
    expect(slots.map((s) => s.connectionId)).toEqual([connectionId]);
    const horizon = Math.ceil(Date.now() / 1000) + CONNECTION_TTL_SECONDS;
    for (const ttl of [meta?.expiresAt, slots[0]?.expiresAt]) {
      expect(ttl).toBeGreaterThan(Date.now() / 1000);
      expect(ttl).toBeLessThanOrEqual(horizon);
    }
    await disconnect(wsEvent('$disconnect', connectionId));
    expect(await listUserConnections(userId)).toEqual([]);
    const after = await scanAll('connections');
    expect(after.filter((i) => i.connectionId === connectionId)).toEqual([]);
    // What stays of the user is their presence: offline, last seen at the disconnect.
    expect(after.filter((i) => i.pk === `USER#${userId}`)).toEqual([
      expect.objectContaining({ sk: 'PRESENCE', status: 'offline', lastSeenAt: expect.any(String) }),
    ]);
  });

  it('caps one user at MAX_CONNECTIONS_PER_USER live connections, each in its own small item', async () => {
    const userId = unique('user');
    const max = config().connections.maxPerUser;
    const record = () => ({ connectionId: `${unique('c')}=`, userId, connectedAt: new Date().toISOString() });
    // All at once: the cap holds under a race, and the refused ones write nothing.
    const results = await Promise.allSettled(Array.from({ length: max + 5 }, () => saveConnection(record())));
    const saved = results.filter((r) => r.status === 'fulfilled' && r.value.ok).length;
    expect(saved).toBe(max);
    expect(await listUserConnections(userId)).toHaveLength(max);
    const items = (await scanAll('connections')).filter((i) => i.pk === `USER#${userId}`);
    expect(items).toHaveLength(max);
    expect(await saveConnection(record())).toEqual({ ok: false, reason: 'limit' });
    // Another user is not affected by this user's cap.
    expect(await saveConnection({ ...record(), userId: unique('user') })).toEqual({ ok: true });
    // One closed connection frees one place.
    const [first] = await listUserConnections(userId);
    await disconnect(wsEvent('$disconnect', first?.connectionId as string));
    expect(await saveConnection(record())).toEqual({ ok: true });
  });

  it('frees places held by connections whose $disconnect never ran when a user reaches the cap', async () => {
    const userId = unique('user');
    // Records of connections the WebSocket front does not know (their $disconnect was lost).
    for (let i = 0; i < config().connections.maxPerUser; i++) {
      await saveConnection({
        connectionId: `${unique('lost')}=`,
        userId,
        connectedAt: new Date().toISOString(),
      });
    }
    const connectionId = `${unique('c')}=`;
    expect(await connect(wsEvent('$connect', connectionId, userId))).toMatchObject({ statusCode: 200 });
    expect((await listUserConnections(userId)).map((c) => c.connectionId)).toEqual([connectionId]);
  });

  it('never lists a connection past its token expiry, so nothing is pushed to it', async () => {
    const userId = unique('user');
    await saveConnection({
      connectionId: `${unique('c')}=`,
      userId,
      connectedAt: new Date().toISOString(),
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    expect(await listUserConnections(userId)).toEqual([]);
  });

  it('refuses $connect without an authorizer verdict', async () => {
    const res = await connect(wsEvent('$connect', unique('c')));
    expect(res).toMatchObject({ statusCode: 401 });
  });

  it('removes a connection that the API reports gone (410) when pushing to it', async () => {
    const userId = unique('user');
    // A record for a connection the WebSocket front has never seen: @connections answers GoneException.
    await saveConnection({
      connectionId: `${unique('gone')}=`,
      userId,
      connectedAt: new Date(Date.now() - CONNECT_GRACE_MS - 1_000).toISOString(),
    });
    const result = await pushToUsers([userId], { type: 'test' });
    expect(result).toEqual({ delivered: 0, gone: 1, failed: 0 });
    expect(await listUserConnections(userId)).toEqual([]);
  });

  it('keeps a connection that is gone to a push while it may still be inside its $connect', async () => {
    // A friend's presence event races the connect: @connections answers 410 until the socket opens.
    const userId = unique('user');
    const connectionId = `${unique('young')}=`;
    await saveConnection({ connectionId, userId, connectedAt: new Date().toISOString() });
    expect(await pushToUsers([userId], { type: 'test' })).toEqual({ delivered: 0, gone: 1, failed: 0 });
    expect((await listUserConnections(userId)).map((c) => c.connectionId)).toEqual([connectionId]);
  });
});
