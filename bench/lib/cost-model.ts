// The arithmetic of `npm run cost`: measured usage times the prices of infra/prices.ts, and the idle
// monthly floor of a stage read from its synthesized template. Pure functions, so a test can check
// every figure by hand.

import {
  dollars,
  HOURS_PER_MONTH,
  OPENSEARCH_INSTANCE_HOUR,
  PRICES,
  type Price,
  type PriceName,
} from '#infra/prices.js';
import type { CfnTemplate } from '#infra/synth.js';

/** What a run consumed, as AWS would meter it (see bench/lib/cost-meter.ts for how each is counted). */
export interface Usage {
  /** DynamoDB request units by AWS's rules (capacity.ts `estimated`). */
  writeRequestUnits: number;
  readRequestUnits: number;
  /** Lambda invocations, and GB-seconds at each function's configured memory (billed ms, rounded up). */
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  /** HTTP API requests, in 512 KB increments. */
  httpRequests: number;
  /** WebSocket messages both ways, in 32 KB increments. */
  webSocketMessages: number;
  /** SQS requests in 64 KB chunks, FIFO and standard queues. */
  sqsFifoRequests: number;
  sqsStandardRequests: number;
  /** DynamoDB Streams records delivered to Lambda triggers (free). */
  streamRecords: number;
  /** Step Functions state transitions (standard workflows). */
  stateTransitions: number;
  /** Requests to the search domain (instance-priced: no marginal charge). */
  searchRequests: number;
  /** Bytes CloudWatch Logs would ingest (function output, platform lines, access logs). */
  logBytes: number;
  /** Traces X-Ray would record. */
  traces: number;
}

export function emptyUsage(): Usage {
  return {
    writeRequestUnits: 0,
    readRequestUnits: 0,
    lambdaInvocations: 0,
    lambdaGbSeconds: 0,
    httpRequests: 0,
    webSocketMessages: 0,
    sqsFifoRequests: 0,
    sqsStandardRequests: 0,
    streamRecords: 0,
    stateTransitions: 0,
    searchRequests: 0,
    logBytes: 0,
    traces: 0,
  };
}

export interface CostLine {
  readonly label: string;
  /** Quantity for the priced amount of work (e.g. per million messages). */
  readonly quantity: number;
  readonly price: PriceName | 'none';
  readonly usd: number;
  readonly note?: string;
}

const GB = 1024 ** 3;

/**
 * The lines of one scenario: `usage` was measured over `units` units of work (e.g. 300 messages) and
 * is priced for `scale` units (e.g. a million), linearly.
 */
export function priceUsage(usage: Usage, units: number, scale: number): CostLine[] {
  const k = scale / units;
  const line = (label: string, quantity: number, price: PriceName, note?: string): CostLine => ({
    label,
    quantity: quantity * k,
    price,
    usd: dollars(PRICES[price], quantity * k),
    note,
  });
  return [
    line('DynamoDB write request units', usage.writeRequestUnits, 'dynamodbWriteRequestUnit'),
    line('DynamoDB read request units', usage.readRequestUnits, 'dynamodbReadRequestUnit'),
    line(
      'DynamoDB Streams records to Lambda',
      usage.streamRecords,
      'dynamodbStreamsReadRequestUnit',
      'free for Lambda triggers',
    ),
    line('Lambda invocations', usage.lambdaInvocations, 'lambdaRequest'),
    line('Lambda GB-seconds (arm64)', usage.lambdaGbSeconds, 'lambdaArmGbSecond', 'local wall time'),
    line('API Gateway HTTP requests', usage.httpRequests, 'httpApiRequest'),
    line('API Gateway WebSocket messages', usage.webSocketMessages, 'webSocketMessage', 'both ways'),
    line('SQS FIFO requests', usage.sqsFifoRequests, 'sqsFifoRequest'),
    line('SQS standard requests', usage.sqsStandardRequests, 'sqsStandardRequest'),
    line('Step Functions state transitions', usage.stateTransitions, 'stepFunctionsStateTransition'),
    line('CloudWatch Logs ingestion (GB)', usage.logBytes / GB, 'cloudWatchLogsIngestion'),
    line('X-Ray traces recorded', usage.traces, 'xrayTraceRecorded', '5% sampling'),
    {
      label: 'OpenSearch requests',
      quantity: usage.searchRequests * k,
      price: 'none',
      usd: 0,
      note: 'instance-priced: in the idle floor',
    },
  ];
}

