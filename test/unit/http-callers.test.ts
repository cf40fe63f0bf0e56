import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallerLimits } from '../../local/caller-limits.js';
import { HttpCallers } from '../../local/http-callers.js';
import { type HttpFront, startHttpFront } from '../../local/http-front.js';
import type { LocalLambdas } from '../../local/lambdas.js';
import type { ApiTopology } from '../../local/topology.js';

// The stack's HTTP authorizer names no identity source: it reads the Authorization header itself.
const api: ApiTopology = {
  routes: [
    {
      routeKey: 'GET /me',
      functionId: 'Me',
      authorizer: { functionId: 'Authorizer', identitySource: [] },
      returnResponse: false,
    },
    { routeKey: 'POST /auth/login', functionId: 'Login', returnResponse: false },
  ],
};

/**
 * Functions whose routes wait while their caller's name is in `held`; the authorizer accepts tokens
 * `token-<user>` for `<user>` and refuses any other.
 */
function heldFunctions() {
  const held = new Map<string, () => void>();
  const gates = new Map<string, Promise<void>>();
  const hold = (who: string) => {
    gates.set(who, new Promise<void>((resolve) => held.set(who, resolve)));
  };
  const release = (who: string) => {
    held.get(who)?.();
    gates.delete(who);
  };
  const started: string[] = [];
  const lambdas = {
    async invoke(
      functionId: string,
      event: {
        headers: Record<string, string>;
        body?: string;
        requestContext: { authorizer?: { lambda: { userId: string } } };
      },
    ) {
      if (functionId === 'Authorizer') {
        const m = /^Bearer token-(\w+)$/.exec(event.headers.authorization ?? '');
        return m ? { isAuthorized: true, context: { userId: m[1] } } : { isAuthorized: false };
      }
      const who =
        functionId === 'Me' ? (event.requestContext.authorizer?.lambda.userId as string) : 'anonymous';
      started.push(who);
      await gates.get(who);
      return { statusCode: 200, body: JSON.stringify({ who }) };
    },
  } as unknown as LocalLambdas;
  return { lambdas, hold, release, started, releaseAll: () => [...held.keys()].forEach(release) };
}

describe('HttpCallers', () => {
  it('keys an accepted credential by its principal, an unknown one and none by the address', () => {
    const callers = new HttpCallers();
    const keyOf = (credential: string | undefined, ip: string) => callers.of(credential, ip).key;
    expect(keyOf(undefined, '127.0.0.1')).toBe('ip:127.0.0.1');
    expect(keyOf('Bearer a', '127.0.0.1')).toBe('unverified:127.0.0.1');
    callers.of('Bearer a', '127.0.0.1').accepted('alice');
    callers.of('Bearer a2', '127.0.0.1').accepted('alice');
    expect(keyOf('Bearer a', '127.0.0.1')).toBe('principal:alice');
    // Another token of the same user, from another address: the same queue.
    expect(keyOf('Bearer a2', '127.0.0.9')).toBe('principal:alice');
    // Without a principal the credential is its own, and the key never holds the token itself.
    callers.of('Bearer secret-token', '127.0.0.1').accepted(undefined);
    expect(keyOf('Bearer secret-token', '127.0.0.1')).toMatch(/^principal:credential:/);
    expect(keyOf('Bearer secret-token', '127.0.0.1')).not.toContain('secret-token');
  });
});

describe('local HTTP front: callers on one address', () => {
  let front: HttpFront | undefined;
  let cleanup: () => void = () => undefined;
  afterEach(async () => {
    cleanup();
    await front?.close();
  });

  const get = (token: string) =>
    fetch(`${front?.url}/me`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  it("queues one user's flood behind itself, not another user's requests, nor logins or unknown tokens", async () => {
    const { lambdas, hold, release, started, releaseAll } = heldFunctions();
    cleanup = releaseAll;
    // One running and none waiting per caller: a second request of a busy caller is refused at once.
    front = await startHttpFront(api, lambdas, 0, {
      callerLimits: new CallerLimits(1, 0, Number.POSITIVE_INFINITY),
    });
    // Each user's first request is accepted (and waits in its address's queue of unverified ones).
    expect((await get('token-alice')).status).toBe(200);
    expect((await get('token-bob')).status).toBe(200);

    hold('alice');
    const alicesFirst = get('token-alice');
    await vi.waitFor(() => expect(started.filter((w) => w === 'alice')).toHaveLength(2));
    // Alice's next request finds her one slot busy and no room to wait: refused in the contract's shape.
    const refused = await get('token-alice');
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'throttled' } } });
    // Bob, from the same address, is served while Alice's request is still running.
    expect(await get('token-bob')).toMatchObject({ status: 200, body: { who: 'bob' } });
    // So are a login (no credential) and a token never seen before (refused by the authorizer: 403).
    const login = await fetch(`${front.url}/auth/login`, { method: 'POST', body: '{}' });
    expect(login.status).toBe(200);
    expect((await get('forged')).status).toBe(403);
    release('alice');
    expect(await alicesFirst).toMatchObject({ status: 200, body: { who: 'alice' } });
  });
});
