import { connectToDeployment } from './connect.js';

// Compares the users and messages tables with the search index and repairs the differences.
// Usage: tsx local/commands/search-reconcile.ts [users|messages]...
const target = await connectToDeployment();
const { connectToSearch } = await import('#shared/search/local-target.js');
const search = await connectToSearch();
const { reconcile } = await import('#shared/search/reconcile.js');
const { closeSearchClient } = await import('#shared/search/client.js');
const { parseIndices } = await import('#shared/search/indices.js');

console.log(`Reconciling ${search} with ${target}`);
let code = 0;
try {
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
  code = report.failed ? 1 : 0;
} catch (err) {
  console.error(err);
  code = 2;
} finally {
  await closeSearchClient();
}
process.exit(code);
