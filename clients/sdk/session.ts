import { type BackoffOptions, backoffDelay } from './backoff.js';
import { Emitter } from './emitter.js';
import { ChatApiError } from './errors.js';
import { ConversationOrder } from './ordering.js';
import { Outbox } from './outbox.js';
import type {
  ConversationCreatedEvent,
  ErrorCode,
  FriendAcceptedEvent,
  FriendRequestEvent,
  MemberJoinedEvent,
  MemberLeftEvent,
  Message,
  MessageDeletedEvent,
  MessageEditedEvent,
  PresenceEvent,
  ReactionEvent,
  ReadEvent,
  ServerFrame,
  SessionEndedEvent,
  TypingEvent,
} from './types.js';

/** The part of the WebSocket interface the session uses: the browser's, Node.js 22's, or the `ws` package's. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Opens a socket to a URL (the token is already in its query). */
export type SocketFactory = (url: string) => SocketLike;

export interface SessionOptions {
  /** The WebSocket API's URL, without the token, e.g. `ws://127.0.0.1:3001`. */
  readonly url: string;
  /**
   * The token to connect with. `refresh` is true after connections kept failing before they opened (an
   * expired or revoked token is refused at the upgrade, which a browser cannot tell apart) and after the
   * server ended the session (`sessionEnded`): sign in again then.
   */
  readonly token: (options: { refresh: boolean }) => Promise<string> | string;
  /** Default: the global WebSocket (browsers, Node.js 22+); pass the `ws` package's on Node.js 20. */
  readonly socketFactory?: SocketFactory;
  /** Ping after this long without sending (default 5 min; API Gateway's idle timeout is 10 min). */
  readonly pingIntervalMs?: number;
  /** A ping unanswered this long means a dead connection (default 10 s). */
  readonly pongTimeoutMs?: number;
  /** Open a fresh connection after this long (default 110 min; API Gateway closes any after 2 h). */
  readonly renewAfterMs?: number;
  /** A send unacknowledged this long is sent again, same clientMessageId (default 10 s). */
  readonly ackTimeoutMs?: number;
  /** Consecutive failed connection attempts after which the token is refreshed (default 2). */
  readonly refreshTokenAfterFailures?: number;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
}

export type SessionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Events of a session; `message` is de-duplicated and in seq order per conversation. */
export interface SessionEvents extends Record<string, unknown> {
  message: Message;
  /** Another connection edited a message (live; missed ones arrive as `changed` after a sync). */
  messageEdited: MessageEditedEvent;
  messageDeleted: MessageDeletedEvent;
  reaction: ReactionEvent;
  /**
   * A message edited, deleted or reacted to since the last sync of its conversation, as it is now: the
   * session asks `sync` for changes after the conversation's change token on every (re)connect.
   */
  changed: Message;
  read: ReadEvent;
  typing: TypingEvent;
  /** A friend came online or went offline; keep the highest `version` per user. */
  presence: PresenceEvent;
  friendRequest: FriendRequestEvent;
  friendAccepted: FriendAcceptedEvent;
  conversationCreated: ConversationCreatedEvent;
  memberJoined: MemberJoinedEvent;
  memberLeft: MemberLeftEvent;
  /** The server ended the session (expired, logged out, password changed, account deleted) and closes. */
  sessionEnded: SessionEndedEvent;
  /** Connection state changes; `attempt` counts failed attempts in a row. */
  state: { state: SessionState; attempt: number };
  /** A request was refused by a rate limit; the SDK retries it after `retryAfterMs`. */
  throttled: { action: string; retryAfterMs: number };
  /** An error the SDK cannot attribute to a pending send (e.g. a refused markRead). */
  error: ChatApiError;
}

const OPEN = 1;

/**
 * One user's live connection: reconnects with backoff and jitter, pings before the idle timeout, renews
 * before the 2 h limit, catches every tracked conversation up with `sync` after each (re)connect and on
 * any gap, de-duplicates by (conversationId, seq), and sends through per-conversation outboxes that keep
 * order and retry with the same clientMessageId. See docs/protocol.md.
 */
export class ChatSession extends Emitter<SessionEvents> {
  private readonly order = new ConversationOrder();
  private readonly outbox: Outbox;
  private socket: SocketLike | undefined;
  private stateValue: SessionState = 'idle';
  private attempt = 0;
  /** Set by `sessionEnded`: the old token is dead, so the next connection asks for a fresh one. */
  private sessionEnded = false;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  /** Conversations with a sync in flight; the value says whether another is needed after it. */
  private readonly syncing = new Map<string, boolean>();
  /** Per conversation, the change token of the last sync: the next sync asks for changes after it. */
  private readonly changeSeqs = new Map<string, number>();
  private readonly readPositions = new Map<string, number>();
  private readonly opened: Array<() => void> = [];

