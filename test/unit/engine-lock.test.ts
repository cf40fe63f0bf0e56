import { mkdir, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withLock } from '#local/engines/cache.js';

describe('engine cache lock', () => {
  let dir: string;
  const saved = process.env.CHAT_CACHE_DIR;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chat-lock-'));
    process.env.CHAT_CACHE_DIR = dir;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.CHAT_CACHE_DIR;
    else process.env.CHAT_CACHE_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('lets one holder in at a time and releases on return and on throw', async () => {
    let inside = 0;
    let most = 0;
    const events: string[] = [];
    const hold = (id: string, fail = false) =>
      withLock('engine/x', async () => {
        inside++;
        most = Math.max(most, inside);
        events.push(`in ${id}`);
        await new Promise((r) => setTimeout(r, 50));
        inside--;
        events.push(`out ${id}`);
        if (fail) throw new Error(`${id} failed`);
        return id;
      });
    const results = await Promise.allSettled([hold('a'), hold('b', true), hold('c')]);
    expect(most).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(events).toHaveLength(6);
    await expect(stat(join(dir, 'locks', 'engine_x.lock'))).rejects.toThrow(/ENOENT/);
  });

  it('takes over a lock left by a crashed holder (not refreshed for the stale time)', async () => {
    const lockDir = join(dir, 'locks', 'engine_y.lock');
    await mkdir(lockDir, { recursive: true });
    const old = new Date(Date.now() - 10 * 60_000);
    await utimes(lockDir, old, old);
    expect(await withLock('engine/y', async () => 'built')).toBe('built');
  });
});
