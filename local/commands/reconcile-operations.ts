import { connectToDeployment } from './connect.js';

// `npm run reconcile:operations`: finishes or undoes sagas that stopped (the scheduled reconciler, now).
const target = await connectToDeployment();
const { reconcileOperations } = await import('#shared/sagas/reconcile.js');
const olderThanMs = Number(process.env.OLDER_THAN_MS ?? 0);
const report = await reconcileOperations({ olderThanMs });
console.log(`Reconciled operations of ${target}:`, JSON.stringify(report, null, 2));
process.exit(report.errors.length ? 1 : 0);
