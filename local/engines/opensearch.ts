// OpenSearch from the minimal "integ-test" zip on Maven Central (no bundled JDK, no security plugin),
// plus the analysis-common module for the `cjk` analyzer. Started directly with `java`, not
// bin/opensearch: the script starts three extra JVMs (version check, keystore, options parser) and
// writes GC logs into the shared cache.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import getPort from 'get-port';
import { installOnce, isAlive } from './cache.js';
import { findJava } from './java.js';
import { type Log, stderrLog } from './log.js';
import { copyDependencies } from './maven.js';
import { type RunningEngine, startEngine, startOnPort } from './process.js';
import { RECIPE_REVISION, versions } from './versions.js';
import { extractZip } from './zip.js';

const VERSION = versions.openSearch;
const KEY = `opensearch-${VERSION}-${RECIPE_REVISION}`;

/** Fetches OpenSearch into the cache if needed; returns its home directory. */
export async function installOpenSearch(log: Log = stderrLog): Promise<string> {
  const dir = await installOnce(
    KEY,
    async (tmp) => {
      const downloads = join(tmp, 'downloads');
      await copyDependencies('opensearch', downloads, log);
      await extractZip(join(downloads, 'opensearch.zip'), tmp);
      const module = join(tmp, `opensearch-${VERSION}`, 'modules', 'analysis-common');
      await mkdir(module, { recursive: true });
      await rename(join(downloads, 'analysis-common.jar'), join(module, `analysis-common-${VERSION}.jar`));
      // Same descriptor as the module in the full distribution. It is declared there as extending
      // lang-painless only for painless-scripted token filters, which we do not ship.
      await writeFile(
        join(module, 'plugin-descriptor.properties'),
        [
          'description=Adds "built in" analyzers to OpenSearch.',
          `version=${VERSION}`,
          'name=analysis-common',
          'classname=org.opensearch.analysis.common.CommonAnalysisPlugin',
          'java.version=11',
          `opensearch.version=${VERSION}`,
          'extended.plugins=',
          'has.native.controller=false',
          '',
        ].join('\n'),
      );
      await rm(downloads, { recursive: true });
    },
    () => log(`Fetching OpenSearch ${VERSION} with Maven`),
  );
  return join(dir, `opensearch-${VERSION}`);
}

export interface OpenSearchOptions {
  /** path.data (created if missing); undefined = a temp dir removed on stop(). */
  dataPath?: string;
  /** HTTP port; undefined = a free port. */
  port?: number;
}

// Console only: the engine's output is kept in memory by process.ts, nothing is written to the cache.
const LOG4J2 = `status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
`;

/** `nice` of the search engine's process: below request handling (see startOpenSearch). */
const SEARCH_ENGINE_NICENESS = 10;
const INSTANCE_PREFIX = 'chat-opensearch-';
const OWNER_FILE = 'owner.pid';

/** Instance dirs of Node processes that died without stop() (SIGKILL, crash) would pile up in /tmp. */
async function sweepStaleInstances(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of entries.filter((n) => n.startsWith(INSTANCE_PREFIX))) {
    const dir = join(tmpdir(), name);
    const owner = Number.parseInt(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && !isAlive(owner)) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }
}

