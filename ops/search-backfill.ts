import { runSearchCommand } from './search-command.js';

// Indexes every user and message as it is now; safe while the backfilled deployment takes writes.
// Usage: tsx ops/search-backfill.ts [users|messages]...
await runSearchCommand(async ({ target, search }) => {
  const { backfill } = await import('#shared/search/backfill.js');
  const { parseIndices } = await import('#shared/search/indices.js');
  console.log(`Backfilling ${search} from ${target}`);
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
  return report.byIndex.users.failed + report.byIndex.messages.failed ? 1 : 0;
});
