import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * One X-Ray tracer per process (Powertools). The functions run with active tracing, so Lambda opens a
 * segment per invocation; every AWS SDK client made through `traced` adds a subsegment per call
 * (DynamoDB, SQS, Step Functions, the `@connections` API). Outside Lambda (the local runtime, tests,
 * commands) the tracer turns itself off and `traced` returns the client as it is.
 */
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'chat' });

/** Instruments an AWS SDK v3 client for tracing (a no-op where tracing is off). */
export function traced<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}
