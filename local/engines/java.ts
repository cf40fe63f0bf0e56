// Locates the Java runtime the engines run on and checks it is recent enough.
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { exists } from './cache.js';

const run = promisify(execFile);
export const MIN_JAVA = 17;

export interface JavaInfo {
  /** Absolute path of the `java` executable. */
  java: string;
  /** JAVA_HOME of that runtime (given to Maven). */
  home: string;
  major: number;
  /** `javac` of the same JDK, or undefined on a JRE. */
  javac?: string;
}

const INSTALL_HINT = 'Install a JDK 17 or newer (e.g. Eclipse Temurin) and put it on PATH or set JAVA_HOME.';
const cache = new Map<string, Promise<JavaInfo>>();

/** The Java on JAVA_HOME, else on PATH; `homeOverride` (e.g. OPENSEARCH_JAVA_HOME) wins. */
export function findJava(homeOverride?: string): Promise<JavaInfo> {
  const home = homeOverride || process.env.JAVA_HOME || '';
  let found = cache.get(home);
  if (!found) {
    found = inspect(home);
    // Do not remember failures: the user may fix their setup without restarting a watch process.
    found.catch(() => cache.delete(home));
    cache.set(home, found);
  }
  return found;
}

async function inspect(home: string): Promise<JavaInfo> {
  const exe = process.platform === 'win32' ? 'java.exe' : 'java';
  const candidate = home ? join(home, 'bin', exe) : exe;
  let output: string;
  try {
    // `-version` prints to stderr; -XshowSettings adds java.home without a second process.
    const { stderr } = await run(candidate, ['-XshowSettings:properties', '-version']);
    output = stderr;
  } catch (err) {
    const where = home ? `at ${candidate} (from JAVA_HOME)` : 'on PATH';
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : String(err);
    throw new Error(
      `Java ${MIN_JAVA}+ is needed for the local engines, but java ${where} is ${reason}. ${INSTALL_HINT}`,
    );
  }
  const version = output.match(/version "([^"]+)"/)?.[1] ?? '';
  const parts = version.split(/[.+-]/).map((p) => Number.parseInt(p, 10));
  // Java 8 and older report "1.8.0_x".
  const major = (parts[0] === 1 ? parts[1] : parts[0]) ?? Number.NaN;
  if (!(major >= MIN_JAVA)) {
    throw new Error(
      `Java ${MIN_JAVA}+ is needed for the local engines, found "${version || 'unknown'}" (${candidate}). ${INSTALL_HINT}`,
    );
  }
  const javaHome =
    output.match(/^\s*java\.home = (.+)$/m)?.[1]?.trim() ?? dirname(dirname(await realpath(candidate)));
  const java = join(javaHome, 'bin', exe);
  const javacPath = join(javaHome, 'bin', process.platform === 'win32' ? 'javac.exe' : 'javac');
  return { java, home: javaHome, major, javac: (await exists(javacPath)) ? javacPath : undefined };
}
