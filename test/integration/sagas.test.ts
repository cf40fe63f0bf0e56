import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthTemplate } from '#infra/synth.js';
import { LocalLambdas } from '#local/lambdas.js';
import {
  type ExecutionRecord,
  LocalExecutions,
  type LocalStateMachine,
  readStateMachines,
  type StepFunctionsServer,
  startStepFunctionsServer,
} from '#local/stepfunctions/index.js';
import { readTopology } from '#local/topology.js';
import { reconcilePresence, saveConnection } from '#shared/data/connections-repo.js';
import { getOperation } from '#shared/data/operations-repo.js';
import { acceptFriendRequest, sendFriendRequest } from '#shared/domain/friends.js';
import { checkInvariants } from '#shared/domain/invariants.js';
import { reconcileOperations } from '#shared/sagas/reconcile.js';
import { handler as createGroup } from '../../functions/http/groups-create.js';
import { handler as deleteMe } from '../../functions/http/me-delete.js';
import { handler as send } from '../../functions/http/messages-send.js';
import { call, httpEvent } from '../support/lambda.js';
import { faultPlansPerTask } from '../support/saga-paths.js';
import { group } from '../support/social.js';
import { scanAll } from '../support/tables.js';
import { newUser } from '../support/users.js';

// The state machines run in this process, from the synthesized definitions, with the real step code.
const template = synthTemplate();
const machines = readStateMachines(template);
const machine = (prefix: string) => machines.find((m) => m.logicalId.startsWith(prefix)) as LocalStateMachine;
const createGroupMachine = machine('SagasCreateGroup');
const deleteAccountMachine = machine('SagasDeleteAccount');
let executions: LocalExecutions;
let server: StepFunctionsServer;

beforeAll(async () => {
  const lambdas = new LocalLambdas(readTopology(template), fileURLToPath(new URL('../..', import.meta.url)));
  executions = new LocalExecutions(machines, (functionId, input) => lambdas.invoke(functionId, input));
  server = await startStepFunctionsServer(executions);
  process.env.AWS_ENDPOINT_URL_SFN = server.endpoint;
});
afterAll(async () => {
  await executions.drain();
  await server.close();
});

/** Waits for every execution of a machine to end (the reconciler may start new ones). */
async function settle(m: LocalStateMachine): Promise<ExecutionRecord[]> {
  for (;;) {
    const all = executions.list(m.arn);
    await Promise.all(all.map((e) => executions.settled(e.executionArn)));
    if (executions.list(m.arn).length === all.length) return all;
  }
}

async function users(n: number) {
  return Promise.all(Array.from({ length: n }, (_, i) => newUser(`s${i}`)));
}

/** Complete or fully undone: the only two states a group built by the saga may end in. */
async function expectCompleteOrUndone(conversationId: string, memberIds: string[], operationId: string) {
  const conversation = (await scanAll('conversations')).find((c) => c.conversationId === conversationId);
  const members = (await scanAll('members')).filter((m) => m.conversationId === conversationId);
  const entries = (await scanAll('userConversations')).filter((e) => e.conversationId === conversationId);
  const op = await getOperation(operationId);
  if (conversation?.status === 'active') {
    expect(op?.status).toBe('succeeded');
    expect(conversation.memberCount).toBe(memberIds.length);
    expect(members.map((m) => m.userId).sort()).toEqual([...memberIds].sort());
    expect(entries.map((e) => e.userId).sort()).toEqual([...memberIds].sort());
  } else {
    expect(op?.status).toBe('compensated');
    expect(conversation === undefined || conversation.status === 'failed').toBe(true);
    expect(members).toEqual([]);
    expect(entries).toEqual([]);
  }
  expect(await checkInvariants()).toEqual([]);
  return conversation?.status === 'active' ? 'complete' : 'undone';
}