  constructor(private readonly options: SessionOptions) {
    super();
    this.outbox = new Outbox({
      sendFrame: (frame) => this.sendFrame(frame),
      isOpen: () => this.stateValue === 'open',
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
      retryDelayMs: (attempt) => backoffDelay(attempt, options.backoff, options.random),
      onThrottled: (retryAfterMs) => this.emit('throttled', { action: 'sendMessage', retryAfterMs }),
    });
  }

  get state(): SessionState {
    return this.stateValue;
  }

  /** Connects (and keeps reconnecting until `stop`); resolves once the first connection is open. */
  start(): Promise<void> {
    this.stopped = false;
    const open = new Promise<void>((resolve) => this.opened.push(resolve));
    if (this.stateValue === 'idle' || this.stateValue === 'closed') void this.connect();
    else if (this.stateValue === 'open') this.flushOpened();
    return open;
  }

  /** Closes for good; pending sends stay queued and go out if `start` is called again. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'client stopped');
    this.outbox.disconnected();
    this.setState('closed');
  }

  /**
   * Tracks a conversation from the highest seq the app already has: later messages are delivered in
   * order, and it is synced after every reconnect.
   */
  track(conversationId: string, lastSeq: number): void {
    this.order.track(conversationId, lastSeq);
    if (this.stateValue === 'open') this.requestSync(conversationId);
  }

  /** The last delivered seq of a tracked conversation. */
  lastSeq(conversationId: string): number | undefined {
    return this.order.lastSeq(conversationId);
  }

  /**
   * Queues a message in the conversation's outbox; resolves with the stored message once acknowledged
   * (after any number of reconnects), or rejects with a `ChatApiError` the backend will not take back
   * (e.g. `not_a_member`, `not_friends`, `payload_too_large`).
   */
  send(
    conversationId: string,
    text: string,
    clientMessageId: string = globalThis.crypto.randomUUID(),
  ): Promise<Message> {
    return this.outbox.enqueue(conversationId, clientMessageId, text);
  }

  /** Number of sends not yet acknowledged, over all conversations. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /** Marks a conversation read up to `seq`; sent now or when the connection is back (latest only). */
  markRead(conversationId: string, seq: number): void {
    const current = this.readPositions.get(conversationId) ?? -1;
    if (seq <= current) return;
    this.readPositions.set(conversationId, seq);
    if (this.stateValue === 'open') this.sendFrame({ action: 'markRead', conversationId, seq });
  }

  /** Tells the other members you are typing; dropped while disconnected (it is not stored anyway). */
  typing(conversationId: string): void {
    if (this.stateValue === 'open') this.sendFrame({ action: 'typing', conversationId });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.attempt === 0 && !this.everOpened ? 'connecting' : 'reconnecting');
    let token: string;
    try {
      const refresh = this.sessionEnded || this.attempt >= (this.options.refreshTokenAfterFailures ?? 2);
      token = await this.options.token({ refresh });
      this.sessionEnded = false;
    } catch (err) {
      this.attempt += 1;
      this.emit('error', toError(err));
      return this.scheduleReconnect();
    }
    if (this.stopped) return;
    const url = new URL(this.options.url);
    url.searchParams.set('token', token);
    let socket: SocketLike;
    try {
      socket = (this.options.socketFactory ?? defaultFactory)(url.toString());
    } catch (err) {
      this.emit('error', toError(err));
      return this.scheduleReconnect();
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.attempt = 0;
      this.everOpened = true;
      this.setState('open');
      this.armPing();
      this.armRenewal();
      this.syncing.clear();
      for (const conversationId of this.order.tracked().keys()) this.requestSync(conversationId);
      for (const [conversationId, seq] of this.readPositions)
        this.sendFrame({ action: 'markRead', conversationId, seq });
      this.outbox.connected();
      this.flushOpened();
    };
    socket.onmessage = (event) => {
      const text = typeof event.data === 'string' ? event.data : String(event.data);
      let frame: ServerFrame;
      try {
        frame = JSON.parse(text) as ServerFrame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    socket.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return; // an old socket after renewal
      this.socket = undefined;
      this.clearTimers();
      this.outbox.disconnected();
      if (this.stopped) return;
      if (!opened) this.attempt += 1;
      this.scheduleReconnect();
    };
  }

