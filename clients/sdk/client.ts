import { ChatApiError } from './errors.js';
import { ChatHttp } from './http.js';
import { ChatSession, type SessionOptions, type SocketFactory } from './session.js';
import type { Session, User } from './types.js';

export interface ClientOptions {
  /** HTTP API base URL, e.g. `http://127.0.0.1:3000`. */
  readonly httpUrl: string;
  /** WebSocket API URL, e.g. `ws://127.0.0.1:3001`. */
  readonly wsUrl: string;
  /** Default: the global WebSocket; pass the `ws` package's on Node.js 20. */
  readonly socketFactory?: SocketFactory;
  /**
   * Called when the token expired or was refused (`unauthorized`): sign in again (ask the user, or use
   * stored credentials) and return the new session, or undefined to give up.
   */
  readonly onUnauthorized?: () => Promise<Session | undefined>;
  /** Tuning of the live session (ping, renewal, backoff, ack timeout). */
  readonly session?: Omit<SessionOptions, 'url' | 'token' | 'socketFactory'>;
  readonly fetch?: typeof fetch;
}

/** Sign in this long before `expiresAt`, so no reconnect uses a token about to expire. */
const EXPIRY_MARGIN_MS = 60_000;

/**
 * A signed-in user: typed HTTP calls (`http`) and the live session (`live`) that shares its token.
 * Create one with `ChatClient.register` or `ChatClient.login`, then `connect()`.
 */
export class ChatClient {
  readonly http: ChatHttp;
  readonly live: ChatSession;
  private current: Session;

  constructor(
    private readonly options: ClientOptions,
    session: Session,
  ) {
    this.current = session;
    this.http = new ChatHttp({
      baseUrl: options.httpUrl,
      token: () => this.current.token,
      onUnauthorized: async () => (await this.renewSession())?.token,
      fetch: options.fetch,
    });
    this.live = new ChatSession({
      ...options.session,
      url: options.wsUrl,
      socketFactory: options.socketFactory,
      token: async ({ refresh }) => {
        const expiring = Date.parse(this.current.expiresAt) - Date.now() < EXPIRY_MARGIN_MS;
        // Failed upgrades are usually the network; without a way to sign in again, keep the token.
        if (expiring || (refresh && this.options.onUnauthorized)) await this.renewSession();
        return this.current.token;
      },
    });
  }

  /** Creates an account and returns its client (not yet connected). */
  static async register(
    options: ClientOptions,
    input: { username: string; password: string; displayName: string },
  ): Promise<ChatClient> {
    return new ChatClient(
      options,
      await new ChatHttp({ baseUrl: options.httpUrl, fetch: options.fetch }).register(input),
    );
  }

  /** Signs in and returns the client (not yet connected); `invalid_credentials` throws. */
  static async login(
    options: ClientOptions,
    input: { username: string; password: string },
  ): Promise<ChatClient> {
    return new ChatClient(
      options,
      await new ChatHttp({ baseUrl: options.httpUrl, fetch: options.fetch }).login(input),
    );
  }

  get user(): User {
    return this.current.user;
  }

  get session(): Session {
    return this.current;
  }

  /**
   * Tracks every conversation from its current `lastSeq` (so only new messages are delivered live;
   * history is `http.messages`) and opens the live session. Resolves once connected.
   */
  async connect(): Promise<void> {
    for (const c of await this.http.conversations()) this.live.track(c.conversationId, c.lastSeq);
    await this.live.start();
  }

  close(): void {
    this.live.stop();
  }

  private renewing: Promise<Session | undefined> | undefined;

  /** One re-login at a time, however many calls hit 401 together. */
  private renewSession(): Promise<Session | undefined> {
    if (!this.options.onUnauthorized) {
      return Promise.reject(new ChatApiError('unauthorized', 'The session expired; sign in again', 401));
    }
    this.renewing ??= this.options.onUnauthorized().then(
      (fresh) => {
        this.renewing = undefined;
        if (fresh) this.current = fresh;
        return fresh;
      },
      (err) => {
        this.renewing = undefined;
        throw err;
      },
    );
    return this.renewing;
  }
}
