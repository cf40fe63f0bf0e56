import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../http-front.js';
import type { ExecutionRecord, LocalExecutions } from './executions.js';

export interface StepFunctionsServer {
  /** The endpoint handlers reach through `AWS_ENDPOINT_URL_SFN`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const seconds = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);

function describe(r: ExecutionRecord) {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: seconds(r.startDate),
    stopDate: seconds(r.stopDate),
    input: r.input,
    output: r.output,
    error: r.error,
    cause: r.cause,
  };
}

/**
 * The Step Functions API calls the handlers make (AWS JSON 1.0 protocol), so they use the real
 * `@aws-sdk/client-sfn` unchanged: StartExecution, DescribeExecution, StopExecution, ListExecutions.
 */
export async function startStepFunctionsServer(
  executions: LocalExecutions,
  port = 0,
): Promise<StepFunctionsServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      const known = ['ExecutionDoesNotExist', 'ExecutionAlreadyExists', 'StateMachineDoesNotExist'];
      const type = known.includes(err.name) ? err.name : 'InvalidArn';
      reply(res, 400, { __type: type, message: err.message });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse((await read(req)) || '{}') as Record<string, string | undefined>;
    switch (target) {
      case 'AWSStepFunctions.StartExecution': {
        const r = executions.start(body.stateMachineArn ?? '', body.input ?? '{}', body.name);
        return reply(res, 200, { executionArn: r.executionArn, startDate: seconds(r.startDate) });
      }
      case 'AWSStepFunctions.DescribeExecution':
        return reply(res, 200, describe(executions.describe(body.executionArn ?? '')));
      case 'AWSStepFunctions.StopExecution':
        return reply(res, 200, {
          stopDate: seconds(executions.stop(body.executionArn ?? '').stopDate ?? new Date()),
        });
      default:
        return reply(res, 400, {
          __type: 'UnknownOperationException',
          message: `Unsupported operation ${target}`,
        });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${actual}`, close: () => closeServer(server) };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
