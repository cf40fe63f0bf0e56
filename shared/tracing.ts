/**
 * Whether this process traces: Powertools' own rule (a Lambda execution environment, `AWS_EXECUTION_ENV`
 * set, and `POWERTOOLS_TRACE_ENABLED` not "false"), decided before the tracer is loaded. Loading it
 * loads the X-Ray SDK, whose context tracking (cls-hooked) installs an async hook with a destroy
 * callback on every promise: measured at about a tenth of the local runtime's CPU on the send path,
 * for a tracer that is off there anyway.
 */
const tracing =
  (process.env.AWS_EXECUTION_ENV ?? '') !== '' &&
  (process.env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() !== 'false';

/**
 * One X-Ray tracer per process (Powertools), in Lambda only. The functions run with active tracing, so
 * Lambda opens a segment per invocation; every AWS SDK client made through `traced` adds a subsegment
 * per call (DynamoDB, SQS, Step Functions, the `@connections` API).
 */
const tracer = tracing
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'chat',
    })
  : undefined;

/** Instruments an AWS SDK v3 client for tracing; outside Lambda returns the client as it is. */
export function traced<T>(client: T): T {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}
