import { isUtf8 } from "node:buffer";
import { RowBinaryWriter, encodeDecodedSpans, type RowBinarySpans } from "../store/rowbinary.js";
import { DEFAULT_MAX_ANY_VALUE_DEPTH, SPAN_KIND_NAMES, STATUS_CODE_NAMES, goFloatString, int64String } from "./any-value.js";
import { anyValueReader, decodeTraceRequestProtobuf } from "./decode-protobuf.js";
import { OtlpDecodeError } from "./errors.js";
import { ProtoReader } from "./protobuf-reader.js";
import { MAX_START_TIME_HI, MAX_START_TIME_LO } from "./span-time.js";

/**
 * Appends the otel_traces RowBinary rows of an OTLP/protobuf `ExportTraceServiceRequest`
 * to `out` and returns how many there are.
 *
 * Ingest is CPU-bound on the collector's two cores, and decoding into row objects and
 * then encoding them cost ~55 µs of main-thread time per span under load, a quarter of it
 * garbage collection. The transcoder copies strings byte for byte from the body into the
 * RowBinary buffer and builds no objects per span. It covers what exporters send; for
 * anything unusual (an invalid span, a malformed body, fields out of their usual order,
 * repeated singular fields, unknown fields) it returns undefined, leaving `out` partly
 * written for the caller to roll back, and the body goes to `decodeProtobufToRowBinary`.
 * So rows and errors are always exactly the decoder's; tests hold the two to byte equality.
 */
export function transcodeTraceRequestProtobuf(
  buf: Uint8Array,
  out: RowBinaryWriter,
  maxAnyValueDepth = DEFAULT_MAX_ANY_VALUE_DEPTH,
): number | undefined {
  try {
    return new Transcoder(buf, out, maxAnyValueDepth).run();
  } catch (err) {
    if (err === BAIL || err instanceof OtlpDecodeError) return undefined;
    throw err;
  }
}

/** The reference path: decoder → rows → RowBinary, with per-span rejections; throws OtlpDecodeError. */
export function decodeProtobufToRowBinary(buf: Uint8Array, maxAnyValueDepth = DEFAULT_MAX_ANY_VALUE_DEPTH): RowBinarySpans {
  return encodeDecodedSpans(decodeTraceRequestProtobuf(buf, { maxAnyValueDepth }));
}

/** Thrown to leave the fast path; a plain object, so no stack is captured. */
const BAIL = { bail: true };

function encoded(s: string): Buffer {
  const w = new RowBinaryWriter(16);
  w.string(s);
  return Buffer.from(w.bytes());
}
const EMPTY = encoded("");
const EMPTY_SCOPE = Buffer.from([0, 0]);
const TRUE = encoded("true");
const FALSE = encoded("false");
const KIND = SPAN_KIND_NAMES.map(encoded);
const STATUS = STATUS_CODE_NAMES.map(encoded);
const SERVICE_NAME = Buffer.from("service.name");

/** Fixed-width records of int32s (offsets, lengths), reused across spans so the hot path allocates nothing. */
class Records {
  data: Int32Array;
  n = 0;
  constructor(readonly width: number) {
    this.data = new Int32Array(width * 32);
  }
  /** Appends a record; returns its first index. Read `data` after calling. */
  add(): number {
    const base = this.n * this.width;
    if (base + this.width > this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.n++;
    return base;
  }
}

class Transcoder extends ProtoReader {
  private rows = 0;
  private readonly maxDepth: number;
  private slowValue?: (start: number, end: number) => string | undefined;
  // Set by keyValue(): where the key was in the body and where its value starts in the output.
  private keyOff = 0;
  private keyLen = 0;
  private valuePos = 0;
  // Per-span scratch: [start, end) of attributes, events, links; event and link fields.
  private readonly spanKvs = new Records(2);
  private readonly events = new Records(2);
  private readonly links = new Records(2);
  private readonly eventMeta = new Records(6); // timeLo, timeHi (as int32), nameOff, nameLen, firstKv, kvCount
  private readonly eventKvs = new Records(2);
  private readonly linkMeta = new Records(8); // traceOff, traceLen, spanOff, spanLen, stateOff, stateLen, firstKv, kvCount
  private readonly linkKvs = new Records(2);

