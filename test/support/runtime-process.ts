import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RuntimeProcess {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly dynamoEndpoint: string;
  readonly searchEndpoint: string;
  readonly sqsEndpoint: string;
  readonly sfnEndpoint: string;
  /** The web client's URL. */
  readonly webUrl: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const READY = /ready.*http=(\S+) ws=(\S+) dynamodb=(\S+) search=(\S+) sqs=(\S+) sfn=(\S+) web=(\S+)/;

/** Starts `npm start`'s entry point as a child process and waits for its `ready` line. */
export function startRuntimeProcess(
  env: Record<string, string> = {},
  timeoutMs = 240_000,
): Promise<RuntimeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: rootDir,
    // Threads load on first use: a background warm-up after each of a crash test's restarts would only
    // load the machine.
    env: {
      ...process.env,
      LOCAL_WARM_UP: '0',
      HTTP_PORT: '0',
      WS_PORT: '0',
      WEB_PORT: '0',
      DATA_DIR: ':memory:',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`runtime not ready after ${timeoutMs} ms:\n${output.slice(-4000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
      const m = READY.exec(output);
      if (!m) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.on('data', (c: Buffer) => {
        output = (output + c.toString()).slice(-100_000);
      });
      resolve({
        httpUrl: m[1] as string,
        wsUrl: m[2] as string,
        dynamoEndpoint: m[3] as string,
        searchEndpoint: m[4] as string,
        sqsEndpoint: m[5] as string,
        sfnEndpoint: m[6] as string,
        webUrl: m[7] as string,
        child,
        output: () => output,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before ready:\n${output.slice(-4000)}`));
    });
  });
}
