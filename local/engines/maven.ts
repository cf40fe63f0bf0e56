// Resolves the engines' Java artifacts with Maven (transitive dependencies, checksums, mirrors from
// ~/.m2/settings.xml). Uses `mvn` from PATH, else bootstraps Maven itself from Maven Central.
import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, installOnce, withLock } from './cache.js';
import { downloadVerified } from './download.js';
import { findJava, type JavaInfo } from './java.js';
import type { Log } from './log.js';
import { startProgress } from './progress.js';
import { POM_PATH } from './versions.js';
import { extractZip } from './zip.js';

const MAVEN_VERSION = '3.9.11';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const LICENSE_PLUGIN = 'org.codehaus.mojo:license-maven-plugin:2.4.0';
const CENTRAL = (process.env.CHAT_MAVEN_CENTRAL_URL || 'https://repo1.maven.org/maven2').replace(/\/$/, '');

/**
 * Copies the artifacts of pom.xml's profile `profile` and their runtime dependencies into `outDir`,
 * without version suffixes (so a launcher can name them, e.g. `opensearch.zip`).
 */
export async function copyDependencies(profile: string, outDir: string, log: Log): Promise<void> {
  const java = await findJava();
  const mvn = await findMaven(java, log);
  const args = [
    // Not -q: the "Downloaded from" lines are the progress a first fetch reports.
    '-B',
    '-f',
    POM_PATH,
    '-P',
    profile,
    `-Dmaven.repo.local=${join(cacheRoot(), 'maven', 'repository')}`,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    `-DoutputDirectory=${outDir}`,
    '-Dmdep.stripVersion=true',
    '-DincludeScope=runtime',
  ];
  // One Maven at a time: concurrent runs on one local repository can trip over each other.
  await withLock('maven-run', async () => {
    const progress = startProgress(log, `Maven (${profile})`);
    let files = 0;
    let kilobytes = 0;
    await resolveWithProgress(mvn, args, java, (line) => {
      // e.g. "[INFO] Downloaded from central: https://.../foo-1.0.jar (12 kB at 340 kB/s)"
      const done = line.match(/^(?:\[INFO\] )?Downloaded from [^:]+: (\S+) \(([\d.]+) (kB|MB|B)/);
      if (!done?.[1] || !done[2]) return;
      files++;
      const size = Number.parseFloat(done[2]);
      kilobytes += done[3] === 'MB' ? size * 1024 : done[3] === 'B' ? size / 1024 : size;
      progress.update(
        `${files} files, ${(kilobytes / 1024).toFixed(1)} MB downloaded, last ${done[1].split('/').pop()}`,
      );
    });
    progress.done(
      files
        ? `resolved (${files} files, ${(kilobytes / 1024).toFixed(1)} MB downloaded)`
        : 'resolved from the local repository',
    );
  });
}

/** Runs Maven, handing each output line to `onLine`; on failure the error carries the last lines. */
function resolveWithProgress(
  mvn: string,
  args: string[],
  java: JavaInfo,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(mvn, args, {
      env: { ...process.env, JAVA_HOME: java.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    let partial = '';
    const collect = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        onLine(line.trim());
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) return resolve();
      reject(new Error(`${mvn} ${args.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`));
    });
  });
}

async function findMaven(java: JavaInfo, log: Log): Promise<string> {
  const onPath = process.platform === 'win32' ? 'mvn.cmd' : 'mvn';
  try {
    await runMaven(onPath, ['-v'], java);
    return onPath;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const home = await installOnce(
    join('maven', `apache-maven-${MAVEN_VERSION}`),
    async (tmpDir) => {
      const zip = join(tmpDir, 'maven.zip');
      const path = `org/apache/maven/apache-maven/${MAVEN_VERSION}/apache-maven-${MAVEN_VERSION}-bin.zip`;
      await downloadVerified(`${CENTRAL}/${path}`, zip, { log });
      await extractZip(zip, tmpDir);
      await rm(zip);
      // An archive may carry no Unix modes (one made on Windows): make sure mvn is executable.
      await chmod(join(tmpDir, `apache-maven-${MAVEN_VERSION}`, 'bin', 'mvn'), 0o755);
    },
    () => log(`mvn not on PATH: bootstrapping Maven ${MAVEN_VERSION} from ${CENTRAL}`),
  );
  return join(home, `apache-maven-${MAVEN_VERSION}`, 'bin', onPath);
}

function runMaven(mvn: string, args: string[], java: JavaInfo): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      mvn,
      args,
      { env: { ...process.env, JAVA_HOME: java.home }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve();
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
        reject(new Error(`${mvn} ${args.join(' ')} failed:\n${tail}`));
      },
    );
  });
}

/** A resolved Maven artifact and the licences its (effective) POM declares. */
export interface MavenLicences {
  groupId: string;
  artifactId: string;
  version: string;
  licences: Array<{ name: string; url?: string }>;
}

/**
 * The runtime artifacts of pom.xml's profile `profile` with their declared licences, read by the
 * license-maven-plugin from each artifact's effective POM (parents included). Runs on a copy of
 * pom.xml in a temp dir, so the plugin's output never lands in the checkout.
 */
export async function mavenLicences(profile: string, log: Log): Promise<MavenLicences[]> {
  const java = await findJava();
  const mvn = await findMaven(java, log);
  const dir = await mkdtemp(join(tmpdir(), 'chat-licences-'));
  try {
    await copyFile(POM_PATH, join(dir, 'pom.xml'));
    const args = [
      '-q',
      '-B',
      '-f',
      join(dir, 'pom.xml'),
      '-P',
      profile,
      `-Dmaven.repo.local=${join(cacheRoot(), 'maven', 'repository')}`,
      `${LICENSE_PLUGIN}:download-licenses`,
      // Only the names and URLs in the POMs are needed, not the licence texts.
      '-Dlicense.offline=true',
      '-Dlicense.includedScopes=compile,runtime',
    ];
    await withLock('maven-run', () => runMaven(mvn, args, java));
    const xml = await readFile(join(dir, 'target', 'generated-resources', 'licenses.xml'), 'utf8');
    const tag = (text: string, name: string) =>
      text.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1]?.trim();
    return [...xml.matchAll(/<dependency>([\s\S]*?)<\/dependency>/g)].map(([, body = '']) => ({
      groupId: tag(body, 'groupId') ?? '?',
      artifactId: tag(body, 'artifactId') ?? '?',
      version: tag(body, 'version') ?? '?',
      licences: [...body.matchAll(/<license>([\s\S]*?)<\/license>/g)].map(([, l = '']) => ({
        name: tag(l, 'name') ?? '',
        url: tag(l, 'url'),
      })),
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
