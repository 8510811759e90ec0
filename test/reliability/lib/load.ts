import { randomBytes } from "node:crypto";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
// @ts-expect-error plain ESM shared with the benchmarks; no type declarations
import { buildSpans } from "../../../bench/lib/llm-spans.mjs";
import { sql } from "../../support/gavel-process.js";

/**
 * OTLP/protobuf bodies of realistic LLM spans (bench/lib/llm-spans.mjs) where request n
 * is the same template with the first 8 bytes of every trace id replaced by (n, run nonce).
 * Building a body is a copy and a few hundred writes, so senders are not CPU-bound, and
 * SQL can count the spans of every request: substring(TraceId, 1, 8) is n in hex.
 */
export class RequestBodies {
  readonly nonce = randomBytes(4);
  readonly nonceHex = this.nonce.toString("hex");
  private readonly template: Buffer;
  private readonly offsets: number[] = [];

  constructor(readonly spansPerRequest: number, seed = 7) {
    const spans = buildSpans(spansPerRequest, seed) as { spanContext(): { traceId: string } }[];
    this.template = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans as never)!);
    for (const id of new Set(spans.map((s) => s.spanContext().traceId))) {
      const bytes = Buffer.from(id, "hex");
      for (let at = this.template.indexOf(bytes); at >= 0; at = this.template.indexOf(bytes, at + 16)) this.offsets.push(at);
    }
    if (this.offsets.length !== spansPerRequest) throw new Error(`found ${this.offsets.length} trace ids, want ${spansPerRequest}`);
  }

  body(n: number): Buffer {
    const b = Buffer.from(this.template);
    for (const at of this.offsets) {
      b.writeUInt32BE(n, at);
      this.nonce.copy(b, at + 4);
    }
    return b;
  }

  /** Spans stored per request number, for this nonce. */
  async storedPerRequest(url: string): Promise<Map<number, number>> {
    const rows = await sql<{ req: string; n: string }>(
      url,
      "SELECT substring(TraceId, 1, 8) AS req, count() AS n FROM otel_traces WHERE substring(TraceId, 9, 8) = {nonce:String} GROUP BY req",
      { nonce: this.nonceHex },
    );
    return new Map(rows.map((r) => [parseInt(r.req, 16), Number(r.n)]));
  }
}

export interface SendOutcome {
  status: number | "error";
  retryAfter?: number;
  ms: number;
  error?: string;
}

export async function postOtlp(url: string, body: Buffer, timeoutMs = 60_000): Promise<SendOutcome> {
  const t = performance.now();
  try {
    const res = await fetch(`${url}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/x-protobuf" }, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    const ra = res.headers.get("retry-after");
    return { status: res.status, ms: performance.now() - t, ...(ra !== null ? { retryAfter: Number(ra) } : {}) };
  } catch (err) {
    return { status: "error", ms: performance.now() - t, error: `${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ""}`.trim() };
  }
}

/** Book-keeping of a load run: what was acknowledged, refused, and in flight. */
export class Ledger {
  readonly acked = new Set<number>();
  readonly inFlight = new Set<number>();
  /** Requests whose fate is unknown: no answer (connection reset, refused). */
  readonly unanswered = new Set<number>();
  readonly statuses = new Map<string, number>();
  readonly missingRetryAfter: number[] = [];
  latencies: number[] = [];
  next = 0;

  record(n: number, o: SendOutcome): void {
    const k = String(o.status);
    this.statuses.set(k, (this.statuses.get(k) ?? 0) + 1);
    if (o.status === 200) {
      this.acked.add(n);
      this.latencies.push(o.ms);
    } else if (o.status === "error") this.unanswered.add(n);
    else if ((o.status === 429 || o.status === 503) && !(o.retryAfter! > 0)) this.missingRetryAfter.push(n);
  }

  statusSummary(): string {
    return [...this.statuses.entries()].map(([k, v]) => `${k}: ${v}`).join(", ");
  }
}

export interface SenderOptions {
  url: () => string;
  bodies: RequestBodies;
  ledger: Ledger;
  senders: number;
  /** Senders stop taking new requests once this returns true. */
  stop: () => boolean;
  /**
   * What a sender does after a 429/503: `exporter` waits Retry-After and resends the same
   * request (as an OTLP exporter does); `aggressive` resends after a few milliseconds.
   */
  onRefused: "exporter" | "aggressive";
  /** After a connection error, give the request up (crash tests) rather than retry. */
  giveUpOnError?: boolean;
}

export async function runSenders(o: SenderOptions): Promise<void> {
  const one = async () => {
    while (!o.stop()) {
      const n = o.ledger.next++;
      const body = o.bodies.body(n);
      for (;;) {
        o.ledger.inFlight.add(n);
        const r = await postOtlp(o.url(), body);
        o.ledger.inFlight.delete(n);
        o.ledger.record(n, r);
        if (r.status === 200) break;
        if (r.status === 429 || r.status === 503) {
          await sleep(o.onRefused === "exporter" ? (r.retryAfter ?? 1) * 1000 : 5);
          if (o.stop() && o.onRefused === "aggressive") break;
          continue;
        }
        if (r.status === "error" && o.giveUpOnError) return;
        if (r.status === "error") {
          await sleep(200);
          continue;
        }
        throw new Error(`request ${n} got HTTP ${r.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.senders }, one));
}

export const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
