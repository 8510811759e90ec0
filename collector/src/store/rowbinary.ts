import type { AttrPairs, SpanRow } from "./span-row.js";

/** Columns of otel_traces in the order `encodeSpansRowBinary` writes them. */
export const SPAN_COLUMNS = [
  "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
  "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode", "StatusMessage",
  "Events.Timestamp", "Events.Name", "Events.Attributes",
  "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
] as const;

const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;

/**
 * A growable byte buffer for ClickHouse RowBinary. RowBinary costs ~5.7 µs a span
 * in JS against 17–19 µs for JSON.stringify (DESIGN.md), and the engine parses it
 * faster too.
 */
class RowBinaryWriter {
  buf: Buffer;
  pos = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  string(s: string): void {
    // A string of at most 42 UTF-16 units is at most 126 UTF-8 bytes, so its length
    // fits one varint byte and we can write it without measuring it first.
    if (s.length <= 42) {
      this.ensure(1 + s.length * 3);
      const n = this.buf.write(s, this.pos + 1, "utf8");
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, "utf8");
    this.varint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, "utf8");
    this.pos += n;
  }
  u64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }
  /** Timestamps: OTLP sends uint64, DateTime64(9) stores int64; clamp instead of throwing. */
  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v < 0n ? 0n : v > MAX_I64 ? MAX_I64 : v, this.pos);
    this.pos += 8;
  }
  map(pairs: AttrPairs): void {
    this.varint(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i]!;
      this.string(p[0]);
      this.string(p[1]);
    }
  }
}


export function encodeSpansRowBinary(rows: readonly SpanRow[]): Buffer {
  const w = new RowBinaryWriter(Math.max(4096, rows.length * 1536));
  for (const r of rows) {
    w.i64(r.timestamp);
    w.string(r.traceId);
    w.string(r.spanId);
    w.string(r.parentSpanId);
    w.string(r.traceState);
    w.string(r.spanName);
    w.string(r.spanKind);
    w.string(r.serviceName);
    w.map(r.resourceAttributes);
    w.string(r.scopeName);
    w.string(r.scopeVersion);
    w.map(r.spanAttributes);
    w.u64(r.duration < 0n ? 0n : r.duration > MAX_U64 ? MAX_U64 : r.duration);
    w.string(r.statusCode);
    w.string(r.statusMessage);
    const ev = r.events;
    w.varint(ev.length);
    for (const e of ev) w.i64(e.timeUnixNano);
    w.varint(ev.length);
    for (const e of ev) w.string(e.name);
    w.varint(ev.length);
    for (const e of ev) w.map(e.attributes);
    const ln = r.links;
    w.varint(ln.length);
    for (const l of ln) w.string(l.traceId);
    w.varint(ln.length);
    for (const l of ln) w.string(l.spanId);
    w.varint(ln.length);
    for (const l of ln) w.string(l.traceState);
    w.varint(ln.length);
    for (const l of ln) w.map(l.attributes);
  }
  return w.buf.subarray(0, w.pos);
}
