// npm run bench:startup — `npm start`'s entry from spawn to its ready line, and its SIGTERM shutdown.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { installDynamoDbEngine, installElasticMq, installOpenSearch } from '#local/engines/index.js';
import { HttpClient } from './lib/http.js';
import {
  alive,
  descendants,
  listening,
  printHeader,
  printLoad,
  rootDir,
  spawnStartEntry,
} from './lib/runtime.js';
import { median, ms } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

interface Run {
  readyMs: number;
  selfReportedMs: number;
  /** Engine start-up (spawn to first answer) by name, as the engine launcher reports it. */
  engines: ReadonlyMap<string, number>;
  jvms: number;
  firstHealthMs: number;
  shutdownMs: number;
  exit: string;
  clean: boolean;
}

async function once(): Promise<Run> {
  // CHAT_ENGINES_DEBUG makes the engine launcher report each engine's own start-up time on stderr.
  const child = await spawnStartEntry({ CHAT_ENGINES_DEBUG: '1', LOCAL_WARM_UP: '0' });
  const processes = descendants(child.pid);
  const jvms = processes.filter((p) => /\bjava\b/.test(p.command)).length;
  const http = new HttpClient(child.httpUrl);
  const t = performance.now();
  const health = await http.call('/health');
  const firstHealthMs = performance.now() - t;
  http.close();
  if (health.status !== 200) throw new Error(`GET /health answered ${health.status}`);

  const stopped = await child.stop('SIGTERM');
  // Everything the child started must be gone, and its ports closed. start.ts stops (and reaps) the
  // engines before it exits; tsx's esbuild service ends when its stdin closes, a moment after Node.
  const deadline = performance.now() + 3_000;
  let leftovers = processes.filter((p) => alive(p.pid));
  while (leftovers.length && performance.now() < deadline) {
    await sleep(50);
    leftovers = leftovers.filter((p) => alive(p.pid));
  }
  for (const p of leftovers) process.kill(p.pid, 'SIGKILL');
  const openPorts: string[] = [];
  for (const url of [child.httpUrl, child.wsUrl, child.dynamoEndpoint]) {
    if (await listening(url)) openPorts.push(url);
  }
  if (leftovers.length) console.log(`  ! alive 3 s after exit (now killed): ${JSON.stringify(leftovers)}`);
  if (openPorts.length) console.log(`  ! still accepting connections after exit: ${openPorts.join(', ')}`);
  if (jvms === 0) console.log('  ! no java child of start.ts seen');
  return {
    readyMs: child.readyMs,
    selfReportedMs: child.selfReportedMs,
    engines: new Map(child.engines()),
    jvms,
    firstHealthMs,
    shutdownMs: stopped.ms,
    exit: stopped.signal ? `signal ${stopped.signal}` : `code ${stopped.code}`,
    clean: leftovers.length === 0 && openPorts.length === 0 && stopped.code === 0 && jvms > 0,
  };
}

function line(label: string, r: Run): string {
  const engines = [...r.engines].map(([name, t]) => `${name} ${ms(t)}`).join(', ');
  return (
    `${label.padEnd(8)} ready ${ms(r.readyMs).padStart(8)}  (start.ts ${ms(r.selfReportedMs)}; engines: ${engines})\n` +
    `${''.padEnd(9)}first /health ${ms(r.firstHealthMs)}  SIGTERM->exit ${ms(r.shutdownMs)}  exit ${r.exit}, ` +
    `${r.jvms} JVMs${r.clean ? ', clean' : ', NOT CLEAN'}`
  );
}

printHeader('startup: node --import tsx local/start.ts (DATA_DIR=:memory:, HTTP_PORT=0, WS_PORT=0)');
// Fetched now if missing, so that no run downloads anything.
for (const install of [installDynamoDbEngine, installElasticMq, installOpenSearch]) {
  console.log(`engine cache: ${await install()}`);
}
console.log('ready = wall time from spawn() to the ready line on stdout');
console.log('  (Node + tsx start, imports, synth, engines, tables and queues, handler imports, fronts)');
console.log("a first run warms the OS page cache and tsx's transform cache and is not counted\n");

const warm = await once();
console.log(line('warm-up', warm));
const runs: Run[] = [];
for (let i = 1; i <= RUNS; i++) {
  const r = await once();
  runs.push(r);
  console.log(line(`run ${i}`, r));
}
const med = (f: (r: Run) => number | undefined) =>
  ms(median(runs.map(f).filter((v): v is number => v !== undefined)));
console.log('');
console.log(`median ready (spawn -> ready line):   ${med((r) => r.readyMs)}`);
console.log(`median start.ts self-reported:        ${med((r) => r.selfReportedMs)}`);
for (const name of new Set(runs.flatMap((r) => [...r.engines.keys()]))) {
  console.log(
    `median ${`${name} start:`.padEnd(30)} ${med((r) => r.engines.get(name))} (spawn to first answer)`,
  );
}
console.log(`median Node/tsx start + imports:      ${med((r) => r.readyMs - r.selfReportedMs)}`);
console.log(`median first GET /health:             ${med((r) => r.firstHealthMs)}`);
console.log(`median shutdown (SIGTERM -> exit):    ${med((r) => r.shutdownMs)}`);
console.log(
  `clean shutdowns: ${runs.filter((r) => r.clean).length}/${runs.length} ` +
    '(exit code 0, no process left behind, ports closed)',
);

// Where the time goes: the synth that startLocalRuntime runs first, alone in a fresh process.
const probe = await new Promise<string>((resolve, reject) => {
  execFile(
    process.execPath,
    ['--import', 'tsx', 'bench/lib/synth-probe.ts'],
    { cwd: rootDir, timeout: 120_000 },
    (err, stdout) => (err ? reject(err) : resolve(stdout)),
  );
});
const synth = JSON.parse(probe.trim().split('\n').pop() ?? '{}') as { importMs: number; synthMs: number };
console.log(
  `for comparison, in a fresh process: import of the CDK app ${ms(synth.importMs)}, synthTemplate() ${ms(synth.synthMs)}`,
);
console.log('(start.ts runs that synth before it starts the engines, so the two add up)');
printLoad('end');
process.exit(runs.every((r) => r.clean) ? 0 : 1);
