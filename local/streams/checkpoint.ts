// Checkpoints: per shard, the last sequence number up to which every record is done (processed, filtered out
// or given up on), kept in memory and, with a directory, in one small JSON file per mapping.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Records of one shard in stream order, each marked done when it is; `advance()` moves the checkpoint over
 * the done prefix. Completion may come out of order (parallelization lanes), the checkpoint never does.
 */
export class Watermark {
  private readonly done: boolean[] = [];
  private readonly seqs: string[] = [];
  /** Absolute position of done[0]. */
  private base = 0;
  private head = 0;
  private open = 0;

  /** Registers the next record of the shard; returns its position. */
  add(sequenceNumber: string): number {
    this.seqs.push(sequenceNumber);
    this.done.push(false);
    this.open++;
    return this.base + this.done.length - 1;
  }

  complete(position: number): void {
    const i = position - this.base;
    if (i < 0 || i >= this.done.length) throw new Error(`Unknown record position ${position}`);
    if (this.done[i]) return;
    this.done[i] = true;
    this.open--;
  }

  /** Moves past the done prefix; returns the new checkpoint (last done sequence number) if it moved. */
  advance(): string | undefined {
    let moved: string | undefined;
    while (this.head < this.done.length && this.done[this.head]) {
      moved = this.seqs[this.head];
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.done.length) {
      this.done.splice(0, this.head);
      this.seqs.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    return moved;
  }

  /** Records registered and not done yet. */
  get pending(): number {
    return this.open;
  }
}

export interface ShardCheckpoint {
  /** Every record up to and including this sequence number is done. Absent: start at the shard's beginning. */
  after?: string;
  /** The shard is closed and all its records are done. */
  finished?: boolean;
}

export interface MappingCheckpoint {
  version: 1;
  mappingId: string;
  streamArn: string;
  shards: Record<string, ShardCheckpoint>;
  updatedAt?: string;
}

/**
 * Loads and saves mapping checkpoints. Saves are coalesced (at most one write in flight per mapping, the latest
 * state wins) and atomic (temp file + rename), so a crash leaves the previous or the new checkpoint.
 */
export class CheckpointStore {
  private readonly pending = new Map<string, { state: MappingCheckpoint; timer?: NodeJS.Timeout }>();
  private readonly writing = new Map<string, Promise<void>>();
  private madeDir = false;

  constructor(
    /** undefined: in memory only. */
    readonly dir: string | undefined,
    private readonly delayMs = 100,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  async load(mappingId: string): Promise<MappingCheckpoint | undefined> {
    if (!this.dir) return undefined;
    let text: string;
    try {
      text = await readFile(this.file(mappingId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as MappingCheckpoint;
      if (parsed.version !== 1 || typeof parsed.streamArn !== 'string' || typeof parsed.shards !== 'object') {
        throw new Error('unexpected content');
      }
      return parsed;
    } catch (err) {
      this.onError(
        new Error(`Ignoring unreadable checkpoint ${this.file(mappingId)}: ${(err as Error).message}`),
      );
      return undefined;
    }
  }

  /** Schedules a save of `state` (a snapshot is taken now). */
  save(state: MappingCheckpoint): void {
    if (!this.dir) return;
    const snapshot = structuredClone(state);
    const entry = this.pending.get(state.mappingId);
    if (entry) {
      entry.state = snapshot;
      return;
    }
    const next = { state: snapshot, timer: undefined as NodeJS.Timeout | undefined };
    this.pending.set(state.mappingId, next);
    next.timer = setTimeout(() => void this.write(state.mappingId), this.delayMs);
  }

  /** Writes every scheduled save now. */
  async flush(): Promise<void> {
    const ids = [...this.pending.keys()];
    for (const id of ids) clearTimeout(this.pending.get(id)?.timer);
    await Promise.all([...ids.map((id) => this.write(id)), ...this.writing.values()]);
  }

  private async write(mappingId: string): Promise<void> {
    const previous = this.writing.get(mappingId);
    if (previous) await previous;
    const entry = this.pending.get(mappingId);
    if (!entry || !this.dir) return;
    this.pending.delete(mappingId);
    clearTimeout(entry.timer);
    const dir = this.dir;
    const job = (async () => {
      try {
        if (!this.madeDir) {
          await mkdir(dir, { recursive: true });
          this.madeDir = true;
        }
        const file = this.file(mappingId);
        const tmp = `${file}.${process.pid}.tmp`;
        const body = { ...entry.state, updatedAt: new Date().toISOString() };
        await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`);
        await rename(tmp, file);
      } catch (err) {
        this.onError(err);
      }
    })();
    this.writing.set(mappingId, job);
    try {
      await job;
    } finally {
      if (this.writing.get(mappingId) === job) this.writing.delete(mappingId);
    }
  }

  private file(mappingId: string): string {
    return join(this.dir as string, `${mappingId.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
  }
}
