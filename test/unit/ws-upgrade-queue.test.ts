import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CallerLimits } from '../../local/caller-limits.js';
import type { LocalLambdas } from '../../local/lambdas.js';
import type { ApiTopology } from '../../local/topology.js';
import { startWsFront, type WsFront } from '../../local/ws-front.js';

const api: ApiTopology = {
  routes: [
    {
      routeKey: '$connect',
      functionId: 'Connect',
      authorizer: { functionId: 'Authorizer', identitySource: ['route.request.querystring.token'] },
      returnResponse: false,
    },
  ],
  routeSelectionExpression: '$request.body.action',
};

/** Functions whose authorizer waits until `open()`, so upgrades pile up behind the first. */
function gatedFunctions() {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const authorized: string[] = [];
  const lambdas = {
    async invoke(functionId: string, event: { queryStringParameters?: Record<string, string> }) {
      if (functionId === 'Authorizer') {
        authorized.push(event.queryStringParameters?.token ?? '');
        await gate;
        return {
          principalId: 'user',
          policyDocument: { Statement: [{ Effect: 'Allow' }] },
          context: { userId: 'user' },
        };
      }
      return { statusCode: 200 };
    },
  } as unknown as LocalLambdas;
  return { lambdas, authorized, open: () => open() };
}

type Outcome = { opened: WebSocket } | { status: number; headers: IncomingMessage['headers']; body: string };

function connect(url: string, token: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}?token=${token}`);
    socket.once('open', () => resolve({ opened: socket }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    socket.once('error', (err) => reject(err));
  });
}

describe('local WebSocket front: upgrades of one credential behind a full queue', () => {
  let front: WsFront | undefined;
  let release: () => void = () => undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    release();
    for (const s of sockets) s.terminate();
    await front?.close();
  });

  it('answers 429 throttled in the contract shape, while another credential is still admitted', async () => {
    const { lambdas, authorized, open } = gatedFunctions();
    release = open;
    // One running and one waiting per credential; no rate.
    front = await startWsFront(api, lambdas, 0, 'local', {
      credentials: { accessKeyId: 'local', secretAccessKey: 'test' },
      upgradeLimits: new CallerLimits(1, 1, Number.POSITIVE_INFINITY),
    });
    const url = front.url;
    const first = connect(url, 'flood');
    await vi.waitFor(() => expect(authorized).toHaveLength(1));
    const second = connect(url, 'flood');
    // Not answered within two seconds: it was queued, not refused.
    const third = await Promise.race([
      connect(url, 'flood').then((outcome) => {
        if ('opened' in outcome) sockets.push(outcome.opened);
        return outcome;
      }),
      new Promise<Outcome>((r) => setTimeout(() => r({ status: 0, headers: {}, body: 'no answer' }), 2_000)),
    ]);
    expect(third).toMatchObject({ status: 429 });
    if (!('status' in third)) throw new Error('the third upgrade opened');
    expect(third.headers['retry-after']).toBe('1');
    expect(JSON.parse(third.body)).toMatchObject({
      error: { code: 'throttled', retryAfterMs: 1000 },
    });
    // The refused upgrade never reached the authorizer; another credential does at once.
    expect(authorized).toEqual(['flood']);
    const other = connect(url, 'quiet');
    await vi.waitFor(() => expect(authorized).toContain('quiet'));

    open();
    for (const outcome of await Promise.all([first, second, other])) {
      expect(outcome).toHaveProperty('opened');
      if ('opened' in outcome) sockets.push(outcome.opened);
    }
    expect(authorized.sort()).toEqual(['flood', 'flood', 'quiet']);
  });
});
