// Engine cache: lives outside the checkout so `git clean` keeps it and several checkouts share it.
// Every entry is built in a temp dir and renamed into place under a lock file, so a crashed or
// concurrent fetch never leaves a half-built entry that looks complete.
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const COMPLETE_MARKER = '.complete';
// A lock older than this is considered abandoned even if its pid is alive (pid reuse, shared NFS cache).
const STALE_LOCK_MS = 60 * 60 * 1000;
const LOCK_WAIT_MS = 30 * 60 * 1000;

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

/** Cross-process mutex: an exclusively created lock file holding the owner's pid. */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lockDir = join(cacheRoot(), 'locks');
  await mkdir(lockDir, { recursive: true });
  const lockFile = join(lockDir, `${name.replaceAll('/', '_')}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStaleLock(lockFile)) {
        await unlink(lockFile).catch(() => {});
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for lock ${lockFile}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockFile).catch(() => {});
  }
}

async function isStaleLock(lockFile: string): Promise<boolean> {
  try {
    const [content, info] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number.parseInt(content, 10);
    // An empty file is a lock being written right now, not a stale one.
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 10_000;
    return !isAlive(pid);
  } catch {
    return false; // vanished in between: just retry
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
