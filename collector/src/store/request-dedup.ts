import { createHash } from "node:crypto";

/** What the collector answered for a stored request: the spans it refused, and why. */
export interface Acknowledgement {
  rejected: number;
  rejectReason?: string | undefined;
}

const FULL: Acknowledgement = { rejected: 0 };

export interface RequestDedupOptions {
  /** How long an acknowledged request is remembered; 0 turns de-duplication off. */
  windowMs: number;
  /** Most acknowledged requests remembered; the oldest are forgotten first. */
  maxRequests: number;
  /** Clock, in ms; tests pass their own. */
  now?: () => number;
}

export interface RequestDedupStats {
  /** Copies answered from an acknowledged request, without storing their spans again. */
  repeated: number;
  /** Copies that arrived while the first was being stored and shared its outcome. */
  joined: number;
  /** Acknowledged requests remembered now. */
  remembered: number;
}

/**
 * Remembers OTLP requests the collector has acknowledged, so that a request an exporter
 * sends again (its response was lost, or it timed out while the insert went through) is
 * not stored twice: ClickHouse would keep both copies, and span counts and token sums in
 * SQL would come out too high.
 *
 * A request is identified by the SHA-256 of its wire format and decompressed body, so a
 * resend is recognised whatever its compression. A copy that arrives while the first is
 * still being stored waits for it and gets its answer (success or error); a copy of an
 * acknowledged request gets the same answer at once; a failed request is forgotten, so its
 * retry is stored. Memory is bounded by `maxRequests` (~100 bytes each) and `windowMs`.
 *
 * This catches resends of the same request to the same collector process within the window,
 * which is what OTLP exporters do on retry. It does not catch the same spans regrouped into
 * different requests, sent to another collector, or sent after a restart (README, "Query
 * with SQL", says which tables are exact).
 */
export class RequestDedup {
  private readonly inFlight = new Map<string, Promise<Acknowledgement>>();
  /** Insertion order is acknowledgement order, so the oldest entries come first. */
  private readonly acked = new Map<string, number>();
  /** Answers that refused spans; a key missing here was acknowledged in full. */
  private readonly partial = new Map<string, Acknowledgement>();
  private readonly now: () => number;
  private readonly counts = { repeated: 0, joined: 0 };

  constructor(private readonly opts: RequestDedupOptions) {
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.windowMs > 0 && this.opts.maxRequests > 0;
  }

  get stats(): RequestDedupStats {
    this.expire();
    return { ...this.counts, remembered: this.acked.size };
  }

  /** The request's identity: the first 128 bits of SHA-256 over format and decompressed body. */
  static keyOf(format: string, body: Uint8Array): string {
    return createHash("sha256").update(format).update("\0").update(body).digest().toString("base64", 0, 16);
  }

  /**
   * The outcome of an earlier copy of this request: an acknowledgement it got, or a promise
   * of the outcome of one being stored now. Undefined when this is the first copy.
   */
  earlier(key: string): Acknowledgement | Promise<Acknowledgement> | undefined {
    if (!this.enabled) return undefined;
    const pending = this.inFlight.get(key);
    if (pending) {
      this.counts.joined++;
      return pending;
    }
    this.expire();
    if (this.acked.has(key)) {
      this.counts.repeated++;
      return this.partial.get(key) ?? FULL;
    }
    return undefined;
  }

  /**
   * Stores the first copy of a request with `store`, letting copies that arrive meanwhile
   * share its outcome. Call synchronously after `earlier(key)` returned undefined.
   */
  async first(key: string, store: () => Promise<Acknowledgement>): Promise<Acknowledgement> {
    if (!this.enabled) return store();
    const outcome = store();
    this.inFlight.set(key, outcome);
    try {
      const ack = await outcome;
      this.remember(key, ack);
      return ack;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private remember(key: string, ack: Acknowledgement): void {
    this.acked.delete(key);
    this.acked.set(key, this.now());
    if (ack.rejected > 0) this.partial.set(key, { rejected: ack.rejected, rejectReason: ack.rejectReason });
    this.expire();
  }

  private expire(): void {
    const oldest = this.now() - this.opts.windowMs;
    for (const [key, at] of this.acked) {
      if (at > oldest && this.acked.size <= this.opts.maxRequests) break;
      this.acked.delete(key);
      this.partial.delete(key);
    }
  }
}
