import { Logger } from '@aws-lambda-powertools/logger';
import { observability } from './config/env.js';

/** One structured logger per process; handlers append correlation ids as keys. */
export const logger = new Logger({ serviceName: observability().serviceName });
