import { sweepEndedSessions } from '#shared/domain/sessions.js';
import { logger } from '#shared/logger.js';
import { emitMetrics } from '#shared/metrics.js';

/**
 * Scheduled every minute: closes the WebSocket connections whose token expired (after a
 * `sessionEnded` frame), which API Gateway would otherwise keep open until the client's next frame or
 * its own two-hour limit.
 */
export const handler = async (): Promise<void> => {
  const report = await sweepEndedSessions();
  emitMetrics({ SessionsSwept: report.expired + report.overLifetime });
  if (report.found > 0) logger.info('ended sessions swept', { ...report });
};
