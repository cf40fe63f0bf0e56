import { fileURLToPath } from 'node:url';
import { startLocalRuntime } from './runtime.js';

// `npm start`: the chat backend on loopback, no Docker, no AWS account.
const rootDir = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const runtime = await startLocalRuntime({
  rootDir,
  httpPort: Number(process.env.HTTP_PORT ?? 3000),
  wsPort: Number(process.env.WS_PORT ?? 3001),
  webPort: Number(process.env.WEB_PORT ?? 3002),
  dataDir: process.env.DATA_DIR ?? `${rootDir}.data`,
  // Every function's thread is loaded in the background after `ready`; `LOCAL_WARM_UP=1` loads them
  // before it (a slower start, no cold starts), `LOCAL_WARM_UP=0` only on each one's first invocation.
  warmUp: process.env.LOCAL_WARM_UP === '1' ? true : process.env.LOCAL_WARM_UP === '0' ? false : 'background',
});
// Which process is which engine (a supervised engine that dies is restarted, and says its new pid);
// printed before the ready line, so whoever waits for that line has it too.
const { engines } = runtime;
console.log(
  `engines: dynamodb pid ${engines.dynamodb.pid}, sqs pid ${engines.sqs.pid}, search pid ${engines.search.pid}`,
);
console.log(
  `chat backend ready in ${Date.now() - started} ms: http=${runtime.httpUrl} ws=${runtime.wsUrl} ` +
    `dynamodb=${runtime.dynamoEndpoint} search=${runtime.searchEndpoint} sqs=${runtime.sqsEndpoint} sfn=${runtime.sfnEndpoint} web=${runtime.webUrl}`,
);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  await runtime.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
