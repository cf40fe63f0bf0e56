import type { Context } from 'aws-lambda';
import { logger } from '#shared/logger.js';
import { holdDeadLetters, settleDeadLetters } from '#shared/search/dead-letters.js';
import { reconcile } from '#shared/search/reconcile.js';

/** Time kept back at the end of the invocation to settle dead letters and answer. */
const RESERVE_MS = 60_000;

/**
 * Scheduled: compares the users and messages tables with the index and repairs drift. Dead letters of
 * the indexer waiting when it starts are acknowledged once the reconcile that follows them completed
 * for their table without failures (it repaired whatever their batch left behind).
 */
export const handler = async (_event: unknown, context?: Context) => {
  const remaining = context?.getRemainingTimeInMillis() ?? 900_000;
  const deadline = Date.now() + Math.max(10_000, remaining - RESERVE_MS);
  const held = process.env.SEARCH_DLQ_URL ? await holdDeadLetters(remaining / 1000) : undefined;
  const { failures, byIndex, ...report } = await reconcile({ deadline });
  const deadLettersCleared = held ? await settleDeadLetters(held, { failures, byIndex, ...report }) : 0;
  const summary = { ...report, byIndex, deadLettersCleared, deadLettersHeld: held?.messages.length ?? 0 };
  if (report.failed || !report.complete) logger.warn('search reconcile', { ...summary, failures });
  else logger.info('search reconcile', summary);
  return summary;
};
