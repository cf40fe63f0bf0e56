import { CfnOutput, CfnResource, Duration, NestedStack, Stack, type StackProps } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type IHttpRouteAuthorizer,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
  WebSocketLambdaAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { CfnEventSourceMapping, CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { abuseLimitEnvironment } from '#shared/config/abuse-limits.js';
import { rateLimitEnvironment } from '#shared/config/rate-limits.js';
import { tableEnvVar, tableNames } from '#shared/config/table-names.js';
import { ChatFunction } from './constructs/chat-function.js';
import { httpCors } from './cors.js';
import { ChatMessaging } from './messaging.js';
import { addMonitoring } from './monitoring.js';
import { authorizers, type FunctionSpec, httpRoutes, workers, wsRoutes } from './routes.js';
import { ChatSagas } from './sagas.js';
import { ChatSearch, scheduleTargetOptions, streamConsumer, streamFanoutFilter } from './search.js';
import { type StageConfig, targetOverrides } from './stage.js';
import { ChatTables } from './tables.js';

export interface ChatStackProps extends StackProps {
  readonly stage: StageConfig;
}

/**
 * The nested stacks the backend is split into, along its seams; each holds a fraction of
 * CloudFormation's 500-resource limit (test/infra/stack.test.ts checks the headroom). Constructs keep
 * their ids inside them, so the logical ids in each nested template are the ones of the single stack
 * the backend used to be.
 */
export const NESTED_STACKS = {
  /** Tables, the token signing secret, the send queue and the dead-letter queues of schedules and fan-out. */
  data: 'DataStack',
  /** The OpenSearch domain, its indexer and reconciler. */
  search: 'SearchStack',
  /** The WebSocket API and its routes, the sequencer and the stream fan-out. */
  realtime: 'RealtimeStack',
  /** The Step Functions sagas, their step functions and the operations reconciler. */
  sagas: 'SagasStack',
  /** The HTTP API and its routes. */
  http: 'HttpStack',
  /** The functions behind the HTTP routes (one per route), apart from the API to keep each stack small. */
  httpFunctions: 'HttpFunctionsStack',
  /** Alarms, their topic, the dashboard and the API access logs. */
  monitoring: 'MonitoringStack',
} as const;

/** The whole chat backend: tables, HTTP and WebSocket APIs, and one function per route. */
export class ChatStack extends Stack {
  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const nested = (key: keyof typeof NESTED_STACKS) => new NestedStack(this, NESTED_STACKS[key]);
    const dataStack = nested('data');
    const searchStack = nested('search');
    const realtimeStack = nested('realtime');
    const sagasStack = nested('sagas');
    const httpStack = nested('http');
    const httpFunctionsStack = nested('httpFunctions');
    const monitoringStack = nested('monitoring');
    const tables = new ChatTables(dataStack, 'Tables', stage);

    // Generated at deploy time, never stored in the repository.
    const tokenSecret = new Secret(dataStack, 'TokenSigningSecret', {
      description: 'HMAC key that signs access tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: stage.removalPolicy,
    });

    const wsApi = new WebSocketApi(realtimeStack, 'WebSocketApi', {
      routeSelectionExpression: '$request.body.action',
    });
    const wsStage = new WebSocketStage(realtimeStack, 'WebSocketStage', {
      webSocketApi: wsApi,
      stageName: stage.name,
      autoDeploy: true,
      throttle: stage.throttle,
    });

    const search = new ChatSearch(searchStack, 'Search', { stage, removalPolicy: stage.removalPolicy });
    // Scheduled events EventBridge could not deliver, and fan-out batches that kept failing; each queue
    // sits in the stack of its rule or mapping, since its policy names them.
    const scheduleDeadLetters = {
      search: deadLetterQueue(searchStack, 'SearchScheduleDeadLetterQueue'),
      sagas: deadLetterQueue(sagasStack, 'OperationsScheduleDeadLetterQueue'),
      sessions: deadLetterQueue(realtimeStack, 'SessionSweepScheduleDeadLetterQueue'),
    };
    const fanoutDeadLetters = deadLetterQueue(realtimeStack, 'FanoutDeadLetterQueue');
    const messaging = new ChatMessaging(dataStack, 'Messaging');

    // Endpoints of a target that is not AWS (LocalStack), from context; none on AWS (see stage.ts).
    const target = targetOverrides(this, {
      apiId: wsApi.apiId,
      stage: wsStage.stageName,
      wsApiEndpoint: wsApi.apiEndpoint,
      domainEndpoint: search.domain.domainEndpoint,
    });
    // Every function learns every table name (names are not secrets); access is granted per function.
    // The WebSocket callback URL and the search endpoint go only to the functions that use them, so that
    // the nested stacks depend on each other in one direction only.
    const environment: Record<string, string> = {
      TOKEN_SECRET_ARN: tokenSecret.secretArn,
      ...messaging.environment(),
      ...rateLimitEnvironment(stage.rateLimits),
      ...abuseLimitEnvironment(stage.abuseLimits),
      MAX_CONNECTIONS_PER_USER: String(stage.maxConnectionsPerUser),
      PRESENCE_TIMEOUT_SECONDS: String(stage.presenceTimeoutSeconds),
    };
    for (const name of tableNames) environment[tableEnvVar(name)] = tables.byName[name].tableName;
    const pushEnvironment = { WS_CALLBACK_URL: target.wsCallbackUrl ?? wsStage.callbackUrl };
    const searchEnvironment = { ...search.environment(), ...target.searchEnvironment };

    // Set once the state machines exist; saga steps themselves never start sagas (no cycle).
    let sagas: ChatSagas | undefined;
    const allFunctions: ChatFunction[] = [];
    const makeFunction = (scope: Construct, id: string, spec: FunctionSpec): ChatFunction => {
      if (spec.startsSagas && !sagas) throw new Error(`${id} starts sagas but they are not declared yet`);
      const sagaEnv: Record<string, string> =
        spec.startsSagas && sagas
          ? {
              CREATE_GROUP_STATE_MACHINE_ARN: sagas.createGroup.stateMachineArn,
              DELETE_ACCOUNT_STATE_MACHINE_ARN: sagas.deleteAccount.stateMachineArn,
            }
          : {};
      const fn = new ChatFunction(scope, id, {
        entry: spec.entry,
        stage,
        environment: {
          ...environment,
          ...(spec.pushes ? pushEnvironment : {}),
          ...(spec.search || spec.drainsDeadLetters ? searchEnvironment : {}),
          ...sagaEnv,
        },
        memorySize: spec.memorySize,
        timeout: spec.timeoutSeconds ? Duration.seconds(spec.timeoutSeconds) : undefined,
      });
      for (const [name, access] of Object.entries(spec.tables ?? {})) {
        const table = tables.byName[name as keyof typeof tables.byName];
        if (access === 'read') table.grantReadData(fn);
        else if (access === 'write') table.grantWriteData(fn);
        else table.grantReadWriteData(fn);
      }
      if (spec.pushes) wsStage.grantManagementApiAccess(fn);
      if (spec.signsTokens) tokenSecret.grantRead(fn);
      if (spec.search === 'query') search.grantQuery(fn);
      if (spec.search === 'index') search.domain.grantReadWrite(fn);
      if (spec.drainsDeadLetters) search.deadLetterQueue.grantConsumeMessages(fn);
      if (spec.enqueuesSends) messaging.grantEnqueue(fn);
      if (spec.probesSendQueue) messaging.queue.grant(fn, 'sqs:GetQueueAttributes');
      if (spec.startsSagas && sagas) {
        for (const machine of [sagas.createGroup, sagas.deleteAccount]) {
          machine.grantStartExecution(fn);
          machine.grantExecution(fn, 'states:DescribeExecution');
        }
      }
      allFunctions.push(fn);
      return fn;
    };

    sagas = new ChatSagas(sagasStack, 'Sagas', {
      createGroup: makeFunction(sagasStack, 'SagaCreateGroup', workers.createGroupSaga),
      deleteAccount: makeFunction(sagasStack, 'SagaDeleteAccount', workers.deleteAccountSaga),
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
    });

    const httpAuthorizer = new HttpLambdaAuthorizer(
      'HttpAuthorizer',
      makeFunction(httpStack, 'HttpAuthorizerFn', authorizers.http),
      {
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        // No identity source and no cache: the authorizer runs on every call and passes its verdict
        // on, so that a missing or bad token gets the contract's 401 body rather than API Gateway's.
        identitySource: [],
        resultsCacheTtl: Duration.seconds(0),
      },
    );

    const httpApi = new HttpApi(httpStack, 'HttpApi', {
      createDefaultStage: true,
      corsPreflight: httpCors(this, stage),
    });
    // The same limits as the WebSocket stage; the default stage takes them on its L1 route settings.
    (httpApi.defaultStage?.node.defaultChild as CfnStage).defaultRouteSettings = {
      throttlingRateLimit: stage.throttle.rateLimit,
      throttlingBurstLimit: stage.throttle.burstLimit,
    };
    for (const spec of httpRoutes) {
      const mutating = /^(POST|PATCH|PUT|DELETE) /.test(spec.route);
      const fn = makeFunction(httpFunctionsStack, functionId('Http', spec.entry), {
        ...spec,
        tables: mutating ? { idempotency: 'readWrite', ...spec.tables } : spec.tables,
      });
      const authorizer: IHttpRouteAuthorizer | undefined = spec.public ? undefined : httpAuthorizer;
      new HttpRoute(httpStack, functionId('Route', spec.entry), {
        httpApi,
        routeKey: httpRouteKey(spec.route),
        integration: new HttpLambdaIntegration(functionId('Integration', spec.entry), fn),
        authorizer,
      });
    }

    const wsAuthorizer = new WebSocketLambdaAuthorizer(
      'WebSocketAuthorizer',
      makeFunction(realtimeStack, 'WsAuthorizerFn', authorizers.ws),
      { identitySource: ['route.request.querystring.token'] },
    );
    for (const spec of wsRoutes) {
      const fn = makeFunction(realtimeStack, functionId('Ws', spec.entry), spec);
      wsApi.addRoute(spec.routeKey, {
        integration: new WebSocketLambdaIntegration(functionId('WsIntegration', spec.entry), fn),
        authorizer: spec.routeKey === '$connect' ? wsAuthorizer : undefined,
        returnResponse: spec.returnResponse,
      });
    }

    const indexer = makeFunction(searchStack, 'SearchIndexer', workers.searchIndexer);
    search.connectIndexer(indexer, [tables.byName.users, tables.byName.messages]);
    const searchReconciler = makeFunction(searchStack, 'SearchReconciler', workers.searchReconciler);
    search.schedule(searchReconciler, scheduleDeadLetters.search);
    const operationsReconciler = makeFunction(
      sagasStack,
      'OperationsReconciler',
      workers.operationsReconciler,
    );
    new Rule(sagasStack, 'OperationsReconcileSchedule', {
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(operationsReconciler, scheduleTargetOptions(scheduleDeadLetters.sagas))],
    });
    // Idle sockets whose token expired: API Gateway knows nothing of tokens, so a sweep closes them
    // (EventBridge's shortest rate, one minute, bounds how long one outlives its token).
    const sessionSweeper = makeFunction(realtimeStack, 'SessionSweeper', workers.sessionSweeper);
    new Rule(realtimeStack, 'SessionSweepSchedule', {
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(sessionSweeper, scheduleTargetOptions(scheduleDeadLetters.sessions))],
    });
    const sequencer = makeFunction(realtimeStack, 'MessageSequencer', workers.messageSequencer);
    messaging.connectSequencer(sequencer);
    for (const mapping of sequencer.node.findAll()) {
      if (mapping instanceof CfnEventSourceMapping) ignoreLintChecks(mapping, ['ES1001']);
    }
    ignoreLintChecks(messaging.deadLetterQueue, ['ES6000']);
    ignoreLintChecks(search.deadLetterQueue, ['ES6000']);
    // Fan-out of large conversations: retried briefly, then recorded in a dead-letter queue (alarmed) and
    // dropped; clients fill gaps with sync.
    makeFunction(realtimeStack, 'MessageFanout', workers.messageFanout).addEventSource(
      new DynamoEventSource(tables.byName.messages, {
        ...streamConsumer,
        retryAttempts: 2,
        maxRecordAge: Duration.minutes(5),
        filters: [streamFanoutFilter],
        onFailure: new SqsDlq(fanoutDeadLetters),
      }),
    );
    // A failed scheduled run is not retried by Lambda: the next run resumes from the saved cursor (the
    // sweeper reads the index afresh).
    for (const fn of [searchReconciler, operationsReconciler, sessionSweeper]) {
      fn.configureAsyncInvoke({ retryAttempts: 0 });
      // ES1007 looks for an EventInvokeConfig naming the function as its permission does (by ARN); CDK's
      // names it by Ref, so the rule does not see the one configured just above.
    }
    for (const permission of [
      ...searchStack.node.findAll(),
      ...sagasStack.node.findAll(),
      ...realtimeStack.node.findAll(),
    ]) {
      if (permission instanceof CfnPermission && permission.node.id.startsWith('AllowEventRule')) {
        ignoreLintChecks(permission, ['ES1007']);
      }
    }

    addMonitoring(monitoringStack, {
      stage,
      functions: allFunctions,
      deadLetterQueue: search.deadLetterQueue,
      sendDeadLetterQueue: messaging.deadLetterQueue,
      scheduleDeadLetterQueues: [
        scheduleDeadLetters.search,
        scheduleDeadLetters.sagas,
        scheduleDeadLetters.sessions,
      ],
      fanoutDeadLetterQueue: fanoutDeadLetters,
      httpApi,
      wsApi,
      wsStage,
      stateMachines: [sagas.createGroup, sagas.deleteAccount],
    });

    new CfnOutput(this, 'HttpApiUrl', { value: httpApi.apiEndpoint });
    new CfnOutput(this, 'WebSocketUrl', { value: target.wsUrl ?? wsStage.url });
  }
}

