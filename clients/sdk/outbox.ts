import type { ChatApiError } from './errors.js';
import type { Message } from './types.js';

interface PendingSend {
  readonly conversationId: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly resolve: (message: Message) => void;
  readonly reject: (error: ChatApiError) => void;
  inFlight: boolean;
  /** Retries after a retryable refusal, for the backoff. */
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface OutboxOptions {
  /** Puts a frame on the open socket (a no-op when there is none). */
  readonly sendFrame: (frame: Record<string, unknown>) => void;
  readonly isOpen: () => boolean;
  readonly ackTimeoutMs: number;
  readonly retryDelayMs: (attempt: number) => number;
  readonly onThrottled: (retryAfterMs: number) => void;
}

/**
 * Per-conversation send queues. Only the head of a conversation's queue is on the wire: the next
 * message goes once the previous is acknowledged, so a reconnect can never let a retry land after a
 * later message (the backend orders by arrival). Every retry of a message, after a drop, an ack
 * timeout or a retryable refusal, carries its original clientMessageId, which the backend stores at
 * most once. Conversations proceed independently.
 */
export class Outbox {
  private readonly queues = new Map<string, PendingSend[]>();

  constructor(private readonly options: OutboxOptions) {}

  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  enqueue(conversationId: string, clientMessageId: string, text: string): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const queue = this.queues.get(conversationId) ?? [];
      this.queues.set(conversationId, queue);
      queue.push({
        conversationId,
        clientMessageId,
        text,
        resolve,
        reject,
        inFlight: false,
        failures: 0,
        timer: undefined,
      });
      this.pump(conversationId);
    });
  }

  /** The connection opened: every queue's head goes (again). */
  connected(): void {
    for (const conversationId of this.queues.keys()) this.pump(conversationId);
  }

  /** The connection dropped: nothing is on the wire any more; heads are resent on the next open. */
  disconnected(): void {
    for (const queue of this.queues.values()) {
      const head = queue[0];
      if (!head) continue;
      clearTimeout(head.timer);
      head.timer = undefined;
      head.inFlight = false;
    }
  }

  /** An ack: resolves the head it belongs to (late acks of earlier attempts are ignored). */
  acked(conversationId: string, clientMessageId: string, message: Message): void {
    const queue = this.queues.get(conversationId);
    const head = queue?.[0];
    if (!queue || !head || head.clientMessageId !== clientMessageId) return;
    clearTimeout(head.timer);
    queue.shift();
    head.resolve(message);
    this.pump(conversationId);
  }

  /** A refusal of a pending send; true when it belonged to one. Retryable ones are retried, others rejected. */
  failed(clientMessageId: string, error: ChatApiError): boolean {
    for (const [conversationId, queue] of this.queues) {
      const head = queue[0];
      if (!head || head.clientMessageId !== clientMessageId) continue;
      clearTimeout(head.timer);
      head.inFlight = false;
      if (error.retryable) {
        const wait = error.retryAfterMs ?? this.options.retryDelayMs(head.failures);
        head.failures += 1;
        if (error.code === 'throttled') this.options.onThrottled(wait);
        // Still the head: nothing else of this conversation goes before it.
        head.inFlight = true;
        head.timer = setTimeout(() => {
          head.inFlight = false;
          this.pump(conversationId);
        }, wait);
      } else {
        queue.shift();
        head.reject(error);
        this.pump(conversationId);
      }
      return true;
    }
    return false;
  }

  private pump(conversationId: string): void {
    const queue = this.queues.get(conversationId);
    if (!queue) return;
    if (queue.length === 0) {
      this.queues.delete(conversationId);
      return;
    }
    const head = queue[0] as PendingSend;
    if (head.inFlight || !this.options.isOpen()) return;
    head.inFlight = true;
    this.options.sendFrame({
      action: 'sendMessage',
      conversationId,
      clientMessageId: head.clientMessageId,
      text: head.text,
      // One send per conversation at a time: every earlier one was answered, so the server need not
      // wait out its reorder window for this frame.
      previousAcked: true,
      requestId: `send:${head.clientMessageId}`,
    });
    head.timer = setTimeout(() => {
      // No answer: the frame or its ack was lost. Sending again is safe (same clientMessageId).
      head.inFlight = false;
      this.pump(conversationId);
    }, this.options.ackTimeoutMs);
  }
}
