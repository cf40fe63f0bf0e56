// Warms the engine cache (e.g. in CI before the tests): `npx tsx local/engines/fetch.ts [--only dynamodb,elasticmq]`.
// A first run builds the DynamoDB engine with cargo and resolves the Java engines with Maven, reporting progress.
import { parseArgs } from 'node:util';
import { cacheRoot } from './cache.js';
import { installDynoxide } from './dynoxide.js';
import { installElasticMq } from './elasticmq.js';
import { findJava } from './java.js';
import { type Log, stderrLog } from './log.js';
import { installOpenSearch } from './opensearch.js';

const installers: Record<string, (log: Log) => Promise<string>> = {
  dynamodb: installDynoxide,
  elasticmq: installElasticMq,
  opensearch: installOpenSearch,
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const known = Object.keys(installers);
  if (values.help) {
    console.log(`Usage: npx tsx local/engines/fetch.ts [--only ${known.join(',')}]`);
    return;
  }
  const names = values.only ? values.only.split(',').map((n) => n.trim()) : known;
  const unknown = names.filter((n) => !installers[n]);
  if (unknown.length)
    throw new Error(`Unknown engine(s): ${unknown.join(', ')} (known: ${known.join(', ')})`);

  const java = await findJava();
  console.log(`cache: ${cacheRoot()}`);
  console.log(`java: ${java.java} (Java ${java.major}, ${java.javac ? 'with' : 'no'} javac)`);
  // One after the other: Maven runs are serialized anyway, a cargo build takes both cores of a small
  // machine, and the output stays readable.
  for (const name of names) {
    let fetched = false;
    const log: Log = (message) => {
      fetched = true;
      stderrLog(message);
    };
    const started = performance.now();
    const dir = await installers[name]?.(log);
    const ms = Math.round(performance.now() - started);
    console.log(`${name}: ${fetched ? `fetched in ${ms} ms` : 'already cached'} -> ${dir}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
