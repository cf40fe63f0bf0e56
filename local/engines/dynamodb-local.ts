// DynamoDB Local (Java, sqlite4java) from Maven Central, listening on 127.0.0.1 only.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { exists, installOnce } from './cache.js';
import { findJava } from './java.js';
import { type Log, stderrLog } from './log.js';
import { copyDependencies } from './maven.js';
import { type RunningEngine, startEngine, startOnPort } from './process.js';
import { RECIPE_REVISION, versions } from './versions.js';

const run = promisify(execFile);
const KEY = `dynamodb-local-${versions.dynamoDbLocal}-${RECIPE_REVISION}`;
const LAUNCHER = 'DynamoDbLocalLauncher';
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./${LAUNCHER}.java`, import.meta.url));

/** Fetches DynamoDB Local into the cache if needed; returns its directory. */
export function installDynamoDbLocal(log: Log = stderrLog): Promise<string> {
  return installOnce(
    KEY,
    async (dir) => {
      // lib/ holds DynamoDBLocal.jar, its dependencies and the sqlite4java native libraries.
      await copyDependencies('dynamodb', join(dir, 'lib'), log);
      const java = await findJava();
      if (!java.javac) {
        log(`No javac next to ${java.java} (a JRE?): DynamoDB Local will listen on all interfaces`);
        return;
      }
      // Compiled once here rather than run as `java Launcher.java`, which would compile on every start.
      const classpath = join(dir, 'lib', '*');
      await run(java.javac, [
        '--release',
        '17',
        '-d',
        join(dir, 'launcher'),
        '-cp',
        classpath,
        LAUNCHER_SOURCE,
      ]);
    },
    () => log(`Fetching DynamoDB Local ${versions.dynamoDbLocal} with Maven`),
  );
}

let warnedAllInterfaces = false;

export interface DynamoDbLocalOptions {
  /** Directory of the sqlite database (created if missing); undefined = in memory. */
  dbPath?: string;
  /** undefined = a free port. */
  port?: number;
}

export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<RunningEngine> {
  const home = await installDynamoDbLocal();
  const java = await findJava();
  const lib = join(home, 'lib');
  const launcherDir = join(home, 'launcher');
  const useLauncher = await exists(join(launcherDir, `${LAUNCHER}.class`));
  if (!useLauncher && !warnedAllInterfaces) {
    warnedAllInterfaces = true;
    stderrLog(
      `DynamoDB Local listens on all interfaces: ${LAUNCHER} was not compiled (no javac at fetch time)`,
    );
  }
  const storage = opts.dbPath ? ['-dbPath', resolve(opts.dbPath)] : ['-inMemory'];
  if (opts.dbPath) await mkdir(opts.dbPath, { recursive: true });

  return startOnPort(opts.port, (port) =>
    startEngine({
      name: 'dynamodb-local',
      command: java.java,
      args: [
        // Few GC threads, fast start: this is a dev/test engine on machines with few cores.
        '-XX:+UseSerialGC',
        `-Djava.library.path=${lib}`,
        '-cp',
        useLauncher ? [launcherDir, join(lib, '*')].join(delimiter) : join(lib, '*'),
        useLauncher ? LAUNCHER : 'software.amazon.dynamodb.services.local.main.ServerRunner',
        '-port',
        String(port),
        '-sharedDb',
        '-disableTelemetry',
        ...storage,
      ],
      // ServerRunner looks at ./pom.xml for telemetry; keep it away from the project's files.
      cwd: home,
      port,
      probe: (signal) => listTables(port, signal),
      readyTimeoutMs: 60_000,
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
