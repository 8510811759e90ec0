/**
 * ClickHouse SQL text, done by hand where the engine's parameter binding cannot be used: string
 * literals for values, and the places of `{name:Type}` placeholders in a query that
 * `formatQuery()` has already normalised (one statement, no comments, identifiers in backquotes).
 */

export class SqlValueError extends Error {
  override name = "SqlValueError";
}

/** A single-quoted ClickHouse string literal: backslash escapes, every control character as \xHH. */
export function quoteString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + "'";
}

const MAX_DEPTH = 32;

/**
 * A JSON value as a ClickHouse literal: strings quoted, finite numbers as written by JS, booleans,
 * NULL, arrays as `[…]` (or `tuple(…)` for a Tuple type), objects as `map(key, value, …)`.
 * The caller casts it to the placeholder's type.
 */
export function sqlLiteral(value: unknown, type = "", depth = 0): string {
  if (depth > MAX_DEPTH) throw new SqlValueError(`is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null) return "NULL";
  switch (typeof value) {
    case "string":
      return quoteString(value);
    case "number":
      if (!Number.isFinite(value)) throw new SqlValueError("is not a finite number");
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value)) {
        const inner = innerTypes(type);
        const items = value.map((v, i) => sqlLiteral(v, /^Tuple\(/.test(type) ? inner[i] ?? "" : inner[0] ?? "", depth + 1));
        return /^Tuple\(/.test(type) ? `tuple(${items.join(", ")})` : `[${items.join(", ")}]`;
      }
      const inner = innerTypes(type);
      const parts = Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [quoteString(k), sqlLiteral(v, inner[1] ?? "", depth + 1)]);
      return `map(${parts.join(", ")})`;
    }
    default:
      throw new SqlValueError(`has a type JSON cannot carry (${typeof value})`);
  }
}

/** The top-level type arguments of `Array(T)`, `Map(K, V)`, `Tuple(A, B)`, `Nullable(…)`. */
function innerTypes(type: string): string[] {
  const m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(type.trim());
  if (m) return innerTypes(m[1]!);
  const open = type.indexOf("(");
  if (open < 0 || !type.trim().endsWith(")")) return [];
  const body = type.trim().slice(open + 1, -1);
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === "'") quote = false;
    } else if (c === "'") quote = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(body.slice(start).trim());
  // Named tuple elements (`Tuple(a String)`): keep the type.
  return parts.map((p) => p.replace(/^[A-Za-z_]\w*\s+(?=[A-Z])/, ""));
}

export interface Placeholder {
  start: number;
  end: number;
  name: string;
  type: string;
}

export interface ScannedQuery {
  placeholders: Placeholder[];
  /** An identifier holding an escaped character (a line break, say). */
  escapedIdentifier: boolean;
}

/**
 * Finds `{name:Type}` placeholders outside string literals and quoted identifiers of formatted SQL.
 * Only a locator: the caller compares what it found with the parser's QueryParameter nodes and
 * refuses the query when they differ.
 */
export function scanFormattedQuery(text: string): ScannedQuery {
  const placeholders: Placeholder[] = [];
  let escapedIdentifier = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "'" || c === "`" || c === '"') {
      let j = i + 1;
      while (j < n) {
        const d = text[j]!;
        if (d === "\\") {
          if (c !== "'") escapedIdentifier = true;
          j += 2;
        } else if (d === c) {
          if (text[j + 1] === c) j += 2;
          else break;
        } else {
          if (c !== "'" && d.charCodeAt(0) < 0x20) escapedIdentifier = true;
          j++;
        }
      }
      i = j + 1;
      continue;
    }
    if (c === "{") {
      const m = /^\{\s*([A-Za-z_]\w*)\s*:/.exec(text.slice(i, i + 300));
      if (m) {
        let j = i + m[0].length;
        let depth = 0;
        let quote = false;
        for (; j < n; j++) {
          const d = text[j]!;
          if (quote) {
            if (d === "\\") j++;
            else if (d === "'") quote = false;
          } else if (d === "'") quote = true;
          else if (d === "(") depth++;
          else if (d === ")") depth--;
          else if (d === "}" && depth === 0) break;
        }
        if (j < n) {
          placeholders.push({ start: i, end: j + 1, name: m[1]!, type: text.slice(i + m[0].length, j).trim() });
          i = j + 1;
          continue;
        }
      }
    }
    i++;
  }
  return { placeholders, escapedIdentifier };
}
