/**
 * AnyValue → string, shared by the protobuf and JSON decoders so both produce
 * byte-identical rows. The target is pdata's `Value.AsString()`, which is what
 * the OpenTelemetry Collector clickhouseexporter stores in attribute maps:
 *
 * - string as is, bool `true`/`false`, int64 in decimal;
 * - double via pdata's `float64AsString`, i.e. Go's JSON float encoding (ES6
 *   number-to-string: plain digits for 1e-6 <= |v| < 1e21, exponent outside,
 *   `-0` kept), NaN/±Inf as `json: unsupported value: NaN|+Inf|-Inf`;
 * - bytes as standard base64;
 * - array and kvlist as Go `json.Marshal` of `AsRaw()`: kvlist becomes a JSON
 *   object with keys sorted byte-wise and the last duplicate winning, an empty
 *   AnyValue becomes `null`, bytes become a base64 string, no HTML escaping
 *   (pdata stopped escaping `<>&`), U+2028/U+2029 escaped as Go does, and a
 *   NaN/Inf anywhere inside makes Marshal fail, which pdata turns into ''.
 */

const NEED_GO_FIXUP = /[\u2028\u2029\ud800-\udfff]/;
const LINE_SEPARATORS = /[\u2028\u2029]/g;

type WellFormedString = string & { toWellFormed(): string };

/** A string as a Go encoding/json string literal (SetEscapeHTML(false)). */
export function goJsonString(s: string): string {
  // JSON.stringify already matches Go for quotes, backslashes and control
  // characters (Go >= 1.22 also uses \b and \f); only two differences remain.
  if (!NEED_GO_FIXUP.test(s)) return JSON.stringify(s);
  // Go never sees a lone surrogate: its decoders turn them into U+FFFD.
  const wf = (s as WellFormedString).toWellFormed();
  return JSON.stringify(wf).replace(LINE_SEPARATORS, (c) =>
    c === "\u2028" ? "\\u2028" : "\\u2029",
  );
}

/** pdata `float64AsString`, used for a top-level double attribute. */
export function goFloatString(v: number): string {
  if (v !== v) return "json: unsupported value: NaN";
  if (v === Infinity) return "json: unsupported value: +Inf";
  if (v === -Infinity) return "json: unsupported value: -Inf";
  // ES6 Number#toString uses the same shortest round-trip digits and the same
  // exponent cut-offs as Go's JSON float encoding; only -0 differs.
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  return String(v);
}

/** Go JSON float inside an array/kvlist, or null when Marshal would fail. */
export function goJsonFloat(v: number): string | null {
  if (v !== v || v === Infinity || v === -Infinity) return null;
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  return String(v);
}

const TWO_32 = 4294967296;

/** Decimal of the int64 whose two's-complement halves are (lo, hi) as uint32. */
export function int64String(lo: number, hi: number): string {
  if (hi === 0) return String(lo);
  // Exact in a double while |v| <= 2^53, which covers nearly every real value.
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
  if (hi >= 0xffe00000) return String((hi - TWO_32) * TWO_32 + lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Standard base64 of some bytes. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Array JSON from already-encoded elements; null if any element failed. */
export function goJsonArray(items: Array<string | null>): string | null {
  for (let i = 0; i < items.length; i++) if (items[i] === null) return null;
  return "[" + (items as string[]).join(",") + "]";
}

/**
 * Object JSON from keys and already-encoded values, as Go marshals a
 * map[string]any: last duplicate wins, keys sorted by UTF-8 bytes.
 */
export function goJsonObject(keys: string[], values: Array<string | null>): string | null {
  const n = keys.length;
  if (n === 0) return "{}";
  for (let i = 0; i < n; i++) if (values[i] === null) return null;
  if (n === 1) return "{" + goJsonString(keys[0]!) + ":" + values[0] + "}";
  const byKey = new Map<string, string>();
  for (let i = 0; i < n; i++) byKey.set(keys[i]!, values[i]!);
  const sorted = Array.from(byKey.keys()).sort(compareUtf8);
  let out = "{";
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    if (i > 0) out += ",";
    out += goJsonString(k) + ":" + byKey.get(k)!;
  }
  return out + "}";
}

/**
 * Orders strings as their UTF-8 bytes compare (Go's string order). UTF-16 code
 * units order the same way except that surrogates (astral characters) must
 * sort after U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
      cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
    }
    return ca - cb;
  }
  return a.length - b.length;
}

/** clickhouseexporter's SpanKind strings (ptrace.SpanKind.String()); unknown → ''. */
export const SPAN_KIND_NAMES: readonly string[] = [
  "Unspecified",
  "Internal",
  "Server",
  "Client",
  "Producer",
  "Consumer",
];

/** clickhouseexporter's status strings (ptrace.StatusCode.String()); unknown → ''. */
export const STATUS_CODE_NAMES: readonly string[] = ["Unset", "Ok", "Error"];

export function spanKindName(kind: number): string {
  return (kind >= 0 && kind < SPAN_KIND_NAMES.length ? SPAN_KIND_NAMES[kind] : undefined) ?? "";
}

export function statusCodeName(code: number): string {
  return (code >= 0 && code < STATUS_CODE_NAMES.length ? STATUS_CODE_NAMES[code] : undefined) ?? "";
}

/** Default cap on AnyValue array/kvlist nesting. */
export const DEFAULT_MAX_ANY_VALUE_DEPTH = 32;

/**
 * Collects per-span rejections for partial_success: a count plus the first few
 * distinct reasons, so a batch of 10k bad spans yields a short message.
 */
export class Rejections {
  count = 0;
  private readonly reasons: string[] = [];
  private static readonly MAX_REASONS = 3;

  add(n: number, reason: string): void {
    this.count += n;
    if (this.reasons.length < Rejections.MAX_REASONS) this.reasons.push(reason);
  }

  message(): string | undefined {
    if (this.count === 0) return undefined;
    let msg = this.reasons.join("; ");
    const listed = this.reasons.length;
    if (this.count > listed) msg += ` (${this.count} spans rejected in total)`;
    return msg;
  }
}
