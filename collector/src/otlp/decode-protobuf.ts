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
  goFloatString,
  goJsonArray,
  goJsonFloat,
  goJsonObject,
  goJsonString,
  int64String,
  spanKindName,
  statusCodeName,
} from "./any-value.js";
import { startTimeReason } from "./span-time.js";
import { ProtoReader, WT_I32, WT_I64, WT_LEN, WT_VARINT } from "./protobuf-reader.js";

export interface DecodeOptions {
  /**
   * Deepest AnyValue array/kvlist nesting accepted (a top-level array is 1).
   * A span with a deeper attribute value is rejected and counted; so are all
   * spans of a resource whose attributes are too deep. Default 32.
   */
  maxAnyValueDepth?: number;
}

/**
 * Known fields of one message: their names (for error messages) and wire
 * types, so that a known field with the wrong wire type is an error while an
 * unknown field of any wire type is skipped.
 */
interface MessageSpec {
  readonly name: string;
  readonly fields: readonly (string | undefined)[];
  readonly wireTypes: readonly (number | undefined)[];
}

function spec(name: string, fields: Record<number, [string, number]>): MessageSpec {
  const names: (string | undefined)[] = [];
  const wts: (number | undefined)[] = [];
  for (const [num, [field, wt]] of Object.entries(fields)) {
    names[Number(num)] = field;
    wts[Number(num)] = wt;
  }
  return { name, fields: names, wireTypes: wts };
}

// opentelemetry/proto/{collector/trace,trace,common,resource}/v1.
const REQUEST = spec("ExportTraceServiceRequest", { 1: ["resource_spans", WT_LEN] });
const RESOURCE_SPANS = spec("ResourceSpans", {
  1: ["resource", WT_LEN],
  2: ["scope_spans", WT_LEN],
  3: ["schema_url", WT_LEN],
});
const RESOURCE = spec("Resource", {
  1: ["attributes", WT_LEN],
  2: ["dropped_attributes_count", WT_VARINT],
  3: ["entity_refs", WT_LEN],
});
const SCOPE_SPANS = spec("ScopeSpans", {
  1: ["scope", WT_LEN],
  2: ["spans", WT_LEN],
  3: ["schema_url", WT_LEN],
});
const SCOPE = spec("InstrumentationScope", {
  1: ["name", WT_LEN],
  2: ["version", WT_LEN],
  3: ["attributes", WT_LEN],
  4: ["dropped_attributes_count", WT_VARINT],
});
const SPAN = spec("Span", {
  1: ["trace_id", WT_LEN],
  2: ["span_id", WT_LEN],
  3: ["trace_state", WT_LEN],
  4: ["parent_span_id", WT_LEN],
  5: ["name", WT_LEN],
  6: ["kind", WT_VARINT],
  7: ["start_time_unix_nano", WT_I64],
  8: ["end_time_unix_nano", WT_I64],
  9: ["attributes", WT_LEN],
  10: ["dropped_attributes_count", WT_VARINT],
  11: ["events", WT_LEN],
  12: ["dropped_events_count", WT_VARINT],
  13: ["links", WT_LEN],
  14: ["dropped_links_count", WT_VARINT],
  15: ["status", WT_LEN],
  16: ["flags", WT_I32],
});
const EVENT = spec("Span.Event", {
  1: ["time_unix_nano", WT_I64],
  2: ["name", WT_LEN],
  3: ["attributes", WT_LEN],
  4: ["dropped_attributes_count", WT_VARINT],
});
const LINK = spec("Span.Link", {
  1: ["trace_id", WT_LEN],
  2: ["span_id", WT_LEN],
  3: ["trace_state", WT_LEN],
  4: ["attributes", WT_LEN],
  5: ["dropped_attributes_count", WT_VARINT],
  6: ["flags", WT_I32],
});
const STATUS = spec("Status", { 2: ["message", WT_LEN], 3: ["code", WT_VARINT] });
const KEY_VALUE = spec("KeyValue", { 1: ["key", WT_LEN], 2: ["value", WT_LEN] });
const ANY_VALUE = spec("AnyValue", {
  1: ["string_value", WT_LEN],
  2: ["bool_value", WT_VARINT],
  3: ["int_value", WT_VARINT],
  4: ["double_value", WT_I64],
  5: ["array_value", WT_LEN],
  6: ["kvlist_value", WT_LEN],
  7: ["bytes_value", WT_LEN],
});
const ARRAY_VALUE = spec("ArrayValue", { 1: ["values", WT_LEN] });
const KEY_VALUE_LIST = spec("KeyValueList", { 1: ["values", WT_LEN] });

