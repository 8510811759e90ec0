import { RowBinaryWriter } from "./rowbinary.js";
import { insertFileSql, SpanRowsRejectedError, type SpanWriter } from "./span-writer.js";
import type { IngestLog } from "./ingest-log.js";

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
  logged?: Logged;
}

/** A request acknowledged once logged: the log segment holding its rows, and its place in the order of such requests. */
interface Logged {
  segment: number;
  id: number;
}

/** Rows acknowledged once logged whose insert failed: tried again until stored. */
interface Retry {
  body: Buffer;
  rows: number;
  logged: Logged[];
}

export interface BatcherOptions {
  /** Rows per insert to aim for. */
  batchRows: number;
  /** Extra wait for more requests once a batch has started filling; 0 = next tick. */
  batchWaitMs: number;
  /** Rows queued (not yet stored) above which new requests are refused. */
  maxQueuedRows: number;
  /**
   * With a log: a request that may be (`ackWhenLogged`) is acknowledged once its rows are in the
   * log, instead of once stored, when at least this many rows already wait behind the insert in
   * progress and the rows waiting, its own included, still fit in one batch (so the next batch
   * takes it, and each log segment is one batch). 0: always once stored.
   */
  ackLoggedRows?: number;
}

export interface AppendOptions {
  /** The caller may be answered once the rows are in the ingest log (OTLP receivers). */
  ackWhenLogged?: boolean;
}

/** The OTLP receivers' option: their senders may be answered once the rows are logged. */
export const ACK_WHEN_LOGGED: AppendOptions = { ackWhenLogged: true };

export interface BatcherStats {
  queuedRows: number;
  inserts: number;
  insertedRows: number;
  failedInserts: number;
  refusedRequests: number;
  /** Requests acknowledged once logged, before their insert. */
  loggedAcks: number;
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
  readonly stats: BatcherStats = { queuedRows: 0, inserts: 0, insertedRows: 0, failedInserts: 0, refusedRequests: 0, loggedAcks: 0 };
  /** Rows of the insert in progress (part of queuedRows). */
  private inFlightRows = 0;
  private readonly retries: Retry[] = [];
  /** Requests acknowledged once logged and not stored yet, by id (ids grow with time). */
  private readonly unstored = new Set<number>();
  private lastLoggedId = 0;
  private readonly barrierWaiters: { upTo: number; done: () => void }[] = [];

