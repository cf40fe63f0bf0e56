import type { Context } from 'aws-lambda';
import { config } from '#shared/config/env.js';
import type { ReconcilerConfig } from '#shared/config/search.js';
import { logger } from '#shared/logger.js';
import { emitMetrics } from '#shared/metrics.js';
import { earliestHeld, holdDeadLetters, settleDeadLetters } from '#shared/search/dead-letters.js';
import { reconcileRun } from '#shared/search/reconcile.js';

/** Read once, by the first invocation of the container. */
let settings: ReconcilerConfig | undefined;

/** Time kept back at the end of the invocation to settle dead letters and answer. */
const RESERVE_MS = 60_000;

/**
 * Scheduled: one bounded run of the search reconciler (`reconcileRun`), which resumes the sweep of the
 * users and messages tables and indices where the previous run stopped. Dead letters of the indexer are
 * acknowledged once a sweep of their table that started after them finished without failures; a run
 * holding such letters goes on into the next sweep (within its budget) to get there sooner.
 */
export const handler = async (_event: unknown, context?: Context) => {
  settings ??= config().reconciler;
  const remaining = context?.getRemainingTimeInMillis() ?? 900_000;
  const deadline = Date.now() + Math.max(10_000, remaining - RESERVE_MS);
  const held = settings.deadLetters ? await holdDeadLetters(remaining / 1000) : undefined;
  const { failures, byIndex, ...report } = await reconcileRun({
    deadline,
    budget: settings.budget,
    coverSince: held ? earliestHeld(held) : undefined,
  });
  const deadLettersCleared = held ? await settleDeadLetters(held, report.completed) : 0;
  emitMetrics({
    ReconcileChecked: report.checked,
    ReconcileRepaired: report.indexed + report.deleted,
    ReconcileSweeps: report.sweepsCompleted,
  });
  const summary = { ...report, byIndex, deadLettersCleared, deadLettersHeld: held?.messages.length ?? 0 };
  if (report.failed || report.stoppedBy === 'deadline' || report.stoppedBy === 'lost-cursor')
    logger.warn('search reconcile', { ...summary, failures });
  else logger.info('search reconcile', summary);
  return summary;
};
