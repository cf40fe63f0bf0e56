import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Keeps the local data directory private to its owner, as the token secret in it always was: the
 * directory tree becomes 0700 and every file 0600 (what is already there), and the process umask
 * becomes 077 so that files the runtime and its engines create later get the same modes. The data
 * holds password hashes, messages and the signing secret.
 */
export async function protectDataDir(dir: string): Promise<void> {
  process.umask(0o077);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await protectTree(dir);
}

async function protectTree(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await protectTree(path);
    // Owner-only, keeping the owner's execute bit off: nothing in the data directory is a program.
    else if (entry.isFile()) await chmod(path, 0o600);
  }
}