  constructor(
    private readonly writer: SpanWriter,
    private readonly opts: BatcherOptions,
    private readonly log?: IngestLog,
  ) {
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
  submit(body: Buffer, rows: number, options?: AppendOptions): Promise<void> {
    return this.append((w) => {
      w.rawFrom(body, 0, body.length);
      return rows;
    }, options)!;
  }

  /**
   * Queue rows that `encode` writes straight into the batch being filled and counts.
   * When `encode` returns undefined nothing is queued, its bytes are dropped, and this
   * returns undefined. Otherwise resolves once the rows are stored.
   */
  append(encode: (w: RowBinaryWriter) => number | undefined, options?: AppendOptions): Promise<void> | undefined {
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
    // While inserts cannot keep up, a request waiting for the one after next would only hold
    // its sender back: it is answered once its rows are logged, and the batches grow (8 senders
    // of 512 spans: ~2 200 → ~15 000 rows an insert, bench/README.md "Collector ingest"). Once a
    // batch's worth of rows waits, senders wait for the store again, which bounds memory and the
    // log. Counting the insert in progress too made batch sizes swing between 1k and 20k.
    const ackLogged =
      options?.ackWhenLogged === true &&
      this.log !== undefined &&
      (this.opts.ackLoggedRows ?? 0) > 0 &&
      this.queuedRows - this.inFlightRows >= this.opts.ackLoggedRows! &&
      this.queuedRows - this.inFlightRows + rows <= this.opts.batchRows;
    return new Promise<void>((resolve, reject) => {
      if (ackLogged) {
        const logged = { segment: this.log!.append(w.buf, start, w.pos, rows), id: ++this.lastLoggedId };
        this.unstored.add(logged.id);
        this.queue.push({ start, end: w.pos, rows, resolve: () => undefined, reject: () => undefined, logged });
        this.stats.loggedAcks++;
        resolve();
      } else {
        this.queue.push({ start, end: w.pos, rows, resolve, reject });
      }
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

  private stopped = false;

  private schedule(): void {
    if (this.inFlight || this.timer || this.stopped) return;
    // Let requests decoded in the same turn of the event loop join this batch.
    // Logged rows whose insert failed are tried again a second after the failure (the store is down).
    const sinceFailure = Date.now() - this.lastFailureAt;
    const pause = this.retries.length > 0 && sinceFailure < 1000 ? 1000 - sinceFailure : undefined;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = (this.retries.length > 0 ? this.retryLogged() : this.drainOnce()).finally(() => {
        this.inFlight = null;
        if (this.queue.length > 0 || this.retries.length > 0) this.schedule();
      });
    }, pause ?? (this.queuedRows >= this.opts.batchRows ? 0 : this.opts.batchWaitMs));
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
    // Over the batch size: the requests left over move to the new arena. None of them was
    // answered once logged (append lets only what the next batch takes be), so this log
    // segment is this batch.
    this.log?.rotate();
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
    this.inFlightRows = rows;
    try {
      await this.insert(body, rows);
      for (const p of batch) p.resolve();
      this.settleLogged(batch.flatMap((p) => (p.logged ? [p.logged] : [])));
    } catch (err) {
      if (err instanceof SpanRowsRejectedError && batch.length > 1) {
        // One request's rows failed the whole insert: store the others on their own,
        // so one sender's bad batch never costs the senders it was batched with.
        this.stats.failedInserts++;
        for (const p of batch) await this.insertAlone(p, arena);
        return;
      }
      this.failed(batch, err, arena);
    } finally {
      this.inFlightRows = 0;
      this.queuedRows -= rows;
      this.stats.queuedRows = this.queuedRows;
      if (arena.buf.length <= MAX_KEPT_ARENA_BYTES) this.spare = arena;
    }
  }

  /** One insert, counted once it succeeded. */
  private async insert(body: Buffer, rows: number): Promise<void> {
    await this.writer.write(body);
    this.stats.inserts++;
    this.stats.insertedRows += rows;
  }

  private async insertAlone(p: Pending, arena: RowBinaryWriter): Promise<void> {
    try {
      await this.insert(arena.buf.subarray(p.start, p.end), p.rows);
      p.resolve();
      if (p.logged) this.settleLogged([p.logged]);
    } catch (err) {
      this.failed([p], err, arena);
    }
  }

  private failed(batch: Pending[], err: unknown, arena: RowBinaryWriter): void {
    this.stats.failedInserts++;
    if (!(err instanceof SpanRowsRejectedError)) this.lastFailureAt = Date.now();
    const e = err instanceof SpanRowsRejectedError ? err : new StoreUnavailableError(5, err);
    const logged = batch.filter((p) => p.logged);
    for (const p of batch) if (!p.logged) p.reject(e);
    if (logged.length === 0) return;
    // Nobody waits for these any more: refused rows are kept beside the log, the rest is tried again.
    const body = Buffer.concat(logged.map((p) => arena.buf.subarray(p.start, p.end)));
    const rows = logged.reduce((n, p) => n + p.rows, 0);
    if (err instanceof SpanRowsRejectedError) this.keepRejected(body, rows, err, logged.map((p) => p.logged!));
    else {
      this.retries.push({ body, rows, logged: logged.map((p) => p.logged!) });
      this.queuedRows += rows;
    }
  }

  private keepRejected(body: Buffer, rows: number, err: Error, logged: Logged[]): void {
    const file = this.log!.keepRejected(body);
    console.error(`gavel: ClickHouse refused ${rows} acknowledged spans (${err.message}); they are kept in ${file}. Fix the cause, then insert the file with ${insertFileSql(file)} (clickhouse-local, or chDB while the collector is stopped).`);
    this.settleLogged(logged);
  }

  /** Tries the oldest failed rows that were acknowledged once logged again. */
  private async retryLogged(): Promise<void> {
    const r = this.retries[0]!;
    try {
      await this.insert(r.body, r.rows);
      this.retries.shift();
      this.queuedRows -= r.rows;
      this.settleLogged(r.logged);
    } catch (err) {
      this.stats.failedInserts++;
      if (err instanceof SpanRowsRejectedError) {
        this.retries.shift();
        this.queuedRows -= r.rows;
        this.keepRejected(r.body, r.rows, err, r.logged);
      } else this.lastFailureAt = Date.now();
    }
    this.stats.queuedRows = this.queuedRows;
  }

  /** Logged requests that are stored (or kept aside): their log segments can go, and reads waiting for them can run. */
  private settleLogged(logged: Logged[]): void {
    if (logged.length === 0) return;
    for (const l of logged) {
      this.log!.stored(l.segment);
      this.unstored.delete(l.id);
    }
    const oldest = this.unstored.values().next();
    const below = oldest.done ? Infinity : oldest.value;
    for (let i = this.barrierWaiters.length - 1; i >= 0; i--) {
      if (this.barrierWaiters[i]!.upTo < below) this.barrierWaiters.splice(i, 1)[0]!.done();
    }
  }

  /**
   * Resolves once every request acknowledged once logged before this call is stored, so that
   * a read sees what its client was told is stored. Immediate when none is waiting (the usual
   * case: requests are acknowledged once logged only while inserts fall behind); gives up
   * after `timeoutMs` (the store is down: the read will say so itself).
   */
  loggedStored(timeoutMs = 10_000): Promise<void> {
    if (this.unstored.size === 0) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(done, timeoutMs);
      this.barrierWaiters.push({
        upTo: this.lastLoggedId,
        done: () => {
          clearTimeout(timer);
          done();
        },
      });
    });
  }

  /** Resolves when everything submitted so far has been stored or failed. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.queue.length > 0 || (this.timer && this.retries.length === 0)) await new Promise((r) => setTimeout(r, 1));
      // Only logged rows the store keeps refusing are left: they stay in the log for the next start.
      else return;
    }
  }

  /** No more inserts (the store is closing); logged rows not stored yet stay in the log. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
