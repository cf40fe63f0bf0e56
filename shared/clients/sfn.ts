import { SFNClient } from '@aws-sdk/client-sfn';
import { traced } from '../tracing.js';

let client: SFNClient | undefined;

/** The Step Functions client; its endpoint comes from the standard SDK configuration (`AWS_ENDPOINT_URL_SFN`). */
export function sfnClient(): SFNClient {
  client ??= traced(new SFNClient({}));
  return client;
}
