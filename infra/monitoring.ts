import { ArnFormat, Aspects, CfnOutput, Duration, type IAspect, Stack } from 'aws-cdk-lib';
import type { CfnStage, HttpApi, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnLogGroup, LogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct, type IConstruct } from 'constructs';
import { METRICS_NAMESPACE, type MetricName } from '#shared/metrics.js';
import type { StageConfig } from './stage.js';

/** What the stack hands to monitoring: everything that can fail or throttle. */
export interface MonitoredResources {
  readonly stage: StageConfig;
  readonly functions: readonly LambdaFunction[];
  readonly deadLetterQueue: Queue;
  /** Sends the sequencer could not commit after every retry (never acknowledged to their senders). */
  readonly sendDeadLetterQueue: Queue;
  /** Scheduled events (reconciler runs) EventBridge could not deliver. */
  readonly scheduleDeadLetterQueues: readonly Queue[];
  /** Fan-out stream batches that kept failing (their pushes were dropped). */
  readonly fanoutDeadLetterQueue: Queue;
  readonly httpApi: HttpApi;
  readonly wsApi: WebSocketApi;
  readonly wsStage: WebSocketStage;
  readonly stateMachines: readonly StateMachine[];
}

/** Context keys read here (`-c key=value`). */
export const monitoringContext = {
  /** E-mail address subscribed to the alarm topic (it must confirm the subscription). */
  alarmEmail: 'alarmEmail',
  /**
   * `false` turns off access logging of the WebSocket stage (on by default). API Gateway requires the
   * account-wide CloudWatch Logs role (`aws apigateway update-account ... cloudwatchRoleArn`) for it, which
   * one stack must not own; docs/deploy.md sets it once per account and region. The HTTP API's access
   * logs need no such role.
   */
  wsAccessLogs: 'wsAccessLogs',
} as const;

/** Alarm thresholds, all over 5-minute periods. */
export const thresholds = {
  period: Duration.minutes(5),
  /** Unhandled errors plus throttles of one function: any is an alarm (handlers catch what they expect). */
  functionFailures: 1,
  /** Share of HTTP requests answered 5xx, in percent, in 2 of 3 periods. */
  http5xxPercent: 1,
  /** Stream batches that kept failing: any message in the indexer's dead-letter queue. */
  deadLetters: 1,
  /** Saga executions that failed or timed out (a compensated CreateGroup ends in a Fail state too). */
  failedExecutions: 1,
} as const;

/**
 * Alarms and operational settings for a deployed stage: an SNS topic every alarm notifies, alarms on the
 * dead-letter queue, on every function's errors and throttles, on the HTTP API's 5xx rate and on failed
 * saga executions, a dashboard, access logs on the API stages, and deletion protection of every log
 * group where the stage protects its data (prod).
 */
export function addMonitoring(scope: Construct, resources: MonitoredResources): void {
  new ChatMonitoring(scope, 'Monitoring', resources);
}

export class ChatMonitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, resources: MonitoredResources) {
    super(scope, id);
    const { stage, functions, deadLetterQueue, sendDeadLetterQueue, httpApi, wsApi, wsStage, stateMachines } =
      resources;
    const { scheduleDeadLetterQueues, fanoutDeadLetterQueue } = resources;
    const stack = Stack.of(this);
    // The top-level stack: its outputs reach `cdk deploy --outputs-file`, its name names the dashboard.
    const root = rootStack(stack);

    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `Chat ${stage.name} alarms`,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, so CloudWatch alarms of this account are allowed explicitly.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    const email = this.node.tryGetContext(monitoringContext.alarmEmail);
    if (email !== undefined && email !== '') {
      if (!/^[^@\s]+@[^@\s]+$/.test(String(email)))
        throw new Error(`Context alarmEmail is not an e-mail address: ${email}`);
      this.topic.addSubscription(new EmailSubscription(String(email)));
    }
    new CfnOutput(root, 'AlarmTopicArn', { value: this.topic.topicArn });

    const period = thresholds.period;