  constructor(buf: Uint8Array, private readonly w: RowBinaryWriter, maxDepth: number) {
    super(buf);
    this.maxDepth = maxDepth;
  }

  run(): number {
    const end = this.buf.length;
    while (this.pos < end) {
      if (this.tag(end) !== 0x0a) throw BAIL;
      const n = this.len(end);
      const rsEnd = this.pos + n;
      this.resourceSpans(rsEnd);
      this.pos = rsEnd;
    }
    return this.rows;
  }

  private resourceSpans(end: number): void {
    let res: Buffer = EMPTY;
    let svc: Buffer = EMPTY;
    let sawResource = false;
    let sawScopes = false;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 0x12) {
        sawScopes = true;
        const n = this.len(end);
        const ssEnd = this.pos + n;
        this.scopeSpans(ssEnd, res, svc);
        this.pos = ssEnd;
      } else if (tag === 0x0a) {
        // A late or repeated resource means patching rows already written.
        if (sawResource || sawScopes) throw BAIL;
        sawResource = true;
        const n = this.len(end);
        const rEnd = this.pos + n;
        [res, svc] = this.resource(rEnd);
        this.pos = rEnd;
      } else if (tag === 0x1a) {
        this.skipLen(end);
      } else {
        throw BAIL;
      }
    }
  }

  /** The resource's attributes as an encoded Map, and its service.name as an encoded String. */
  private resource(end: number): [Buffer, Buffer] {
    const pairs = new RowBinaryWriter(1024);
    let count = 0;
    let svc: Buffer = EMPTY;
    let svcFound = false;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 0x0a) {
        const n = this.len(end);
        this.keyValue(pairs, this.pos, this.pos + n);
        count++;
        if (!svcFound && this.isServiceName()) {
          svcFound = true;
          svc = Buffer.from(pairs.buf.subarray(this.valuePos, pairs.pos));
        }
      } else if (tag === 0x10) {
        this.varint64(end);
      } else if (tag === 0x1a) {
        this.skipLen(end);
      } else {
        throw BAIL;
      }
    }
    const map = new RowBinaryWriter(pairs.pos + 10);
    map.varint(count);
    map.rawFrom(pairs.buf, 0, pairs.pos);
    return [Buffer.from(map.bytes()), svc];
  }

  private isServiceName(): boolean {
    if (this.keyLen !== SERVICE_NAME.length) return false;
    const buf = this.buf;
    for (let i = 0; i < SERVICE_NAME.length; i++) if (buf[this.keyOff + i] !== SERVICE_NAME[i]) return false;
    return true;
  }

  private scopeSpans(end: number, res: Buffer, svc: Buffer): void {
    let scope: Buffer = EMPTY_SCOPE;
    let sawScope = false;
    let sawSpans = false;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 0x12) {
        sawSpans = true;
        const n = this.len(end);
        const spanEnd = this.pos + n;
        this.span(spanEnd, res, svc, scope);
        this.pos = spanEnd;
      } else if (tag === 0x0a) {
        if (sawScope || sawSpans) throw BAIL;
        sawScope = true;
        const n = this.len(end);
        scope = this.scope(this.pos + n);
      } else if (tag === 0x1a) {
        this.skipLen(end);
      } else {
        throw BAIL;
      }
    }
  }

  /** ScopeName and ScopeVersion, encoded. */
  private scope(end: number): Buffer {
    let nameOff = 0;
    let nameLen = 0;
    let versionOff = 0;
    let versionLen = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 0x0a) {
        nameLen = this.len(end);
        nameOff = this.pos;
        this.pos += nameLen;
      } else if (tag === 0x12) {
        versionLen = this.len(end);
        versionOff = this.pos;
        this.pos += versionLen;
      } else if (tag === 0x1a) {
        this.skipLen(end); // otel_traces has no column for scope attributes
      } else if (tag === 0x20) {
        this.varint64(end);
      } else {
        throw BAIL;
      }
    }
    const w = new RowBinaryWriter(nameLen + versionLen + 20);
    this.text(w, nameOff, nameLen);
    this.text(w, versionOff, versionLen);
    return Buffer.from(w.bytes());
  }

  private span(end: number, res: Buffer, svc: Buffer, scope: Buffer): void {
    let traceOff = 0;
    let traceLen = 0;
    let spanOff = 0;
    let spanLen = 0;
    let parentOff = 0;
    let parentLen = 0;
    let stateOff = 0;
    let stateLen = 0;
    let nameOff = 0;
    let nameLen = 0;
    let kind = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    let statusCode = 0;
    let messageOff = 0;
    let messageLen = 0;
    const kvs = this.spanKvs;
    const events = this.events;
    const links = this.links;
    kvs.n = 0;
    events.n = 0;
    links.n = 0;
    while (this.pos < end) {
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
          stateLen = this.len(end);
          stateOff = this.pos;
          this.pos += stateLen;
          break;
        case 0x22:
          parentLen = this.len(end);
          parentOff = this.pos;
          this.pos += parentLen;
          break;
        case 0x2a:
          nameLen = this.len(end);
          nameOff = this.pos;
          this.pos += nameLen;
          break;
        case 0x30:
          kind = this.int32(end);
          break;
        case 0x39:
          this.fixed64(end);
          startLo = this.lo;
          startHi = this.hi;
          break;
        case 0x41:
          this.fixed64(end);
          endLo = this.lo;
          endHi = this.hi;
          break;
        case 0x4a:
          this.range(kvs, end);
          break;
        case 0x5a:
          this.range(events, end);
          break;
        case 0x6a:
          this.range(links, end);
          break;
        case 0x50:
        case 0x60:
        case 0x70:
          this.varint64(end);
          break;
        case 0x7a: {
          // A repeated status merges: later fields win.
          const n = this.len(end);
          const sEnd = this.pos + n;
          while (this.pos < sEnd) {
            const sTag = this.tag(sEnd);
            if (sTag === 0x12) {
              messageLen = this.len(sEnd);
              messageOff = this.pos;
              this.pos += messageLen;
            } else if (sTag === 0x18) {
              statusCode = this.int32(sEnd);
            } else {
              throw BAIL;
            }
          }
          break;
        }
        case 0x85:
          this.fixed32(end);
          break;
        default:
          throw BAIL;
      }
    }
    // Invalid ids make the decoder reject the span, with a reason: its job.
    if (!this.validId(traceOff, traceLen, 16) || !this.validId(spanOff, spanLen, 8)) throw BAIL;
    if (parentLen !== 0 && parentLen !== 8) throw BAIL;
    // A start the trace lookup cannot hold (span-time.ts): the decoder refuses the span.
    if (startHi > MAX_START_TIME_HI || (startHi === MAX_START_TIME_HI && startLo > MAX_START_TIME_LO)) throw BAIL;

    const w = this.w;
    this.i64(startLo, startHi);
    w.hexFrom(this.buf, traceOff, 16);
    w.hexFrom(this.buf, spanOff, 8);
    if (this.validId(parentOff, parentLen, 8)) w.hexFrom(this.buf, parentOff, 8);
    else w.rawFrom(EMPTY, 0, 1);
    this.text(w, stateOff, stateLen);
    this.text(w, nameOff, nameLen);
    const k = kind >= 0 ? KIND[kind] : undefined;
    w.rawFrom(k ?? EMPTY, 0, (k ?? EMPTY).length);
    w.rawFrom(svc, 0, svc.length);
    w.rawFrom(res, 0, res.length);
    w.rawFrom(scope, 0, scope.length);
    this.map(kvs, 0, kvs.n);
    // Duration: end - start, 0 when the span ends before it starts.
    if (endHi > startHi || (endHi === startHi && endLo > startLo)) {
      let lo = endLo - startLo;
      let hi = endHi - startHi;
      if (lo < 0) {
        lo += 0x100000000;
        hi -= 1;
      }
      w.u32pair(lo, hi);
    } else {
      w.u32pair(0, 0);
    }
    const st = statusCode >= 0 ? STATUS[statusCode] : undefined;
    w.rawFrom(st ?? EMPTY, 0, (st ?? EMPTY).length);
    this.text(w, messageOff, messageLen);
    this.writeEvents();
    this.writeLinks();
    this.rows++;
  }

  private writeEvents(): void {
    const events = this.events;
    const meta = this.eventMeta;
    const kvs = this.eventKvs;
    meta.n = 0;
    kvs.n = 0;
    for (let i = 0; i < events.n; i++) {
      const end = events.data[2 * i + 1]!;
      this.pos = events.data[2 * i]!;
      let lo = 0;
      let hi = 0;
      let nameOff = 0;
      let nameLen = 0;
      const firstKv = kvs.n;
      while (this.pos < end) {
        const tag = this.tag(end);
        if (tag === 0x09) {
          this.fixed64(end);
          lo = this.lo;
          hi = this.hi;
        } else if (tag === 0x12) {
          nameLen = this.len(end);
          nameOff = this.pos;
          this.pos += nameLen;
        } else if (tag === 0x1a) {
          this.range(kvs, end);
        } else if (tag === 0x20) {
          this.varint64(end);
        } else {
          throw BAIL;
        }
      }
      const b = meta.add();
      const d = meta.data;
      d[b] = lo | 0;
      d[b + 1] = hi | 0;
      d[b + 2] = nameOff;
      d[b + 3] = nameLen;
      d[b + 4] = firstKv;
      d[b + 5] = kvs.n - firstKv;
    }
    const w = this.w;
    const d = meta.data;
    const n = meta.n;
    w.varint(n);
    for (let i = 0; i < n; i++) this.i64(d[6 * i]! >>> 0, d[6 * i + 1]! >>> 0);
    w.varint(n);
    for (let i = 0; i < n; i++) this.text(w, d[6 * i + 2]!, d[6 * i + 3]!);
    w.varint(n);
    for (let i = 0; i < n; i++) this.map(kvs, d[6 * i + 4]!, d[6 * i + 5]!);
  }

  private writeLinks(): void {
    const links = this.links;
    const meta = this.linkMeta;
    const kvs = this.linkKvs;
    meta.n = 0;
    kvs.n = 0;
    for (let i = 0; i < links.n; i++) {
      const end = links.data[2 * i + 1]!;
      this.pos = links.data[2 * i]!;
      let traceOff = 0;
      let traceLen = 0;
      let spanOff = 0;
      let spanLen = 0;
      let stateOff = 0;
      let stateLen = 0;
      const firstKv = kvs.n;
      while (this.pos < end) {
        const tag = this.tag(end);
        if (tag === 0x0a) {
          traceLen = this.len(end);
          traceOff = this.pos;
          this.pos += traceLen;
        } else if (tag === 0x12) {
          spanLen = this.len(end);
          spanOff = this.pos;
          this.pos += spanLen;
        } else if (tag === 0x1a) {
          stateLen = this.len(end);
          stateOff = this.pos;
          this.pos += stateLen;
        } else if (tag === 0x22) {
          this.range(kvs, end);
        } else if (tag === 0x28) {
          this.varint64(end);
        } else if (tag === 0x35) {
          this.fixed32(end);
        } else {
          throw BAIL;
        }
      }
      const b = meta.add();
      const d = meta.data;
      d[b] = traceOff;
      d[b + 1] = traceLen;
      d[b + 2] = spanOff;
      d[b + 3] = spanLen;
      d[b + 4] = stateOff;
      d[b + 5] = stateLen;
      d[b + 6] = firstKv;
      d[b + 7] = kvs.n - firstKv;
    }
    const w = this.w;
    const d = meta.data;
    const n = meta.n;
    // A malformed link id becomes '' (traceutil's IDToHexOrEmptyString); the span stays.
    w.varint(n);
    for (let i = 0; i < n; i++) {
      const off = d[8 * i]!;
      if (this.validId(off, d[8 * i + 1]!, 16)) w.hexFrom(this.buf, off, 16);
      else w.rawFrom(EMPTY, 0, 1);
    }
    w.varint(n);
    for (let i = 0; i < n; i++) {
      const off = d[8 * i + 2]!;
      if (this.validId(off, d[8 * i + 3]!, 8)) w.hexFrom(this.buf, off, 8);
      else w.rawFrom(EMPTY, 0, 1);
    }
    w.varint(n);
    for (let i = 0; i < n; i++) this.text(w, d[8 * i + 4]!, d[8 * i + 5]!);
    w.varint(n);
    for (let i = 0; i < n; i++) this.map(kvs, d[8 * i + 6]!, d[8 * i + 7]!);
  }

  /** Records the [start, end) of a length-delimited field and skips it. */
  private range(r: Records, end: number): void {
    const n = this.len(end);
    const b = r.add();
    r.data[b] = this.pos;
    r.data[b + 1] = this.pos + n;
    this.pos += n;
  }

  /** A Map column from `count` KeyValue ranges of `r`, starting at record `first`. */
  private map(r: Records, first: number, count: number): void {
    this.w.varint(count);
    for (let i = first; i < first + count; i++) this.keyValue(this.w, r.data[2 * i]!, r.data[2 * i + 1]!);
  }

  /** One KeyValue as a (key, AsString(value)) pair; leaves pos at `end`. */
  private keyValue(w: RowBinaryWriter, start: number, end: number): void {
    this.pos = start;
    let keyOff = -1;
    let keyLen = 0;
    let valueStart = -1;
    let valueEnd = -1;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === 0x0a && keyOff < 0) {
        keyLen = this.len(end);
        keyOff = this.pos;
        this.pos += keyLen;
      } else if (tag === 0x12 && valueStart < 0) {
        const n = this.len(end);
        valueStart = this.pos;
        valueEnd = this.pos + n;
        this.pos = valueEnd;
      } else {
        throw BAIL;
      }
    }
    this.keyOff = keyOff;
    this.keyLen = keyLen;
    if (keyOff < 0) w.rawFrom(EMPTY, 0, 1);
    else this.text(w, keyOff, keyLen);
    this.valuePos = w.pos;
    if (valueStart < 0) w.rawFrom(EMPTY, 0, 1);
    else this.anyValue(w, valueStart, valueEnd);
    this.pos = end;
  }

  /** pdata's AsString() of an AnyValue holding one field; arrays, kvlists and bytes via the decoder. */
  private anyValue(w: RowBinaryWriter, start: number, end: number): void {
    if (start === end) {
      w.rawFrom(EMPTY, 0, 1);
      return;
    }
    this.pos = start;
    const tag = this.tag(end);
    switch (tag) {
      case 0x0a: {
        const n = this.len(end);
        const off = this.pos;
        this.pos += n;
        if (this.pos !== end) throw BAIL; // a oneof set twice: the last wins, in the decoder
        this.text(w, off, n);
        return;
      }
      case 0x10: {
        this.varint64(end);
        if (this.pos !== end) throw BAIL;
        const v = (this.lo | this.hi) !== 0 ? TRUE : FALSE;
        w.rawFrom(v, 0, v.length);
        return;
      }
      case 0x18:
        this.varint64(end);
        if (this.pos !== end) throw BAIL;
        w.string(int64String(this.lo, this.hi));
        return;
      case 0x21: {
        const v = this.double(end);
        if (this.pos !== end) throw BAIL;
        w.string(goFloatString(v));
        return;
      }
      case 0x2a:
      case 0x32:
      case 0x3a: {
        this.slowValue ??= anyValueReader(this.buf, this.maxDepth);
        const v = this.slowValue(start, end);
        if (v === undefined) throw BAIL; // nested too deep: the decoder rejects the span
        w.string(v);
        return;
      }
      default:
        throw BAIL;
    }
  }

  /** A String column from body bytes; invalid UTF-8 becomes U+FFFD as in the decoder. */
  private text(w: RowBinaryWriter, off: number, n: number): void {
    const src = this.buf;
    if (n < 0x80) {
      // Copy and check for ASCII in one pass; anything else is looked at again below.
      w.ensure(n + 1);
      const out = w.buf;
      const start = w.pos;
      let p = start + 1;
      let high = 0;
      for (let i = off, e = off + n; i < e; i++) {
        const c = src[i]!;
        high |= c;
        out[p++] = c;
      }
      out[start] = n;
      if (high < 0x80 || isUtf8(src.subarray(off, off + n))) {
        w.pos = p;
        return;
      }
    } else if (isUtf8(src.subarray(off, off + n))) {
      w.stringFrom(src, off, n);
      return;
    }
    w.string(this.nb.toString("utf8", off, off + n));
  }

  /** DateTime64(9) from uint64 halves, clamped to int64 like the row encoder. */
  private i64(lo: number, hi: number): void {
    if (hi > 0x7fffffff) this.w.u32pair(0xffffffff, 0x7fffffff);
    else this.w.u32pair(lo, hi);
  }
}