/**
 * Decodes an OTLP/HTTP protobuf `ExportTraceServiceRequest` straight into
 * `otel_traces` rows, without building the message tree first.
 *
 * Throws OtlpDecodeError (with the byte offset) when the body is not a valid
 * encoding; spans with invalid ids or over-deep attribute values are dropped
 * and counted in `rejected` instead.
 */
export function decodeTraceRequestProtobuf(buf: Uint8Array, opts?: DecodeOptions): DecodedSpans {
  return new TraceRequestDecoder(buf, opts?.maxAnyValueDepth ?? DEFAULT_MAX_ANY_VALUE_DEPTH).run();
}

/**
 * Reads single AnyValues of `buf` as pdata's AsString(): the transcoder's path for the
 * rare array, kvlist and bytes values. Returns undefined for a value nested deeper than
 * maxDepth (its span must be rejected); throws OtlpDecodeError like the decoder.
 */
export function anyValueReader(buf: Uint8Array, maxDepth = DEFAULT_MAX_ANY_VALUE_DEPTH): (start: number, end: number) => string | undefined {
  const d = new TraceRequestDecoder(buf, maxDepth);
  return (start, end) => d.anyValueAt(start, end);
}

class TraceRequestDecoder extends ProtoReader {
  private readonly rows: SpanRow[] = [];
  private readonly rej = new Rejections();
  private readonly maxDepth: number;
  /** Set when an AnyValue deeper than maxDepth was skipped. */
  private tooDeep = false;
  // Context of the spans being decoded; rows copy these at creation.
  private resAttrs: AttrPairs = [];
  private serviceName = "";
  private scopeName = "";
  private scopeVersion = "";

  constructor(buf: Uint8Array, maxDepth: number) {
    super(buf);
    this.maxDepth = maxDepth;
  }

