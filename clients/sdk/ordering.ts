import type { Message } from './types.js';

/** What accepting messages produced: the ones to deliver now, in seq order, and whether a gap remains. */
export interface Accepted {
  readonly deliver: Message[];
  /** True when messages after a missing seq are held back: ask for `sync` from `lastSeq`. */
  readonly gap: boolean;
}

/**
 * Per-conversation delivery order: de-duplicates by `(conversationId, seq)`, holds back messages that
 * arrive after a gap, and releases them in seq order once the gap is filled (by `sync`). Delivery is at
 * least once on the wire and exactly once, in order, out of this.
 */
export class ConversationOrder {
  private readonly last = new Map<string, number>();
  private readonly held = new Map<string, Map<number, Message>>();

  /** Starts (or moves forward) a conversation at the highest seq the user already has. */
  track(conversationId: string, lastSeq: number): void {
    const current = this.last.get(conversationId);
    if (current === undefined || lastSeq > current) this.last.set(conversationId, lastSeq);
  }

  /** The conversations tracked, with their last delivered seq. */
  tracked(): ReadonlyMap<string, number> {
    return this.last;
  }

  lastSeq(conversationId: string): number | undefined {
    return this.last.get(conversationId);
  }

  /**
   * Takes messages of one conversation from any source (push, ack, sync). An untracked conversation
   * starts at the first message seen (its history is the app's to load).
   */
  accept(messages: readonly Message[]): Accepted {
    const deliver: Message[] = [];
    let gap = false;
    for (const message of messages) {
      const id = message.conversationId;
      if (!this.last.has(id)) this.last.set(id, message.seq - 1);
      const last = this.last.get(id) as number;
      if (message.seq <= last) continue;
      let held = this.held.get(id);
      if (!held) {
        held = new Map();
        this.held.set(id, held);
      }
      held.set(message.seq, message);
    }
    for (const id of new Set(messages.map((m) => m.conversationId))) {
      const held = this.held.get(id);
      if (!held) continue;
      let last = this.last.get(id) as number;
      for (let next = held.get(last + 1); next; next = held.get(last + 1)) {
        held.delete(last + 1);
        deliver.push(next);
        last += 1;
      }
      this.last.set(id, last);
      if (held.size > 0) gap = true;
    }
    return { deliver, gap };
  }

  /** True when messages of the conversation are held back behind a gap. */
  hasGap(conversationId: string): boolean {
    return (this.held.get(conversationId)?.size ?? 0) > 0;
  }
}
