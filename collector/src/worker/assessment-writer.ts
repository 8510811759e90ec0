import { encodeSpansRowBinary } from "../store/rowbinary.js";
import type { SpanRow } from "../store/span-row.js";
import type { Store } from "../store/store.js";

/** About a minute of retries: a judgement already paid for is worth waiting for a ClickHouse restart. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000, 8000, 15_000, 30_000];
const MAX_BATCH = 1000;

type Waiter = { row: SpanRow; resolve: (r: true | Error) => void };

/**
 * Coalesces judgements into few inserts. An insert into otel_traces costs about the same
 * whatever its size (on chDB ~70 ms of CPU and ~150 ms, because of the parts and the
 * materialized views it feeds), so one insert per judgement would make the store, not the
 * LLM, the worker's limit. Rows wait up to `windowMs` for company; the batcher then merges
 * them with whatever else is being ingested.
 *
 * When the store refuses a batch, the writer keeps retrying it and reports itself failing,
 * so the worker stops paying for judgements it could not store until a write goes through.
 */
export class AssessmentWriter {
  private pending: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private abandonNow: () => void = () => undefined;
  private readonly abandoned = new Promise<void>((r) => (this.abandonNow = r));
  private isAbandoned = false;
  private failure: { since: number; last: number; count: number; error: Error } | null = null;
  /** Rows this writer has stored: the worker tells its own writes from new traffic by it. */
  rowsWritten = 0;

  constructor(
    private readonly store: Store,
    private readonly windowMs: number,
  ) {}

  /** Resolves true once stored, or with the error after the retries. */
  write(row: SpanRow): Promise<true | Error> {
    if (this.isAbandoned) return Promise.resolve(new Error("the worker is stopping"));
    return new Promise((resolve) => {
      this.pending.push({ row, resolve });
      if (this.pending.length >= MAX_BATCH) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.windowMs);
    });
  }

  /**
   * While writes fail: until when the worker should pick no new traces (backing off from
   * 1 s to 30 s), and why. Undefined when the last write went through.
   */
  get failing(): { until: number; error: Error } | undefined {
    const f = this.failure;
    if (!f) return undefined;
    return { until: f.last + Math.min(30_000, 1000 * 2 ** Math.min(f.count - 1, 5)), error: f.error };
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) void this.storeBatch(batch);
  }

  private async storeBatch(batch: Waiter[]): Promise<void> {
    const body = encodeSpansRowBinary(batch.map((b) => b.row));
    let last: Error = new Error("not written");
    for (let attempt = 0; !this.isAbandoned; attempt++) {
      try {
        await this.store.batcher.submit(body, batch.length);
        this.rowsWritten += batch.length;
        this.failure = null;
        for (const b of batch) b.resolve(true);
        return;
      } catch (err) {
        last = err instanceof Error ? err : new Error(String(err));
        const now = Date.now();
        this.failure = { since: this.failure?.since ?? now, last: now, count: (this.failure?.count ?? 0) + 1, error: last };
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) break;
        await Promise.race([new Promise((r) => setTimeout(r, delay).unref()), this.abandoned]);
      }
    }
    for (const b of batch) b.resolve(this.isAbandoned ? new Error(`the worker stopped before the store took it (${last.message})`) : last);
  }

  /** Shutdown: sends what is waiting once more, and stops retrying; failed rows are given up. */
  abandon(): void {
    this.flushNow();
    this.isAbandoned = true;
    this.abandonNow();
  }
}
