import { observability } from './config/env.js';

/**
 * Whether this process traces (Powertools' own rule, see `observability()`), decided before the tracer is loaded. Loading it
 * loads the X-Ray SDK, whose context tracking (cls-hooked) installs an async hook with a destroy
 * callback on every promise: measured at about a tenth of the local runtime's CPU on the send path,
 * for a tracer that is off there anyway.
 */
const tracing = observability().tracing;

/**
 * One X-Ray tracer per process (Powertools), in Lambda only. The functions run with active tracing, so
 * Lambda opens a segment per invocation; every AWS SDK client made through `traced` adds a subsegment
 * per call (DynamoDB, SQS, Step Functions, the `@connections` API).
 */
const tracer = tracing
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({
      serviceName: observability().serviceName,
    })
  : undefined;

/** Instruments an AWS SDK v3 client for tracing; outside Lambda returns the client as it is. */
export function traced<T>(client: T): T {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}
