import { connectToDeployment } from './connect.js';

// Indexes every user and message as it is now; safe while the backfilled deployment takes writes.
// Usage: tsx local/commands/search-backfill.ts [users|messages]...
const target = await connectToDeployment();
const { connectToSearch } = await import('#shared/search/local-target.js');
const search = await connectToSearch();
const { backfill } = await import('#shared/search/backfill.js');
const { closeSearchClient } = await import('#shared/search/client.js');
const { parseIndices } = await import('#shared/search/indices.js');

console.log(`Backfilling ${search} from ${target}`);
let code = 0;
try {
  const report = await backfill({
    indices: parseIndices(process.argv.slice(2)),
    log: (l) => console.log(`  ${l}`),
  });
  console.log(
    `Backfilled ${report.docs} items in ${(report.durationMs / 1000).toFixed(1)} s: ${Math.round(report.docsPerSecond)} docs/s`,
  );
  for (const [index, c] of Object.entries(report.byIndex)) {
    console.log(
      `  ${index}: scanned ${c.scanned}, indexed ${c.indexed}, deleted ${c.deleted}, already current ${c.superseded}, failed ${c.failed}`,
    );
  }
  for (const f of report.failures) console.log(`  failure: ${f}`);
  code = report.byIndex.users.failed + report.byIndex.messages.failed ? 1 : 0;
} catch (err) {
  console.error(err);
  code = 2;
} finally {
  await closeSearchClient();
}
process.exit(code);
