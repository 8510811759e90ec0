import { deflateSync, gzipSync } from "node:zlib";
import {
  Pb,
  WT,
  requestJson,
  requestJsonObject,
  requestPb,
  jsonWithRaw,
  type AnyVal,
  type KV,
  type ResourceSpansModel,
  type SpanModel,
  type Str,
} from "./otlp-model.js";

export type Rand = () => number;

/** mulberry32: small, fast, and the same sequence for a seed on every machine. */
export function rng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export function randomBytes(r: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Random bytes that are never all zero, so a well-sized id is a valid one. */
function id(r: Rand, n: number): Buffer {
  const b = randomBytes(r, n);
  b[0] = b[0]! | 1;
  return b;
}

const WORDS = "the judge answer refund policy order delay customer support billing warranty naïve 日本語 Ελληνικά emoji🙂 \u2028 \"quoted\" back\\slash tab\t nl\n\n".split(" ");

function text(r: Rand, maxWords: number): string {
  const n = int(r, 0, maxWords);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(r, WORDS));
  return out.join(" ");
}

/** Bytes that are not UTF-8: lone continuation bytes, truncated sequences, overlongs, surrogates. */
export function invalidUtf8(r: Rand): Buffer {
  const bad = [[0x80], [0xbf], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xfe], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];
  const parts: Buffer[] = [];
  for (let i = int(r, 1, 4); i > 0; i--) {
    parts.push(Buffer.from(pick(r, WORDS).replace(/[\n\t"\\]/g, "")), Buffer.from(pick(r, bad)));
  }
  return Buffer.concat(parts);
}

function scalar(r: Rand): AnyVal {
  switch (int(r, 0, 5)) {
    case 0:
      return { s: text(r, 8) };
    case 1:
      return { b: r() < 0.5 };
    case 2:
      return { i: BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 53)) * BigInt(int(r, -3, 3))) };
    case 3:
      return { d: pick(r, [0, -0, 1.5, -2.25e-7, 1e21, Math.PI, NaN, Infinity, -Infinity]) };
    case 4:
      return { bytes: randomBytes(r, int(r, 0, 12)) };
    default:
      return { empty: true };
  }
}

function value(r: Rand, depth: number): AnyVal {
  if (depth >= 3 || r() < 0.7) return scalar(r);
  if (r() < 0.5) return { arr: Array.from({ length: int(r, 0, 3) }, () => value(r, depth + 1)) };
  return { kv: Array.from({ length: int(r, 0, 3) }, () => ({ key: pick(r, WORDS), value: value(r, depth + 1) })) };
}

function attrs(r: Rand, max: number): KV[] {
  return Array.from({ length: int(r, 0, max) }, (_, i) => ({ key: `k${i}.${pick(r, WORDS)}`, value: value(r, 0) }));
}

/** Nested arrays `depth` levels deep (a top-level array is level 1). */
export function nested(depth: number): AnyVal {
  let v: AnyVal = { s: "bottom" };
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { arr: [v] } : { kv: [{ key: "k", value: v }] };
  return v;
}

const NOW_NS = BigInt(Date.now()) * 1_000_000n;
const HOUR_NS = 3_600_000_000_000n;

export function validSpan(r: Rand, extraAttrs: KV[] = []): SpanModel {
  const start = NOW_NS - BigInt(Math.floor(r() * 12)) * HOUR_NS - BigInt(Math.floor(r() * 1e12));
  const span: SpanModel = {
    traceId: id(r, 16),
    spanId: id(r, 8),
    name: text(r, 3) || "op",
    kind: int(r, 0, 5),
    start,
    end: start + BigInt(Math.floor(r() * 5e9)),
    attrs: [...attrs(r, 6), ...extraAttrs],
    events: Array.from({ length: int(r, 0, 2) }, () => ({ time: start + 1000n, name: text(r, 2), attrs: attrs(r, 2) })),
    links: Array.from({ length: int(r, 0, 1) }, () => ({ traceId: id(r, 16), spanId: id(r, 8), attrs: attrs(r, 1) })),
  };
  if (r() < 0.5) span.parentSpanId = id(r, 8);
  if (r() < 0.3) span.status = { code: int(r, 0, 2), message: text(r, 3) };
  return span;
}