export const total = (lines: ReadonlyArray<{ readonly usd: number }>) => lines.reduce((n, l) => n + l.usd, 0);

// ---------------------------------------------------------------------------------------------------
// The idle floor: what a stage costs per month with no user at all.

/** What one scheduled run consumed on an idle stage (measured), to be multiplied by runs per month. */
export type ScheduledRunUsage = Usage;

/**
 * Idle ReceiveMessage requests of one SQS event source mapping: Lambda long-polls an empty queue with
 * several pollers. AWS does not publish their number; this assumes 5 pollers, each waiting 20 s per
 * receive (3 requests a minute each). An estimate, said so in the output.
 */
export const IDLE_SQS_POLLERS = 5;
const IDLE_RECEIVES_PER_POLLER_PER_MINUTE = 3;

export interface FloorLine {
  readonly label: string;
  readonly quantity: number;
  readonly unit: string;
  readonly price: PriceName | string;
  readonly usd: number;
  readonly note?: string;
}

type Resource = CfnTemplate['Resources'][string];

const ofType = (template: CfnTemplate, type: string): Array<[string, Resource]> =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

/** Minutes between runs of a `rate(...)` or simple `cron(...)` schedule expression. */
export function everyMinutes(expression: string): number {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) return Number(rate[1]) * ({ minute: 1, hour: 60, day: 1440 } as const)[rate[2] as 'minute'];
  throw new Error(`schedule "${expression}": only rate(...) expressions are priced`);
}

/** The scheduled rules of a template that target a function: rule id, function id, minutes between runs. */
export function scheduledTargets(template: CfnTemplate) {
  return ofType(template, 'AWS::Events::Rule').flatMap(([ruleId, r]) => {
    const expression = r.Properties?.ScheduleExpression;
    if (typeof expression !== 'string') return [];
    const targets = (r.Properties?.Targets as Array<{ Arn?: { 'Fn::GetAtt'?: [string, string] } }>) ?? [];
    return targets.flatMap((t) => {
      const functionId = t.Arn?.['Fn::GetAtt']?.[0];
      return functionId ? [{ ruleId, functionId, expression, everyMinutes: everyMinutes(expression) }] : [];
    });
  });
}

/** Alarm metrics: a metric-math alarm is billed per metric it reads. */
function alarmMetrics(alarm: Resource): number {
  const metrics = alarm.Properties?.Metrics as Array<{ MetricStat?: unknown }> | undefined;
  if (!metrics) return 1;
  return metrics.filter((m) => m.MetricStat !== undefined).length;
}

function priced(label: string, quantity: number, price: Price, name: string, note?: string): FloorLine {
  return {
    label,
    quantity,
    unit: price.unit,
    price: name,
    usd: dollars(price, quantity),
    note: note ?? price.note,
  };
}

/**
 * The monthly floor of a stage, read from its template: search domain instances and volumes, secrets,
 * customer-managed keys, alarms, dashboards, idle SQS polling, and the scheduled functions' runs (each
 * priced from `scheduledRun`, the usage one run measured on an idle stage, by function logical id).
 */
