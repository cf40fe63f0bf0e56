import { afterEach, describe, expect, it } from 'vitest';
import { startEngine, startOnPort } from '#local/engines/process.js';
import { type SupervisedEngine, supervise } from '#local/engines/supervisor.js';

/** A real child process that answers HTTP on its port: the smallest engine there is. */
const tinyServer = `require('node:http').createServer((q, s) => s.end(String(process.pid))).listen(Number(process.argv[1]), '127.0.0.1')`;

function startTiny(port: number | undefined) {
  return startOnPort(port, (p) =>
    startEngine({
      name: 'tiny',
      command: process.execPath,
      args: ['-e', tinyServer, String(p)],
      port: p,
      readyTimeoutMs: 10_000,
      probe: async (signal) => (await fetch(`http://127.0.0.1:${p}/`, { signal })).ok,
    }),
  );
}

const answer = async (endpoint: string) => (await fetch(endpoint)).text();

describe('engine supervision', () => {
  let engine: SupervisedEngine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  it('restarts an engine that dies, on the same port, and never one that was stopped', async () => {
    const lines: string[] = [];
    engine = await supervise({ start: startTiny, log: (l) => lines.push(l), initialBackoffMs: 50 });
    const first = engine.pid;
    expect(await answer(engine.endpoint)).toBe(String(first));
    process.kill(first, 'SIGKILL');
    while (engine.restarts === 0) await new Promise((r) => setTimeout(r, 50));
    expect(engine.pid).not.toBe(first);
    expect(await answer(engine.endpoint)).toBe(String(engine.pid));
    expect(lines.some((l) => l.includes('restarting'))).toBe(true);
    const second = engine.pid;
    await engine.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(engine.restarts).toBe(1);
    expect(() => process.kill(second, 0)).toThrow();
    engine = undefined;
  });
});
