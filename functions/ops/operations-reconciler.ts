import { logger } from '#shared/logger.js';
import { reconcileOperations } from '#shared/sagas/reconcile.js';

/** Scheduled: finishes or undoes sagas that stopped (crash, lost execution, failed compensation). */
export const handler = async (): Promise<void> => {
  const report = await reconcileOperations();
  logger.info('operations reconciled', { ...report });
};
