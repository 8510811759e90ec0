import { encodeSpansRowBinary } from "../store/rowbinary.js";
import type { SpanRow } from "../store/span-row.js";
import type { Store } from "../store/store.js";

const RETRY_DELAYS_MS = [250, 1000, 4000];
const MAX_BATCH = 1000;

/**
 * Coalesces judgements into few inserts. An insert into otel_traces costs about the same
 * whatever its size (on chDB ~70 ms of CPU and ~150 ms, because of the parts and the
 * materialized views it feeds), so one insert per judgement would make the store, not the
 * LLM, the worker's limit. Rows wait up to `windowMs` for company; the batcher then merges
 * them with whatever else is being ingested.
 */
export class AssessmentWriter {
  private pending: { row: SpanRow; resolve: (r: true | Error) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Rows this writer has stored: the worker tells its own writes from new traffic by it. */
  rowsWritten = 0;

  constructor(
    private readonly store: Store,
    private readonly windowMs: number,
  ) {}

  /** Resolves true once stored, or with the error after the retries. */
  write(row: SpanRow): Promise<true | Error> {
    return new Promise((resolve) => {
      this.pending.push({ row, resolve });
      if (this.pending.length >= MAX_BATCH) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.windowMs);
    });
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) void this.store_(batch);
  }

  private async store_(batch: { row: SpanRow; resolve: (r: true | Error) => void }[]): Promise<void> {
    const body = encodeSpansRowBinary(batch.map((b) => b.row));
    let last: Error = new Error("not written");
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.batcher.submit(body, batch.length);
        this.rowsWritten += batch.length;
        for (const b of batch) b.resolve(true);
        return;
      } catch (err) {
        last = err instanceof Error ? err : new Error(String(err));
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) break;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    for (const b of batch) b.resolve(last);
  }

  /** Sends what is waiting now (shutdown). */
  flush(): void {
    this.flushNow();
  }
}
