import { OtlpDecodeError } from "./errors.js";

/** Protobuf wire types. */
export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
export const WT_SGROUP = 3;
export const WT_EGROUP = 4;
export const WT_I32 = 5;

const WIRE_TYPE_NAMES = ["varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32"];

/** Node's Buffer has native slicers that @types/node does not declare. */
interface NativeSlicers {
  utf8Slice?(start: number, end: number): string;
  hexSlice?(start: number, end: number): string;
}

// Deeper than any sane message; only bounds the work on hostile input.
const MAX_GROUP_DEPTH = 64;

/** Up to this many bytes a JS loop beats a call into native UTF-8 decoding. */
const SHORT_STRING = 16;

/**
 * A cursor over a protobuf body with every read bounds-checked against the end
 * of the enclosing message, so a hostile length can never read past it. All
 * failures are OtlpDecodeError with the byte offset. Subclasses add message
 * decoding; the fields are public so that hot loops can read them directly.
 */
export class ProtoReader {
  readonly buf: Uint8Array;
  /** Same memory as `buf`, for native UTF-8/hex/base64 slicing. */
  readonly nb: Buffer;
  pos = 0;
  /** Halves of the last 64-bit value read by varint64/fixed64, as uint32. */
  lo = 0;
  hi = 0;
  private readonly dv: DataView;
  private readonly utf8: (start: number, end: number) => string;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.nb = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const nb = this.nb as Buffer & NativeSlicers;
    // utf8Slice skips toString()'s argument normalisation; both replace
    // invalid UTF-8 with U+FFFD exactly as a non-fatal TextDecoder does.
    this.utf8 =
      typeof nb.utf8Slice === "function"
        ? nb.utf8Slice.bind(nb)
        : (start, end) => nb.toString("utf8", start, end);
  }

  fail(message: string, offset: number): never {
    throw new OtlpDecodeError(`${message} at byte offset ${offset}`, { offset });
  }

  /**
   * Reads a tag and returns it as `field << 3 | wireType`. Rejects field 0,
   * field numbers above 2^29-1 and wire types 6/7.
   */
  tag(end: number): number {
    const buf = this.buf;
    const p = this.pos;
    let t: number;
    if (p < end && buf[p]! < 0x80) {
      t = buf[p]!;
      this.pos = p + 1;
    } else if (p + 1 < end && buf[p]! >= 0x80 && buf[p + 1]! < 0x80) {
      t = (buf[p]! & 0x7f) | (buf[p + 1]! << 7);
      this.pos = p + 2;
    } else {
      this.varint64(end);
      if (this.hi !== 0) this.fail("field number out of range", p);
      t = this.lo;
    }
    const wt = t & 7;
    if (wt > 5) this.fail(`invalid wire type ${wt}`, p);
    if (t >>> 3 === 0) this.fail("invalid field number 0", p);
    return t;
  }

  /** Reads a varint into lo/hi (uint32 halves). At most 10 bytes, no overflow. */
  varint64(end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let lo = 0;
    let hi = 0;
    let b: number;
    // Bytes 0..3 hold bits 0..27.
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= end) this.fail("truncated varint", start);
      b = buf[p++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = p;
        return;
      }
    }
    // Byte 4 straddles the halves: 4 bits to lo, 3 bits to hi.
    if (p >= end) this.fail("truncated varint", start);
    b = buf[p++]!;
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (p >= end) this.fail("truncated varint", start);
        b = buf[p++]!;
        if (shift === 31) {
          // The 10th byte may only carry the 64th bit.
          if (b > 1) this.fail("varint overflows 64 bits", start);
          hi |= b << 31;
          break;
        }
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = p;
  }

  /** A varint that must fit in 32 bits unsigned (e.g. a length). */
  varint32(end: number): number {
    const buf = this.buf;
    const p = this.pos;
    if (p < end && buf[p]! < 0x80) {
      this.pos = p + 1;
      return buf[p]!;
    }
    this.varint64(end);
    return this.lo;
  }

  /** Enum / int32: low 32 bits as a signed number (negative values use 10 bytes). */
  int32(end: number): number {
    return this.varint32(end) | 0;
  }

  /** Length prefix of a length-delimited field, checked against `end`. */
  len(end: number): number {
    const p = this.pos;
    const buf = this.buf;
    let n: number;
    if (p < end && buf[p]! < 0x80) {
      n = buf[p]!;
      this.pos = p + 1;
    } else {
      this.varint64(end);
      if (this.hi !== 0) this.fail("length does not fit in 32 bits", p);
      n = this.lo;
    }
    if (n > end - this.pos) {
      this.fail(`length ${n} runs past the end of the enclosing message (${end - this.pos} bytes left)`, p);
    }
    return n;
  }

  fixed64(end: number): void {
    const p = this.pos;
    if (end - p < 8) this.fail("truncated fixed64", p);
    const buf = this.buf;
    this.lo = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
    this.hi = (buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24)) >>> 0;
    this.pos = p + 8;
  }

  /** fixed64 as a bigint in one allocation. */
  fixed64Big(end: number): bigint {
    const p = this.pos;
    if (end - p < 8) this.fail("truncated fixed64", p);
    this.pos = p + 8;
    return this.dv.getBigUint64(p, true);
  }

  double(end: number): number {
    const p = this.pos;
    if (end - p < 8) this.fail("truncated double", p);
    this.pos = p + 8;
    return this.dv.getFloat64(p, true);
  }

  fixed32(end: number): number {
    const p = this.pos;
    if (end - p < 4) this.fail("truncated fixed32", p);
    const buf = this.buf;
    this.pos = p + 4;
    return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
  }

  /** Skips a length-delimited value whose tag has been read. */
  skipLen(end: number): void {
    const n = this.len(end); // advances pos past the prefix, so read pos after
    this.pos += n;
  }

  /** A length-delimited string field (the length has been read). */
  str(n: number): string {
    const start = this.pos;
    const stop = start + n;
    this.pos = stop;
    if (n === 0) return "";
    if (n <= SHORT_STRING) {
      const buf = this.buf;
      let s = "";
      for (let i = start; i < stop; i++) {
        const c = buf[i]!;
        if (c >= 0x80) return this.utf8(start, stop);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.utf8(start, stop);
  }

  /** True when buf[off, off+n) is all zero bytes: an unset trace or span id. */
  allZero(off: number, n: number): boolean {
    const buf = this.buf;
    for (let i = off, e = off + n; i < e; i++) if (buf[i] !== 0) return false;
    return true;
  }

  /** An id field of `len` bytes at `off` that is `n` bytes long and not all zero (traceutil's validity). */
  validId(off: number, len: number, n: number): boolean {
    return len === n && !this.allZero(off, n);
  }

  /** Lower-case hex of buf[start, start+n). */
  hex(start: number, n: number): string {
    const buf = this.buf;
    let s = "";
    for (let i = start, e = start + n; i < e; i++) s += HEX[buf[i]!];
    return s;
  }

  /** Throws the standard "wrong wire type" error for a known field. */
  wrongWireType(tag: number, tagPos: number, field: string, expected: number): never {
    const wt = tag & 7;
    this.fail(
      `${field} (field ${tag >>> 3}) has wire type ${wt} (${WIRE_TYPE_NAMES[wt]}), expected ${expected} (${WIRE_TYPE_NAMES[expected]})`,
      tagPos,
    );
  }

  /** Skips the value of a field whose tag was just read at `tagPos`. */
  skip(tag: number, end: number, tagPos: number): void {
    switch (tag & 7) {
      case WT_VARINT:
        this.varint64(end);
        return;
      case WT_I64:
        if (end - this.pos < 8) this.fail("truncated fixed64", this.pos);
        this.pos += 8;
        return;
      case WT_LEN: {
        const n = this.len(end);
        this.pos += n;
        return;
      }
      case WT_I32:
        if (end - this.pos < 4) this.fail("truncated fixed32", this.pos);
        this.pos += 4;
        return;
      case WT_SGROUP:
        this.skipGroup(tag >>> 3, end, tagPos);
        return;
      default:
        this.fail(`unexpected end-group for field ${tag >>> 3}`, tagPos);
    }
  }

  /** Skips a (deprecated) group iteratively, matching end-group field numbers. */
  private skipGroup(field: number, end: number, tagPos: number): void {
    const open: number[] = [field];
    while (open.length > 0) {
      if (this.pos >= end) this.fail(`unterminated group for field ${open[open.length - 1]}`, tagPos);
      const p = this.pos;
      const t = this.tag(end);
      const wt = t & 7;
      if (wt === WT_SGROUP) {
        if (open.length >= MAX_GROUP_DEPTH) this.fail("groups nested too deeply", p);
        open.push(t >>> 3);
      } else if (wt === WT_EGROUP) {
        if (open.pop() !== t >>> 3) this.fail(`end-group for field ${t >>> 3} does not match its start`, p);
      } else {
        this.skip(t, end, p);
      }
    }
  }
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