  run(): DecodedSpans {
    const end = this.buf.length;
    let rs = 0;
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      if (tag === 0x0a) {
        const n = this.len(end);
        this.resourceSpans(this.pos + n, rs++);
      } else {
        this.unknown(REQUEST, tag, end, tagPos);
      }
    }
    const out: DecodedSpans = { rows: this.rows, rejected: this.rej.count };
    const reason = this.rej.message();
    if (reason !== undefined) out.rejectReason = reason;
    return out;
  }

  anyValueAt(start: number, end: number): string | undefined {
    this.pos = start;
    this.tooDeep = false;
    const v = this.anyValue(end, 1);
    return this.tooDeep ? undefined : v;
  }

  /** Skips an unknown field; a known field arriving here has the wrong wire type. */
  private unknown(msg: MessageSpec, tag: number, end: number, tagPos: number): void {
    const field = tag >>> 3;
    const expected = msg.wireTypes[field];
    if (expected !== undefined) {
      this.wrongWireType(tag, tagPos, `${msg.name}.${msg.fields[field]}`, expected);
    }
    this.skip(tag, end, tagPos);
  }

  private resourceSpans(end: number, rs: number): void {
    const attrs: AttrPairs = [];
    this.resAttrs = attrs;
    this.serviceName = "";
    const rowStart = this.rows.length;
    let ss = 0;
    let resourceAfterSpans = false;
    let tooDeep = false;
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a: {
          const n = this.len(end);
          // Field order is free; a late resource means rows need patching.
          if (ss > 0) resourceAfterSpans = true;
          this.tooDeep = false;
          this.resource(this.pos + n, attrs);
          if (this.tooDeep) tooDeep = true;
          this.serviceName = serviceNameOf(attrs);
          break;
        }
        case 0x12: {
          const n = this.len(end);
          this.scopeSpans(this.pos + n, rs, ss++);
          break;
        }
        case 0x1a:
          this.skipLen(end);
          break;
        default:
          this.unknown(RESOURCE_SPANS, tag, end, tagPos);
      }
    }
    const rows = this.rows;
    if (tooDeep) {
      const n = rows.length - rowStart;
      rows.length = rowStart;
      if (n > 0) {
        this.rej.add(n, `resourceSpans[${rs}]: a resource attribute value is nested deeper than ${this.maxDepth} levels`);
      }
    } else if (resourceAfterSpans) {
      for (let i = rowStart; i < rows.length; i++) rows[i]!.serviceName = this.serviceName;
    }
  }

  private resource(end: number, attrs: AttrPairs): void {
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a: {
          const n = this.len(end);
          this.keyValue(this.pos + n, attrs);
          break;
        }
        case 0x10:
          this.varint64(end);
          break;
        case 0x1a:
          this.skipLen(end);
          break;
        default:
          this.unknown(RESOURCE, tag, end, tagPos);
      }
    }
  }

  private scopeSpans(end: number, rs: number, ss: number): void {
    this.scopeName = "";
    this.scopeVersion = "";
    const rowStart = this.rows.length;
    let sp = 0;
    let scopeAfterSpans = false;
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a: {
          const n = this.len(end);
          if (sp > 0) scopeAfterSpans = true;
          this.scope(this.pos + n);
          break;
        }
        case 0x12: {
          const n = this.len(end);
          this.span(this.pos + n, rs, ss, sp++);
          break;
        }
        case 0x1a:
          this.skipLen(end);
          break;
        default:
          this.unknown(SCOPE_SPANS, tag, end, tagPos);
      }
    }
    if (scopeAfterSpans) {
      const rows = this.rows;
      for (let i = rowStart; i < rows.length; i++) {
        rows[i]!.scopeName = this.scopeName;
        rows[i]!.scopeVersion = this.scopeVersion;
      }
    }
  }

  private scope(end: number): void {
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a:
          this.scopeName = this.str(this.len(end));
          break;
        case 0x12:
          this.scopeVersion = this.str(this.len(end));
          break;
        case 0x1a:
          // otel_traces has no column for scope attributes.
          this.skipLen(end);
          break;
        case 0x20:
          this.varint64(end);
          break;
        default:
          this.unknown(SCOPE, tag, end, tagPos);
      }
    }
  }

  private span(end: number, rs: number, ss: number, sp: number): void {
    let traceOff = 0;
    let traceLen = 0;
    let spanOff = 0;
    let spanLen = 0;
    let parentOff = 0;
    let parentLen = 0;
    let traceState = "";
    let name = "";
    let kind = 0;
    let start = 0n;
    let stop = 0n;
    let statusCode = 0;
    let statusMessage = "";
    const attrs: AttrPairs = [];
    const events: SpanEventRow[] = [];
    const links: SpanLinkRow[] = [];
    this.tooDeep = false;
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a:
          traceLen = this.len(end);
          traceOff = this.pos;
          this.pos += traceLen;
          break;
        case 0x12:
          spanLen = this.len(end);
          spanOff = this.pos;
          this.pos += spanLen;
          break;
        case 0x1a:
          traceState = this.str(this.len(end));
          break;
        case 0x22:
          parentLen = this.len(end);
          parentOff = this.pos;
          this.pos += parentLen;
          break;
        case 0x2a:
          name = this.str(this.len(end));
          break;
        case 0x30:
          kind = this.int32(end);
          break;
        case 0x39:
          start = this.fixed64Big(end);
          break;
        case 0x41:
          stop = this.fixed64Big(end);
          break;
        case 0x4a: {
          const n = this.len(end);
          this.keyValue(this.pos + n, attrs);
          break;
        }
        case 0x50:
        case 0x60:
        case 0x70:
          this.varint64(end);
          break;
        case 0x5a: {
          const n = this.len(end);
          this.event(this.pos + n, events);
          break;
        }
        case 0x6a: {
          const n = this.len(end);
          this.link(this.pos + n, links);
          break;
        }
        case 0x7a: {
          // A repeated non-repeated message merges: later fields override.
          const n = this.len(end);
          const sEnd = this.pos + n;
          while (this.pos < sEnd) {
            const sTagPos = this.pos;
            const sTag = this.tag(sEnd);
            if (sTag === 0x12) statusMessage = this.str(this.len(sEnd));
            else if (sTag === 0x18) statusCode = this.int32(sEnd);
            else this.unknown(STATUS, sTag, sEnd, sTagPos);
          }
          break;
        }
        case 0x85:
          this.fixed32(end);
          break;
        default:
          this.unknown(SPAN, tag, end, tagPos);
      }
    }

    let reason: string | undefined;
    if (traceLen !== 16) {
      reason = traceLen === 0 ? "trace_id is missing" : `trace_id has ${traceLen} bytes, want 16`;
    } else if (this.allZero(traceOff, 16)) {
      reason = "trace_id is all zeroes";
    } else if (spanLen !== 8) {
      reason = spanLen === 0 ? "span_id is missing" : `span_id has ${spanLen} bytes, want 8`;
    } else if (this.allZero(spanOff, 8)) {
      reason = "span_id is all zeroes";
    } else if (parentLen !== 0 && parentLen !== 8) {
      reason = `parent_span_id has ${parentLen} bytes, want 8 or none`;
    } else if (this.tooDeep) {
      reason = `an attribute value is nested deeper than ${this.maxDepth} levels`;
    } else {
      reason = startTimeReason(start, "start_time_unix_nano");
    }
    if (reason !== undefined) {
      this.rej.add(1, `resourceSpans[${rs}].scopeSpans[${ss}].spans[${sp}]: ${reason}`);
      return;
    }

    this.rows.push({
      timestamp: start,
      traceId: this.hex(traceOff, 16),
      spanId: this.hex(spanOff, 8),
      parentSpanId: this.validId(parentOff, parentLen, 8) ? this.hex(parentOff, 8) : "",
      traceState,
      spanName: name,
      spanKind: spanKindName(kind),
      serviceName: this.serviceName,
      resourceAttributes: this.resAttrs,
      scopeName: this.scopeName,
      scopeVersion: this.scopeVersion,
      spanAttributes: attrs,
      duration: stop > start ? stop - start : 0n,
      statusCode: statusCodeName(statusCode),
      statusMessage,
      events,
      links,
    });
  }

  private event(end: number, out: SpanEventRow[]): void {
    let time = 0n;
    let name = "";
    const attrs: AttrPairs = [];
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x09:
          time = this.fixed64Big(end);
          break;
        case 0x12:
          name = this.str(this.len(end));
          break;
        case 0x1a: {
          const n = this.len(end);
          this.keyValue(this.pos + n, attrs);
          break;
        }
        case 0x20:
          this.varint64(end);
          break;
        default:
          this.unknown(EVENT, tag, end, tagPos);
      }
    }
    out.push({ timeUnixNano: time, name, attributes: attrs });
  }

  private link(end: number, out: SpanLinkRow[]): void {
    let traceOff = 0;
    let traceLen = 0;
    let spanOff = 0;
    let spanLen = 0;
    let traceState = "";
    const attrs: AttrPairs = [];
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a:
          traceLen = this.len(end);
          traceOff = this.pos;
          this.pos += traceLen;
          break;
        case 0x12:
          spanLen = this.len(end);
          spanOff = this.pos;
          this.pos += spanLen;
          break;
        case 0x1a:
          traceState = this.str(this.len(end));
          break;
        case 0x22: {
          const n = this.len(end);
          this.keyValue(this.pos + n, attrs);
          break;
        }
        case 0x28:
          this.varint64(end);
          break;
        case 0x35:
          this.fixed32(end);
          break;
        default:
          this.unknown(LINK, tag, end, tagPos);
      }
    }
    // Like traceutil.*IDToHexOrEmptyString; a malformed link id also becomes
    // '' rather than costing the span.
    out.push({
      traceId: this.validId(traceOff, traceLen, 16) ? this.hex(traceOff, 16) : "",
      spanId: this.validId(spanOff, spanLen, 8) ? this.hex(spanOff, 8) : "",
      traceState,
      attributes: attrs,
    });
  }

  /** One KeyValue, appended to `out` with its value as pdata's AsString(). */
  private keyValue(end: number, out: AttrPairs): void {
    let key = "";
    let value = "";
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      if (tag === 0x0a) {
        key = this.str(this.len(end));
      } else if (tag === 0x12) {
        const n = this.len(end);
        value = this.anyValue(this.pos + n, 1);
      } else {
        this.unknown(KEY_VALUE, tag, end, tagPos);
      }
    }
    out.push([key, value]);
  }

  /** AnyValue as pdata's AsString(). The oneof's last field wins, as in protobuf. */
  private anyValue(end: number, depth: number): string {
    let v = "";
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a:
          v = this.str(this.len(end));
          break;
        case 0x10:
          this.varint64(end);
          v = (this.lo | this.hi) !== 0 ? "true" : "false";
          break;
        case 0x18:
          this.varint64(end);
          v = int64String(this.lo, this.hi);
          break;
        case 0x21:
          v = goFloatString(this.double(end));
          break;
        case 0x2a:
        case 0x32: {
          const n = this.len(end);
          v = this.container(tag, this.pos + n, depth) ?? "";
          break;
        }
        case 0x3a: {
          const n = this.len(end);
          v = this.nb.toString("base64", this.pos, this.pos + n);
          this.pos += n;
          break;
        }
        default:
          this.unknown(ANY_VALUE, tag, end, tagPos);
      }
    }
    return v;
  }

  /** AnyValue as Go JSON (inside an array/kvlist); null when Marshal would fail. */
  private anyValueJson(end: number, depth: number): string | null {
    let v: string | null = "null";
    while (this.pos < end) {
      const tagPos = this.pos;
      const tag = this.tag(end);
      switch (tag) {
        case 0x0a:
          v = goJsonString(this.str(this.len(end)));
          break;
        case 0x10:
          this.varint64(end);
          v = (this.lo | this.hi) !== 0 ? "true" : "false";
          break;
        case 0x18:
          this.varint64(end);
          v = int64String(this.lo, this.hi);
          break;
        case 0x21:
          v = goJsonFloat(this.double(end));
          break;
        case 0x2a:
        case 0x32: {
          const n = this.len(end);
          v = this.container(tag, this.pos + n, depth);
          break;
        }
        case 0x3a: {
          const n = this.len(end);
          v = '"' + this.nb.toString("base64", this.pos, this.pos + n) + '"';
          this.pos += n;
          break;
        }
        default:
          this.unknown(ANY_VALUE, tag, end, tagPos);
      }
    }
    return v;
  }

  /** An array (tag 0x2a) or kvlist (0x32) at nesting level `depth`, as JSON. */
  private container(tag: number, end: number, depth: number): string | null {
    if (depth > this.maxDepth) {
      // Skipping by length keeps recursion bounded; the span is rejected.
      this.tooDeep = true;
      this.pos = end;
      return null;
    }
    if (tag === 0x2a) {
      const items: Array<string | null> = [];
      while (this.pos < end) {
        const tagPos = this.pos;
        const t = this.tag(end);
        if (t === 0x0a) {
          const n = this.len(end);
          items.push(this.anyValueJson(this.pos + n, depth + 1));
        } else {
          this.unknown(ARRAY_VALUE, t, end, tagPos);
        }
      }
      return goJsonArray(items);
    }
    const keys: string[] = [];
    const values: Array<string | null> = [];
    while (this.pos < end) {
      const tagPos = this.pos;
      const t = this.tag(end);
      if (t !== 0x0a) {
        this.unknown(KEY_VALUE_LIST, t, end, tagPos);
        continue;
      }
      const kvLen = this.len(end);
      const kvEnd = this.pos + kvLen;
      let key = "";
      // A KeyValue without a value is an empty AnyValue: JSON null.
      let value: string | null = "null";
      while (this.pos < kvEnd) {
        const kvTagPos = this.pos;
        const kt = this.tag(kvEnd);
        if (kt === 0x0a) key = this.str(this.len(kvEnd));
        else if (kt === 0x12) {
          const n = this.len(kvEnd);
          value = this.anyValueJson(this.pos + n, depth + 1);
        } else this.unknown(KEY_VALUE, kt, kvEnd, kvTagPos);
      }
      keys.push(key);
      values.push(value);
    }
    return goJsonObject(keys, values);
  }
}

/** pdata Map.Get returns the first match; AsString() of it. */
function serviceNameOf(attrs: AttrPairs): string {
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i]!;
    if (kv[0] === "service.name") return kv[1];
  }
  return "";
}