export function idleFloor(
  template: CfnTemplate,
  scheduledRun: ReadonlyMap<string, ScheduledRunUsage>,
): FloorLine[] {
  const lines: FloorLine[] = [];
  for (const [id, domain] of ofType(template, 'AWS::OpenSearchService::Domain')) {
    const cluster = (domain.Properties?.ClusterConfig ?? {}) as Record<string, unknown>;
    const ebs = (domain.Properties?.EBSOptions ?? {}) as Record<string, unknown>;
    const nodes: Array<[string, number]> = [
      [String(cluster.InstanceType), Number(cluster.InstanceCount ?? 1)],
    ];
    if (cluster.DedicatedMasterEnabled === true) {
      nodes.push([String(cluster.DedicatedMasterType), Number(cluster.DedicatedMasterCount ?? 3)]);
    }
    for (const [type, count] of nodes) {
      const price = OPENSEARCH_INSTANCE_HOUR[type];
      if (!price) throw new Error(`${id}: no price for OpenSearch instance type ${type} in infra/prices.ts`);
      lines.push(
        priced(
          `OpenSearch ${count} x ${type}`,
          count * HOURS_PER_MONTH,
          price,
          `OPENSEARCH_INSTANCE_HOUR['${type}']`,
        ),
      );
    }
    if (ebs.EBSEnabled === true) {
      if (ebs.VolumeType !== 'gp2')
        throw new Error(`${id}: only gp2 volumes are priced, not ${String(ebs.VolumeType)}`);
      const gb = Number(ebs.VolumeSize) * Number(cluster.InstanceCount ?? 1);
      lines.push(
        priced(`OpenSearch EBS ${gb} GB gp2`, gb, PRICES.opensearchGp2Storage, 'opensearchGp2Storage'),
      );
    }
  }
  const count = (type: string) => ofType(template, type).length;
  lines.push(
    priced(
      'Secrets Manager secrets',
      count('AWS::SecretsManager::Secret'),
      PRICES.secretsManagerSecret,
      'secretsManagerSecret',
    ),
  );
  lines.push(
    priced(
      'KMS customer managed keys',
      count('AWS::KMS::Key'),
      PRICES.kmsCustomerManagedKey,
      'kmsCustomerManagedKey',
    ),
  );
  const alarms = ofType(template, 'AWS::CloudWatch::Alarm').reduce((n, [, a]) => n + alarmMetrics(a), 0);
  lines.push(
    priced('CloudWatch alarm metrics', alarms, PRICES.cloudWatchAlarmMetric, 'cloudWatchAlarmMetric'),
  );
  lines.push(
    priced(
      'CloudWatch dashboards',
      count('AWS::CloudWatch::Dashboard'),
      PRICES.cloudWatchDashboard,
      'cloudWatchDashboard',
    ),
  );

  // Idle SQS polling by each SQS event source mapping (DynamoDB Streams polling by Lambda is free).
  const queues = new Map(ofType(template, 'AWS::SQS::Queue'));
  for (const [id, m] of ofType(template, 'AWS::Lambda::EventSourceMapping')) {
    const arn = m.Properties?.EventSourceArn as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const queue = queues.get(arn?.['Fn::GetAtt']?.[0] ?? '');
    if (!queue) continue;
    const fifo = queue.Properties?.FifoQueue === true;
    const requests = IDLE_SQS_POLLERS * IDLE_RECEIVES_PER_POLLER_PER_MINUTE * 60 * HOURS_PER_MONTH;
    lines.push(
      priced(
        `SQS idle long polls (${id})`,
        requests,
        fifo ? PRICES.sqsFifoRequest : PRICES.sqsStandardRequest,
        fifo ? 'sqsFifoRequest' : 'sqsStandardRequest',
        `estimate: ${IDLE_SQS_POLLERS} pollers, one 20 s receive each at a time (AWS does not publish the number)`,
      ),
    );
  }

  for (const s of scheduledTargets(template)) {
    const runs = (HOURS_PER_MONTH * 60) / s.everyMinutes;
    const run = scheduledRun.get(s.functionId);
    if (!run) throw new Error(`no measured run of scheduled function ${s.functionId}`);
    const perRun = priceUsage(run, 1, 1);
    lines.push({
      label: `${s.functionId} ${s.expression}: ${Math.round(runs)} runs`,
      quantity: runs,
      unit: 'run',
      price: 'measured run x prices',
      usd: total(perRun) * runs,
      note: perRun
        .filter((l) => l.usd > 0)
        .map((l) => `${l.label} ${fmtQuantity(l.quantity)}/run`)
        .join('; '),
    });
  }
  return lines;
}

/** A quantity with sensible precision for a table. */
export function fmtQuantity(n: number): string {
  if (n === 0) return '0';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** Dollars with cents, or more digits below a cent. */
export function fmtUsd(n: number): string {
  if (n === 0) return '$0';
  if (Math.abs(n) >= 0.01) return `$${n.toFixed(2)}`;
  return `$${n.toPrecision(2)}`;
}