function wrap(spans: SpanModel[], r: Rand, resAttrs: KV[] = []): ResourceSpansModel {
  return {
    resAttrs: [{ key: "service.name", value: { s: `svc-${int(r, 0, 3)}` } }, ...resAttrs],
    scopes: [{ name: "fuzz", version: "1", spans }],
  };
}

export function validRequest(r: Rand, maxSpans = 6): ResourceSpansModel[] {
  return Array.from({ length: int(r, 1, 2) }, () => wrap(Array.from({ length: int(r, 1, maxSpans) }, () => validSpan(r)), r));
}

export type Format = "protobuf" | "json";

export interface Expected {
  /** `traceId:spanId` (lower-case hex) of every span that must be stored. */
  stored: string[];
  rejected: number;
}

export interface FuzzCase {
  cls: string;
  format: Format;
  body: Buffer;
  /** Extra request headers (content-type is set from `format` unless given here). */
  headers?: Record<string, string>;
  /** The decoder must refuse the whole body (HTTP 400). */
  mustFail?: boolean;
  /** The exact outcome: which spans are stored and how many are rejected. */
  expect?: Expected;
  /** HTTP statuses allowed for this case, when narrower than 200/400/413/415. */
  status?: number[];
}

const key = (s: SpanModel) => `${s.traceId.toString("hex")}:${s.spanId.toString("hex")}`;

function encode(format: Format, rss: ResourceSpansModel[]): Buffer {
  return format === "protobuf" ? requestPb(rss) : requestJson(rss);
}

// ------------------------------------------------------------------ invalid spans (known outcome)

type Defect = (s: SpanModel, r: Rand, format: Format) => void;

const PB_DEFECTS: Defect[] = [
  (s, r) => (s.traceId = id(r, pick(r, [1, 8, 15, 17, 32]))),
  (s) => (s.traceId = Buffer.alloc(0)),
  (s) => (s.traceId = Buffer.alloc(16)),
  (s, r) => (s.spanId = id(r, pick(r, [1, 4, 7, 9, 16]))),
  (s) => (s.spanId = Buffer.alloc(0)),
  (s) => (s.spanId = Buffer.alloc(8)),
  (s, r) => (s.parentSpanId = id(r, pick(r, [1, 7, 9, 16]))),
  (s, r) => s.attrs.push({ key: "too.deep", value: nested(int(r, 33, 200)) }),
];

const JSON_DEFECTS: Defect[] = [
  (s, r) => (s.jsonIds = { traceId: pick(r, ["", "xyz", "0".repeat(32), "a".repeat(31), "a".repeat(33), s.traceId.toString("base64"), ` ${s.traceId.toString("hex").slice(1)}`, `0x${s.traceId.toString("hex").slice(2)}`, "g".repeat(32)]) }),
  (s, r) => (s.jsonIds = { spanId: pick(r, ["", "0".repeat(16), "abc", "a".repeat(17), s.spanId.toString("base64"), "z".repeat(16)]) }),
  (s, r) => (s.jsonIds = { parentSpanId: pick(r, ["nothex", "a".repeat(15), "a".repeat(32)]) }),
  (s, r) => s.attrs.push({ key: "too.deep", value: nested(int(r, 33, 200)) }),
];

/**
 * A batch of valid and invalid spans with the exact outcome: the valid ones stored, the
 * invalid ones counted in partial_success. `marker` tags every span so SQL can find them.
 */
