import { type App, type CfnElement, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnRoute, type HttpApi, type WebSocketApi, type WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { CfnEventSourceMapping, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { CfnDomain } from 'aws-cdk-lib/aws-opensearchservice';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { wsAccessLogsEnabled } from './monitoring.js';
import { httpRoutes } from './routes.js';
import type { ChatSagas } from './sagas.js';
import type { ChatSearch } from './search.js';

/**
 * Runs cdk-nag's AwsSolutions pack when the app synthesizes (`cdk synth`, `cdk deploy`, the tests):
 * synthesis fails on any finding, error or warning, that is neither fixed nor acknowledged below.
 */
export function applyNagChecks(app: App, stack: Stack): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  acknowledgeNagFindings(stack);
}

/**
 * The findings this stack accepts, each on the narrowest construct it applies to and with the reason.
 * Everything else AwsSolutions reports was fixed at the resource (access logs of the HTTP API, the
 * OpenSearch domain's access policy and log publishing, Step Functions logging ALL events, the alarm
 * topic enforcing TLS, ...). A finding id names the exact wildcard or managed policy it accepts, so a new
 * wildcard elsewhere still fails the checks.
 */
export function acknowledgeNagFindings(stack: Stack): void {
  // A stack pinned to an account and region (prod) has them, and the partition, as literals in its ARNs.
  const pinned = !Token.isUnresolved(stack.region) && !Token.isUnresolved(stack.account);
  const literal = (id: string) =>
    pinned
      ? id
          .replaceAll('<AWS::Partition>', stack.partition)
          .replaceAll('<AWS::Region>', stack.region)
          .replaceAll('<AWS::AccountId>', stack.account)
      : id;
  const ack = (scope: IConstruct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  const logicalId = (scope: IConstruct) =>
    Stack.of(scope).getLogicalId(scope.node.defaultChild as CfnElement);

  const search = child<ChatSearch>(stack, 'Search');
  const sagas = child<ChatSagas>(stack, 'Sagas');
  const httpApi = child<HttpApi>(stack, 'HttpApi');
  const wsApi = child<WebSocketApi>(stack, 'WebSocketApi');
  const wsStage = child<WebSocketStage>(stack, 'WebSocketStage');

  // Wildcard grants on resources of another nested stack name them through CDK's reference parameters
  // (`referenceto…`), so such a finding's id depends on the stack of the policy. `ackWhereUsed` acks it
  // in each stack whose policies use the target, with the id as it reads there.
  const policies = stack.node.findAll().filter((c): c is CfnPolicy => c instanceof CfnPolicy);
  const stacks = [stack, ...stack.node.children.filter((c): c is Stack => c instanceof Stack)];
  const ref = (from: Stack, target: IConstruct, attr: 'Ref' | 'Arn'): string => {
    const element = (target.node.defaultChild ?? target) as CfnElement;
    const owner = Stack.of(element);
    if (owner === from)
      return attr === 'Ref' ? owner.getLogicalId(element) : `${owner.getLogicalId(element)}.Arn`;
    const via = owner.nestedStackResource as CfnElement;
    return `referenceto${Names.uniqueId(via)}Outputs${Names.uniqueId(element)}${attr}`;
  };
  const ackWhereUsed = (target: IConstruct, id: (from: Stack) => string, reason: string, marker = '') => {
    const targetId = logicalId(target);
    for (const from of stacks) {
      const uses = policies.some((p) => {
        if (Stack.of(p) !== from) return false;
        const json = JSON.stringify(from.resolve(p.policyDocument));
        return json.includes(`"${targetId}"`) && json.includes(marker);
      });
      if (uses) ack(from, id(from), reason);
    }
  };

  // --- IAM --------------------------------------------------------------------------------------------
  ack(
    stack,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'Every function role has the AWS managed AWSLambdaBasicExecutionRole, which grants only ' +
      'logs:CreateLogGroup/CreateLogStream/PutLogEvents. It is not scoped to the function’s own log group ' +
      '(an inline policy per function would be); accepted as the standard Lambda logging policy.',
  );
  ackWhereUsed(
    wsApi,
    (from) =>
      literal(
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${ref(from, wsApi, 'Ref')}>/${wsStage.stageName}/*/@connections/*]`,
      ),
    'Pushing functions post to, and close, WebSocket connections whose ids exist only at run time; the ' +
      'grant (CDK grantManagementApiAccess) is limited to the @connections API of this API’s one stage.',
  );
  ackWhereUsed(
    search.domain,
    (from) => `AwsSolutions-IAM5[Resource::<${ref(from, search.domain, 'Arn')}>/*]`,
    'The search indexer, the search reconciler and the DeleteAccount saga write the index through ' +
      'OpenSearch paths below the domain (/_bulk, /users*, /messages*, index creation and mappings); CDK ' +
      'grantReadWrite scopes es:ESHttp* to this domain’s paths.',
    '"/*"',
  );
  for (const index of ['users', 'messages']) {
    ackWhereUsed(
      search.domain,
      (from) => `AwsSolutions-IAM5[Resource::<${ref(from, search.domain, 'Arn')}>/${index}*/_search]`,
      `The search functions may only run searches (GET and POST on _search) of the ${index} alias and ` +
        `its versioned physical indices (${index}-v<N>); nothing else.`,
      `/${index}*/_search`,
    );
  }
  for (const machine of [sagas.createGroup, sagas.deleteAccount]) {
    ackWhereUsed(
      machine,
      (from) =>
        literal(
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${ref(from, machine, 'Ref')}"}]}]}:*]`,
        ),
      'Functions that start sagas read back their executions (DescribeExecution), whose names are ' +
        'operation ids chosen at run time; the grant covers the executions of this state machine only.',
    );
    ack(
      machine,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions needs logs:CreateLogDelivery and the related log-delivery actions, and X-Ray ' +
        'PutTraceSegments/PutTelemetryRecords/GetSampling*, to log and trace; none of these actions ' +
        'supports resource-level permissions.',
    );
  }
  // Each saga's role invokes its step function, also by version or alias (`<arn>:*`), as CDK's LambdaInvoke grants.
  for (const [machine, fnId] of [
    [sagas.createGroup, 'SagaCreateGroup'],
    [sagas.deleteAccount, 'SagaDeleteAccount'],
  ] as const) {
    ack(
      machine,
      `AwsSolutions-IAM5[Resource::<${logicalId(child(stack, fnId))}.Arn>:*]`,
      `The state machine invokes its own step function (${fnId}); CDK's LambdaInvoke grants the function ` +
        'and its qualified versions/aliases (<arn>:*), and nothing else.',
    );
  }
  // Stream consumers: the event source mapping needs dynamodb:ListStreams, which has no resource scope.
  const streamConsumers = new Set<LambdaFunction>();
  for (const mapping of stack.node.findAll()) {
    if (!(mapping instanceof CfnEventSourceMapping)) continue;
    // Only stream mappings have a starting position (queue mappings have none).
    if (mapping.startingPosition === undefined) continue;
    const fn = mapping.node.scopes.findLast((s) => s instanceof LambdaFunction);
    if (fn) streamConsumers.add(fn as LambdaFunction);
  }
  // Every function traces (active tracing): X-Ray's PutTraceSegments and PutTelemetryRecords have no
  // resource-level permissions.
  for (const fn of stack.node.findAll()) {
    if (!(fn instanceof LambdaFunction)) continue;
    const consumer = streamConsumers.has(fn);
    ack(
      fn,
      'AwsSolutions-IAM5[Resource::*]',
      'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level ' +
        'permissions (CDK adds them with Tracing.ACTIVE).' +
        (consumer
          ? ' And as a DynamoDB stream consumer it needs dynamodb:ListStreams, which does not support ' +
            'resource-level permissions either; its reads (DescribeStream, GetRecords, GetShardIterator) ' +
            'are scoped to the table streams.'
          : ''),
    );
  }
  const operations = child(stack, 'Tables').node.findChild('Operations');
  ackWhereUsed(
    operations,
    (from) => `AwsSolutions-IAM5[Resource::<${ref(from, operations, 'Arn')}>/index/*]`,
    'CDK table grants cover the table’s indexes too; the operations table’s only index is the sparse ' +
      '`unfinished` index (unfinished operations, read by the operations reconciler).',
  );
  const connections = child(stack, 'Tables').node.findChild('Connections');
  ackWhereUsed(
    connections,
    (from) => `AwsSolutions-IAM5[Resource::<${ref(from, connections, 'Arn')}>/index/*]`,
    'CDK table grants cover the table’s indexes too; the connections table’s only index is the sparse ' +
      '`expiring` index (one entry per connection by session end, read by the session sweeper).',
  );

  // --- API Gateway ------------------------------------------------------------------------------------
  const publicRoutes = new Set(httpRoutes.filter((r) => r.public).map((r) => r.route));
  for (const route of stack.node.findAll()) {
    if (!(route instanceof CfnRoute)) continue;
    if (route.authorizationType !== undefined && route.authorizationType !== 'NONE') continue;
    const apiId = (Stack.of(route).resolve(route.apiId) as { Ref?: string }).Ref;
    if (apiId === logicalId(httpApi) && publicRoutes.has(route.routeKey)) {
      ack(
        route,
        'AwsSolutions-APIG4',
        `${route.routeKey} is public by design (declared public in infra/routes.ts): health check, ` +
          'registration, login and the catch-all 404 must answer without a token.',
      );
    } else if (apiId === logicalId(wsApi) && route.routeKey !== '$connect') {
      ack(
        route,
        'AwsSolutions-APIG4',
        `WebSocket route ${route.routeKey}: API Gateway authorizes WebSocket APIs on $connect only (with ` +
          'the token authorizer here); every later frame runs on that authorized connection and the ' +
          'handlers take the user from its authorizer context.',
      );
    }
  }
  if (!wsAccessLogsEnabled(stack)) {
    ack(
      wsStage,
      'AwsSolutions-APIG1',
      'WebSocket access logs need the account-wide API Gateway CloudWatch Logs role, which this stack ' +
        'must not own (another stack’s deletion would break it); they are turned on with ' +
        '-c wsAccessLogs=true once that role is set (docs/deploy.md). Handler logs and alarms cover the routes.',
    );
  }

  // --- OpenSearch -------------------------------------------------------------------------------------
  const domain = search.domain;
  ack(
    domain,
    'AwsSolutions-OS1',
    'Not in a VPC: the functions run outside any VPC (a VPC would need NAT or interface endpoints for ' +
      'DynamoDB, Secrets Manager, Step Functions, SQS and the @connections API). Access is IAM-only: the ' +
      'domain policy delegates to this account’s IAM and requests are SigV4-signed, over TLS 1.2.',
  );
  ack(
    domain,
    'AwsSolutions-OS3',
    'No IP allow-list: the callers are Lambda functions outside a VPC, which have no fixed source ' +
      'addresses. Requests are authorized by IAM (SigV4) instead.',
  );
  ack(
    domain,
    'AwsSolutions-OS4',
    'No dedicated master nodes (three would more than double the cost): the index is a projection ' +
      'rebuilt from DynamoDB by the reconciler and backfill, so losing the cluster manager degrades ' +
      'search only. Revisit when the cluster grows beyond two data nodes.',
  );
  const cluster = Stack.of(domain).resolve((domain.node.defaultChild as CfnDomain).clusterConfig) as
    | { zoneAwarenessEnabled?: boolean }
    | undefined;
  if (!cluster?.zoneAwarenessEnabled) {
    ack(
      domain,
      'AwsSolutions-OS7',
      'This stage runs a single data node (dev): no zone awareness. The prod stage runs two nodes ' +
        'across two zones and passes this rule.',
    );
  }

  // --- Other resources -------------------------------------------------------------------------------
  ack(
    search.deadLetterQueue,
    'AwsSolutions-SQS3',
    'This queue is itself a dead-letter queue: the on-failure destination of the indexer’s stream ' +
      'mappings (Lambda sends there directly, not via a redrive policy), drained by the reconciler.',
  );
  for (const [id, role] of [
    ['SearchScheduleDeadLetterQueue', 'the dead-letter queue of the search reconciler’s schedule'],
    ['OperationsScheduleDeadLetterQueue', 'the dead-letter queue of the operations reconciler’s schedule'],
    ['SessionSweepScheduleDeadLetterQueue', 'the dead-letter queue of the session sweeper’s schedule'],
    [
      'FanoutDeadLetterQueue',
      'the on-failure destination of the fan-out stream mapping (Lambda sends there)',
    ],
  ] as const) {
    ack(
      child(stack, id),
      'AwsSolutions-SQS3',
      `This queue is itself a dead-letter queue: ${role}, directly rather than via a redrive policy; an alarm watches it.`,
    );
  }
  ack(
    child(stack, 'TokenSigningSecret'),
    'AwsSolutions-SMG4',
    'The token signing key is not rotated automatically: tokens carry no key id, so a rotation would ' +
      'invalidate every issued token at once. Rotation is a planned, manual operation.',
  );
}

/**
 * A construct the acknowledgements rely on, a child of the stack or of one of its nested stacks; fails
 * loudly when the stack's structure changed.
 */
function child<T extends IConstruct>(stack: Stack, id: string): T {
  const scopes: IConstruct[] = [stack, ...stack.node.children.filter((c) => c instanceof Stack)];
  for (const scope of scopes) {
    const found = scope.node.tryFindChild(id);
    if (found) return found as T;
  }
  throw new Error(`infra/nag.ts expects construct ${id} in ${stack.node.path}; update the acknowledgements`);
}
