// AWS's published on-demand prices that `npm run cost` multiplies measured usage by. One file, one date:
// when a price changes, change it here (and the date), and every figure follows.

/** One published price: dollars per `per` units of `unit`. */
export interface Price {
  readonly usd: number;
  /** How many units `usd` buys, e.g. 1_000_000 requests. */
  readonly per: number;
  readonly unit: string;
  /** The published price page it was read from. */
  readonly source: string;
  /** Anything a reader should know: free tiers left out, tiers, what could not be confirmed. */
  readonly note?: string;
}

/** The region every price is for. */
export const PRICE_REGION = 'us-east-1';
/** When the prices below were read from their pages. */
export const PRICES_READ_ON = '2026-11-30';

const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const API_GATEWAY = 'https://aws.amazon.com/api-gateway/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const STEP_FUNCTIONS = 'https://aws.amazon.com/step-functions/pricing/';
const OPENSEARCH = 'https://aws.amazon.com/opensearch-service/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const SECRETS_MANAGER = 'https://aws.amazon.com/secrets-manager/pricing/';
const XRAY = 'https://aws.amazon.com/xray/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';

/**
 * The prices used, us-east-1, on-demand, without free tiers (a free tier is per account and would hide
 * the marginal cost). Lambda is priced for Arm (Graviton): every function of the stack is `arm64`.
 */
export const PRICES = {
  dynamodbWriteRequestUnit: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'write request unit',
    source: DYNAMODB,
    note: 'on-demand, Standard table class (price as reduced in November 2024)',
  },
  dynamodbReadRequestUnit: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'read request unit',
    source: DYNAMODB,
    note: 'on-demand, Standard table class (price as reduced in November 2024)',
  },
  dynamodbStreamsReadRequestUnit: {
    usd: 0,
    per: 100_000,
    unit: 'streams read request unit',
    source: DYNAMODB,
    note: 'GetRecords by a Lambda trigger is free; other readers pay $0.02 per 100,000',
  },
  dynamodbStorage: {
    usd: 0.25,
    per: 1,
    unit: 'GB-month',
    source: DYNAMODB,
    note: 'first 25 GB per month free (not applied)',
  },
  lambdaRequest: { usd: 0.2, per: 1_000_000, unit: 'invocation', source: LAMBDA },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-second (Arm)',
    source: LAMBDA,
    note: 'first tier (7.5 billion GB-s per month); x86 would be $0.0000166667',
  },
  httpApiRequest: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'HTTP API request (512 KB increment)',
    source: API_GATEWAY,
    note: 'first 300 million per month',
  },
  webSocketMessage: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'WebSocket message (32 KB increment)',
    source: API_GATEWAY,
    note: 'first billion per month; messages both ways are billed',
  },
  webSocketConnectionMinute: {
    usd: 0.25,
    per: 1_000_000,
    unit: 'connection minute',
    source: API_GATEWAY,
  },
  sqsFifoRequest: {
    usd: 0.5,
    per: 1_000_000,
    unit: 'FIFO request (64 KB chunk)',
    source: SQS,
    note: 'the send queue is FIFO; standard queues are $0.40',
  },
  sqsStandardRequest: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'standard request (64 KB chunk)',
    source: SQS,
  },
  stepFunctionsStateTransition: {
    usd: 0.025,
    per: 1_000,
    unit: 'state transition (standard workflow)',
    source: STEP_FUNCTIONS,
    note: 'retries count as transitions',
  },
  cloudWatchLogsIngestion: {
    usd: 0.5,
    per: 1,
    unit: 'GB ingested (standard log class)',
    source: CLOUDWATCH,
  },
  cloudWatchLogsStorage: { usd: 0.03, per: 1, unit: 'GB-month archived', source: CLOUDWATCH },
  cloudWatchAlarmMetric: {
    usd: 0.1,
    per: 1,
    unit: 'standard-resolution alarm metric-month',
    source: CLOUDWATCH,
    note: 'first 10 per account free (not applied)',
  },
  cloudWatchDashboard: {
    usd: 3.0,
    per: 1,
    unit: 'dashboard-month',
    source: CLOUDWATCH,
    note: 'first 3 per account free (not applied)',
  },
  cloudWatchCustomMetric: {
    usd: 0.3,
    per: 1,
    unit: 'custom metric-month',
    source: CLOUDWATCH,
    note: 'first 10,000 metrics; prorated by the hour, so a metric that is never emitted costs nothing',
  },
  secretsManagerSecret: { usd: 0.4, per: 1, unit: 'secret-month', source: SECRETS_MANAGER },
  secretsManagerApiCall: {
    usd: 0.05,
    per: 10_000,
    unit: 'API call',
    source: SECRETS_MANAGER,
    note: 'the signing key is fetched once per warm function instance per 5 minutes (cache maxAge)',
  },
  xrayTraceRecorded: {
    usd: 5.0,
    per: 1_000_000,
    unit: 'trace recorded',
    source: XRAY,
    note: 'first 100,000 per month free (not applied)',
  },
  kmsCustomerManagedKey: {
    usd: 1.0,
    per: 1,
    unit: 'customer managed key-month',
    source: KMS,
    note: 'AWS managed keys (aws/es, SQS-managed SSE, DynamoDB default) have no monthly fee',
  },
  opensearchGp2Storage: {
    usd: 0.135,
    per: 1,
    unit: 'GB-month of gp2 EBS',
    source: OPENSEARCH,
    note: 'not confirmed against a stored copy of the page when read; check before relying on it',
  },
} as const satisfies Record<string, Price>;

/**
 * OpenSearch on-demand instance-hours, by instance type. Only the types a stage uses are needed; a
 * stage whose type is missing here makes `npm run cost` (and its test) fail, rather than guess.
 */
export const OPENSEARCH_INSTANCE_HOUR: Readonly<Record<string, Price>> = {
  't3.small.search': {
    usd: 0.036,
    per: 1,
    unit: 'instance-hour',
    source: OPENSEARCH,
    note: 'not confirmed against a stored copy of the page when read; check before relying on it',
  },
  'm6g.large.search': {
    usd: 0.128,
    per: 1,
    unit: 'instance-hour',
    source: OPENSEARCH,
    note: 'not confirmed against a stored copy of the page when read; check before relying on it',
  },
};

export type PriceName = keyof typeof PRICES;

/** Dollars for `quantity` units of a price. */
export function dollars(price: Price, quantity: number): number {
  return (price.usd * quantity) / price.per;
}

/** Hours in a month as AWS bills instance-hours (730). */
export const HOURS_PER_MONTH = 730;
