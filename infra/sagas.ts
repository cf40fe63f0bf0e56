import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  type Chain,
  DefinitionBody,
  Fail,
  type IChainable,
  JitterType,
  JsonPath,
  LogLevel,
  Map as MapState,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { TRANSIENT_ERRORS } from '#shared/sagas/step-errors.js';
import { rootStack } from './monitoring.js';

export interface SagaProps {
  readonly createGroup: IFunction;
  readonly deleteAccount: IFunction;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The sagas, as Step Functions state machines. Every task retries only transient errors (with backoff
 * and full jitter); any other failure goes to the compensation (CreateGroup) or to recording the
 * failure for the reconciler (DeleteAccount, which recovers forward).
 */
export class ChatSagas extends Construct {
  readonly createGroup: StateMachine;
  readonly deleteAccount: StateMachine;

  constructor(scope: Construct, id: string, props: SagaProps) {
    super(scope, id);
    const step = (fn: IFunction, name: string, stepName: string, input = '$') => {
      const task = new LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        payload: TaskInput.fromObject({ step: stepName, input: JsonPath.objectAt(input) }),
        resultPath: JsonPath.DISCARD,
      });
      task.addRetry({
        errors: [...TRANSIENT_ERRORS],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(30),
        jitterStrategy: JitterType.FULL,
      });
      return task;
    };

    // CreateGroup: conversation (creating) -> member chunks -> activate -> notify -> succeeded.
    const cg = props.createGroup;
    const recordCgFailure = step(cg, 'CreateGroupRecordFailure', 'recordFailure').next(
      new Fail(this, 'CreateGroupFailed', { error: 'CompensationFailed' }),
    );
    // Compensation: fail the group first (no chunk in flight can add members after that), then remove
    // the members added so far, then record the operation as compensated.
    const compensate = step(cg, 'FailGroup', 'failGroup')
      .addCatch(recordCgFailure, { resultPath: '$.compensationError' })
      .next(
        step(cg, 'RemoveMembers', 'removeMembers').addCatch(recordCgFailure, {
          resultPath: '$.compensationError',
        }),
      )
      .next(
        step(cg, 'MarkCompensated', 'markCompensated').addCatch(recordCgFailure, {
          resultPath: '$.compensationError',
        }),
      )
      .next(new Fail(this, 'CreateGroupCompensated', { error: 'Compensated' }));
    const addChunk = step(cg, 'AddMembersChunk', 'addChunk');
    const chunks = new MapState(this, 'AddMembers', {
      itemsPath: '$.chunks',
      maxConcurrency: 2,
      itemSelector: {
        'conversationId.$': '$.conversationId',
        'ownerId.$': '$.ownerId',
        'createdAt.$': '$.createdAt',
        'userIds.$': '$$.Map.Item.Value',
      },
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(addChunk);
    const createDefinition: Chain = step(cg, 'CreateConversation', 'createConversation')
      .addCatch(compensate, { resultPath: '$.error' })
      .next(chunks.addCatch(compensate, { resultPath: '$.error' }))
      .next(step(cg, 'Activate', 'activate').addCatch(compensate, { resultPath: '$.error' }))
      // From here the group is live: only forward. A failed notification does not undo it.
      .next(
        step(cg, 'Notify', 'notify').addCatch(
          step(cg, 'NotifySkipped', 'complete').next(new Succeed(this, 'CreatedQuietly')),
          { resultPath: '$.error' },
        ),
      )
      .next(step(cg, 'CompleteCreateGroup', 'complete').addCatch(recordCgFailure, { resultPath: '$.error' }))
      .next(new Succeed(this, 'GroupCreated'));
    this.createGroup = this.machine('CreateGroup', createDefinition, props);

    // DeleteAccount: pivot (markDeleting), then forward recovery only.
    const da = props.deleteAccount;
    const recordDaFailure = step(da, 'DeleteAccountRecordFailure', 'recordFailure').next(
      new Fail(this, 'DeleteAccountFailed', { error: 'DeleteAccountFailed' }),
    );
    const forward = (name: string, stepName: string) =>
      step(da, name, stepName).addCatch(recordDaFailure, { resultPath: '$.error' });
    const deleteDefinition = forward('MarkDeleting', 'markDeleting')
      .next(forward('RemoveFriendships', 'removeFriendships'))
      .next(forward('CancelRequests', 'cancelRequests'))
      .next(forward('LeaveConversations', 'leaveConversations'))
      .next(forward('CloseConnections', 'closeConnections'))
      .next(forward('RemoveSearchDocuments', 'removeSearchDocuments'))
      .next(forward('FreeUsername', 'freeUsername'))
      .next(forward('Tombstone', 'tombstone'))
      .next(forward('CompleteDeleteAccount', 'complete'))
      .next(new Succeed(this, 'AccountDeleted'));
    this.deleteAccount = this.machine('DeleteAccount', deleteDefinition, props);
  }

  private machine(id: string, definition: IChainable, props: SagaProps): StateMachine {
    return new StateMachine(this, id, {
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: StateMachineType.STANDARD,
      timeout: Duration.hours(1),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, `${id}Logs`, {
          // Under /aws/vendedlogs/: CloudWatch Logs then needs no resource-policy entry per log group for
          // Step Functions' log delivery (the account's policy is limited to 5,120 characters).
          logGroupName: `/aws/vendedlogs/states/${rootStack(Stack.of(this)).stackName}-${id}`,
          retention: props.logRetention,
          removalPolicy: props.removalPolicy,
        }),
        // Every state transition, without payloads (no user data in the logs); sagas are low-volume.
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
  }
}
