// The Rust toolchain that builds native engines from crates.io sources: found on PATH or in rustup's
// default place, checked against the crate's minimum Rust version, run with visible progress.
import { execFile, spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Log } from './log.js';
import { startProgress } from './progress.js';

const run = promisify(execFile);

const INSTALL_HINT =
  'Install Rust with rustup (https://rustup.rs) or your system packages, and make sure `cargo` is on PATH.';

/** A cargo executable and its version as [major, minor, patch]. */
export interface CargoInfo {
  cargo: string;
  version: [number, number, number];
}

/**
 * Finds `cargo` on PATH, else in `$CARGO_HOME/bin` or `~/.cargo/bin` (rustup installs there, but a
 * non-login shell may not have it on PATH). Throws with an install hint when there is none or when it
 * is older than `minimum` ("1.88").
 */
export async function findCargo(minimum: string): Promise<CargoInfo> {
  const candidates = ['cargo', join(process.env.CARGO_HOME || join(homedir(), '.cargo'), 'bin', 'cargo')];
  for (const cargo of candidates) {
    let stdout: string;
    try {
      ({ stdout } = await run(cargo, ['--version']));
    } catch {
      continue;
    }
    const parts = (stdout.match(/cargo (\d+)\.(\d+)\.(\d+)/)?.slice(1) ?? []).map(Number);
    const version: [number, number, number] = [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
    const [needMajor = 0, needMinor = 0] = minimum.split('.').map(Number);
    if (version[0] < needMajor || (version[0] === needMajor && version[1] < needMinor)) {
      throw new Error(
        `Rust ${minimum}+ is needed to build the local DynamoDB engine, found ${stdout.trim()} (${cargo}). ` +
          `With rustup: \`rustup update stable\`. ${INSTALL_HINT}`,
      );
    }
    return { cargo, version };
  }
  throw new Error(
    `Rust (cargo) is needed to build the local DynamoDB engine, but none was found. ${INSTALL_HINT}`,
  );
}

/**
 * Runs cargo with `args` in `cwd`, reporting its progress bar ("Building [...] 120/233") through `log`
 * as "compiled 120 of 233 crates". Rejects with cargo's last output lines on failure.
 */
export function runCargo(
  info: CargoInfo,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; log: Log; label: string },
): Promise<void> {
  const progress = startProgress(options.log, options.label);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(info.cargo, args, {
      cwd: options.cwd,
      env: {
        ...process.env,
        ...options.env,
        // Cargo draws its progress bar only on a terminal unless told otherwise; we parse it.
        CARGO_TERM_PROGRESS_WHEN: 'always',
        CARGO_TERM_PROGRESS_WIDTH: '120',
        CARGO_TERM_COLOR: 'never',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    let partial = '';
    let compiled = '';
    const collect = (chunk: Buffer) => {
      // The progress bar is redrawn with carriage returns, ordinary messages end with newlines.
      const pieces = (partial + chunk.toString('utf8')).split(/[\r\n]/);
      partial = pieces.pop() ?? '';
      for (const piece of pieces) {
        const line = piece.trim();
        if (!line) continue;
        const bar = line.match(/Building \[[^\]]*\]\s+(\d+)\/(\d+)/);
        if (bar) {
          compiled = `${bar[1]} of ${bar[2]} crates compiled`;
          progress.update(compiled);
          continue;
        }
        const step = line.match(/^(Downloaded|Compiling|Installing|Finished)\s+(.*)$/);
        if (step?.[1])
          progress.update(`${compiled ? `${compiled}, ` : ''}${step[1].toLowerCase()} ${step[2]}`);
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (err) => {
      progress.done('failed');
      reject(err);
    });
    child.once('close', (code) => {
      if (code === 0) {
        progress.done();
        return resolve();
      }
      progress.done('failed');
      reject(new Error(`cargo ${args.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`));
    });
  });
}

/** Runs cargo and returns its stdout (for short commands such as `cargo metadata`). */
export async function cargoOutput(
  info: CargoInfo,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<string> {
  const { stdout } = await run(info.cargo, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}
