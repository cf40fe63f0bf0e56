// Zip extraction with what the machine has: `unzip`, else the JDK's `jar`, else a small reader in Node
// (a newcomer is only guaranteed Node and a Java runtime, which may lack `jar`).
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

const run = promisify(execFile);

export async function extractZip(zipFile: string, destDir: string, jdkBin?: string): Promise<void> {
  await mkdir(destDir, { recursive: true });
  try {
    await run('unzip', ['-q', '-o', zipFile, '-d', destDir], { maxBuffer: 64 * 1024 * 1024 });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (jdkBin) {
    try {
      // `jar` extracts into the working directory and does not keep file modes.
      await run(join(jdkBin, 'jar'), ['xf', resolve(zipFile)], { cwd: destDir });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  await extractZipWithNode(zipFile, destDir);
}

/** Minimal reader: stored/deflated entries, no zip64 (enough for Maven and OpenSearch archives). */
export async function extractZipWithNode(zipFile: string, destDir: string): Promise<void> {
  const zip = await readFile(zipFile);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${zipFile} is not a zip file`);
  const entries = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (entries === 0xffff || offset === 0xffffffff) throw new Error(`${zipFile} needs zip64, install unzip`);
  const root = resolve(destDir);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${zipFile}: bad central directory`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const unixMode = (zip.readUInt32LE(offset + 38) >>> 16) & 0o777;
    const localHeader = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;

    const target = resolve(root, name);
    if (target !== root && !target.startsWith(root + sep)) throw new Error(`${zipFile}: unsafe path ${name}`);
    if (name.endsWith('/')) {
      await mkdir(target, { recursive: true });
      continue;
    }
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${zipFile}: unsupported compression method ${method} for ${name}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    if (unixMode) await chmod(target, unixMode);
  }
}
