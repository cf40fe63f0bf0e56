import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { observability } from './config/env.js';

/** CloudWatch namespace of the application's own metrics (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'Chat';

/**
 * The application metrics and their units. Each is published in CloudWatch's embedded metric format
 * (a structured log line Lambda's log stream turns into a metric; no API call, no extra latency), with
 * the dimensions `service` and `stage`.
 */
export const metricUnits = {
  /** Sends the sequencer took from the queue (committed, or held in its reorder window to commit in order). */
  SendsSequenced: MetricUnit.Count,
  /** Sends one sequencer invocation received (SQS batch size). */
  SendBatchSize: MetricUnit.Count,
  /** Requests or frames refused by a token bucket (429). */
  RateLimited: MetricUnit.Count,
  /** Calls a dependency refused for throughput (DynamoDB, SQS, Step Functions or API Gateway throttling). */
  DependencyThrottled: MetricUnit.Count,
  /** Events posted to WebSocket connections. */
  PushesDelivered: MetricUnit.Count,
  /** Posts to connections that were gone (removed on the spot). */
  GoneConnections: MetricUnit.Count,
  /** Posts that failed otherwise (the client catches up with sync). */
  PushesFailed: MetricUnit.Count,
  /** Time from a table change to its document reaching the indexer's bulk request (oldest of a batch). */
  IndexLag: MetricUnit.Milliseconds,
  /** Documents the indexer wrote or removed. */
  DocumentsIndexed: MetricUnit.Count,
  /** Saga outcomes: succeeded, compensated, failed (see `emitSagaOutcome`). */
  SagaOutcome: MetricUnit.Count,
  /** Items and documents one search reconciler run examined. */
  ReconcileChecked: MetricUnit.Count,
  /** Documents one run repaired (indexed or removed). */
  ReconcileRepaired: MetricUnit.Count,
  /** Sweeps of the tables and indices a run finished. */
  ReconcileSweeps: MetricUnit.Count,
  /** Unfinished operations one operations reconciler run read and repaired. */
  OperationsRead: MetricUnit.Count,
  OperationsRepaired: MetricUnit.Count,
  /** Connections one session sweeper run closed (token expired, or past the two-hour limit). */
  SessionsSwept: MetricUnit.Count,
} as const;
export type MetricName = keyof typeof metricUnits;

let shared: Metrics | undefined;
function instance(): Metrics {
  shared ??= new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: observability().serviceName,
    defaultDimensions: { stage: observability().stage },
  });
  return shared;
}

/**
 * Publishes metrics at once, as one EMF line, with optional extra dimensions. Adding and publishing
 * happen in one synchronous step, so concurrent work of the same invocation never mixes its values
 * in. Zero and missing values are left out; a metric problem is never allowed to fail the caller.
 */
export function emitMetrics(
  values: Partial<Record<MetricName, number>>,
  dimensions: Record<string, string> = {},
): void {
  const entries = Object.entries(values).filter(([, v]) => typeof v === 'number' && v > 0);
  if (entries.length === 0) return;
  try {
    const metrics = instance();
    for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
    for (const [name, value] of entries) {
      metrics.addMetric(name, metricUnits[name as MetricName], value as number);
    }
    metrics.publishStoredMetrics();
  } catch {
    instance().clearMetrics();
  }
}

/** One saga's outcome, with the saga and the outcome as dimensions. */
export function emitSagaOutcome(
  saga: 'createGroup' | 'deleteAccount',
  outcome: 'succeeded' | 'compensated' | 'failed',
): void {
  emitMetrics({ SagaOutcome: 1 }, { saga, outcome });
}