export function mixedBatch(r: Rand, format: Format, marker: KV[] = []): FuzzCase {
  const stored: string[] = [];
  let rejected = 0;
  const rss: ResourceSpansModel[] = [];
  for (let g = int(r, 1, 3); g > 0; g--) {
    const spans: SpanModel[] = [];
    for (let n = int(r, 1, 8); n > 0; n--) {
      const s = validSpan(r, marker);
      if (r() < 0.4) {
        pick(r, format === "protobuf" ? PB_DEFECTS : JSON_DEFECTS)(s, r, format);
        rejected++;
      } else {
        if (r() < 0.2) s.attrs.push({ key: "deep.but.allowed", value: nested(32) });
        if (format === "json" && r() < 0.2) {
          // Upper-case hex is still a valid id; it is stored lower-cased.
          s.jsonIds = { traceId: s.traceId.toString("hex").toUpperCase(), spanId: s.spanId.toString("hex").toUpperCase() };
        }
        if (format === "protobuf" && r() < 0.1) s.parentSpanId = Buffer.alloc(8); // all-zero parent = root
        stored.push(key(s));
      }
      spans.push(s);
    }
    rss.push(wrap(spans, r));
  }
  // A resource attribute nested too deep costs every span of its resource.
  if (r() < 0.15) {
    const spans = Array.from({ length: int(r, 1, 4) }, () => validSpan(r, marker));
    rss.push(wrap(spans, r, [{ key: "res.too.deep", value: nested(int(r, 33, 100)) }]));
    rejected += spans.length;
  }
  return { cls: "mixed-ids", format, body: encode(format, rss), expect: { stored, rejected } };
}

// ------------------------------------------------------------------ classes

/** Valid spans whose strings carry invalid UTF-8 (protobuf) or raw non-UTF-8 bytes and lone surrogates (JSON). */
export function invalidUtf8Case(r: Rand, format: Format, marker: KV[] = []): FuzzCase {
  const spans = Array.from({ length: int(r, 1, 5) }, () => {
    const s = validSpan(r, marker);
    s.name = invalidUtf8(r);
    s.attrs.push({ key: invalidUtf8(r), value: { s: invalidUtf8(r) } });
    if (format === "json") s.attrs.push({ key: "lone", value: { s: "a\ud800b\udfffc" } });
    s.events.push({ time: s.start, name: invalidUtf8(r), attrs: [{ key: "e", value: { arr: [{ s: invalidUtf8(r) }] } }] });
    return s;
  });
  return { cls: "invalid-utf8", format, body: encode(format, [wrap(spans, r)]), expect: { stored: spans.map(key), rejected: 0 } };
}

/** Unknown fields of every wire type (and groups) between the known ones must be skipped. */
export function unknownFieldsCase(r: Rand, format: Format, marker: KV[] = []): FuzzCase {
  const spans = Array.from({ length: int(r, 1, 4) }, () => validSpan(r, marker));
  if (format === "protobuf") {
    for (const s of spans) {
      const p = new Pb();
      for (let i = int(r, 1, 4); i > 0; i--) {
        const f = int(r, 17, 500);
        switch (int(r, 0, 4)) {
          case 0: p.varint(f, BigInt(int(r, 0, 1e9))); break;
          case 1: p.fixed64(f, 7n); break;
          case 2: p.bytes(f, randomBytes(r, int(r, 0, 40))); break;
          case 3: p.fixed32(f, 9); break;
          default: p.tag(f, WT.SGROUP).varint(1, 5).bytes(2, "g").tag(f, WT.EGROUP);
        }
      }
      s.extraPb = p.finish();
    }
    return { cls: "unknown-fields", format, body: requestPb([wrap(spans, r)]), expect: { stored: spans.map(key), rejected: 0 } };
  }
  const { obj, raw } = requestJsonObject([wrap(spans, r)]);
  const rs = (obj.resourceSpans as Record<string, unknown>[])[0]!;
  rs.unknownTopLevel = { deep: [[[1]]] };
  ((rs.scopeSpans as Record<string, unknown>[])[0]!.spans as Record<string, unknown>[]).forEach((s, i) => (s[`x_unknown_${i}`] = i % 2 ? "str" : { a: [1, 2] }));
  (obj as Record<string, unknown>).extra = 5;
  return { cls: "unknown-fields", format, body: jsonWithRaw(obj, raw), expect: { stored: spans.map(key), rejected: 0 } };
}

