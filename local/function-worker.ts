// The body of one local function's worker thread: it installs the IAM checks on the SDK clients the
// function's code uses, loads the function's entry, and runs the invocations the runtime sends it.
// Its `process.env` is the function's own (the runtime starts the thread with it), read at cold start.
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { addAccessCheck, dynamodbAccess, sfnAccess, sqsAccess } from './access-checks.js';
import type { FunctionPolicy } from './function-policy.js';
import { runInvocation, trackInvocations } from './invocation-context.js';
import { type InvocationContext, serializeError, type ToWorker, type WorkerData } from './worker-messages.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const data = workerData as WorkerData;
const port = parentPort;
if (!port) throw new Error('function-worker runs only as a worker thread');

/**
 * The project's clients are one per process (module singletons): checking them checks every call the
 * function's code makes. A Lambda container, like this thread, has its own instance of each module.
 */
async function installAccessChecks(policy: FunctionPolicy): Promise<void> {
  const name = data.functionName;
  const { ddb } = await import('#shared/clients/dynamodb.js');
  addAccessCheck(ddb, policy, name, dynamodbAccess);
  const { sqsClient } = await import('#shared/clients/sqs.js');
  const queueArns = new Map(Object.entries(data.queueArns));
  addAccessCheck(sqsClient(), policy, name, (op, input) => sqsAccess(op, input, (url) => queueArns.get(url)));
  const { sfnClient } = await import('#shared/clients/sfn.js');
  addAccessCheck(sfnClient(), policy, name, sfnAccess);
}

function contextOf(c: InvocationContext): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: c.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: c.invokedFunctionArn,
    memoryLimitInMB: c.memoryLimitInMB,
    awsRequestId: c.awsRequestId,
    logGroupName: `/aws/lambda/${c.functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, c.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

let handler: Handler;
try {
  if (data.policy) await installAccessChecks(data.policy);
  if (data.preload.length) trackInvocations();
  for (const url of data.preload) await import(url);
  const mod = (await import(data.entryUrl)) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new Error(`${data.entryUrl} exports no handler`);
  handler = mod.handler as Handler;
} catch (err) {
  port.postMessage({ type: 'load-error', error: serializeError(err) });
  // Nothing else to do: the runtime ends this thread and starts a new one for the next invocation.
  await new Promise(() => undefined);
  throw err;
}

port.on('message', (message: ToWorker) => {
  const { id, event, context } = message;
  runInvocation({ functionName: context.functionName, event }, () => handler(event, contextOf(context))).then(
    (value) => {
      try {
        port.postMessage({ type: 'result', id, value });
      } catch (err) {
        // A result that cannot be cloned could not be serialized by Lambda either.
        port.postMessage({ type: 'error', id, error: serializeError(err) });
      }
    },
    (err: unknown) => port.postMessage({ type: 'error', id, error: serializeError(err) }),
  );
});
port.postMessage({ type: 'ready' });