async function startBigGroup(size: number) {
  const all = await users(size);
  const [owner, ...others] = all as [
    Awaited<ReturnType<typeof newUser>>,
    ...Awaited<ReturnType<typeof newUser>>[],
  ];
  const res = await call(
    createGroup,
    httpEvent('POST /groups', '/groups', {
      userId: owner.userId,
      body: { name: 'big', memberIds: others.map((u) => u.userId) },
    }),
  );
  expect(res.status).toBe(202);
  expect(res.body.conversation.status).toBe('creating');
  return {
    all,
    owner,
    conversationId: res.body.conversation.conversationId,
    operationId: res.body.operation.operationId,
  };
}

describe('CreateGroup saga', () => {
  it('builds a group too large for one transaction and makes it visible to every member', async () => {
    const { all, conversationId, operationId } = await startBigGroup(120);
    await settle(createGroupMachine);
    expect(
      await expectCompleteOrUndone(
        conversationId,
        all.map((u) => u.userId),
        operationId,
      ),
    ).toBe('complete');
  });

  for (const { state, plan } of faultPlansPerTask(createGroupMachine.definition)) {
    it(`ends complete or fully undone when ${state} fails (${Object.keys(plan).join(', ')})`, async () => {
      const { all, conversationId, operationId } = await (async () => {
        executions.injectFaults(plan);
        return startBigGroup(60);
      })();
      await settle(createGroupMachine);
      if (
        (await getOperation(operationId))?.status !== 'succeeded' &&
        (await getOperation(operationId))?.status !== 'compensated'
      ) {
        // The saga gave up (its compensation failed, or recording it did): the reconciler finishes the job.
        await reconcileOperations({ olderThanMs: 0 });
      }
      await expectCompleteOrUndone(
        conversationId,
        all.map((u) => u.userId),
        operationId,
      );
    });
  }

  it('refuses messages to the group until it is active', async () => {
    const { owner, conversationId, operationId } = await startBigGroup(60);
    const attempts: number[] = [];
    let done = false;
    const sender = (async () => {
      for (let i = 0; !done; i++) {
        const res = await call(
          send,
          httpEvent(
            'POST /conversations/{conversationId}/messages',
            `/conversations/${conversationId}/messages`,
            {
              userId: owner.userId,
              pathParameters: { conversationId },
              body: { clientMessageId: `early-${i}`, text: 'too early?' },
            },
          ),
        );
        attempts.push(res.status);
        if (res.status === 201) return;
      }
    })();
    await settle(createGroupMachine);
    expect((await getOperation(operationId))?.status).toBe('succeeded');
    done = true;
    await sender;
    const stored = (await scanAll('messages')).filter((m) => m.conversationId === conversationId);
    // Every refusal came before activation; whatever was accepted is stored once, seq from 1.
    expect(attempts.filter((s) => s !== 201).every((s) => s === 403 || s === 404)).toBe(true);
    expect(stored.map((m) => m.seq).sort()).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
  });
});

async function accountWithHistory() {
  const [me, ...friends] = await users(4);
  const self = me as Awaited<ReturnType<typeof newUser>>;
  for (const f of friends.slice(0, 2)) {
    const req = await sendFriendRequest(f.userId, self.userId, '');
    if (req.kind === 'created') await acceptFriendRequest(self.userId, req.request.requestId);
  }
  await sendFriendRequest(self.userId, (friends[2] as { userId: string }).userId, 'pending out');
  const owned = await group(3);
  const { createGroup: create } = await import('#shared/domain/groups.js');
  await create(self.userId, 'mine', [owned.owner.userId]);
  const { addMembers } = await import('#shared/domain/groups.js');
  await addMembers(owned.owner.userId, owned.conversationId, [self.userId]);
  await saveConnection({
    connectionId: `gone-${self.userId}=`,
    userId: self.userId,
    connectedAt: new Date().toISOString(),
  });
  await reconcilePresence(self.userId); // stores the user's presence (online)
  return { self, friends };
}

