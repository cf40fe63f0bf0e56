// Engine cache: lives outside the checkout so `git clean` keeps it and several checkouts share it.
// Every entry is built in a temp dir and renamed into place under a lock file, so a crashed or
// concurrent fetch never leaves a half-built entry that looks complete.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { lock } from 'proper-lockfile';

const COMPLETE_MARKER = '.complete';
// A held lock's mtime is refreshed every STALE_LOCK_MS / 2; one older than this was left by a crash.
const STALE_LOCK_MS = 30_000;
const LOCK_WAIT_MS = 30 * 60 * 1000;
const LOCK_POLL_MS = 500;

export function cacheRoot(): string {
  if (process.env.CHAT_CACHE_DIR) return process.env.CHAT_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'serverless-chat-backend');
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Returns `<cache>/<key>`, building it first with `build(tmpDir)` if it is not there yet.
 * `onBuild` is called only when this process actually builds the entry.
 */
export async function installOnce(
  key: string,
  build: (tmpDir: string) => Promise<void>,
  onBuild?: () => void,
): Promise<string> {
  const finalDir = join(cacheRoot(), key);
  if (await exists(join(finalDir, COMPLETE_MARKER))) return finalDir;
  return withLock(key, async () => {
    // Another process may have finished while we waited for the lock.
    if (await exists(join(finalDir, COMPLETE_MARKER))) return finalDir;
    onBuild?.();
    // Holding the lock, any other temp dir of this key is left over from a crashed build.
    const parent = dirname(finalDir);
    await mkdir(parent, { recursive: true });
    for (const name of await readdir(parent)) {
      if (name.startsWith(`${basename(finalDir)}.tmp-`)) {
        await rm(join(parent, name), { recursive: true, force: true });
      }
    }
    const tmpDir = `${finalDir}.tmp-${process.pid}`;
    await mkdir(tmpDir);
    try {
      await build(tmpDir);
      await writeFile(join(tmpDir, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
      // A dir without marker here was damaged by hand: replace it.
      await rm(finalDir, { recursive: true, force: true });
      await rename(tmpDir, finalDir);
    } catch (err) {
      await rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
    return finalDir;
  });
}

/**
 * Cross-process mutex on `<cache>/locks/<name>.lock`, with proper-lockfile: the lock is a directory made
 * atomically (mkdir), its mtime refreshed while held; one not refreshed for STALE_LOCK_MS is taken over
 * (its holder crashed). Waits up to 30 minutes for a held lock, then throws.
 */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lockDir = join(cacheRoot(), 'locks');
  await mkdir(lockDir, { recursive: true });
  const target = join(lockDir, name.replaceAll('/', '_'));
  const lockfilePath = `${target}.lock`;
  let release: () => Promise<void>;
  try {
    release = await lock(target, {
      lockfilePath,
      realpath: false,
      stale: STALE_LOCK_MS,
      retries: { retries: Math.ceil(LOCK_WAIT_MS / LOCK_POLL_MS), factor: 1, minTimeout: LOCK_POLL_MS },
      // The default throws from a timer (the process dies); the work under the lock is idempotent
      // (temp dir, then rename), so a lock lost to a blocked event loop is reported, not fatal.
      onCompromised: (err) => console.warn(`[engines] lock ${lockfilePath} compromised: ${err.message}`),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED')
      throw new Error(`Timed out waiting for lock ${lockfilePath}`);
    throw err;
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
