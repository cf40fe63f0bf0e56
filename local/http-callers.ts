import { createHash } from 'node:crypto';

/** Credentials remembered at most (oldest forgotten first): a bound on the map, not on callers. */
const MAX_PRINCIPALS = 10_000;

/**
 * Whose admission queue (see caller-limits.ts) an HTTP request waits in:
 * - a credential the route's authorizer has already accepted: its principal's (the user's), so each
 *   user's flood waits on itself, whatever address it comes from, and never on a neighbour's;
 * - a credential not yet accepted (a new token, a forged one): the source address's queue of unverified
 *   credentials, so a flood of made-up tokens cannot give itself a fresh queue per request;
 * - no credential (login, register): the source address's queue, which only unauthenticated requests
 *   from that address share.
 *
 * Written here because it is the local runtime's own stand-in for Lambda scaling out (API Gateway has
 * no such queues); which queue a request waits in never decides whether it is authorized, the
 * authorizer still runs on every request.
 */
export class HttpCallers {
  // SHA-256 of the credential -> principal, so the map never holds a usable token.
  private readonly principals = new Map<string, string>();

  /**
   * The caller of a request that presents `credential` (undefined: none) from `sourceIp`: its queue
   * key, and `accepted` to record that the authorizer accepted the credential for `principal` (the
   * user id its context names; without one, the credential is its own principal).
   */
  of(credential: string | undefined, sourceIp: string): HttpCaller {
    if (!credential) return { key: `ip:${sourceIp}`, accepted: () => undefined };
    // Digested once per request, for both the lookup and the record.
    const hashed = digest(credential);
    const known = this.principals.get(hashed);
    return {
      key: known === undefined ? `unverified:${sourceIp}` : `principal:${known}`,
      accepted: (principal) => {
        const who = principal ?? `credential:${hashed}`;
        if (known === who) return;
        if (this.principals.size >= MAX_PRINCIPALS && !this.principals.has(hashed)) {
          this.principals.delete(this.principals.keys().next().value as string);
        }
        this.principals.set(hashed, who);
      },
    };
  }
}

/** One request's caller (see `HttpCallers.of`). */
export interface HttpCaller {
  readonly key: string;
  accepted(principal?: string): void;
}

const digest = (credential: string) => createHash('sha256').update(credential).digest('base64');