/** A known protobuf field with the wrong wire type, at span, resource or request level. */
export function wrongWireTypeCase(r: Rand): FuzzCase {
  const rss = validRequest(r, 3);
  // [field, expected wire type] of Span; any other wire type must be refused.
  const SPAN_FIELDS: [number, number][] = [[1, 2], [2, 2], [3, 2], [4, 2], [5, 2], [6, 0], [7, 1], [8, 1], [9, 2], [10, 0], [11, 2], [12, 0], [13, 2], [14, 0], [15, 2], [16, 5]];
  const [field, expected] = pick(r, SPAN_FIELDS);
  const wt = pick(r, [WT.VARINT, WT.I64, WT.LEN, WT.I32].filter((w) => w !== expected));
  const p = new Pb();
  if (wt === WT.VARINT) p.varint(field, 1);
  else if (wt === WT.I64) p.fixed64(field, 1n);
  else if (wt === WT.LEN) p.bytes(field, "x");
  else p.fixed32(field, 1);
  const where = int(r, 0, 2);
  if (where === 0) {
    const sc = rss[0]!.scopes[0]!;
    sc.spans[int(r, 0, sc.spans.length - 1)]!.extraPb = p.finish();
    return { cls: "wrong-type", format: "protobuf", body: requestPb(rss), mustFail: true };
  }
  // resource_spans (field 1 of the request) or scope_spans (field 2 of ResourceSpans) as a varint.
  const bad = where === 1 ? new Pb().varint(1, 3).finish() : new Pb().bytes(1, new Pb().varint(2, 1)).finish();
  return { cls: "wrong-type", format: "protobuf", body: Buffer.concat([requestPb(rss), bad]), mustFail: true };
}

type JsonMutation = (o: any, r: Rand) => void;
const span0 = (o: any) => o.resourceSpans[0].scopeSpans[0].spans[0];
const JSON_WRONG_TYPES: JsonMutation[] = [
  (o, r) => (o.resourceSpans = pick(r, [{}, "x", 5, true])),
  (o, r) => (o.resourceSpans[0] = pick(r, ["x", 5, [], true])),
  (o, r) => (o.resourceSpans[0].resource = pick(r, ["x", 5, []])),
  (o, r) => (o.resourceSpans[0].resource.attributes = pick(r, [{}, "x", 5])),
  (o, r) => (o.resourceSpans[0].scopeSpans = pick(r, [{}, "x", 5])),
  (o, r) => (o.resourceSpans[0].scopeSpans[0].spans = pick(r, [{}, "x", 5])),
  (o, r) => (o.resourceSpans[0].scopeSpans[0].scope = pick(r, ["x", 5, []])),
  (o, r) => (o.resourceSpans[0].scopeSpans[0].scope = { name: pick(r, [5, true, {}, []]) }),
  (o, r) => (o.resourceSpans[0].scopeSpans[0].spans[0] = pick(r, ["x", 5, [], true])),
  (o, r) => (span0(o).traceId = pick(r, [5, {}, [], true])),
  (o, r) => (span0(o).spanId = pick(r, [5, {}, [], true])),
  (o, r) => (span0(o).parentSpanId = pick(r, [5, {}, []])),
  (o, r) => (span0(o).name = pick(r, [5, true, {}, []])),
  (o, r) => (span0(o).kind = pick(r, ["SPAN_KIND_NOPE", 1.5, {}, true, "1"])),
  (o, r) => (span0(o).startTimeUnixNano = pick(r, ["abc", -1, 1.5, "1e9", "-5", {}, true, "18446744073709551616", "123456789012345678901"])),
  (o, r) => (span0(o).endTimeUnixNano = pick(r, ["abc", -1, 1.5, {}])),
  (o, r) => (span0(o).attributes = pick(r, [{}, "x", 5])),
  (o, r) => (span0(o).attributes = [pick(r, [5, "x", [], true])]),
  (o, r) => (span0(o).attributes = [{ key: pick(r, [5, {}, true]), value: { stringValue: "v" } }]),
  (o, r) => (span0(o).attributes = [{ key: "k", value: pick(r, ["x", 5, [], true]) }]),
  (o, r) =>
    (span0(o).attributes = [
      {
        key: "k",
        value: pick(r, [
          { stringValue: 5 },
          { intValue: 1.5 },
          { intValue: "abc" },
          { intValue: "9223372036854775808" },
          { intValue: {} },
          { boolValue: "true" },
          { boolValue: 1 },
          { doubleValue: "abc" },
          { doubleValue: {} },
          { bytesValue: "!!not base64" },
          { bytesValue: 5 },
          { arrayValue: 5 },
          { arrayValue: { values: {} } },
          { arrayValue: { values: [5] } },
          { kvlistValue: [] },
          { kvlistValue: { values: [5] } },
          { kvlistValue: { values: [{ key: 5 }] } },
        ]),
      },
    ]),
  (o, r) => (span0(o).events = pick(r, [{}, "x", 5])),
  (o, r) => (span0(o).events = [{ timeUnixNano: pick(r, ["x", -1, {}]), name: "e" }]),
  (o, r) => (span0(o).events = [{ name: pick(r, [5, {}]) }]),
  (o, r) => (span0(o).links = pick(r, [{}, "x", 5])),
  (o, r) => (span0(o).links = [{ traceId: pick(r, [5, {}]) }]),
  (o, r) => (span0(o).status = pick(r, ["x", 5, []])),
  (o, r) => (span0(o).status = { code: pick(r, ["STATUS_CODE_NOPE", 1.5, {}, true]) }),
  (o, r) => (span0(o).status = { message: pick(r, [5, {}, []]) }),
];