async function expectDeleted(userId: string, username: string, operationId: string) {
  expect((await getOperation(operationId))?.status).toBe('succeeded');
  const user = (await scanAll('users')).find((u) => u.userId === userId);
  expect(user?.status).toBe('deleted');
  expect(user?.passwordHash).toBeUndefined();
  expect((await scanAll('usernames')).some((u) => u.username === username)).toBe(false);
  expect((await scanAll('friendships')).filter((f) => f.userId === userId || f.friendId === userId)).toEqual(
    [],
  );
  expect((await scanAll('members')).filter((m) => m.userId === userId)).toEqual([]);
  expect((await scanAll('userConversations')).filter((e) => e.userId === userId)).toEqual([]);
  expect((await scanAll('connections')).filter((c) => c.userId === userId && c.sk === 'META')).toEqual([]);
  // No slot and no stored presence (a deleted account shows no last-seen time).
  expect((await scanAll('connections')).filter((c) => c.pk === `USER#${userId}`)).toEqual([]);
  expect(
    (await scanAll('friendRequests')).filter(
      (r) => r.sk !== 'REQ' && (r.fromUserId === userId || r.toUserId === userId),
    ),
  ).toEqual([]);
  expect(await checkInvariants()).toEqual([]);
}

describe('DeleteAccount saga', () => {
  it('erases an account with friends, groups, requests and connections', async () => {
    const { self } = await accountWithHistory();
    const res = await call(deleteMe, httpEvent('DELETE /me', '/me', { userId: self.userId }));
    expect(res.status).toBe(202);
    await settle(deleteAccountMachine);
    await expectDeleted(self.userId, self.username, res.body.operationId);
  });

  for (const { state, plan } of faultPlansPerTask(deleteAccountMachine.definition)) {
    it(`recovers forward to a deleted account when ${state} fails`, async () => {
      const { self } = await accountWithHistory();
      executions.injectFaults(plan);
      const res = await call(deleteMe, httpEvent('DELETE /me', '/me', { userId: self.userId }));
      await settle(deleteAccountMachine);
      if ((await getOperation(res.body.operationId))?.status !== 'succeeded') {
        const report = await reconcileOperations({ olderThanMs: 0 });
        expect(report.restarted).toContain(res.body.operationId);
        await settle(deleteAccountMachine);
      }
      await expectDeleted(self.userId, self.username, res.body.operationId);
    });
  }

  it('keeps messages to a user being deleted all-or-nothing', async () => {
    const [me, friend] = await users(2);
    const req = await sendFriendRequest(
      (friend as { userId: string }).userId,
      (me as { userId: string }).userId,
      '',
    );
    if (req.kind !== 'created') throw new Error('expected a request');
    const { conversationId } = await acceptFriendRequest(
      (me as { userId: string }).userId,
      req.request.requestId,
    );
    const statuses: number[] = [];
    let done = false;
    const sender = (async () => {
      for (let i = 0; !done; i++) {
        const r = await call(
          send,
          httpEvent(
            'POST /conversations/{conversationId}/messages',
            `/conversations/${conversationId}/messages`,
            {
              userId: (friend as { userId: string }).userId,
              pathParameters: { conversationId },
              body: { clientMessageId: `m${i}`, text: 'still there?' },
            },
          ),
        );
        statuses.push(r.status);
      }
    })();
    const res = await call(
      deleteMe,
      httpEvent('DELETE /me', '/me', { userId: (me as { userId: string }).userId }),
    );
    await settle(deleteAccountMachine);
    done = true;
    await sender;
    expect((await getOperation(res.body.operationId))?.status).toBe('succeeded');
    const accepted = statuses.filter((s) => s === 201).length;
    expect(statuses.filter((s) => s !== 201).every((s) => s === 403)).toBe(true);
    const stored = (await scanAll('messages')).filter((m) => m.conversationId === conversationId);
    expect(stored.map((m) => m.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: accepted }, (_, i) => i + 1),
    );
    expect(await checkInvariants()).toEqual([]);
  });
});
