import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { extractZip } from '#local/engines/zip.js';

interface ZipEntry {
  name: string;
  content?: string;
  mode?: number;
  /** Stored, not deflated. */
  stored?: boolean;
}

/** A zip archive written by yazl (directories are names ending in '/'). */
function makeZip(entries: readonly ZipEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const e of entries) {
    if (e.name.endsWith('/')) zip.addEmptyDirectory(e.name, { mode: e.mode ?? 0o40755 });
    else
      zip.addBuffer(Buffer.from(e.content ?? ''), e.name, { mode: e.mode ?? 0o100644, compress: !e.stored });
  }
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Renames an entry in place (local header and central directory); both names must have one length. */
function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  expect(Buffer.byteLength(from)).toBe(Buffer.byteLength(to));
  const out = Buffer.from(zip);
  let at = out.indexOf(from);
  let count = 0;
  while (at >= 0) {
    out.write(to, at);
    count++;
    at = out.indexOf(from, at + 1);
  }
  expect(count).toBe(2);
  return out;
}

describe('engine archive extraction', () => {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  async function workDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'chat-zip-'));
    made.push(dir);
    return dir;
  }

  it('extracts files and directories with their contents and Unix modes', async () => {
    const dir = await workDir();
    const archive = join(dir, 'engine.zip');
    await writeFile(
      archive,
      await makeZip([
        { name: 'engine/', mode: 0o40750 },
        { name: 'engine/bin/start', content: '#!/bin/sh\necho up\n', mode: 0o100755 },
        { name: 'engine/lib/a.jar', content: 'x'.repeat(100_000) },
      ]),
    );
    const dest = join(dir, 'out');
    await extractZip(archive, dest);
    expect(await readFile(join(dest, 'engine/bin/start'), 'utf8')).toBe('#!/bin/sh\necho up\n');
    expect(await readFile(join(dest, 'engine/lib/a.jar'), 'utf8')).toBe('x'.repeat(100_000));
    expect((await stat(join(dest, 'engine/bin/start'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, 'engine/lib/a.jar'))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dest, 'engine'))).mode & 0o777).toBe(0o750);
  });

  it('refuses an entry whose name climbs out of the destination (zip slip)', async () => {
    const dir = await workDir();
    const archive = join(dir, 'evil.zip');
    const zip = await makeZip([
      { name: 'ok.txt', content: 'fine' },
      { name: 'xx/evil.txt', content: 'pwned' },
    ]);
    await writeFile(archive, renameEntry(zip, 'xx/evil.txt', '../evil.txt'));
    await expect(extractZip(archive, join(dir, 'out'))).rejects.toThrow(/evil\.txt/);
    expect(await readdir(dir)).not.toContain('evil.txt');
  });

  it('refuses a symbolic link', async () => {
    const dir = await workDir();
    const archive = join(dir, 'link.zip');
    await writeFile(archive, await makeZip([{ name: 'escape', content: '/etc', mode: 0o120777 }]));
    await expect(extractZip(archive, join(dir, 'out'))).rejects.toThrow(/symbolic link escape/);
  });

  it('refuses a damaged archive', async () => {
    const dir = await workDir();
    const archive = join(dir, 'bad.zip');
    const zip = await makeZip([{ name: 'a.txt', content: 'a'.repeat(1000), stored: true }]);
    // Change a byte of the stored data: the CRC-32 no longer matches.
    const damaged = Buffer.from(zip);
    const at = damaged.indexOf('a'.repeat(1000));
    expect(at).toBeGreaterThan(0);
    damaged[at + 500] = 0x62;
    await writeFile(archive, damaged);
    await expect(extractZip(archive, join(dir, 'out'))).rejects.toThrow(
      /a\.txt is damaged \(CRC-32 mismatch\)/,
    );
  });
});
