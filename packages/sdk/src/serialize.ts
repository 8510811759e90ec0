/**
 * Payload serialization for span attributes. JSON.stringify is tried first because it is
 * native and fast; the slower walker runs only when it throws (cycles, BigInt, throwing
 * getters or toJSON), so ordinary payloads pay nothing for the safety.
 */

/** JSON text of `value`, or undefined when JSON has no text for it (undefined, functions, symbols). */
export function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return safeJson(value);
  }
}

const CIRCULAR = "[Circular]";

function describe(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return "unknown error";
  }
}

/**
 * Rebuilds the value as plain JSON data: cycles become "[Circular]" (a repeated but acyclic
 * reference is kept), BigInt becomes its decimal string, and a property that throws becomes
 * "[Unserializable: …]" instead of losing the whole payload.
 */
export function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(plain(value, "", []));
  } catch (err) {
    return JSON.stringify(`[Unserializable: ${describe(err)}]`);
  }
}

function plain(value: unknown, key: string, ancestors: object[]): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") return value;
  let v: unknown = value;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    try {
      v = toJSON.call(v, key);
    } catch (err) {
      return `[Unserializable: ${describe(err)}]`;
    }
    if (typeof v === "bigint") return v.toString();
    if (v === null || typeof v !== "object") return v;
  }
  const obj = v as object;
  if (ancestors.includes(obj)) return CIRCULAR;
  ancestors.push(obj);
  try {
    if (Array.isArray(obj)) {
      const out: unknown[] = new Array(obj.length);
      for (let i = 0; i < obj.length; i++) out[i] = plain(read(obj, i), String(i), ancestors);
      return out;
    }
    let keys: string[];
    try {
      keys = Object.keys(obj);
    } catch (err) {
      return `[Unserializable: ${describe(err)}]`;
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = plain(read(obj, k), k, ancestors);
    return out;
  } finally {
    ancestors.pop();
  }
}

function read(obj: object, k: string | number): unknown {
  try {
    return (obj as Record<string | number, unknown>)[k];
  } catch (err) {
    return `[Unserializable: ${describe(err)}]`;
  }
}

/**
 * Cuts `s` to at most `maxBytes` UTF-8 bytes on a character boundary, or returns undefined
 * when it already fits. The result is generally no longer valid JSON; the span says so in
 * `gavel.truncated`.
 */
export function truncateUtf8(s: string, maxBytes: number): string | undefined {
  if (Buffer.byteLength(s, "utf8") <= maxBytes) return undefined;
  const buf = Buffer.from(s, "utf8");
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.toString("utf8", 0, end);
}
