import { ChatApiError } from './errors.js';
import type {
  Block,
  ChangesPage,
  Conversation,
  ConversationDetail,
  ErrorCode,
  Friend,
  FriendAccepted,
  FriendRequest,
  Health,
  HistoryPage,
  Message,
  Operation,
  Page,
  PublicProfile,
  Session,
  User,
  UserProfile,
} from './types.js';

export interface HttpOptions {
  /** The HTTP API's base URL, e.g. `http://127.0.0.1:3000`. */
  readonly baseUrl: string;
  /** The current bearer token, if signed in. */
  readonly token?: () => string | undefined;
  /**
   * Called once when an authorized call answers 401 `unauthorized` (expired token): sign in again and
   * return the new token, and the call is repeated once with it.
   */
  readonly onUnauthorized?: () => Promise<string | undefined>;
  /** A fetch implementation (default: the global one, Node.js 20+ and browsers). */
  readonly fetch?: typeof fetch;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Record<string, string | number | undefined>;
  /** `Idempotency-Key` for POST, PATCH and DELETE: repeats within 24 h return the first answer. */
  readonly idempotencyKey?: string;
  /** Public routes send no token. */
  readonly auth?: boolean;
}

/** `?limit=&cursor=` of a paginated list; `cursor` is the previous page's `nextCursor`. */
export interface PageRequest {
  readonly limit?: number;
  readonly cursor?: string;
}

const enc = encodeURIComponent;