export function jsonWrongTypeCase(r: Rand): FuzzCase {
  const { obj, raw } = requestJsonObject(validRequest(r, 3));
  pick(r, JSON_WRONG_TYPES)(obj, r);
  return { cls: "wrong-type", format: "json", body: jsonWithRaw(obj, raw), mustFail: true };
}

/** Whole bodies that are not an object, or not JSON at all. */
export function jsonNotARequestCase(r: Rand): FuzzCase {
  const bodies = ["null", "[]", "5", '"x"', "true", "[{}]", "{", "", "{\"resourceSpans\":[", "\u0000", "{\"a\":1}}", "{'a':1}", "NaN"];
  return { cls: "wrong-type", format: "json", body: Buffer.from(pick(r, bodies)), mustFail: true };
}

export function randomBytesCase(r: Rand, format: Format): FuzzCase {
  const n = int(r, 0, r() < 0.9 ? 256 : 4096);
  if (format === "protobuf") return { cls: "random-bytes", format, body: randomBytes(r, n) };
  // Printable noise with JSON punctuation, so the parser gets some way in.
  const alphabet = '{}[]:,"0123456789.-eE truefalsnul\\abcxyz\u00e9';
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return { cls: "random-bytes", format, body: Buffer.from(s) };
}

export function truncatedCase(r: Rand, format: Format, pool: Buffer[]): FuzzCase {
  const b = pick(r, pool);
  return { cls: "truncated", format, body: b.subarray(0, int(r, 0, b.length - 1)) };
}

export function mutatedCase(r: Rand, format: Format, pool: Buffer[]): FuzzCase {
  const src = pick(r, pool);
  let b = Buffer.from(src);
  for (let k = int(r, 1, 8); k > 0; k--) {
    const at = int(r, 0, Math.max(0, b.length - 1));
    switch (int(r, 0, 4)) {
      case 0:
        b[at] = b[at]! ^ (1 << int(r, 0, 7));
        break;
      case 1:
        b[at] = int(r, 0, 255);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), randomBytes(r, int(r, 1, 8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + int(r, 1, 8))]);
        break;
      default:
        // A varint length field made huge: a classic for decoders that trust lengths.
        b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), b.subarray(at + 1)]);
    }
  }
  return { cls: "mutated", format, body: b };
}

