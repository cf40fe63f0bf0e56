// The local DynamoDB engine: Dynoxide (crate `dynoxide-rs`, MIT OR Apache-2.0), a single binary on
// SQLite that speaks the DynamoDB and DynamoDB Streams APIs, listening on 127.0.0.1 only.
//
// Everything specific to this engine lives here and in ./dynoxide/, so switching engines means
// replacing this launcher. Built once from its crates.io source into the engine cache:
//  - the source comes through cargo itself (the registry client, honouring the user's cargo
//    configuration and mirrors; cargo checks each crate against the checksum in the registry index);
//  - `--locked` builds it with exactly the dependency versions and checksums of the crate's Cargo.lock;
//  - only the server's features are built (no MCP server, no import tool), which halves the build.
// npm carries a prebuilt binary, but only a release far older than this one, without the stream
// fixes below, so the build from source is the route.
//
// Local patches (./dynoxide/*.patch, in name order), applied before building. Why patches rather than
// the launcher:
//  - DescribeStream gave the open shard an EndingSequenceNumber, which in DynamoDB means "closed":
//    a reader that starts at LATEST (the stream trigger, like Lambda) then finished the shard at once.
//    The trigger decides "closed" exactly as AWS documents it, so the engine must say it right.
//  - The stream-record table had no index and was never trimmed: every write to a streamed table and
//    every GetRecords scanned every record ever written. The patch adds the index and trims records
//    older than DynamoDB Streams' 24 h retention inside the writes themselves. The launcher cannot do
//    this from outside: an in-memory database is reachable only through the engine's own connection,
//    and a second SQLite writer on the file would race the engine's transactions.
//  - Every TransactWriteItems swept the whole ClientRequestToken cache (the AWS SDK sends a token with
//    each call; they are kept 10 minutes), so transactions slowed down steadily under load. The patch
//    sweeps every few seconds and lets the lookup ignore an expired token in between.
// Each is small and written so it could be offered upstream as is.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { installOnce } from './cache.js';
import { cargoOutput, findCargo, runCargo } from './cargo.js';
import { type Log, stderrLog } from './log.js';
import { type RunningEngine, startEngine, startOnPort } from './process.js';
import { RECIPE_REVISION } from './versions.js';

const run = promisify(execFile);

/** The exact crate version built (crates.io); the patch is written against it. */
export const DYNOXIDE_VERSION = '3.2.0';
/** The crate's declared `rust-version`. */
const MINIMUM_RUST = '1.88';
/** Server features only: native SQLite (bundled, compiled with the crate), the HTTP server, the CLI. */
const FEATURES = 'native-sqlite,http-server,cli';
/** The local patches, applied in file-name order. */
const PATCH_DIR = fileURLToPath(new URL('./dynoxide/', import.meta.url));
/** DynamoDB Streams keeps records for 24 hours (developer guide, "DynamoDB Streams"). */
const STREAM_RETENTION_SECONDS = 24 * 60 * 60;
const DB_FILE = 'dynoxide.sqlite';

/** Cache key: a change of version, patch or build recipe builds a new entry. */
async function patchFiles(): Promise<string[]> {
  return (await readdir(PATCH_DIR))
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => join(PATCH_DIR, f));
}

async function cacheKey(): Promise<string> {
  const hash = createHash('sha256').update(FEATURES);
  for (const file of await patchFiles()) hash.update(await readFile(file));
  const patch = hash.digest('hex').slice(0, 12);
  return `dynoxide-${DYNOXIDE_VERSION}-${patch}-${RECIPE_REVISION}`;
}

/** Builds Dynoxide into the cache if needed (a few minutes, once); returns its directory. */
export async function installDynoxide(log: Log = stderrLog): Promise<string> {
  return installOnce(
    await cacheKey(),
    async (dir) => {
      const cargo = await findCargo(MINIMUM_RUST);
      const source = await fetchCrateSource(cargo, dir, log);
      // Outside any git work tree (the cache may sit inside one), so that `git apply` patches these
      // files instead of looking for a repository around them.
      for (const patch of await patchFiles()) {
        await run('git', ['apply', '-p1', patch], {
          cwd: source,
          env: { ...process.env, GIT_CEILING_DIRECTORIES: dirname(source) },
        });
      }
      await runCargo(
        cargo,
        [
          'install',
          '--path',
          source,
          '--locked',
          '--no-default-features',
          '--features',
          FEATURES,
          '--root',
          dir,
          '--bin',
          'dynoxide',
        ],
        {
          cwd: dir,
          env: { CARGO_TARGET_DIR: join(dir, 'target') },
          log,
          label: `building Dynoxide ${DYNOXIDE_VERSION}`,
        },
      );
      // Sources and intermediate objects are hundreds of MB; only bin/dynoxide is needed.
      await Promise.all(
        ['target', 'source', 'crate-fetch'].map((d) => rm(join(dir, d), { recursive: true, force: true })),
      );
    },
    () =>
      log(
        `Building Dynoxide ${DYNOXIDE_VERSION} (DynamoDB engine) from crates.io with cargo: once, a few minutes`,
      ),
  );
}

