import { connectToDeployment } from './target.js';

// `npm run reconcile:operations`: finishes or undoes sagas that stopped. Runs the scheduled reconciler's
// bounded runs one after another until they have read every unfinished operation once.
const target = await connectToDeployment();
const { reconcileOperations } = await import('#shared/sagas/reconcile.js');
const olderThanMs = Number(process.env.OLDER_THAN_MS ?? 0);
let errors = 0;
for (let run = 1; ; run++) {
  const report = await reconcileOperations({ olderThanMs, fromStart: run === 1 });
  errors += report.errors.length;
  console.log(`Reconciled operations of ${target} (run ${run}):`, JSON.stringify(report, null, 2));
  if (report.covered) break;
}
process.exit(errors ? 1 : 0);