/** AnyValue nesting far past the limit, unknown nested messages and groups, deep JSON. */
export function deepCase(r: Rand, format: Format, marker: KV[] = []): FuzzCase {
  const kind = int(r, 0, 2);
  if (kind === 0) {
    // A span with an attribute nested too deep is rejected; its siblings are stored.
    const ok = validSpan(r, marker);
    const deep = validSpan(r, marker);
    // The decoders stop at level 33 whatever lies below; the parser gets real depth in the JSON cases below.
    deep.attrs.push({ key: "deep", value: nested(int(r, 33, r() < 0.9 ? 100 : 400)) });
    return { cls: "deep-nesting", format, body: encode(format, [wrap([ok, deep], r)]), expect: { stored: [key(ok)], rejected: 1 } };
  }
  if (format === "protobuf") {
    if (kind === 1) {
      // Unknown field 99 holding messages nested thousands deep: skipped by length, never recursed.
      // Lengths from the inside out, then the prefixes outside in: no quadratic copying.
      const levels = int(r, 100, 5000);
      const lens: number[] = [2];
      for (let i = 1; i <= levels; i++) lens.push(2 + Pb.varintBytes(lens[i - 1]!).length + lens[i - 1]!);
      const parts: Buffer[] = [];
      for (let i = levels; i >= 1; i--) parts.push(Buffer.from([0x9a, 0x06]), Pb.varintBytes(lens[i - 1]!));
      parts.push(Buffer.from([0x08, 0x01]));
      const ok = validSpan(r, marker);
      ok.extraPb = Buffer.concat(parts);
      return { cls: "deep-nesting", format, body: requestPb([wrap([ok], r)]), expect: { stored: [key(ok)], rejected: 0 } };
    }
    // Groups nested past the skipper's limit.
    const depth = int(r, 65, 500);
    const parts: Buffer[] = [];
    for (let i = 0; i < depth; i++) parts.push(Pb.varintBytes((50 << 3) | WT.SGROUP));
    for (let i = 0; i < depth; i++) parts.push(Pb.varintBytes((50 << 3) | WT.EGROUP));
    return { cls: "deep-nesting", format, body: Buffer.concat([requestPb(validRequest(r, 2)), ...parts]), mustFail: true };
  }
  // JSON: deep arrays in an unknown field cost only the parser.
  const depth = int(r, 100, r() < 0.05 ? 100_000 : 3000);
  const req = requestJson(validRequest(r, 2)).toString("utf8");
  const deep = `"unknownDeep":${"[".repeat(depth)}1${"]".repeat(depth)},`;
  return { cls: "deep-nesting", format, body: Buffer.from(`{${deep}${req.slice(1)}`) };
}

export function hugeValueCase(r: Rand, format: Format, bytes: number, marker: KV[] = []): FuzzCase {
  const s = validSpan(r, marker);
  s.attrs.push({ key: "huge", value: { s: "x".repeat(bytes) } });
  if (r() < 0.5) s.attrs.push({ key: "many", value: { arr: Array.from({ length: 2000 }, (_, i) => ({ i: BigInt(i) })) } });
  return { cls: "huge-values", format, body: encode(format, [wrap([s], r)]), expect: { stored: [key(s)], rejected: 0 } };
}

export function jsonRandomValueCase(r: Rand): FuzzCase {
  const gen = (d: number): unknown => {
    switch (d > 4 ? int(r, 0, 3) : int(r, 0, 5)) {
      case 0: return null;
      case 1: return r() * 1e6;
      case 2: return text(r, 2);
      case 3: return r() < 0.5;
      case 4: return Array.from({ length: int(r, 0, 3) }, () => gen(d + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = int(r, 0, 3); i > 0; i--) {
          // defineProperty, so "__proto__" becomes a key of the body rather than this object's prototype.
          const k = pick(r, ["resourceSpans", "scopeSpans", "spans", "resource", "attributes", "traceId", "x", "__proto__", "constructor"]);
          Object.defineProperty(o, k, { value: gen(d + 1), enumerable: true, configurable: true, writable: true });
        }
        return o;
      }
    }
  };
  return { cls: "random-json", format: "json", body: Buffer.from(JSON.stringify({ resourceSpans: [gen(0)] })) };
}

