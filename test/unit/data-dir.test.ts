import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { protectDataDir } from '#local/data-dir.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('local data directory', () => {
  const umask = process.umask();
  const made: string[] = [];
  afterEach(async () => {
    process.umask(umask);
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('makes files already there 0600 and directories 0700, and later files 0600 too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chat-data-'));
    made.push(dir);
    await mkdir(join(dir, 'dynamodb'), { mode: 0o755 });
    await writeFile(join(dir, 'dynamodb', 'chat.db'), 'rows', { mode: 0o644 });
    await writeFile(join(dir, 'runtime.json'), '{}', { mode: 0o666 });
    await protectDataDir(dir);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, 'dynamodb'))).toBe(0o700);
    expect(await mode(join(dir, 'dynamodb', 'chat.db'))).toBe(0o600);
    expect(await mode(join(dir, 'runtime.json'))).toBe(0o600);
    await writeFile(join(dir, 'later.log'), 'x');
    expect(await mode(join(dir, 'later.log'))).toBe(0o600);
  });
});
