// Zip extraction for engine archives (Maven, OpenSearch), in Node with yauzl: no `unzip` or `jar` needed.
// yauzl reads the central directory (zip64 included), inflates, checks that each entry's uncompressed size
// is the declared one, and rejects absolute names, `..` segments and backslashes.
// Added here: the target of every entry is checked again to lie inside the destination (zip-slip, in case
// a name gets past the library), symbolic links are refused (an engine archive needs none, and a link is
// the other way out of the destination), the total size is capped, each entry's CRC-32 is checked (yauzl
// leaves that to its caller), and Unix modes are restored (the executables under bin/ must stay executable).
import { createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

/** Largest total uncompressed size accepted; the OpenSearch archive unpacks to about 60 MB. */
const MAX_TOTAL_BYTES = 2 * 1024 ** 3;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * Extracts `zipFile` into `destDir` (created if missing), keeping Unix permission bits.
 * Rejects on a damaged archive or entry (CRC-32), an entry that would land outside `destDir`, a symbolic link, or a total
 * uncompressed size over 2 GiB; files written before the failure stay (callers extract into a temp dir).
 */
export async function extractZip(zipFile: string, destDir: string): Promise<void> {
  const root = resolve(destDir);
  await mkdir(root, { recursive: true });
  const zip = await openZip(zipFile);
  try {
    let total = 0;
    // Directory modes are set last, as unzip does: a read-only directory must still receive its files.
    const directoryModes: Array<[string, number]> = [];
    for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
      const name = entry.fileName;
      const target = resolve(root, name);
      if (target !== root && !target.startsWith(root + sep))
        throw new Error(`${zipFile}: unsafe path ${name}`);
      const mode = entry.externalFileAttributes >>> 16;
      if ((mode & S_IFMT) === S_IFLNK) throw new Error(`${zipFile}: symbolic link ${name} refused`);
      if (name.endsWith('/')) {
        await mkdir(target, { recursive: true });
        if (mode & 0o777) directoryModes.push([target, mode & 0o777]);
        continue;
      }
      total += entry.uncompressedSize;
      if (total > MAX_TOTAL_BYTES)
        throw new Error(`${zipFile}: unpacks to more than ${MAX_TOTAL_BYTES} bytes`);
      await mkdir(dirname(target), { recursive: true });
      let crc = 0;
      const checksum = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          crc = crc32(chunk, crc);
          callback(null, chunk);
        },
      });
      await pipeline(await openEntry(zip, entry), checksum, createWriteStream(target));
      if (crc !== entry.crc32) throw new Error(`${zipFile}: ${name} is damaged (CRC-32 mismatch)`);
      if (mode & 0o777) await chmod(target, mode & 0o777);
    }
    for (const [path, dirMode] of directoryModes.reverse()) await chmod(path, dirMode);
  } finally {
    zip.close();
  }
}

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolvePromise, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) =>
      err ? reject(err) : resolvePromise(zip),
    );
  });
}

/** The next entry, or undefined at the end of the central directory. */
function nextEntry(zip: ZipFile): Promise<Entry | undefined> {
  return new Promise((resolvePromise, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: Entry) => {
      cleanup();
      resolvePromise(entry);
    };
    const onEnd = () => {
      cleanup();
      resolvePromise(undefined);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function openEntry(zip: ZipFile, entry: Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolvePromise, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolvePromise(stream)));
  });
}