/** A dead-letter queue: encrypted, TLS only, kept 14 days (SQS's maximum). */
function deadLetterQueue(scope: Construct, id: string): Queue {
  const queue = new Queue(scope, id, {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  ignoreLintChecks(queue, ['ES6000']);
  return queue;
}

/**
 * Tells cfn-lint to skip rules on one resource (its `Metadata.cfn-lint`), each with the reason in
 * README's cfn-lint section: ES6000 (a queue without a redrive policy) on queues that are themselves
 * dead-letter queues; ES1001 (no on-failure destination) on the SQS mapping, whose dead-letter queue
 * is the queue's redrive policy (Lambda supports on-failure destinations for stream mappings only).
 */
export function ignoreLintChecks(construct: Construct, rules: string[]): void {
  const resource = (
    construct instanceof CfnResource ? construct : construct.node.defaultChild
  ) as CfnResource;
  resource.addMetadata('cfn-lint', { config: { ignore_checks: rules } });
}

/** `ws/send-message` -> `WsSendMessage` (prefixed), a stable construct id per entry. */
function functionId(prefix: string, entry: string): string {
  const words = entry.split(/[^a-zA-Z0-9]+/).filter(Boolean);
  return prefix + words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('');
}

function httpRouteKey(route: string): HttpRouteKey {
  if (route === '$default') return HttpRouteKey.DEFAULT;
  const [method, path] = route.split(' ');
  return HttpRouteKey.with(path ?? '/', HttpMethod[method as keyof typeof HttpMethod]);
}
