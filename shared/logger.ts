import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger per process; handlers append correlation ids as keys. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'chat' });
