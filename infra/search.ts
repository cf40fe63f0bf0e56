import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { AccountRootPrincipal, PolicyDocument, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, ResourcePolicy } from 'aws-cdk-lib/aws-logs';
import { type CfnDomain, Domain, EngineVersion, TLSSecurityPolicy } from 'aws-cdk-lib/aws-opensearchservice';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from './stage.js';

/** Minutes between two runs of the search reconciler. */
export const SEARCH_RECONCILE_EVERY_MINUTES = 15;

/** The indexer's batching window (MaximumBatchingWindowInSeconds), in seconds. */
export const INDEXER_BATCHING_WINDOW_SECONDS = 1;

/** Event source mapping settings shared by every stream consumer (see the local poller for semantics). */
export const streamConsumer = {
  startingPosition: StartingPosition.TRIM_HORIZON,
  batchSize: 100,
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  retryAttempts: 10,
  maxRecordAge: Duration.hours(24),
  parallelizationFactor: 1,
} as const;

export interface SearchProps {
  readonly stage: StageConfig;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The search side: an OpenSearch domain fed only through DynamoDB Streams, the dead-letter queue for
 * stream batches that keep failing, and the wiring helpers for the indexer and the reconciler.
 */
export class ChatSearch extends Construct {
  readonly domain: Domain;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SearchProps) {
    super(scope, id);
    const { stage } = props;
    // Error and slow logs go to CloudWatch. The log groups' resource policy is declared here rather than
    // by CDK (a custom resource), so that no extra Lambda function is deployed.
    const logGroup = (id: string) =>
      new LogGroup(this, id, { retention: stage.logRetention, removalPolicy: props.removalPolicy });
    const appLogGroup = logGroup('AppLogs');
    const slowSearchLogGroup = logGroup('SlowSearchLogs');
    const slowIndexLogGroup = logGroup('SlowIndexLogs');
    const logsPolicy = new ResourcePolicy(this, 'DomainLogsPolicy', {
      policyStatements: [
        new PolicyStatement({
          principals: [new ServicePrincipal('es.amazonaws.com')],
          actions: ['logs:PutLogEvents', 'logs:CreateLogStream'],
          resources: [appLogGroup, slowSearchLogGroup, slowIndexLogGroup].map((g) => g.logGroupArn),
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      ],
    });
    this.domain = new Domain(this, 'Domain', {
      version: EngineVersion.OPENSEARCH_2_19,
      capacity: {
        dataNodes: stage.search.dataNodes,
        dataNodeInstanceType: stage.search.instanceType,
        multiAzWithStandbyEnabled: false,
      },
      zoneAwareness: stage.search.dataNodes > 1 ? { enabled: true, availabilityZoneCount: 2 } : undefined,
      ebs: { volumeSize: stage.search.volumeGb },
      encryptionAtRest: { enabled: true },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: TLSSecurityPolicy.TLS_1_2,
      logging: {
        appLogEnabled: true,
        appLogGroup,
        slowSearchLogEnabled: true,
        slowSearchLogGroup,
        slowIndexLogEnabled: true,
        slowIndexLogGroup,
      },
      suppressLogsResourcePolicy: true,
      removalPolicy: props.removalPolicy,
    });
    this.domain.node.addDependency(logsPolicy);
    // An explicit domain policy: SigV4-signed requests of this account's principals that IAM allows (the
    // account root delegates to IAM), nothing anonymous. On the L1, as CDK's accessPolicies would deploy a
    // custom-resource Lambda function.
    (this.domain.node.defaultChild as CfnDomain).accessPolicies = new PolicyDocument({
      statements: [
        new PolicyStatement({
          principals: [new AccountRootPrincipal()],
          actions: ['es:ESHttp*'],
          resources: [Stack.of(this).formatArn({ service: 'es', resource: 'domain', resourceName: '*' })],
        }),
      ],
    }).toJSON();
    this.deadLetterQueue = new Queue(this, 'IndexerDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }

  /** Environment every function gets: where the index lives and how to sign requests to it. */
  environment(): Record<string, string> {
    return {
      SEARCH_ENDPOINT: `https://${this.domain.domainEndpoint}`,
      SEARCH_SIGNING: 'aws',
      SEARCH_DLQ_URL: this.deadLetterQueue.queueUrl,
    };
  }

  /** Feeds the indexer from the tables' streams, with the dead-letter queue as on-failure destination. */
  connectIndexer(
    indexer: IFunction & { addEventSource(source: DynamoEventSource): void },
    tables: Table[],
  ): void {
    for (const table of tables) {
      indexer.addEventSource(
        new DynamoEventSource(table, {
          ...streamConsumer,
          // A busy table's records reach the index in one bulk request a second, not one per write:
          // the index refreshes each second anyway (refresh_interval), and under a steady stream of
          // messages the bulk requests were most of the search engine's work.
          maxBatchingWindow: Duration.seconds(INDEXER_BATCHING_WINDOW_SECONDS),
          onFailure: new SqsDlq(this.deadLetterQueue),
        }),
      );
    }
    this.domain.grantReadWrite(indexer);
  }

  /** Lets a function run searches (GET and POST on the indices' `_search`), nothing else. */
  grantQuery(fn: IFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['es:ESHttpGet', 'es:ESHttpPost'],
        resources: ['users*', 'messages*'].map((index) => `${this.domain.domainArn}/${index}/_search`),
      }),
    );
  }

  /**
   * Runs the reconciler on a schedule; it repairs whatever drift the stream path left behind. Each run is
   * a bounded slice of a sweep (see shared/search/reconcile.ts), so the rate sets how fast a sweep goes.
   */
  schedule(reconciler: IFunction, deadLetterQueue: IQueue): void {
    this.domain.grantReadWrite(reconciler);
    new Rule(this, 'ReconcileSchedule', {
      schedule: Schedule.rate(Duration.minutes(SEARCH_RECONCILE_EVERY_MINUTES)),
      targets: [new LambdaFunction(reconciler, scheduleTargetOptions(deadLetterQueue))],
    });
  }
}

/**
 * How a schedule invokes its function: EventBridge retries a failed delivery (the function could not
 * be invoked: throttled, deleted, no permission) twice within an hour, then parks the event in the
 * dead-letter queue, which an alarm watches. A function error is the function's own (logged, alarmed).
 */
export function scheduleTargetOptions(deadLetterQueue: IQueue) {
  return { deadLetterQueue, retryAttempts: 2, maxEventAge: Duration.hours(1) };
}

/** Only inserts of messages marked for stream fan-out reach the fan-out worker. */
export const streamFanoutFilter = FilterCriteria.filter({
  eventName: FilterRule.isEqual('INSERT'),
  dynamodb: { NewImage: { fanout: { S: FilterRule.isEqual('stream') } } },
});
