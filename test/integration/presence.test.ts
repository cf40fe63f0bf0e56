// Presence against the test run's DynamoDB engine, in-process: the lease that takes a client whose
// `$disconnect` never came offline within PRESENCE_TIMEOUT_SECONDS, and the stored status under racing
// connects and disconnects of one user.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deleteConnection,
  readPresence,
  reconcilePresence,
  renewPresenceLease,
  saveConnection,
} from '#shared/data/connections-repo.js';
import { unique } from '../support/tables.js';

// A short lease, set before the configuration is first read (once per test file).
beforeAll(() => {
  process.env.PRESENCE_TIMEOUT_SECONDS = '2';
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = (userId: string, connectionId = `${unique('c')}=`) =>
  saveConnection({ connectionId, userId, connectedAt: new Date().toISOString() }, { maxPerUser: 10 }).then(
    (saved) => {
      expect(saved.ok).toBe(true);
      return connectionId;
    },
  );
const presence = async (userId: string) => (await readPresence([userId])).get(userId);

describe('presence lease', () => {
  it('shows a client whose $disconnect was lost offline once its lease lapses; a frame brings it back', async () => {
    const userId = unique('p');
    expect(await presence(userId)).toEqual({ status: 'offline', lastSeenAt: null, version: 0 });
    const connectionId = await open(userId);
    expect(await reconcilePresence(userId)).toEqual([{ status: 'online', version: 1, lastSeenAt: null }]);
    expect((await presence(userId))?.status).toBe('online');

    // No frame, no disconnect (a crashed client): offline after the lease, last seen at its connect.
    await sleep(2_500);
    const lapsed = await presence(userId);
    expect(lapsed?.status).toBe('offline');
    expect(lapsed?.lastSeenAt).toEqual(expect.any(String));
    const changes = await reconcilePresence(userId);
    expect(changes).toEqual([{ status: 'offline', version: 2, lastSeenAt: lapsed?.lastSeenAt }]);

    // A frame renews the lease; the caller learns it had lapsed, and reconciling brings it online.
    expect(await renewPresenceLease(connectionId)).toEqual({ userId, wasExpired: true });
    expect(await reconcilePresence(userId)).toEqual([{ status: 'online', version: 3, lastSeenAt: null }]);
    expect(await renewPresenceLease(connectionId)).toEqual({ userId, wasExpired: false });
    expect(await reconcilePresence(userId)).toEqual([]);
    await deleteConnection(connectionId);
    expect((await reconcilePresence(userId))[0]?.status).toBe('offline');
  });

  it('ends with the right status, and reports each change once, when connects and disconnects race', async () => {
    const userId = unique('r');
    for (let round = 0; round < 3; round++) {
      const ids = await Promise.all(Array.from({ length: 8 }, () => open(userId)));
      const online = (await Promise.all(ids.map(() => reconcilePresence(userId)))).flat();
      expect(online.map((c) => c.status)).toEqual(['online']);
      // Close all but one while two more open, each followed by its reconcile, all at once.
      const racing = [
        ...ids.slice(1).map(async (id) => {
          await deleteConnection(id);
          return reconcilePresence(userId, { seenAt: new Date().toISOString() });
        }),
        ...[0, 1].map(async () => {
          const id = await open(userId);
          ids.push(id);
          return reconcilePresence(userId);
        }),
      ];
      expect((await Promise.all(racing)).flat()).toEqual([]);
      expect((await presence(userId))?.status).toBe('online');
      // Close everything at once: exactly one offline change.
      const closing = await Promise.all(
        [ids[0], ...ids.slice(-2)].map(async (id) => {
          await deleteConnection(id as string);
          return reconcilePresence(userId, { seenAt: new Date().toISOString() });
        }),
      );
      expect(closing.flat().map((c) => c.status)).toEqual(['offline']);
      expect((await presence(userId))?.status).toBe('offline');
    }
  });
});
