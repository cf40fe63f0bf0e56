import { logger } from '#shared/logger.js';
import { emitMetrics } from '#shared/metrics.js';
import { reconcileOperations } from '#shared/sagas/reconcile.js';

/** Scheduled: finishes or undoes sagas that stopped (crash, lost execution, failed compensation). */
export const handler = async (): Promise<void> => {
  const report = await reconcileOperations();
  emitMetrics({
    OperationsRead: report.read,
    OperationsRepaired: report.markedSucceeded.length + report.compensated.length + report.restarted.length,
  });
  logger.info('operations reconciled', { ...report });
};