  private everOpened = false;

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'pong':
        clearTimeout(this.pongTimer);
        this.pongTimer = undefined;
        return;
      case 'ack':
        if (frame.message) {
          this.deliver([frame.message]);
          this.outbox.acked(
            frame.message.conversationId,
            frame.clientMessageId ?? frame.message.clientMessageId,
            frame.message,
          );
        }
        return;
      case 'message':
        this.deliver([frame.message]);
        return;
      case 'sync':
        this.onSync(frame);
        return;
      case 'error':
        this.onError(frame);
        return;
      case 'conversationCreated':
        this.track(frame.conversation.conversationId, 0);
        this.emit('conversationCreated', frame);
        return;
      case 'friendAccepted':
        this.emit('friendAccepted', frame);
        return;
      case 'sessionEnded':
        // The server closes the socket next; the reconnect that follows signs in again.
        this.sessionEnded = true;
        this.emit('sessionEnded', frame);
        return;
      default:
        this.emit(frame.type, frame as never);
    }
  }

  private deliver(messages: Message[]): void {
    const { deliver } = this.order.accept(messages);
    for (const message of deliver) this.emit('message', message);
    for (const conversationId of new Set(messages.map((m) => m.conversationId))) {
      if (this.order.hasGap(conversationId)) this.requestSync(conversationId);
    }
  }

  private requestSync(conversationId: string): void {
    if (this.stateValue !== 'open') return;
    if (this.syncing.has(conversationId)) {
      this.syncing.set(conversationId, true);
      return;
    }
    this.syncing.set(conversationId, false);
    this.sendFrame({
      action: 'sync',
      conversationId,
      afterSeq: this.order.lastSeq(conversationId) ?? 0,
      limit: 200,
      ...(this.changeSeqs.has(conversationId) ? { afterChangeSeq: this.changeSeqs.get(conversationId) } : {}),
      requestId: `sync:${conversationId}`,
    });
  }

  private onSync(frame: Extract<ServerFrame, { type: 'sync' }>): void {
    const { conversationId, messages, hasMore } = frame;
    const again = this.syncing.get(conversationId) ?? false;
    this.syncing.delete(conversationId);
    // The first sync of a conversation only learns the token; later ones get the changes since.
    const known = this.changeSeqs.has(conversationId);
    if (typeof frame.changeSeq === 'number') this.changeSeqs.set(conversationId, frame.changeSeq);
    const { deliver } = this.order.accept(messages);
    for (const message of deliver) this.emit('message', message);
    if (known) for (const message of frame.changes ?? []) this.emit('changed', message);
    const more = hasMore || frame.changesHasMore === true;
    if (more || again || this.order.hasGap(conversationId)) this.requestSync(conversationId);
  }

  private onError(frame: Extract<ServerFrame, { type: 'error' }>): void {
    const error = new ChatApiError(frame.code as ErrorCode, frame.message, 0, frame);
    const requestId = frame.requestId ?? '';
    const clientMessageId =
      frame.clientMessageId ?? (requestId.startsWith('send:') ? requestId.slice(5) : undefined);
    if (clientMessageId !== undefined && this.outbox.failed(clientMessageId, error)) return;
    if (requestId.startsWith('sync:')) {
      const conversationId = requestId.slice(5);
      this.syncing.delete(conversationId);
      if (error.retryable) {
        const wait = error.retryAfterMs ?? backoffDelay(1, this.options.backoff, this.options.random);
        if (error.code === 'throttled') this.emit('throttled', { action: 'sync', retryAfterMs: wait });
        setTimeout(() => this.requestSync(conversationId), wait);
        return;
      }
    }
    if (error.code === 'throttled')
      this.emit('throttled', { action: requestId || 'frame', retryAfterMs: error.retryAfterMs ?? 0 });
    this.emit('error', error);
  }

  private sendFrame(frame: Record<string, unknown>): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    socket.send(JSON.stringify(frame));
    this.armPing();
  }

  /** Pings after `pingIntervalMs` without sending; a missing pong closes the socket (then reconnects). */
  private armPing(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(
      () => {
        const socket = this.socket;
        if (!socket || this.stateValue !== 'open') return;
        this.sendFrame({ action: 'ping' });
        if (this.pongTimer) return;
        this.pongTimer = setTimeout(() => {
          this.pongTimer = undefined;
          if (this.socket === socket) socket.close(4000, 'no pong');
          // Some sockets never report a close for a dead peer: move on at once.
          socket.onclose?.({ code: 4000, reason: 'no pong' });
        }, this.options.pongTimeoutMs ?? 10_000);
      },
      this.options.pingIntervalMs ?? 5 * 60_000,
    );
  }

  /** Before API Gateway's 2 h limit: close this connection and open a fresh one, then catch up. */
  private armRenewal(): void {
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(
      () => {
        const socket = this.socket;
        if (!socket) return;
        socket.close(1000, 'renewing');
        socket.onclose?.({ code: 1000, reason: 'renewing' });
      },
      this.options.renewAfterMs ?? 110 * 60_000,
    );
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.pingTimer, this.pongTimer, this.renewTimer])
      clearTimeout(timer);
    this.reconnectTimer = this.pingTimer = this.pongTimer = this.renewTimer = undefined;
  }

  private setState(state: SessionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', { state, attempt: this.attempt });
  }

  private flushOpened(): void {
    for (const resolve of this.opened.splice(0)) resolve();
  }
}

function defaultFactory(url: string): SocketLike {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (!Ctor) throw new Error('No global WebSocket: pass socketFactory (e.g. the ws package) on Node.js 20');
  return new Ctor(url);
}

function toError(err: unknown): ChatApiError {
  return err instanceof ChatApiError
    ? err
    : new ChatApiError('network', (err as Error)?.message ?? String(err), 0);
}
