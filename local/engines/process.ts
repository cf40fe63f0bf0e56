// Runs an engine as a child process: keeps its recent output for error messages, waits until it answers,
// and makes sure it never outlives this Node process.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import getPort from 'get-port';

export interface RunningEngine {
  name: string;
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  port: number;
  /** pid of the engine's JVM. */
  pid: number;
  /** Time from spawn until the engine answered its readiness probe. */
  startupMs: number;
  /** The engine's last output lines (stdout and stderr interleaved). */
  recentOutput(): string;
  /** SIGTERM, then SIGKILL if it has not exited after a few seconds. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves, with why, when the process is gone (stopped or died). */
  readonly exited: Promise<string>;
}

export interface EngineSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  port: number;
  /** True once the engine answers; throwing or returning false means "not yet". */
  probe: (signal: AbortSignal) => Promise<boolean>;
  readyTimeoutMs: number;
  /**
   * Scheduling priority to run at (`nice`, 0-19; unset = this process's): an engine doing background
   * work yields the cores to request handling when they are contended.
   */
  niceness?: number;
  /** Runs after the process is gone (e.g. removing temp dirs). */
  cleanup?: () => Promise<void>;
}

const TAIL_LINES = 50;
const STOP_GRACE_MS = 5_000;
const debug = Boolean(process.env.CHAT_ENGINES_DEBUG);
const live = new Set<ChildProcess>();

export async function startEngine(spec: EngineSpec): Promise<RunningEngine> {
  installExitHooks();
  const startedAt = performance.now();
  const [command, args] = withParentDeathSignal(...withNiceness(spec.command, spec.args, spec.niceness));
  const child = spawn(command, args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const tail: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (debug) process.stderr.write(`[${spec.name}] ${line}\n`);
        tail.push(line);
      }
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    });
    // A last line without newline (e.g. a fatal error just before exit).
    stream?.on('end', () => {
      if (partial) tail.push(partial);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const recentOutput = () => tail.join('\n');

  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => {
      live.delete(child);
      resolve(`could not be started: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`);
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        child.kill('SIGTERM');
        const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_GRACE_MS, true)]);
        if (timedOut) child.kill('SIGKILL');
      }
      await exited;
      await spec.cleanup?.();
    })();
    return stopping;
  };

  try {
    await waitUntilReady(spec, exited);
  } catch (err) {
    await stop();
    const output = recentOutput();
    throw new Error(`${(err as Error).message}${output ? `\nLast output of ${spec.name}:\n${output}` : ''}`);
  }
  // An engine that dies while in use leaves only connection errors behind: say which one and how.
  void exited.then((why) => {
    if (!stopping) {
      process.stderr.write(
        `[engines] ${spec.name} (pid ${child.pid}) ${why} while running\n${recentOutput()}\n`,
      );
    }
  });
  const startupMs = Math.round(performance.now() - startedAt);
  const endpoint = `http://127.0.0.1:${spec.port}`;
  if (debug) process.stderr.write(`[engines] ${spec.name} ready on ${endpoint} in ${startupMs} ms\n`);
  return {
    name: spec.name,
    endpoint,
    port: spec.port,
    pid: child.pid ?? 0,
    startupMs,
    recentOutput,
    stop,
    exited,
  };
}

/**
 * Starts on `requested`, or on a free loopback port (get-port: a port the OS just handed out on 127.0.0.1,
 * not handed out again by this process for a while). A free port can be taken by someone else between
 * picking it and the engine binding it: then try again with another one.
 */
export async function startOnPort(
  requested: number | undefined,
  start: (port: number) => Promise<RunningEngine>,
): Promise<RunningEngine> {
  if (requested) return start(requested);
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await getPort({ host: '127.0.0.1' }));
    } catch (err) {
      const portTaken = /address already in use|BindException/i.test((err as Error).message);
      if (!portTaken || attempt >= 3) throw err;
    }
  }
}

async function waitUntilReady(spec: EngineSpec, exited: Promise<string>): Promise<void> {
  let dead: string | undefined;
  void exited.then((why) => {
    dead = why;
  });
  const deadline = Date.now() + spec.readyTimeoutMs;
  let lastError = '';
  while (!dead) {
    if (Date.now() > deadline) {
      throw new Error(`${spec.name} did not answer within ${spec.readyTimeoutMs} ms (${lastError})`);
    }
    try {
      if (await spec.probe(AbortSignal.timeout(2_000))) return;
    } catch (err) {
      lastError = (err as Error).message || String(err);
    }
    await Promise.race([sleep(150), exited]);
  }
  throw new Error(`${spec.name} ${dead} before it was ready`);
}

let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const child of live) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  // A signal without a listener ends Node without 'exit' events. Only then do we act (and re-raise):
  // an application with its own handler is expected to stop the engines itself.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

let setprivWorks: boolean | undefined;

/** Runs the command under `nice -n` (POSIX; it execs the command, so the pid stays the engine's). */
function withNiceness(command: string, args: string[], niceness: number | undefined): [string, string[]] {
  if (!niceness || process.platform === 'win32') return [command, args];
  return ['nice', ['-n', String(niceness), command, ...args]];
}

/**
 * On Linux, `setpriv --pdeathsig KILL` (util-linux) makes the kernel kill the engine when this
 * process dies, even by SIGKILL, which no exit hook can handle. setpriv execs the command, so the
 * child's pid stays the JVM's pid.
 */
function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  if (process.platform !== 'linux') return [command, args];
  if (setprivWorks === undefined) {
    try {
      execFileSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
      setprivWorks = true;
    } catch {
      setprivWorks = false;
    }
  }
  return setprivWorks ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
}
