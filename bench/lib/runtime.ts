import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type LocalRuntime, startLocalRuntime } from '#local/runtime.js';

/** Meters loaded into every local function's thread, reporting to this process's meters. */
export const THREAD_PROBE = new URL('./thread-probe.ts', import.meta.url).href;

/** The repository root (bench/lib/../..). */
export const rootDir = fileURLToPath(new URL('../../', import.meta.url));

export interface InProcessRuntime extends LocalRuntime {
  /** Time startLocalRuntime took. */
  readonly startMs: number;
}

const LIFTED_LIMITS: Record<string, string> = {
  LOGIN_USERNAME_BURST: '1000000',
  LOGIN_SOURCE_BURST: '1000000',
  MAX_PENDING_FRIEND_REQUESTS: '1000000',
  GROUPS_BURST: '1000000',
  NON_FRIEND_INVITES_PER_HOUR: '100000000',
  MAX_CONNECTIONS_PER_USER: '1000',
  CONNECT_BURST: '1000000',
  PASSWORD_HASH_QUEUE: '100000',
  // The fronts' per-caller rate, a stand-in for Lambda's isolation (local/caller-limits.ts).
  LOCAL_CALLER_RATE: 'Infinity',
};

/**
 * Starts the whole local backend in this process (the engines as child processes, fronts on 127.0.0.1,
 * free ports, no persistence). Ctrl-C and SIGTERM stop it before the process ends.
 */
export async function startInProcess(): Promise<InProcessRuntime> {
  // Benchmarks measure capacity: one client logs in hundreds of times from one address, owns dozens of
  // 1,000-member groups of strangers. The abuse limits would refuse that by design, so they are lifted
  // here (a benchmark that measures a limit sets its own value first).
  for (const [name, value] of Object.entries(LIFTED_LIMITS)) process.env[name] ??= value;
  const started = performance.now();
  const runtime = await startLocalRuntime({
    rootDir,
    httpPort: 0,
    wsPort: 0,
    dataDir: ':memory:',
    functionPreload: [THREAD_PROBE],
    // Measured phases must not include the functions' cold starts.
    warmUp: true,
  });
  const startMs = performance.now() - started;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= runtime.stop().finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the runtime`);
    void stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { ...runtime, startMs, stop };
}

/** Runs `body` against an in-process runtime and always stops it; exits the process when done. */
export async function benchMain(name: string, body: (runtime: InProcessRuntime) => Promise<void>) {
  printHeader(name);
  let code = 0;
  let runtime: InProcessRuntime | undefined;
  try {
    runtime = await startInProcess();
    console.log(`runtime: in-process (startLocalRuntime), started in ${Math.round(runtime.startMs)} ms`);
    console.log(`  http=${runtime.httpUrl} ws=${runtime.wsUrl} dynamodb=${runtime.dynamoEndpoint}\n`);
    await body(runtime);
  } catch (err) {
    console.error(err);
    code = 1;
  } finally {
    const t = performance.now();
    await runtime?.stop();
    if (runtime) console.log(`\nruntime stopped in ${Math.round(performance.now() - t)} ms`);
    printLoad('end');
  }
  // Keep-alive sockets and SDK agents could hold the loop open; everything we started is stopped.
  process.exit(code);
}

export function printHeader(name: string): void {
  console.log(`# ${name}`);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs`);
  printLoad('start');
}

/** Load average: other work on the machine skews every figure, so it is printed with them. */
export function printLoad(when: string): void {
  const [one, five] = loadavg();
  console.log(`load average at ${when}: ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min)`);
}

// ---------------------------------------------------------------------------------------------------
// `npm start`'s entry as a child process

const READY = /ready(?: in (\d+) ms)?.*http=(\S+) ws=(\S+) dynamodb=(\S+)/;
const ENGINE_READY = /^\[engines\] (\S+) ready on \S+ in (\d+) ms/;
const live = new Set<ChildProcess>();
let hooks = false;

