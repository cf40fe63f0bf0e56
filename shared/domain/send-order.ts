// The sequencer's reorder window. API Gateway invokes the `sendMessage` function once per frame, and
// concurrent invocations reach the FIFO queue in whatever order their SendMessage calls land, so two
// frames of one connection can swap on the way. Each frame carries the time API Gateway received it
// (`requestTimeEpoch`), and the queue stamps when it received each message (`SentTimestamp`); the gap
// between the two is the ingress latency. The window is a bound on that latency, learnt from recent
// sends. A frame commits only once the queue has handed over a message received more than a window
// after it: then every earlier frame of its connection is in hand (see releaseCutoff). Fresher frames
// wait in the conversation's held list (durable, on the conversation item) for the next batch or a
// flush marker. A frame whose client declares every earlier send of its connection to the conversation
// answered (`previousAcked`) has no earlier frame on its way, so it commits at once, unless an earlier
// frame of its connection is still held.
import { DEFAULT_ORDER_WINDOW, type OrderWindowLimits } from '../config/send-order.js';
import type { HeldSend, QueuedSend } from '../data/send-queue.js';

/** One queued send with the queue's id for it and the time the queue received it (epoch ms). */
export interface ReceivedSend {
  /** The SQS message id (reported back on failure), or `held` for a send from the held list. */
  readonly id: string;
  readonly send: QueuedSend;
  /** SQS `SentTimestamp`: when the queue received the send (epoch ms). */
  readonly sentAt: number;
}

/** The id a send taken from the held list carries (it is no longer on the queue). */
export const HELD_ID = 'held';

/** Held sends as the sequencer handles them. */
export const fromHeld = (held: readonly HeldSend[]): ReceivedSend[] =>
  held.map(({ send, sentAt }) => ({ id: HELD_ID, send, sentAt }));

/** Sends to hold, as stored on the conversation item. */
export const toHeld = (sends: readonly ReceivedSend[]): HeldSend[] =>
  sends.map(({ send, sentAt }) => ({ send, sentAt }));

/** When the frame reached API Gateway (WebSocket), else when the queue received the send (HTTP). */
export const arrivalOf = (r: Pick<ReceivedSend, 'send' | 'sentAt'>): number =>
  r.send.origin?.frameTime ?? r.sentAt;

/**
 * Tracks recent ingress latencies (queue receipt minus frame receipt) and derives the window: three
 * times the largest latency of the last `horizonMs` (at most `size` samples) plus 20 ms, within the
 * limits. The margin is for frames still on their way, whose latency is not known yet: under a
 * growing backlog it rises while they travel. Old samples expire, so the window shrinks again after
 * a burst. The sequencer observes a batch before it uses the window, so a slow ingress is always
 * covered by its own latency.
 */
export class OrderWindow {
  private samples: Array<{ at: number; latency: number }> = [];

  constructor(
    private readonly limits: OrderWindowLimits = DEFAULT_ORDER_WINDOW,
    private readonly size = 256,
    private readonly horizonMs = 30_000,
  ) {}

  /** Records the ingress latency of each WebSocket send (HTTP sends are not held, so not counted). */
  observe(sends: readonly Pick<ReceivedSend, 'send' | 'sentAt'>[]): void {
    for (const r of sends) {
      const frameTime = r.send.origin?.frameTime;
      if (frameTime === undefined) continue;
      this.samples.push({ at: r.sentAt, latency: Math.max(0, r.sentAt - frameTime) });
    }
    if (this.samples.length > this.size) this.samples = this.samples.slice(-this.size);
  }

  /** The window at `now` (epoch ms), ms. */
  ms(now = Date.now()): number {
    this.samples = this.samples.filter((s) => now - s.at <= this.horizonMs);
    const worst = this.samples.reduce((max, s) => Math.max(max, s.latency), 0);
    return Math.min(this.limits.maxMs, Math.max(this.limits.minMs, Math.ceil(worst * 3 + 20)));
  }
}

/** What the sequencer does with the sends in hand: commit now, in this order, or keep holding. */
export interface Release {
  /** In arrival order (frame time for WebSocket sends, queue time for HTTP sends). */
  readonly release: ReceivedSend[];
  /** Still inside the window, in arrival order. */
  readonly hold: ReceivedSend[];
}

/**
 * The newest frame time that may commit now. SQS FIFO hands a message group over in queue order, so
 * everything the queue received before the newest message in hand (`newestSentAt`) is in hand too; a
 * send still to come reaches the queue later, so its frame is at most `windowMs` older than that.
 * Frames older than `newestSentAt - windowMs` therefore have no earlier frame still on its way.
 */
export const releaseCutoff = (newestSentAt: number, windowMs: number): number => newestSentAt - windowMs;

/**
 * Splits held and newly received sends into what can commit now and what must wait. WebSocket sends
 * commit once their frame time is before `cutoff` (see releaseCutoff), or at once when declared
 * `previousAcked` and no earlier frame of their connection is held; HTTP sends (each waited for by
 * its caller) never wait. Everything is ordered by arrival, ties kept in queue order (held first). The
 * held sends take at most `maxHeldBytes` as JSON: beyond that the oldest are released anyway, so the
 * held list stays within DynamoDB's item size limit.
 */
export function planRelease(
  held: readonly ReceivedSend[],
  received: readonly ReceivedSend[],
  cutoff: number,
  maxHeldBytes: number,
): Release {
  const all = [...held, ...received]
    .map((r, i) => ({ r, i }))
    .sort((a, b) => arrivalOf(a.r) - arrivalOf(b.r) || a.i - b.i)
    .map(({ r }) => r);
  const release: ReceivedSend[] = [];
  let hold: ReceivedSend[] = [];
  const holding = new Set<string>();
  for (const r of all) {
    const origin = r.send.origin;
    const fresh =
      origin !== undefined &&
      (origin.previousAcked ? holding.has(origin.connectionId) : origin.frameTime >= cutoff);
    if (fresh) holding.add((origin as { connectionId: string }).connectionId);
    (fresh ? hold : release).push(r);
  }
  let bytes = hold.reduce((sum, r) => sum + heldBytes(r), 0);
  let forced = 0;
  while (bytes > maxHeldBytes && forced < hold.length) bytes -= heldBytes(hold[forced++] as ReceivedSend);
  if (forced > 0) {
    // Forced out in arrival order; they still precede every send held after them.
    release.push(...hold.slice(0, forced));
    hold = hold.slice(forced);
    release.sort((a, b) => arrivalOf(a) - arrivalOf(b));
  }
  return { release, hold };
}

/** A held send's size as stored (JSON bytes), for the held list's budget. */
export const heldBytes = (r: ReceivedSend): number =>
  Buffer.byteLength(JSON.stringify({ send: r.send, sentAt: r.sentAt }), 'utf8');

/**
 * How long until a queue message sent now would release the oldest held frame (ms, at least 0): the
 * queue must receive something after `frameTime + windowMs`.
 */
export function msUntilRelease(hold: readonly ReceivedSend[], now: number, windowMs: number): number {
  const times = hold.flatMap((r) => (r.send.origin ? [r.send.origin.frameTime] : []));
  return times.length ? Math.max(0, Math.min(...times) + windowMs + 1 - now) : 0;
}
