/**
 * A small OTLP trace model with its own protobuf and JSON encoders, so that tests can
 * write what no well-behaved SDK would: raw (invalid UTF-8) bytes in strings, ids of any
 * length, fields with the wrong wire type or JSON type, unknown fields, deep nesting.
 */

/** A string field: text, or raw bytes written as they are (possibly invalid UTF-8). */
export type Str = string | Buffer;

export type AnyVal =
  | { s: Str }
  | { b: boolean }
  | { i: bigint }
  | { d: number }
  | { arr: AnyVal[] }
  | { kv: KV[] }
  | { bytes: Buffer }
  | { empty: true };

export interface KV {
  key: Str;
  value?: AnyVal;
}

export interface SpanModel {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  /** JSON only: ids written as these strings instead of the hex of the bytes. */
  jsonIds?: { traceId?: string; spanId?: string; parentSpanId?: string };
  name: Str;
  kind: number;
  start: bigint;
  end: bigint;
  attrs: KV[];
  events: { time: bigint; name: Str; attrs: KV[] }[];
  links: { traceId: Buffer; spanId: Buffer; attrs: KV[] }[];
  status?: { code: number; message: Str };
  /** Protobuf only: raw fields appended to the Span message (unknown fields, wrong wire types). */
  extraPb?: Buffer;
}

export interface ResourceSpansModel {
  resAttrs: KV[];
  scopes: { name: Str; version: Str; spans: SpanModel[] }[];
}

// ------------------------------------------------------------------ protobuf

export const WT = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

const SMALL_VARINTS = Array.from({ length: 128 }, (_, i) => Buffer.from([i]));

export class Pb {
  private readonly parts: Buffer[] = [];

