import type {
  AttrPairs,
  DecodedSpans,
  SpanEventRow,
  SpanLinkRow,
  SpanRow,
} from "../store/span-row.js";
import {
  DEFAULT_MAX_ANY_VALUE_DEPTH,
  Rejections,
  SPAN_KIND_NAMES,
  STATUS_CODE_NAMES,
  goFloatString,
  goJsonArray,
  goJsonFloat,
  goJsonObject,
  goJsonString,
  spanKindName,
  statusCodeName,
} from "./any-value.js";
import type { DecodeOptions } from "./decode-protobuf.js";
import { OtlpDecodeError } from "./errors.js";
import { startTimeReason } from "./span-time.js";

type Obj = Record<string, unknown>;

/**
 * A structural error on its way up: each level adds its path segment in a
 * catch, so the happy path never builds path strings.
 */
class PathFail {
  readonly segs: string[];
  constructor(
    seg: string | undefined,
    readonly msg: string,
  ) {
    this.segs = seg === undefined ? [] : [seg];
  }
  toError(): OtlpDecodeError {
    const path = this.segs.reverse().join(".");
    return new OtlpDecodeError(`${path === "" ? "request body" : path}: ${this.msg}`, { path });
  }
}

function within(e: unknown, seg: string): unknown {
  if (e instanceof PathFail) e.segs.push(seg);
  return e;
}

const EMPTY: readonly unknown[] = Object.freeze([]);

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Protobuf JSON accepts the lowerCamel json_name and the proto field name; null means unset. */
function get2(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  if (v !== undefined && v !== null) return v;
  const s = o[snake];
  return s === null ? undefined : s;
}

function get1(o: Obj, name: string): unknown {
  const v = o[name];
  return v === null ? undefined : v;
}

function obj(v: unknown, seg?: string): Obj {
  if (!isObj(v)) throw new PathFail(seg, "expected an object");
  return v;
}

function optObj(v: unknown, seg: string): Obj | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new PathFail(seg, "expected an object");
  return v;
}

function arr(v: unknown, seg: string): readonly unknown[] {
  if (v === undefined) return EMPTY;
  if (!Array.isArray(v)) throw new PathFail(seg, "expected an array");
  return v;
}

function str(v: unknown, seg: string): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  throw new PathFail(seg, "expected a string");
}

const UINT64_MAX = 18446744073709551615n;
const DIGITS = /^[0-9]{1,20}$/;

/** fixed64 nanoseconds: decimal string (protobuf JSON's int64 form) or number. */
function uint64(v: unknown, seg: string): bigint {
  if (typeof v === "string") {
    if (DIGITS.test(v)) {
      const n = BigInt(v);
      if (n <= UINT64_MAX) return n;
    }
  } else if (typeof v === "number") {
    if (Number.isInteger(v) && v >= 0 && v < 2 ** 64) return BigInt(v);
  } else if (v === undefined) {
    return 0n;
  }
  throw new PathFail(seg, "expected a decimal string or number (uint64)");
}

const SHORT_INT = /^-?(?:0|[1-9][0-9]{0,14})$/;
const INT = /^-?[0-9]{1,20}$/;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

/** int64 as canonical decimal, matching strconv.FormatInt. */
function int64Decimal(v: unknown, seg: string): string {
  if (typeof v === "string") {
    if (SHORT_INT.test(v)) return v === "-0" ? "0" : v;
    if (INT.test(v)) {
      const n = BigInt(v);
      if (n >= INT64_MIN && n <= INT64_MAX) return n.toString();
    }
  } else if (typeof v === "number" && Number.isInteger(v)) {
    if (Number.isSafeInteger(v)) return String(v === 0 ? 0 : v);
    const n = BigInt(v);
    if (n >= INT64_MIN && n <= INT64_MAX) return n.toString();
  }
  throw new PathFail(seg, "expected a decimal string or number (int64)");
}

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

function double(v: unknown, seg: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    // Protobuf JSON spells the non-finite values as strings and allows numeric strings.
    if (v === "NaN") return NaN;
    if (v === "Infinity") return Infinity;
    if (v === "-Infinity") return -Infinity;
    if (JSON_NUMBER.test(v)) return Number(v);
  }
  throw new PathFail(seg, "expected a number");
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** protobuf JSON bytes: standard or URL-safe base64, padding optional; re-encoded standard. */
function bytesBase64(v: unknown, seg: string): string {
  if (typeof v === "string" && BASE64.test(v) && v.replace(/=+$/, "").length % 4 !== 1) {
    return Buffer.from(v, "base64").toString("base64");
  }
  throw new PathFail(seg, "expected a base64 string");
}

