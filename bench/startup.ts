// npm run bench:startup — `npm start`'s entry from spawn to its ready line, and its SIGTERM shutdown.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { installDynamoDbLocal } from '#local/engines/dynamodb-local.js';
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
  jvmMs: number;
  firstHealthMs: number;
  shutdownMs: number;
  exit: string;
  clean: boolean;
}

// With CHAT_ENGINES_DEBUG the engine launcher reports the JVM's own start-up (spawn to first answer).
const ENGINE_READY = /\[engines\] dynamodb-local ready on \S+ in (\d+) ms/;

async function once(): Promise<Run> {
  const child = await spawnStartEntry({ CHAT_ENGINES_DEBUG: '1' });
  const processes = descendants(child.pid);
  const jvmSeen = processes.some((p) => p.command.includes('java'));
  const http = new HttpClient(child.httpUrl);
  const t = performance.now();
  const health = await http.call('/health');
  const firstHealthMs = performance.now() - t;
  http.close();
  if (health.status !== 200) throw new Error(`GET /health answered ${health.status}`);

  const stopped = await child.stop('SIGTERM');
  // Everything the child started must be gone, and its ports closed. The JVM is stopped (and reaped) by
  // start.ts before it exits; tsx's esbuild service ends when its stdin closes, a moment after Node.
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
  if (processes.length === 0 && process.platform === 'linux')
    console.log('  ! no child process of start.ts seen');
  return {
    readyMs: child.readyMs,
    selfReportedMs: child.selfReportedMs,
    jvmMs: Number(ENGINE_READY.exec(child.output())?.[1] ?? Number.NaN),
    firstHealthMs,
    shutdownMs: stopped.ms,
    exit: stopped.signal ? `signal ${stopped.signal}` : `code ${stopped.code}`,
    clean: leftovers.length === 0 && openPorts.length === 0 && stopped.code === 0 && jvmSeen,
  };
}

function line(label: string, r: Run): string {
  return (
    `${label.padEnd(8)} ready ${ms(r.readyMs).padStart(8)}  (start.ts reports ${ms(r.selfReportedMs)}, JVM ${ms(r.jvmMs)})  ` +
    `first /health ${ms(r.firstHealthMs)}  SIGTERM->exit ${ms(r.shutdownMs)}  exit ${r.exit}` +
    `${r.clean ? '  clean' : '  NOT CLEAN'}`
  );
}

printHeader('startup: node --import tsx local/start.ts (DATA_DIR=:memory:, HTTP_PORT=0, WS_PORT=0)');
const engineDir = await installDynamoDbLocal();
console.log(`engine cache: ${engineDir} (warm: nothing is downloaded during the runs)`);
console.log(
  'ready = wall time from spawn() to the ready line on stdout (Node + tsx start, imports, synth, JVM, tables, fronts)',
);
console.log("a first run warms the OS page cache and tsx's transform cache and is not counted\n");

const warm = await once();
console.log(line('warm-up', warm));
const runs: Run[] = [];
for (let i = 1; i <= RUNS; i++) {
  const r = await once();
  runs.push(r);
  console.log(line(`run ${i}`, r));
}
console.log('');
console.log(`median ready (spawn -> ready line):   ${ms(median(runs.map((r) => r.readyMs)))}`);
console.log(`median start.ts self-reported:        ${ms(median(runs.map((r) => r.selfReportedMs)))}`);
console.log(`median DynamoDB Local JVM start:       ${ms(median(runs.map((r) => r.jvmMs)))}`);
console.log(
  `median Node/tsx start + imports:      ${ms(median(runs.map((r) => r.readyMs - r.selfReportedMs)))}`,
);
console.log(`median first GET /health:             ${ms(median(runs.map((r) => r.firstHealthMs)))}`);
console.log(`median shutdown (SIGTERM -> exit):    ${ms(median(runs.map((r) => r.shutdownMs)))}`);
console.log(
  `clean shutdowns: ${runs.filter((r) => r.clean).length}/${runs.length} (exit code 0, no leftover process, ports closed)`,
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
console.log('(start.ts runs that synth before it starts DynamoDB Local, so the two add up)');
printLoad('end');
process.exit(runs.every((r) => r.clean) ? 0 : 1);