/**
 * Brings the crate's source through cargo: a throwaway package depending on exactly this version is
 * resolved with `cargo metadata`, which downloads (and checksums) the crate; its unpacked source is
 * copied to `<dir>/source`, where it can be patched without touching cargo's shared registry copy.
 */
async function fetchCrateSource(
  cargo: Awaited<ReturnType<typeof findCargo>>,
  dir: string,
  log: Log,
): Promise<string> {
  const project = join(dir, 'crate-fetch');
  await mkdir(join(project, 'src'), { recursive: true });
  await writeFile(
    join(project, 'Cargo.toml'),
    [
      '[package]',
      'name = "crate-fetch"',
      'version = "0.0.0"',
      'edition = "2021"',
      'publish = false',
      '',
      '[dependencies]',
      `dynoxide-rs = { version = "=${DYNOXIDE_VERSION}", default-features = false }`,
      '',
    ].join('\n'),
  );
  await writeFile(join(project, 'src', 'lib.rs'), '');
  log(`fetching the dynoxide-rs ${DYNOXIDE_VERSION} source with cargo`);
  const metadata = JSON.parse(
    await cargoOutput(cargo, ['metadata', '--format-version', '1'], {
      cwd: project,
      env: { CARGO_TARGET_DIR: join(project, 'target') },
    }),
  ) as { packages: Array<{ name: string; version: string; manifest_path: string }> };
  const crate = metadata.packages.find((p) => p.name === 'dynoxide-rs' && p.version === DYNOXIDE_VERSION);
  if (!crate) throw new Error(`cargo metadata did not resolve dynoxide-rs ${DYNOXIDE_VERSION}`);
  const source = join(dir, 'source');
  await cp(dirname(crate.manifest_path), source, { recursive: true });
  return source;
}

/** A crate compiled into the engine: name, version and its `license` field (SPDX). */
export interface CrateLicence {
  name: string;
  version: string;
  license: string;
}

/**
 * Every crate the engine's build compiles (normal and build dependencies, for this machine's target,
 * with the features built), as pinned by the crate's Cargo.lock, with its declared licence.
 */
export async function dynoxideCrateLicences(log: Log = stderrLog): Promise<CrateLicence[]> {
  const cargo = await findCargo(MINIMUM_RUST);
  const dir = await mkdtemp(join(tmpdir(), 'chat-dynoxide-crates-'));
  try {
    const source = await fetchCrateSource(cargo, dir, log);
    const host = (await run('rustc', ['-vV'])).stdout.match(/^host: (\S+)/m)?.[1];
    const metadata = JSON.parse(
      await cargoOutput(
        cargo,
        [
          'metadata',
          '--format-version',
          '1',
          '--locked',
          '--no-default-features',
          '--features',
          FEATURES,
          ...(host ? ['--filter-platform', host] : []),
        ],
        { cwd: source, env: { CARGO_TARGET_DIR: join(dir, 'target') } },
      ),
    ) as {
      packages: Array<{ id: string; name: string; version: string; license?: string | null }>;
      resolve: {
        root: string;
        nodes: Array<{ id: string; deps: Array<{ pkg: string; dep_kinds: Array<{ kind: string | null }> }> }>;
      };
    };
    const nodes = new Map(metadata.resolve.nodes.map((n) => [n.id, n]));
    const built = new Set<string>();
    const visit = (id: string) => {
      if (built.has(id)) return;
      built.add(id);
      for (const dep of nodes.get(id)?.deps ?? []) {
        if (dep.dep_kinds.some((k) => k.kind !== 'dev')) visit(dep.pkg);
      }
    };
    visit(metadata.resolve.root);
    return metadata.packages
      .filter((p) => built.has(p.id))
      .map((p) => ({ name: p.name, version: p.version, license: p.license ?? '' }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Options of one engine process. */
export interface DynoxideOptions {
  /** Directory of the SQLite database (created if missing); undefined = in memory. */
  dbPath?: string;
  /** undefined = a free port. */
  port?: number;
  /** How long stream records are kept, in seconds; default 24 h as in DynamoDB Streams. */
  streamRetentionSeconds?: number;
}

/** Starts Dynoxide on 127.0.0.1; resolves once it answers ListTables. */
export async function startDynoxide(opts: DynoxideOptions = {}): Promise<RunningEngine> {
  const home = await installDynoxide();
  const storage = opts.dbPath ? ['--db-path', join(resolve(opts.dbPath), DB_FILE)] : [];
  if (opts.dbPath) await mkdir(opts.dbPath, { recursive: true });
  return startOnPort(opts.port, (port) =>
    startEngine({
      name: 'dynoxide',
      command: join(home, 'bin', 'dynoxide'),
      args: ['serve', '--host', '127.0.0.1', '--port', String(port), '--log', 'quiet', ...storage],
      env: {
        ...process.env,
        DYNOXIDE_STREAM_RETENTION_SECONDS: String(opts.streamRetentionSeconds ?? STREAM_RETENTION_SECONDS),
      },
      cwd: home,
      port,
      probe: (signal) => listTables(port, signal),
      readyTimeoutMs: 30_000,
    }),
  );
}

async function listTables(port: number, signal: AbortSignal): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: signal });
    return true;
  } finally {
    client.destroy();
  }
}