function installHooks(): void {
  if (hooks) return;
  hooks = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // SIGTERM lets start.ts stop the engines; they also die with it (parent-death signal).
      for (const child of live) child.kill('SIGTERM');
      setTimeout(() => process.exit(130), 3_000).unref();
    });
  }
}

export interface ChildRuntime {
  readonly pid: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly dynamoEndpoint: string;
  /** From spawn to the ready line on stdout. */
  readonly readyMs: number;
  /** What start.ts itself reports (startLocalRuntime only, without Node/tsx start and imports). */
  readonly selfReportedMs: number;
  output(): string;
  /** Engine start-up times (spawn to first answer) by engine name, when run with CHAT_ENGINES_DEBUG=1. */
  engines(): ReadonlyMap<string, number>;
  /** Sends `signal` and resolves when the child has exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/**
 * Starts `node --import tsx local/start.ts` with free ports and in-memory data (plus the options in
 * `BENCH_RUNTIME_NODE_ARGS`); resolves on its ready line.
 */
export function spawnStartEntry(
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<ChildRuntime> {
  installHooks();
  const started = performance.now();
  // BENCH_RUNTIME_NODE_ARGS adds Node.js options to the runtime alone, e.g. `--cpu-prof --cpu-prof-dir=prof`
  // to profile where the server's time goes (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = process.env.BENCH_RUNTIME_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'local/start.ts'], {
    cwd: rootDir,
    // Warmed, as the in-process runtimes of the other benchmarks are: no measured phase pays a cold start.
    env: {
      ...process.env,
      LOCAL_WARM_UP: '1',
      ...env,
      HTTP_PORT: '0',
      WS_PORT: '0',
      WEB_PORT: '0',
      DATA_DIR: ':memory:',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const append = (c: Buffer) => {
    output = (output + c.toString()).slice(-50_000);
  };
  // Scanned line by line as it comes: engine logs can be long enough to push these out of `output`.
  const engines = new Map<string, number>();
  let partial = '';
  const scanEngines = (c: Buffer) => {
    const lines = (partial + c.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = ENGINE_READY.exec(line);
      if (m) engines.set(m[1] as string, Number(m[2]));
    }
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, at: performance.now() });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready after ${timeoutMs} ms:\n${output.slice(-3000)}`));
    }, timeoutMs);
    child.stderr?.on('data', (c: Buffer) => {
      append(c);
      scanEngines(c);
    });
    let ready = false;
    child.stdout?.on('data', (c: Buffer) => {
      const at = performance.now();
      append(c);
      const m = ready ? null : READY.exec(output);
      if (!m) return;
      ready = true;
      clearTimeout(timer);
      resolve({
        pid: child.pid ?? 0,
        selfReportedMs: m[1] === undefined ? Number.NaN : Number(m[1]),
        httpUrl: m[2] as string,
        wsUrl: m[3] as string,
        dynamoEndpoint: m[4] as string,
        readyMs: at - started,
        output: () => output,
        engines: () => engines,
        stop: async (signal = 'SIGTERM') => {
          const sent = performance.now();
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          const { code, signal: by, at: exitAt } = await exited;
          return { code, signal: by, ms: Math.max(0, exitAt - sent) };
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start.ts exited with ${code} before ready:\n${output.slice(-3000)}`));
    });
  });
}

/** Linux: every live descendant of `pid` (from /proc), e.g. the engine processes of a runtime. */
export function descendants(pid: number): Array<{ pid: number; command: string }> {
  if (process.platform !== 'linux') return [];
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: Array<{ pid: number; command: string }> = [];
  const wanted = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (wanted.has(parent) && !wanted.has(child)) {
        wanted.add(child);
        grew = true;
        let command = '';
        try {
          command = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ');
        } catch {
          // gone meanwhile
        }
        found.push({ pid: child, command });
      }
    }
  }
  return found;
}

/** True while a process with this pid exists (zombies included). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when something accepts TCP connections at the URL's host and port. */
export function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
