import type { AttrPairs, DecodedSpans, SpanRow } from "./span-row.js";

/** Columns of otel_traces in the order `encodeSpansRowBinary` writes them. */
export const SPAN_COLUMNS = [
  "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
  "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode", "StatusMessage",
  "Events.Timestamp", "Events.Name", "Events.Attributes",
  "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
] as const;

const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;

const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");

/**
 * A growable byte buffer for ClickHouse RowBinary. RowBinary costs ~5.7 µs a span
 * in JS against 17–19 µs for JSON.stringify (bench/otlp-decode.bench.mjs), and the engine parses it
 * faster too. The `*From` methods copy bytes straight out of another buffer (the
 * OTLP protobuf body), so the hot path never builds a JS string.
 */
export class RowBinaryWriter {
  buf: Buffer;
  pos = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initial));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
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
  /** Raw bytes src[off, off+n), no length prefix. */
  rawFrom(src: Uint8Array, off: number, n: number): void {
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    // A call into native copy costs more than a short JS loop.
    if (n <= 32) for (let i = off, e = off + n; i < e; i++) buf[p++] = src[i]!;
    else buf.set(src.subarray(off, off + n), p);
    this.pos += n;
  }
  /** A String column from UTF-8 bytes the caller has validated. */
  stringFrom(src: Uint8Array, off: number, n: number): void {
    this.varint(n);
    this.rawFrom(src, off, n);
  }
  /** A String column holding the lower-case hex of src[off, off+n). */
  hexFrom(src: Uint8Array, off: number, n: number): void {
    this.varint(n * 2);
    this.ensure(n * 2);
    const buf = this.buf;
    let p = this.pos;
    for (let i = off, e = off + n; i < e; i++) {
      const b = src[i]!;
      buf[p++] = HEX_DIGITS[b >>> 4]!;
      buf[p++] = HEX_DIGITS[b & 15]!;
    }
    this.pos = p;
  }
  /** Eight bytes little-endian from two uint32 halves. */
  u32pair(lo: number, hi: number): void {
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
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
  return w.bytes();
}

/** otel_traces rows of one OTLP request, RowBinary-encoded in SPAN_COLUMNS order. */
export interface RowBinarySpans {
  body: Buffer;
  rows: number;
  /** Spans dropped because they were invalid, for partial_success. */
  rejected: number;
  rejectReason?: string;
}

/** A decoder's result, encoded. */
export function encodeDecodedSpans(decoded: DecodedSpans): RowBinarySpans {
  const out: RowBinarySpans = { body: encodeSpansRowBinary(decoded.rows), rows: decoded.rows.length, rejected: decoded.rejected };
  if (decoded.rejectReason !== undefined) out.rejectReason = decoded.rejectReason;
  return out;
}