/** Follows `nextCursor` until the last page, at the largest page size (200). */
async function allPages<T>(fetchPage: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage({ limit: 200, cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Typed calls of every HTTP route (see docs/openapi.json). Errors throw `ChatApiError`. */
export class ChatHttp {
  constructor(private readonly options: HttpOptions) {}

  /** One call; the JSON answer, or undefined for 204. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    const attempt = async (token: string | undefined) => {
      const headers: Record<string, string> = {};
      if (auth && token) headers.authorization = `Bearer ${token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
      const url = new URL(path, this.options.baseUrl);
      for (const [k, v] of Object.entries(options.query ?? {}))
        if (v !== undefined) url.searchParams.set(k, String(v));
      const doFetch = this.options.fetch ?? globalThis.fetch;
      try {
        return await doFetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
        });
      } catch (err) {
        throw new ChatApiError('network', `${method} ${path}: ${(err as Error).message}`, 0);
      }
    };
    let res = await attempt(this.options.token?.());
    if (res.status === 401 && auth && this.options.onUnauthorized) {
      const fresh = await this.options.onUnauthorized();
      if (fresh) res = await attempt(fresh);
    }
    const text = await res.text();
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    if (res.ok) return body as T;
    const error = (body as { error?: { code?: ErrorCode; message?: string } } | undefined)?.error;
    throw new ChatApiError(
      error?.code ?? (res.status === 429 ? 'throttled' : 'internal'),
      error?.message ?? `${method} ${path} answered ${res.status}`,
      res.status,
      {
        ...(error ?? {}),
        retryAfterMs: (error as { retryAfterMs?: number })?.retryAfterMs ?? retryAfter(res),
      },
    );
  }

  health = () => this.request<Health>('GET', '/health', { auth: false });
  register = (input: { username: string; password: string; displayName: string }) =>
    this.request<Session>('POST', '/auth/register', { body: input, auth: false });
  login = (input: { username: string; password: string }) =>
    this.request<Session>('POST', '/auth/login', { body: input, auth: false });

  /** Revokes the current token; sockets opened with it get `sessionEnded` and close. */
  logout = () => this.request<undefined>('POST', '/auth/logout');
  /** Revokes every token of the account and closes its sockets; answers the new session to use. */
  changePassword = (input: { currentPassword: string; newPassword: string }) =>
    this.request<Session>('POST', '/auth/password', { body: input });

  me = () => this.request<User>('GET', '/me');
  updateMe = (input: { displayName?: string; bio?: string; expectedVersion: number }) =>
    this.request<User>('PATCH', '/me', { body: input });
  deleteMe = () => this.request<Operation>('DELETE', '/me');
  operation = (operationId: string) => this.request<Operation>('GET', `/operations/${enc(operationId)}`);
  /** A profile; `presence` only for friends and group co-members. */
  user = (userId: string) => this.request<UserProfile>('GET', `/users/${enc(userId)}`);
  searchUsers = (q: string, limit?: number) =>
    this.request<{ items: PublicProfile[] }>('GET', '/users', { query: { q, limit } }).then((r) => r.items);

  /** Asks for friendship; when they had asked you, this accepts theirs (`status: 'accepted'`). */
  sendFriendRequest = (toUserId: string, message?: string, idempotencyKey?: string) =>
    this.request<FriendRequest | (FriendAccepted & { status: 'accepted' })>('POST', '/friend-requests', {
      body: { toUserId, message },
      idempotencyKey,
    });
  friendRequests = (direction: 'incoming' | 'outgoing' = 'incoming') =>
    this.request<{ items: FriendRequest[] }>('GET', '/friend-requests', { query: { direction } }).then(
      (r) => r.items,
    );
  acceptFriendRequest = (requestId: string) =>
    this.request<FriendAccepted>('POST', `/friend-requests/${enc(requestId)}/accept`);
  rejectFriendRequest = (requestId: string) =>
    this.request<undefined>('POST', `/friend-requests/${enc(requestId)}/reject`);
  cancelFriendRequest = (requestId: string) =>
    this.request<undefined>('DELETE', `/friend-requests/${enc(requestId)}`);
  /** One page of friends, oldest friendship first (limit 1-200, default 100). */
  friendsPage = (page: PageRequest = {}) =>
    this.request<Page<Friend>>('GET', '/friends', { query: { ...page } });
  /** Every friend, page after page. */
  friends = () => allPages(this.friendsPage);
  removeFriend = (userId: string) => this.request<undefined>('DELETE', `/friends/${enc(userId)}`);

  /** Blocks a user: ends a friendship and pending requests with them; they cannot befriend you. */
  block = (userId: string) => this.request<undefined>('POST', `/blocks/${enc(userId)}`);
  unblock = (userId: string) => this.request<undefined>('DELETE', `/blocks/${enc(userId)}`);
  /** One page of the users you block, most recent first. */
  blocksPage = (page: PageRequest = {}) =>
    this.request<Page<Block>>('GET', '/blocks', { query: { ...page } });
  /** Every user you block (follows every page). */
  blocks = () => allPages(this.blocksPage);

  /** One page of conversations, most recent activity first (limit 1-200, default 100). */
  conversationsPage = (page: PageRequest = {}) =>
    this.request<Page<Conversation>>('GET', '/conversations', { query: { ...page } });
  /** Every conversation, page after page (most recent activity first). */
  conversations = () => allPages(this.conversationsPage);
  conversation = (conversationId: string) =>
    this.request<ConversationDetail>('GET', `/conversations/${enc(conversationId)}`);
  /** A group; large ones answer `{conversation, operation}` (status `creating`) and finish as a saga. */
  createGroup = (name: string, memberIds: string[], idempotencyKey?: string) =>
    this.request<Conversation | { conversation: Conversation; operation: Operation }>('POST', '/groups', {
      body: { name, memberIds },
      idempotencyKey,
    });
  addMembers = (conversationId: string, userIds: string[]) =>
    this.request<Conversation>('POST', `/conversations/${enc(conversationId)}/members`, {
      body: { userIds },
    });
  removeMember = (conversationId: string, userId: string) =>
    this.request<undefined>('DELETE', `/conversations/${enc(conversationId)}/members/${enc(userId)}`);
  /** History after a seq, with reply quotes, your reactions and the change token (`changeSeq`). */
  messages = (conversationId: string, afterSeq = 0, limit = 50) =>
    this.request<HistoryPage>('GET', `/conversations/${enc(conversationId)}/messages`, {
      query: { afterSeq, limit },
    });
  /** Sends over HTTP; retrying with the same clientMessageId returns the stored copy. */
  sendMessage = (conversationId: string, clientMessageId: string, text: string, replyTo?: { seq: number }) =>
    this.request<Message>('POST', `/conversations/${enc(conversationId)}/messages`, {
      body: { clientMessageId, text, ...(replyTo ? { replyTo } : {}) },
    });
  /** Edits your message: same seq, version + 1. */
  editMessage = (conversationId: string, seq: number, text: string) =>
    this.request<Message>('PATCH', `/conversations/${enc(conversationId)}/messages/${seq}`, {
      body: { text },
    });
  /** Deletes a message (yours, or any in a group you own): a tombstone stays at its seq. */
  deleteMessage = (conversationId: string, seq: number) =>
    this.request<undefined>('DELETE', `/conversations/${enc(conversationId)}/messages/${seq}`);
  addReaction = (conversationId: string, seq: number, emoji: string) =>
    this.request<Message>('POST', `/conversations/${enc(conversationId)}/messages/${seq}/reactions`, {
      body: { emoji },
    });
  removeReaction = (conversationId: string, seq: number, emoji: string) =>
    this.request<Message>(
      'DELETE',
      `/conversations/${enc(conversationId)}/messages/${seq}/reactions/${encodeURIComponent(emoji)}`,
    );
  /** Messages edited, deleted or reacted to after a change token; ask again from `changeSeq`. */
  changes = (conversationId: string, afterChangeSeq = 0, limit = 50) =>
    this.request<ChangesPage>('GET', `/conversations/${enc(conversationId)}/changes`, {
      query: { afterChangeSeq, limit },
    });
  markRead = (conversationId: string, seq: number) =>
    this.request<undefined>('POST', `/conversations/${enc(conversationId)}/read`, { body: { seq } });
  searchMessages = (q: string, conversationId?: string, limit?: number) =>
    this.request<{ items: Array<{ message: Message }> }>('GET', '/search/messages', {
      query: { q, conversationId, limit },
    }).then((r) => r.items);
}

function retryAfter(res: Response): number | undefined {
  const seconds = Number(res.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
