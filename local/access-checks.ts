import { type FunctionPolicy, isAllowed, LOCAL_ACCOUNT, localTableArn } from './function-policy.js';

/** One authorization IAM makes for a request: the action and the resource ARN it is checked on. */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
}

type Input = Record<string, unknown>;
const tableOf = (v: unknown) => (v as { TableName?: unknown } | undefined)?.TableName;

/**
 * The authorizations a DynamoDB operation needs, as IAM evaluates them (DynamoDB's "Actions, resources
 * and condition keys" page): the operation's action on its table, or on `table/<t>/index/<i>` for a
 * Query or Scan of an index; `BatchGetItem`/`BatchWriteItem` on every table of `RequestItems`; a
 * transaction needs each item's own action (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`,
 * `GetItem`) on that item's table. `operation` is the low-level name (`TransactWriteItems`, not the
 * document client's `TransactWrite`).
 */
export function dynamodbAccess(operation: string, input: Input): AccessRequest[] {
  const on = (action: string, table: unknown, index?: unknown): AccessRequest[] =>
    typeof table === 'string'
      ? [
          {
            action: `dynamodb:${action}`,
            resource: localTableArn(table, typeof index === 'string' ? index : undefined),
          },
        ]
      : [];
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((input.RequestItems as Input | undefined) ?? {}).flatMap((t) => on(operation, t));
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const actionOf: Record<string, string> = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
        Get: 'GetItem',
      };
      return ((input.TransactItems as Input[] | undefined) ?? []).flatMap((item) =>
        Object.entries(item).flatMap(([kind, body]) =>
          actionOf[kind] ? on(actionOf[kind], tableOf(body)) : [],
        ),
      );
    }
    case 'Query':
    case 'Scan':
      return on(operation, input.TableName, input.IndexName);
    default:
      if (typeof input.TableName === 'string') return on(operation, input.TableName);
      if (typeof input.TableArn === 'string')
        return [{ action: `dynamodb:${operation}`, resource: input.TableArn }];
      // ListTables and the like are authorized on `*`.
      return [{ action: `dynamodb:${operation}`, resource: '*' }];
  }
}

/** SQS sends (`sqs:SendMessage`, also for batches) on the queue behind `QueueUrl`, by `arnOfUrl`. */
export function sqsAccess(operation: string, input: Input, arnOfUrl: (url: string) => string | undefined) {
  if (operation !== 'SendMessage' && operation !== 'SendMessageBatch') return [];
  const url = String(input.QueueUrl ?? '');
  return [{ action: 'sqs:SendMessage', resource: arnOfUrl(url) ?? url }];
}

/** Step Functions starts (`states:StartExecution`) on the state machine's ARN. */
export function sfnAccess(operation: string, input: Input): AccessRequest[] {
  if (operation !== 'StartExecution' && operation !== 'StartSyncExecution') return [];
  return [{ action: `states:${operation}`, resource: String(input.stateMachineArn ?? '') }];
}

/**
 * The error a deployed function gets when its role lacks a grant, with the name, status and message AWS
 * sends (an SDK client raises a service exception with the same `name` and `$metadata`).
 */
export function accessDenied(policy: FunctionPolicy, functionName: string, request: AccessRequest): Error {
  const service = request.action.split(':')[0];
  // SQS's JSON protocol calls it `AccessDenied` (HTTP 403); DynamoDB and Step Functions `AccessDeniedException` (400).
  const sqs = service === 'sqs';
  const err = new Error(
    `User: arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${policy.roleName}/${functionName} is not authorized to ` +
      `perform: ${request.action} on resource: ${request.resource} because no identity-based policy allows ` +
      `the ${request.action} action`,
  );
  Object.assign(err, {
    name: sqs ? 'AccessDenied' : 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: sqs ? 403 : 400, attempts: 1, totalRetryDelay: 0 },
  });
  return err;
}

/** Something with an AWS SDK v3 middleware stack (a client, including a DynamoDB document client). */
interface WithMiddleware {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: Input }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: Input }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority?: 'high' | 'normal' | 'low' },
    ): void;
  };
}

/**
 * Adds IAM's check to an SDK client: before a command is sent, every authorization `access` lists for
 * it must be allowed by the policy, or the command fails with `accessDenied` and is never sent (and not
 * retried: the SDK's retry step comes later). `commandName` is the low-level operation plus `Command`
 * (the document client sends its commands through the same stack under their low-level names).
 */
export function addAccessCheck(
  client: WithMiddleware,
  policy: FunctionPolicy,
  functionName: string,
  access: (operation: string, input: Input) => AccessRequest[],
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      for (const request of access(operation, args.input ?? {})) {
        if (!isAllowed(policy.statements, request.action, request.resource))
          throw accessDenied(policy, functionName, request);
      }
      return next(args);
    },
    { step: 'initialize', name: 'localIamCheck', priority: 'high' },
  );
}