  static varintBytes(v: bigint | number): Buffer {
    if (typeof v === "number" && v >= 0 && v < 0x10000000) {
      if (v < 0x80) return SMALL_VARINTS[v]!;
      const out: number[] = [];
      while (v >= 0x80) {
        out.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      out.push(v);
      return Buffer.from(out);
    }
    let n = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (n >= 0x80n) {
      out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(Number(n));
    return Buffer.from(out);
  }

  tag(field: number, wt: number): this {
    this.parts.push(Pb.varintBytes((field << 3) | wt));
    return this;
  }
  varint(field: number, v: bigint | number): this {
    this.tag(field, WT.VARINT);
    this.parts.push(Pb.varintBytes(v));
    return this;
  }
  bytes(field: number, b: Str | Pb): this {
    const buf = b instanceof Pb ? b.finish() : typeof b === "string" ? Buffer.from(b, "utf8") : b;
    this.tag(field, WT.LEN);
    this.parts.push(Pb.varintBytes(buf.length), buf);
    return this;
  }
  fixed64(field: number, v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    this.tag(field, WT.I64);
    this.parts.push(b);
    return this;
  }
  double(field: number, v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.tag(field, WT.I64);
    this.parts.push(b);
    return this;
  }
  fixed32(field: number, v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.tag(field, WT.I32);
    this.parts.push(b);
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function anyValuePb(v: AnyVal): Pb {
  const p = new Pb();
  if ("s" in v) p.bytes(1, v.s);
  else if ("b" in v) p.varint(2, v.b ? 1 : 0);
  else if ("i" in v) p.varint(3, v.i);
  else if ("d" in v) p.double(4, v.d);
  else if ("arr" in v) {
    const a = new Pb();
    for (const x of v.arr) a.bytes(1, anyValuePb(x));
    p.bytes(5, a);
  } else if ("kv" in v) {
    const l = new Pb();
    for (const x of v.kv) l.bytes(1, keyValuePb(x));
    p.bytes(6, l);
  } else if ("bytes" in v) p.bytes(7, v.bytes);
  return p;
}

export function keyValuePb(kv: KV): Pb {
  const p = new Pb().bytes(1, kv.key);
  if (kv.value !== undefined) p.bytes(2, anyValuePb(kv.value));
  return p;
}

export function spanPb(s: SpanModel): Pb {
  const p = new Pb().bytes(1, s.traceId).bytes(2, s.spanId);
  if (s.parentSpanId) p.bytes(4, s.parentSpanId);
  p.bytes(5, s.name).varint(6, s.kind).fixed64(7, s.start).fixed64(8, s.end);
  for (const a of s.attrs) p.bytes(9, keyValuePb(a));
  for (const e of s.events) {
    const ep = new Pb().fixed64(1, e.time).bytes(2, e.name);
    for (const a of e.attrs) ep.bytes(3, keyValuePb(a));
    p.bytes(11, ep);
  }
  for (const l of s.links) {
    const lp = new Pb().bytes(1, l.traceId).bytes(2, l.spanId);
    for (const a of l.attrs) lp.bytes(4, keyValuePb(a));
    p.bytes(13, lp);
  }
  if (s.status) p.bytes(15, new Pb().bytes(2, s.status.message).varint(3, s.status.code));
  if (s.extraPb) p.raw(s.extraPb);
  return p;
}

export function requestPb(rss: ResourceSpansModel[]): Buffer {
  const req = new Pb();
  for (const rs of rss) {
    const r = new Pb();
    const res = new Pb();
    for (const a of rs.resAttrs) res.bytes(1, keyValuePb(a));
    r.bytes(1, res);
    for (const sc of rs.scopes) {
      const ss = new Pb().bytes(1, new Pb().bytes(1, sc.name).bytes(2, sc.version));
      for (const s of sc.spans) ss.bytes(2, spanPb(s));
      r.bytes(2, ss);
    }
    req.bytes(1, r);
  }
  return req.finish();
}

// ------------------------------------------------------------------ JSON

/**
 * Raw byte strings go through JSON.stringify as placeholders and are spliced in
 * afterwards, so the body can hold bytes that are not UTF-8.
 */
class RawStrings {
  readonly bufs: Buffer[] = [];
  str(s: Str): string {
    if (typeof s === "string") return s;
    this.bufs.push(s);
    return `@@RAW${this.bufs.length - 1}@@`;
  }
  splice(text: string): Buffer {
    if (this.bufs.length === 0) return Buffer.from(text, "utf8");
    const out: Buffer[] = [];
    let last = 0;
    for (const m of text.matchAll(/@@RAW(\d+)@@/g)) {
      out.push(Buffer.from(text.slice(last, m.index), "utf8"), this.bufs[Number(m[1])]!);
      last = m.index! + m[0].length;
    }
    out.push(Buffer.from(text.slice(last), "utf8"));
    return Buffer.concat(out);
  }
}

function anyValueJson(v: AnyVal, raw: RawStrings): unknown {
  if ("s" in v) return { stringValue: raw.str(v.s) };
  if ("b" in v) return { boolValue: v.b };
  if ("i" in v) return { intValue: v.i.toString() };
  if ("d" in v) return { doubleValue: Number.isFinite(v.d) ? v.d : String(v.d) };
  if ("arr" in v) return { arrayValue: { values: v.arr.map((x) => anyValueJson(x, raw)) } };
  if ("kv" in v) return { kvlistValue: { values: v.kv.map((x) => kvJson(x, raw)) } };
  if ("bytes" in v) return { bytesValue: v.bytes.toString("base64") };
  return {};
}

function kvJson(kv: KV, raw: RawStrings): unknown {
  return kv.value === undefined ? { key: raw.str(kv.key) } : { key: raw.str(kv.key), value: anyValueJson(kv.value, raw) };
}

export function spanJson(s: SpanModel, raw: RawStrings): Record<string, unknown> {
  const o: Record<string, unknown> = {
    traceId: s.jsonIds?.traceId ?? s.traceId.toString("hex"),
    spanId: s.jsonIds?.spanId ?? s.spanId.toString("hex"),
    name: raw.str(s.name),
    kind: s.kind,
    startTimeUnixNano: s.start.toString(),
    endTimeUnixNano: s.end.toString(),
    attributes: s.attrs.map((a) => kvJson(a, raw)),
    events: s.events.map((e) => ({ timeUnixNano: e.time.toString(), name: raw.str(e.name), attributes: e.attrs.map((a) => kvJson(a, raw)) })),
    links: s.links.map((l) => ({ traceId: l.traceId.toString("hex"), spanId: l.spanId.toString("hex"), attributes: l.attrs.map((a) => kvJson(a, raw)) })),
  };
  const parent = s.jsonIds?.parentSpanId ?? s.parentSpanId?.toString("hex");
  if (parent !== undefined) o.parentSpanId = parent;
  if (s.status) o.status = { code: s.status.code, message: raw.str(s.status.message) };
  return o;
}

/** The request as a plain object plus the splicer for raw strings (for JSON mutations). */
export function requestJsonObject(rss: ResourceSpansModel[]): { obj: Record<string, unknown>; raw: RawStrings } {
  const raw = new RawStrings();
  const obj = {
    resourceSpans: rss.map((rs) => ({
      resource: { attributes: rs.resAttrs.map((a) => kvJson(a, raw)) },
      scopeSpans: rs.scopes.map((sc) => ({
        scope: { name: raw.str(sc.name), version: raw.str(sc.version) },
        spans: sc.spans.map((s) => spanJson(s, raw)),
      })),
    })),
  };
  return { obj, raw };
}

export function requestJson(rss: ResourceSpansModel[]): Buffer {
  const { obj, raw } = requestJsonObject(rss);
  return raw.splice(JSON.stringify(obj));
}

export function jsonWithRaw(obj: unknown, raw: { splice(text: string): Buffer }): Buffer {
  return raw.splice(JSON.stringify(obj));
}
