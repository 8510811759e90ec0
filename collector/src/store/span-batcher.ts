import { RowBinaryWriter } from "./rowbinary.js";
import { SpanRowsRejectedError, type SpanWriter } from "./span-writer.js";

/** The store cannot take more right now; the caller should answer 429 with Retry-After. */
export class OverloadedError extends Error {
  override name = "OverloadedError";
  constructor(readonly retryAfterSeconds: number) {
    super(`Gavel is ingesting more than ClickHouse can store right now; retry after ${retryAfterSeconds}s.`);
  }
}

/** The store failed; the caller should answer 503 with Retry-After. Nothing from the batch was acknowledged. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(readonly retryAfterSeconds: number, cause: unknown) {
    super(`ClickHouse did not accept the spans (${(cause as Error)?.message ?? cause}); retry after ${retryAfterSeconds}s.`);
  }
}

interface Pending {
  /** Where the request's rows are in the filling arena. */
  start: number;
  end: number;
  rows: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface BatcherOptions {
  /** Rows per insert to aim for. */
  batchRows: number;
  /** Extra wait for more requests once a batch has started filling; 0 = next tick. */
  batchWaitMs: number;
  /** Rows queued (not yet stored) above which new requests are refused. */
  maxQueuedRows: number;
}

export interface BatcherStats {
  queuedRows: number;
  inserts: number;
  insertedRows: number;
  failedInserts: number;
  refusedRequests: number;
}

/** An arena that grew past this for a burst is dropped after its insert rather than kept. */
const MAX_KEPT_ARENA_BYTES = 64 * 2 ** 20;

/**
 * Micro-batches OTLP requests into ClickHouse inserts without giving up
 * ack-after-store: a request's promise resolves only when the insert holding its rows
 * has succeeded. One insert runs at a time; requests that arrive meanwhile form the
 * next batch, so batches grow with load and latency stays low when idle.
 *
 * Rows are written straight into one of two reused buffers (arenas): the one filling
 * and the one being inserted. Per-request buffers and a concatenation per insert cost
 * ~2 MB of fresh memory per 512-span request, and the page faults and garbage
 * collections that came with them were a tenth of the collector's CPU under load.
 */
export class SpanBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private filling: RowBinaryWriter;
  private spare: RowBinaryWriter | null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastFailureAt = 0;
  readonly stats: BatcherStats = { queuedRows: 0, inserts: 0, insertedRows: 0, failedInserts: 0, refusedRequests: 0 };

  constructor(private readonly writer: SpanWriter, private readonly opts: BatcherOptions) {
    this.filling = new RowBinaryWriter(1 << 20);
    this.spare = new RowBinaryWriter(1 << 20);
  }

  /**
   * The queue is full: a request arriving now will be refused whatever its size, so the
   * receiver can refuse it before spending CPU on reading and decoding its body.
   */
  refusal(): OverloadedError | undefined {
    return this.queuedRows >= this.opts.maxQueuedRows ? this.refuse() : undefined;
  }

  private refuse(): OverloadedError {
    this.stats.refusedRequests++;
    // A recent store failure means the backlog will not drain soon: ask for a longer pause.
    return new OverloadedError(Date.now() - this.lastFailureAt < 10_000 ? 5 : 1);
  }

  /** Queue rows (already RowBinary-encoded); resolves once they are stored. */
  submit(body: Buffer, rows: number): Promise<void> {
    return this.append((w) => {
      w.rawFrom(body, 0, body.length);
      return rows;
    })!;
  }

  /**
   * Queue rows that `encode` writes straight into the batch being filled and counts.
   * When `encode` returns undefined nothing is queued, its bytes are dropped, and this
   * returns undefined. Otherwise resolves once the rows are stored.
   */
  append(encode: (w: RowBinaryWriter) => number | undefined): Promise<void> | undefined {
    const w = this.filling;
    const start = w.pos;
    const rows = encode(w);
    if (rows === undefined || rows === 0) {
      w.pos = start;
      return rows === undefined ? undefined : Promise.resolve();
    }
    if (this.queuedRows > 0 && this.queuedRows + rows > this.opts.maxQueuedRows) {
      w.pos = start;
      return Promise.reject(this.refuse());
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ start, end: w.pos, rows, resolve, reject });
      this.queuedRows += rows;
      this.stats.queuedRows = this.queuedRows;
      // A full batch need not wait out the linger.
      if (this.timer && !this.inFlight && this.queuedRows >= this.opts.batchRows) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    // Let requests decoded in the same turn of the event loop join this batch.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.drainOnce().finally(() => {
        this.inFlight = null;
        if (this.queue.length > 0) this.schedule();
      });
    }, this.queuedRows >= this.opts.batchRows ? 0 : this.opts.batchWaitMs);
  }

  /** Takes the next batch's requests and the arena holding them; a fresh arena starts filling. */
  private takeBatch(): { batch: Pending[]; rows: number; arena: RowBinaryWriter } {
    let n = 0;
    let rows = 0;
    while (n < this.queue.length && (n === 0 || rows + this.queue[n]!.rows <= this.opts.batchRows)) rows += this.queue[n++]!.rows;
    const batch = this.queue.splice(0, n);
    const arena = this.filling;
    const next = this.spare ?? new RowBinaryWriter(1 << 20);
    this.spare = null;
    next.pos = 0;
    // Over the batch size: the requests left over move to the new arena (only under overload).
    if (this.queue.length > 0) {
      const from = this.queue[0]!.start;
      next.rawFrom(arena.buf, from, arena.pos - from);
      for (const p of this.queue) {
        p.start -= from;
        p.end -= from;
      }
    }
    this.filling = next;
    return { batch, rows, arena };
  }

  private async drainOnce(): Promise<void> {
    const { batch, rows, arena } = this.takeBatch();
    const body = arena.buf.subarray(batch[0]!.start, batch[batch.length - 1]!.end);
    try {
      await this.writer.write(body);
      this.stats.inserts++;
      this.stats.insertedRows += rows;
      for (const p of batch) p.resolve();
    } catch (err) {
      if (err instanceof SpanRowsRejectedError && batch.length > 1) {
        // One request's rows failed the whole insert: store the others on their own,
        // so one sender's bad batch never costs the senders it was batched with.
        this.stats.failedInserts++;
        for (const p of batch) await this.insertAlone(p, arena);
        return;
      }
      this.failed(batch, err);
    } finally {
      this.queuedRows -= rows;
      this.stats.queuedRows = this.queuedRows;
      if (arena.buf.length <= MAX_KEPT_ARENA_BYTES) this.spare = arena;
    }
  }

  private async insertAlone(p: Pending, arena: RowBinaryWriter): Promise<void> {
    try {
      await this.writer.write(arena.buf.subarray(p.start, p.end));
      this.stats.inserts++;
      this.stats.insertedRows += p.rows;
      p.resolve();
    } catch (err) {
      this.failed([p], err);
    }
  }

  private failed(batch: Pending[], err: unknown): void {
    this.stats.failedInserts++;
    if (err instanceof SpanRowsRejectedError) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.lastFailureAt = Date.now();
    const e = new StoreUnavailableError(5, err);
    for (const p of batch) p.reject(e);
  }

  /** Resolves when everything submitted so far has been stored or failed. */
  async flush(): Promise<void> {
    while (this.inFlight || this.timer || this.queue.length > 0) {
      if (this.inFlight) await this.inFlight;
      else await new Promise((r) => setTimeout(r, 1));
    }
  }
}