    // The indexer's dead-letter queue: a stream batch that kept failing is waiting for the reconciler.
    const deadLetters = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period,
    });
    this.alarm('DeadLetters', {
      metric: deadLetters,
      threshold: thresholds.deadLetters,
      description: 'Search indexer dead-letter queue holds messages (failed stream batches)',
    });
    this.alarm('SendDeadLetters', {
      metric: sendDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period }),
      threshold: thresholds.deadLetters,
      description: 'Send dead-letter queue holds sends the sequencer could not commit (never acknowledged)',
    });

    scheduleDeadLetterQueues.forEach((queue, n) => {
      this.alarm(`ScheduleDeadLetters${n === 0 ? '' : n + 1}`, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period }),
        threshold: thresholds.deadLetters,
        description: `Schedule dead-letter queue (${Stack.of(queue).node.id}) holds reconciler runs EventBridge could not start`,
      });
    });
    this.alarm('FanoutDeadLetters', {
      metric: fanoutDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period,
      }),
      threshold: thresholds.deadLetters,
      description: 'Fan-out dead-letter queue holds stream batches whose pushes were dropped',
    });

    // One alarm per function on errors + throttles, so that the alarm's name says which function.
    const errors: IMetric[] = [];
    const throttles: IMetric[] = [];
    for (const fn of functions) {
      const fnErrors = fn.metricErrors({ period, label: fn.node.id });
      const fnThrottles = fn.metricThrottles({ period, label: fn.node.id });
      errors.push(fnErrors);
      throttles.push(fnThrottles);
      this.alarm(`${fn.node.id}Failures`, {
        metric: new MathExpression({
          expression: 'FILL(errors, 0) + FILL(throttles, 0)',
          usingMetrics: { errors: fnErrors, throttles: fnThrottles },
          label: `${fn.node.id} errors + throttles`,
          period,
        }),
        threshold: thresholds.functionFailures,
        description: `Lambda ${fn.node.id}: errors or throttles`,
      });
    }

    // The HTTP API's 5xx share (503 "unavailable" included: a dependency refused).
    const requests = httpApi.metricCount({ period });
    const serverErrors = httpApi.metricServerError({ period });
    this.alarm('Http5xxRate', {
      metric: new MathExpression({
        expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
        usingMetrics: { requests, errors: serverErrors },
        label: 'HTTP 5xx %',
        period,
      }),
      threshold: thresholds.http5xxPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: `HTTP API: ${thresholds.http5xxPercent}% or more of requests answered 5xx`,
    });

    // Sagas that did not finish: failed (compensated, or compensation failed) or timed out.
    for (const machine of stateMachines) {
      const name = machine.node.id;
      this.alarm(`${name}FailedExecutions`, {
        metric: new MathExpression({
          expression: 'FILL(failed, 0) + FILL(timedOut, 0)',
          usingMetrics: {
            failed: machine.metricFailed({ period }),
            timedOut: machine.metricTimedOut({ period }),
          },
          label: `${name} failed + timed out`,
          period,
        }),
        threshold: thresholds.failedExecutions,
        description: `Saga ${name}: executions failed or timed out`,
      });
    }

    this.accessLogs(stage, httpApi, wsStage);
    if (stage.deletionProtection) Aspects.of(root).add(new ProtectLogGroups());

    const wsMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: wsApi.apiId, Stage: wsStage.stageName },
        statistic: 'Sum',
        period,
      });
    const width = 12;
    new Dashboard(this, 'Dashboard', {
      // Dashboard names are global to the account: the stack and its region.
      dashboardName: `${root.stackName}-${root.region}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new GraphWidget({
            title: 'HTTP API requests and errors',
            width,
            left: [requests, httpApi.metricClientError({ period }), serverErrors],
          }),
          new GraphWidget({
            title: 'HTTP API latency (p50, p99)',
            width,
            left: [
              httpApi.metricLatency({ period, statistic: 'p50' }),
              httpApi.metricLatency({ period, statistic: 'p99' }),
            ],
          }),
        ],
        [
          new GraphWidget({
            title: 'WebSocket connects and messages',
            width,
            left: [wsMetric('ConnectCount'), wsMetric('MessageCount')],
          }),
          new GraphWidget({
            title: 'WebSocket errors',
            width,
            left: [wsMetric('ClientError'), wsMetric('IntegrationError'), wsMetric('ExecutionError')],
          }),
        ],
        [
          new GraphWidget({ title: 'Lambda errors by function', width, left: errors }),
          new GraphWidget({ title: 'Lambda throttles by function', width, left: throttles }),
        ],
        [
          new GraphWidget({ title: 'Indexer dead letters', width, left: [deadLetters] }),
          new GraphWidget({
            title: 'Saga executions',
            width,
            left: stateMachines.flatMap((m) => [
              m.metricStarted({ period, label: `${m.node.id} started` }),
              m.metricSucceeded({ period, label: `${m.node.id} succeeded` }),
              m.metricFailed({ period, label: `${m.node.id} failed` }),
            ]),
          }),
        ],
        ...applicationWidgets(stage, width, period, stateMachines),
        [
          new GraphWidget({
            title: 'Dead letters (all queues)',
            width: 24,
            left: [
              deadLetters,
              ...[sendDeadLetterQueue, ...scheduleDeadLetterQueues, fanoutDeadLetterQueue].map((q) =>
                q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period }),
              ),
            ],
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms })],
      ],
    });
  }

  private alarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm ?? options.evaluationPeriods ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `${rootStack(Stack.of(this)).stackName}: ${options.description}`,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  /** Access logs (JSON) of the HTTP API's default stage, and of the WebSocket stage when enabled. */
  private accessLogs(stage: StageConfig, httpApi: HttpApi, wsStage: WebSocketStage): void {
    // Each log group lives in its API's stack: the stage names it, so no stack depends back on this one.
    const logGroup = (api: IConstruct, id: string) =>
      new LogGroup(Stack.of(api), id, { retention: stage.logRetention, removalPolicy: stage.removalPolicy });
    const httpStage = httpApi.defaultStage?.node.defaultChild as CfnStage | undefined;
    if (!httpStage) throw new Error('The HTTP API has no default stage to log');
    httpStage.accessLogSettings = {
      destinationArn: logGroup(httpApi, 'HttpAccessLogs').logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        requestTime: '$context.requestTime',
        routeKey: '$context.routeKey',
        status: '$context.status',
        responseLength: '$context.responseLength',
        latency: '$context.responseLatency',
        integrationLatency: '$context.integrationLatency',
        integrationError: '$context.integrationErrorMessage',
        authorizerError: '$context.authorizer.error',
      }),
    };
    if (wsAccessLogsEnabled(this)) {
      (wsStage.node.defaultChild as CfnStage).accessLogSettings = {
        destinationArn: logGroup(wsStage, 'WebSocketAccessLogs').logGroupArn,
        format: JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          connectionId: '$context.connectionId',
          eventType: '$context.eventType',
          routeKey: '$context.routeKey',
          status: '$context.status',
          integrationLatency: '$context.integrationLatency',
          error: '$context.error.message',
          authorizeError: '$context.authorize.error',
        }),
      };
    }
  }
}

/**
 * Graphs of the application's own metrics (embedded metric format, namespace `Chat`, see
 * shared/metrics.ts): sends and batch sizes, throttles, fan-out pushes and gone connections, index lag,
 * saga outcomes, and the reconcilers' work.
 */
function applicationWidgets(
  stage: StageConfig,
  width: number,
  period: Duration,
  stateMachines: readonly StateMachine[],
): GraphWidget[][] {
  const app = (metricName: MetricName, statistic = 'Sum', extra: Record<string, string> = {}) =>
    new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: 'chat', stage: stage.name, ...extra },
      statistic,
      period,
      label: [metricName, statistic === 'Sum' ? '' : statistic, ...Object.values(extra)]
        .filter(Boolean)
        .join(' '),
    });
  const sagas = stateMachines.map((m) => (m.node.id === 'CreateGroup' ? 'createGroup' : 'deleteAccount'));
  return [
    [
      new GraphWidget({
        title: 'Sends sequenced; send batch size',
        width,
        left: [app('SendsSequenced')],
        right: [app('SendBatchSize', 'Average'), app('SendBatchSize', 'Maximum')],
      }),
      new GraphWidget({
        title: 'Throttles: rate limits (429) and dependencies',
        width,
        left: [
          app('RateLimited', 'Sum', { limit: 'send' }),
          app('RateLimited', 'Sum', { limit: 'frames' }),
          app('DependencyThrottled'),
        ],
      }),
    ],
    [
      new GraphWidget({
        title: 'Fan-out pushes and gone connections',
        width,
        left: [app('PushesDelivered'), app('GoneConnections'), app('PushesFailed')],
      }),
      new GraphWidget({
        title: 'Index lag (ms) and documents indexed',
        width,
        left: [app('IndexLag', 'p50'), app('IndexLag', 'p99'), app('IndexLag', 'Maximum')],
        right: [app('DocumentsIndexed')],
      }),
    ],
    [
      new GraphWidget({
        title: 'Saga outcomes',
        width,
        left: sagas.flatMap((saga) =>
          (['succeeded', 'compensated', 'failed'] as const)
            .filter((outcome) => saga === 'createGroup' || outcome !== 'compensated')
            .map((outcome) => app('SagaOutcome', 'Sum', { saga, outcome })),
        ),
      }),
      new GraphWidget({
        title: 'Reconcilers: work per run',
        width,
        left: [app('ReconcileChecked'), app('OperationsRead')],
        right: [app('ReconcileRepaired'), app('ReconcileSweeps'), app('OperationsRepaired')],
      }),
    ],
  ];
}

/** Turns on deletion protection of every log group in the stack (stages that retain their data). */
class ProtectLogGroups implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof CfnLogGroup) node.deletionProtectionEnabled = true;
  }
}

/** True unless the WebSocket stage's access logs are turned off by context (`-c wsAccessLogs=false`). */
export function wsAccessLogsEnabled(scope: IConstruct): boolean {
  const ws = scope.node.tryGetContext(monitoringContext.wsAccessLogs);
  return !(ws === false || ws === 'false');
}

/** The top-level stack a (possibly nested) stack belongs to. */
export function rootStack(stack: Stack): Stack {
  let current = stack;
  while (current.nestedStackParent) current = current.nestedStackParent;
  return current;
}