function enumValue(v: unknown, names: ReadonlyMap<string, number>, seg: string): number {
  if (v === undefined) return 0;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string") {
    const n = names.get(v);
    if (n !== undefined) return n;
  }
  throw new PathFail(seg, `expected an enum number or one of ${Array.from(names.keys()).join(", ")}`);
}

const KIND_BY_NAME: ReadonlyMap<string, number> = new Map(
  ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"].map((n, i) => [`SPAN_KIND_${n}`, i]),
);
const CODE_BY_NAME: ReadonlyMap<string, number> = new Map(
  ["UNSET", "OK", "ERROR"].map((n, i) => [`STATUS_CODE_${n}`, i]),
);
// The tables must describe the same enums as the row strings.
if (KIND_BY_NAME.size !== SPAN_KIND_NAMES.length || CODE_BY_NAME.size !== STATUS_CODE_NAMES.length) {
  throw new Error("OTLP enum tables out of sync");
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX32_ANY_CASE = /^[0-9a-fA-F]{32}$/;
const HEX16_ANY_CASE = /^[0-9a-fA-F]{16}$/;
const ZERO32 = "0".repeat(32);
const ZERO16 = "0".repeat(16);

/** Lower-case hex id, or undefined when `s` is not `len` hex digits. */
function hexId(s: string, len: 16 | 32): string | undefined {
  if (len === 32) {
    if (HEX32.test(s)) return s;
    return HEX32_ANY_CASE.test(s) ? s.toLowerCase() : undefined;
  }
  if (HEX16.test(s)) return s;
  return HEX16_ANY_CASE.test(s) ? s.toLowerCase() : undefined;
}

function idReason(field: string, s: string, len: 16 | 32): string | undefined {
  if (s === "") return `${field} is missing`;
  const id = hexId(s, len);
  if (id === undefined) return `${field} is not ${len} hex characters`;
  if (id === (len === 32 ? ZERO32 : ZERO16)) return `${field} is all zeroes`;
  return undefined;
}

/** Like traceutil.*IDToHexOrEmptyString; a malformed link id becomes ''. */
function linkId(s: string, len: 16 | 32): string {
  const id = hexId(s, len);
  return id === undefined || id === (len === 32 ? ZERO32 : ZERO16) ? "" : id;
}

/**
 * Maps an already parsed OTLP/JSON `ExportTraceServiceRequest` to rows,
 * exactly as decodeTraceRequestProtobuf maps the protobuf form.
 *
 * Throws OtlpDecodeError naming the JSON path for structurally wrong input;
 * spans with invalid ids or over-deep attribute values are dropped and
 * counted in `rejected`.
 */
export function decodeTraceRequestJson(body: unknown, opts?: DecodeOptions): DecodedSpans {
  const d = new JsonTraceDecoder(opts?.maxAnyValueDepth ?? DEFAULT_MAX_ANY_VALUE_DEPTH);
  try {
    d.request(body);
  } catch (e) {
    if (e instanceof PathFail) throw e.toError();
    throw e;
  }
  const out: DecodedSpans = { rows: d.rows, rejected: d.rej.count };
  const reason = d.rej.message();
  if (reason !== undefined) out.rejectReason = reason;
  return out;
}

class JsonTraceDecoder {
  readonly rows: SpanRow[] = [];
  readonly rej = new Rejections();
  private tooDeep = false;

  constructor(private readonly maxDepth: number) {}

  request(body: unknown): void {
    const req = obj(body);
    const list = arr(get2(req, "resourceSpans", "resource_spans"), "resourceSpans");
    for (let i = 0; i < list.length; i++) {
      try {
        this.resourceSpans(list[i], i);
      } catch (e) {
        throw within(e, `resourceSpans[${i}]`);
      }
    }
  }

  private resourceSpans(x: unknown, rs: number): void {
    const o = obj(x);
    const attrs: AttrPairs = [];
    this.tooDeep = false;
    const resource = optObj(get1(o, "resource"), "resource");
    if (resource !== undefined) {
      try {
        this.attributes(get1(resource, "attributes"), attrs);
      } catch (e) {
        throw within(e, "resource");
      }
    }
    const tooDeep = this.tooDeep;
    let serviceName = "";
    for (let i = 0; i < attrs.length; i++) {
      if (attrs[i]![0] === "service.name") {
        serviceName = attrs[i]![1];
        break;
      }
    }
    const rowStart = this.rows.length;
    const list = arr(get2(o, "scopeSpans", "scope_spans"), "scopeSpans");
    for (let i = 0; i < list.length; i++) {
      try {
        this.scopeSpans(list[i], attrs, serviceName, rs, i);
      } catch (e) {
        throw within(e, `scopeSpans[${i}]`);
      }
    }
    if (tooDeep) {
      const n = this.rows.length - rowStart;
      this.rows.length = rowStart;
      if (n > 0) {
        this.rej.add(n, `resourceSpans[${rs}]: a resource attribute value is nested deeper than ${this.maxDepth} levels`);
      }
    }
  }

  private scopeSpans(x: unknown, resAttrs: AttrPairs, serviceName: string, rs: number, ss: number): void {
    const o = obj(x);
    let scopeName = "";
    let scopeVersion = "";
    const scope = optObj(get1(o, "scope"), "scope");
    if (scope !== undefined) {
      scopeName = str(get1(scope, "name"), "scope.name");
      scopeVersion = str(get1(scope, "version"), "scope.version");
    }
    const list = arr(get1(o, "spans"), "spans");
    for (let i = 0; i < list.length; i++) {
      try {
        this.span(list[i], resAttrs, serviceName, scopeName, scopeVersion, rs, ss, i);
      } catch (e) {
        throw within(e, `spans[${i}]`);
      }
    }
  }

  private span(
    x: unknown,
    resAttrs: AttrPairs,
    serviceName: string,
    scopeName: string,
    scopeVersion: string,
    rs: number,
    ss: number,
    sp: number,
  ): void {
    const o = obj(x);
    const traceId = str(get2(o, "traceId", "trace_id"), "traceId");
    const spanId = str(get2(o, "spanId", "span_id"), "spanId");
    const parentSpanId = str(get2(o, "parentSpanId", "parent_span_id"), "parentSpanId");
    const traceState = str(get2(o, "traceState", "trace_state"), "traceState");
    const name = str(get1(o, "name"), "name");
    const kind = enumValue(get1(o, "kind"), KIND_BY_NAME, "kind");
    const start = uint64(get2(o, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano");
    const stop = uint64(get2(o, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano");
    this.tooDeep = false;
    const attrs: AttrPairs = [];
    this.attributes(get1(o, "attributes"), attrs);
    const events = this.events(get1(o, "events"));
    const links = this.links(get1(o, "links"));
    let statusCode = 0;
    let statusMessage = "";
    const status = optObj(get1(o, "status"), "status");
    if (status !== undefined) {
      statusMessage = str(get1(status, "message"), "status.message");
      statusCode = enumValue(get1(status, "code"), CODE_BY_NAME, "status.code");
    }

    let reason = idReason("traceId", traceId, 32) ?? idReason("spanId", spanId, 16);
    if (reason === undefined && parentSpanId !== "" && hexId(parentSpanId, 16) === undefined) {
      reason = "parentSpanId is not 16 hex characters";
    }
    if (reason === undefined && this.tooDeep) {
      reason = `an attribute value is nested deeper than ${this.maxDepth} levels`;
    }
    reason ??= startTimeReason(start, "startTimeUnixNano");
    if (reason !== undefined) {
      this.rej.add(1, `resourceSpans[${rs}].scopeSpans[${ss}].spans[${sp}]: ${reason}`);
      return;
    }
    const parent = parentSpanId === "" ? "" : hexId(parentSpanId, 16)!;
    this.rows.push({
      timestamp: start,
      traceId: hexId(traceId, 32)!,
      spanId: hexId(spanId, 16)!,
      parentSpanId: parent === ZERO16 ? "" : parent,
      traceState,
      spanName: name,
      spanKind: spanKindName(kind),
      serviceName,
      resourceAttributes: resAttrs,
      scopeName,
      scopeVersion,
      spanAttributes: attrs,
      duration: stop > start ? stop - start : 0n,
      statusCode: statusCodeName(statusCode),
      statusMessage,
      events,
      links,
    });
  }

  private events(v: unknown): SpanEventRow[] {
    const list = arr(v, "events");
    const out: SpanEventRow[] = [];
    for (let i = 0; i < list.length; i++) {
      try {
        const o = obj(list[i]);
        const time = uint64(get2(o, "timeUnixNano", "time_unix_nano"), "timeUnixNano");
        const name = str(get1(o, "name"), "name");
        const attributes: AttrPairs = [];
        this.attributes(get1(o, "attributes"), attributes);
        out.push({ timeUnixNano: time, name, attributes });
      } catch (e) {
        throw within(e, `events[${i}]`);
      }
    }
    return out;
  }

  private links(v: unknown): SpanLinkRow[] {
    const list = arr(v, "links");
    const out: SpanLinkRow[] = [];
    for (let i = 0; i < list.length; i++) {
      try {
        const o = obj(list[i]);
        const traceId = str(get2(o, "traceId", "trace_id"), "traceId");
        const spanId = str(get2(o, "spanId", "span_id"), "spanId");
        const traceState = str(get2(o, "traceState", "trace_state"), "traceState");
        const attributes: AttrPairs = [];
        this.attributes(get1(o, "attributes"), attributes);
        out.push({ traceId: linkId(traceId, 32), spanId: linkId(spanId, 16), traceState, attributes });
      } catch (e) {
        throw within(e, `links[${i}]`);
      }
    }
    return out;
  }

  private attributes(v: unknown, out: AttrPairs): void {
    const list = arr(v, "attributes");
    for (let i = 0; i < list.length; i++) {
      try {
        const kv = obj(list[i]);
        const key = str(get1(kv, "key"), "key");
        out.push([key, this.anyValue(get1(kv, "value"), 1)]);
      } catch (e) {
        throw within(e, `attributes[${i}]`);
      }
    }
  }

  /** AnyValue as pdata's AsString(); see any-value.ts. */
  private anyValue(v: unknown, depth: number): string {
    if (v === undefined) return "";
    const o = obj(v, "value");
    try {
      const x = o.stringValue;
      if (typeof x === "string") return x;
      // Everything but a present string value takes the general path.
      return this.anyValueSlow(o, depth, false) ?? "";
    } catch (e) {
      throw within(e, "value");
    }
  }

  /** AnyValue as Go JSON (inside an array/kvlist); null when Marshal would fail. */
  private anyValueJson(v: unknown, depth: number): string | null {
    if (v === undefined) return "null";
    const o = obj(v);
    return this.anyValueSlow(o, depth, true);
  }

  /**
   * One AnyValue object. With `json` the result is a Go JSON fragment, else
   * the AsString() form. Fields are tried in a fixed order; OTLP senders set
   * at most one.
   */
  private anyValueSlow(o: Obj, depth: number, json: boolean): string | null {
    let x = get2(o, "stringValue", "string_value");
    if (x !== undefined) {
      const s = str(x, "stringValue");
      return json ? goJsonString(s) : s;
    }
    x = get2(o, "intValue", "int_value");
    if (x !== undefined) return int64Decimal(x, "intValue");
    x = get2(o, "boolValue", "bool_value");
    if (x !== undefined) {
      if (typeof x !== "boolean") throw new PathFail("boolValue", "expected true or false");
      return x ? "true" : "false";
    }
    x = get2(o, "doubleValue", "double_value");
    if (x !== undefined) {
      const d = double(x, "doubleValue");
      return json ? goJsonFloat(d) : goFloatString(d);
    }
    x = get2(o, "arrayValue", "array_value");
    if (x !== undefined) {
      const a = obj(x, "arrayValue");
      if (depth > this.maxDepth) {
        this.tooDeep = true;
        return null;
      }
      const list = arr(get1(a, "values"), "arrayValue.values");
      const items: Array<string | null> = new Array(list.length);
      for (let i = 0; i < list.length; i++) {
        try {
          items[i] = this.anyValueJson(list[i], depth + 1);
        } catch (e) {
          throw within(e, `arrayValue.values[${i}]`);
        }
      }
      return goJsonArray(items);
    }
    x = get2(o, "kvlistValue", "kvlist_value");
    if (x !== undefined) {
      const kvl = obj(x, "kvlistValue");
      if (depth > this.maxDepth) {
        this.tooDeep = true;
        return null;
      }
      const list = arr(get1(kvl, "values"), "kvlistValue.values");
      const keys: string[] = new Array(list.length);
      const values: Array<string | null> = new Array(list.length);
      for (let i = 0; i < list.length; i++) {
        try {
          const kv = obj(list[i]);
          keys[i] = str(get1(kv, "key"), "key");
          values[i] = this.anyValueJson(get1(kv, "value"), depth + 1);
        } catch (e) {
          throw within(e, `kvlistValue.values[${i}]`);
        }
      }
      return goJsonObject(keys, values);
    }
    x = get2(o, "bytesValue", "bytes_value");
    if (x !== undefined) {
      const b = bytesBase64(x, "bytesValue");
      return json ? '"' + b + '"' : b;
    }
    // An empty AnyValue: '' as a string, null inside JSON.
    return json ? "null" : "";
  }
}