export function validCase(r: Rand, format: Format, marker: KV[] = []): FuzzCase {
  const rss = validRequest(r).map((rs) => ({ ...rs, scopes: rs.scopes.map((sc) => ({ ...sc, spans: sc.spans.map((s) => ({ ...s, attrs: [...s.attrs, ...marker] })) })) }));
  const stored = rss.flatMap((rs) => rs.scopes.flatMap((sc) => sc.spans.map(key)));
  return { cls: "valid", format, body: encode(format, rss), expect: { stored, rejected: 0 } };
}

// ------------------------------------------------------------------ HTTP only

/**
 * Spans starting on 150 different days in one request (a backfill). otel_traces is
 * partitioned by day and ClickHouse refuses more than 100 partitions in one insert, so
 * the collector may refuse the request, but must not fail the requests batched with it.
 */
export function manyDaysCase(r: Rand): FuzzCase {
  const DAY = 86_400_000_000_000n;
  const spans = Array.from({ length: 150 }, (_, d) => {
    const s = validSpan(r);
    s.start = NOW_NS - BigInt(d) * DAY;
    s.end = s.start + 1000n;
    return s;
  });
  return { cls: "many-days", format: "protobuf", body: requestPb([wrap(spans, r)]), status: [200, 400] };
}

/** Compression bombs and broken compression (the receiver must stop at GAVEL_MAX_BODY_BYTES while inflating). */
export function bombCases(limit: number): FuzzCase[] {
  const zeros = (n: number) => Buffer.alloc(n);
  const cases: FuzzCase[] = [];
  for (const [size, enc] of [[limit * 2, "gzip"], [100 * 2 ** 20, "gzip"], [limit + 1, "gzip"], [100 * 2 ** 20, "deflate"], [limit * 3, "deflate"]] as const) {
    const body = enc === "gzip" ? gzipSync(zeros(size), { level: 9 }) : deflateSync(zeros(size), { level: 9 });
    cases.push({ cls: "gzip-bomb", format: "protobuf", body, headers: { "content-encoding": enc }, status: [413] });
  }
  // A gzip of a gzip bomb is small once inflated: the inner bomb is then just undecodable bytes.
  cases.push({ cls: "gzip-bomb", format: "protobuf", body: gzipSync(gzipSync(zeros(100 * 2 ** 20))), headers: { "content-encoding": "gzip" }, status: [400] });
  return cases;
}

export function badCompressionCase(r: Rand): FuzzCase {
  const valid = requestPb(validRequest(r, 2));
  const gz = gzipSync(valid);
  const body = pick(r, [randomBytes(r, int(r, 0, 200)), gz.subarray(0, int(r, 1, gz.length - 1)), Buffer.concat([gz.subarray(0, 10), randomBytes(r, 30)])]);
  return { cls: "bad-compression", format: "protobuf", body, headers: { "content-encoding": pick(r, ["gzip", "deflate"]) }, status: [400] };
}

export function badHeadersCase(r: Rand): FuzzCase {
  const body = requestPb(validRequest(r, 2));
  const h = pick<Record<string, string>>(r, [
    { "content-type": "text/plain" },
    { "content-type": "application/xml" },
    { "content-type": "multipart/form-data; boundary=x" },
    { "content-type": "" },
    { "content-type": "application/x-protobuf", "content-encoding": "br" },
    { "content-type": "application/x-protobuf", "content-encoding": "compress" },
    { "content-type": "application/json", "content-encoding": "zstd" },
  ]);
  return { cls: "bad-headers", format: "protobuf", body, headers: h, status: [415] };
}
