import { runSearchCommand } from './search-command.js';

// Compares the users and messages tables with the search index and repairs the differences.
// Usage: tsx ops/search-reconcile.ts [users|messages]...
await runSearchCommand(async ({ target, search }) => {
  const { reconcile } = await import('#shared/search/reconcile.js');
  const { parseIndices } = await import('#shared/search/indices.js');
  console.log(`Reconciling ${search} with ${target}`);
  const { byIndex, failures, ...report } = await reconcile({ indices: parseIndices(process.argv.slice(2)) });
  console.log(JSON.stringify({ ...report, durationMs: Math.round(report.durationMs) }));
  for (const [index, c] of Object.entries(byIndex)) {
    console.log(
      `  ${index}: ${c.checkedItems} items and ${c.checkedDocs} documents checked; ` +
        `${c.missing} missing, ${c.stale} stale, ${c.orphaned} orphaned, ${c.inactive} inactive -> ` +
        `${c.indexed} indexed, ${c.deleted} deleted (${c.superseded} overtaken by live writes, ${c.failed} failed)`,
    );
  }
  for (const f of failures) console.log(`  failure: ${f}`);
  return report.failed ? 1 : 0;
});