export async function startOpenSearch(opts: OpenSearchOptions = {}): Promise<RunningEngine> {
  const home = await installOpenSearch();
  const java = await findJava(process.env.OPENSEARCH_JAVA_HOME);
  if (java.major >= 24) {
    // JDK 24 removed the SecurityManager, which OpenSearch 2.x installs at startup.
    throw new Error(
      `OpenSearch ${VERSION} runs on Java 17 to 23, found Java ${java.major} (${java.java}). ` +
        'Set OPENSEARCH_JAVA_HOME to a JDK 17 or 21.',
    );
  }
  await sweepStaleInstances();
  return startOnPort(opts.port, async (port) => {
    // Per-instance config/logs/tmp: OpenSearch writes its keystore into the config dir, and two
    // instances must not share it.
    const instance = await mkdtemp(join(tmpdir(), INSTANCE_PREFIX));
    await writeFile(join(instance, OWNER_FILE), `${process.pid}\n`);
    const dataPath = opts.dataPath ? resolve(opts.dataPath) : join(instance, 'data');
    await mkdir(dataPath, { recursive: true });
    await mkdir(join(instance, 'config'));
    await mkdir(join(instance, 'tmp'));
    const settings: Record<string, string | number | boolean> = {
      'cluster.name': 'serverless-chat-local',
      'node.name': 'local',
      'network.host': '127.0.0.1',
      'http.port': port,
      'transport.port': await getPort({ host: '127.0.0.1' }),
      'discovery.type': 'single-node',
      'path.data': dataPath,
      'path.logs': join(instance, 'logs'),
      // Dev machines and CI runners are often nearly full: don't turn indices read-only.
      'cluster.routing.allocation.disk.threshold_enabled': false,
      // Needs JNA, which is disabled below.
      'bootstrap.system_call_filter': false,
    };
    const yml = Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
    await writeFile(join(instance, 'config', 'opensearch.yml'), `${yml.join('\n')}\n`);
    await writeFile(join(instance, 'config', 'log4j2.properties'), LOG4J2);

    return startEngine({
      name: 'opensearch',
      // Indexing is background work here (the stream indexer batches a second of writes); a bulk
      // request's burst must not preempt the requests users wait on, which never touch the search
      // engine except for a search. On AWS it is a cluster of its own.
      niceness: SEARCH_ENGINE_NICENESS,
      command: java.java,
      args: [
        // From the distribution's jvm.options and JvmOptionsParser, with a small heap, no GC log
        // and no heap dumps.
        '-Xms256m',
        '-Xmx512m',
        '-XX:MaxDirectMemorySize=256m',
        '-Xss1m',
        '-XX:+UseG1GC',
        '-XX:G1ReservePercent=25',
        '-XX:InitiatingHeapOccupancyPercent=30',
        '-XX:-OmitStackTraceInFastThrow',
        `-XX:ErrorFile=${join(instance, 'logs', 'hs_err_pid%p.log')}`,
        `-Djava.io.tmpdir=${join(instance, 'tmp')}`,
        '-Djava.awt.headless=true',
        '-Dfile.encoding=UTF-8',
        '-Djava.locale.providers=SPI,COMPAT',
        '-Dio.netty.noUnsafe=true',
        '-Dio.netty.noKeySetOptimization=true',
        '-Dio.netty.recycler.maxCapacityPerThread=0',
        '-Dio.netty.allocator.numDirectArenas=0',
        '-Dlog4j.shutdownHookEnabled=false',
        '-Dlog4j2.disable.jmx=true',
        '-Djava.util.concurrent.ForkJoinPool.common.threadFactory=org.opensearch.secure_sm.SecuredForkJoinWorkerThreadFactory',
        // Without JNA, OpenSearch cannot tell it runs as root and does not refuse to (root is common in
        // CI containers). We need none of its native features (mlockall, seccomp, rlimit checks).
        '-Djna.nosys=true',
        '-Djna.noclasspath=true',
        ...(java.major >= 18 ? ['-Djava.security.manager=allow'] : []),
        `-Dopensearch.path.home=${home}`,
        `-Dopensearch.path.conf=${join(instance, 'config')}`,
        '-Dopensearch.distribution.type=zip',
        '-Dopensearch.bundled_jdk=false',
        '-cp',
        join(home, 'lib', '*'),
        'org.opensearch.bootstrap.OpenSearch',
      ],
      cwd: instance,
      port,
      probe: async (signal) => {
        const url = `http://127.0.0.1:${port}/_cluster/health?wait_for_status=yellow&timeout=1s`;
        const response = await fetch(url, { signal });
        await response.text();
        return response.ok;
      },
      readyTimeoutMs: 180_000,
      cleanup: () => rm(instance, { recursive: true, force: true }),
    });
  });
}
