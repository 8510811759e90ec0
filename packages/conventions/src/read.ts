/**
 * The conventions (conventions.ts) read in JavaScript, from a span's attributes and events:
 * what the judges' trace formatter uses. sql.ts reads the same list in ClickHouse SQL, with
 * the same results (conventions.test.ts and the collector's conventions test check both).
 */
import { CONVENTIONS, TOKEN_SPAN_CONDITION, sourcesOf, type Convention, type Field, type Source, type SpanCondition } from "./conventions.js";

export interface SpanAttributesLike {
  attributes?: Readonly<Record<string, unknown>>;
  events?: readonly { name?: string; attributes?: Readonly<Record<string, unknown>> }[];
}

export type TextField = "inputs" | "outputs" | "spanType" | "model";
export type TokenField = "inputTokens" | "outputTokens" | "totalTokens";

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The regular expression that matches the role keys of a flattened message list. */
export function messageRoleKeyPattern(s: Extract<Source, { kind: "messages" }>): string {
  return `^${reEscape(s.prefix)}\\d+\\.${reEscape(s.role)}$`;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  try {
    return JSON.stringify(v) ?? "";
  } catch {
    return String(v);
  }
}

function readText(s: Source, span: SpanAttributesLike): string {
  const attrs = span.attributes ?? {};
  switch (s.kind) {
    case "attr": {
      let v = text(attrs[s.key]);
      if (v === "") return "";
      if (s.unquote) v = v.replace(/^"+|"+$/g, "");
      if (s.values) return s.values[v.toLowerCase()] ?? (s.upper ? v.toUpperCase() : v);
      return s.upper ? v.toUpperCase() : v;
    }
    case "messages": {
      // As in SQL: no list unless message 0 has a role.
      if (attrs[`${s.prefix}0.${s.role}`] === undefined) return "";
      const re = new RegExp(messageRoleKeyPattern(s));
      const n = Object.keys(attrs).filter((k) => re.test(k)).length;
      const list = [];
      for (let i = 0; i < n; i++) list.push({ role: text(attrs[`${s.prefix}${i}.${s.role}`]), content: text(attrs[`${s.prefix}${i}.${s.content}`]) });
      return JSON.stringify(list);
    }
    case "event": {
      const ev = (span.events ?? []).find((e) => e.name === s.event);
      return text(ev?.attributes?.[s.key]);
    }
    case "jsonNumber":
      return String(readNumber(s, span));
  }
}

function readNumber(s: Source, span: SpanAttributesLike): number {
  const attrs = span.attributes ?? {};
  if (s.kind === "jsonNumber") {
    const raw = attrs[s.key];
    let obj: unknown = raw;
    if (typeof raw === "string") {
      try {
        obj = JSON.parse(raw);
      } catch {
        return 0;
      }
    }
    const v = obj && typeof obj === "object" ? (obj as Record<string, unknown>)[s.field] : undefined;
    const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
    return Number.isFinite(n) && n > 0 ? Math.trunc(n) : 0;
  }
  const v = readText(s, span);
  return /^\d+$/.test(v) ? Number(v) : 0;
}

/** A text field of one span: the first non-empty source, or "" when no convention has it. */
export function spanText(field: TextField, span: SpanAttributesLike, conventions: readonly Convention[] = CONVENTIONS): string {
  for (const s of sourcesOf(field, conventions)) {
    const v = readText(s, span);
    if (v !== "") return v;
  }
  return "";
}

const compiled = new Map<string, RegExp>();

/** Whether the span meets the condition (an absent attribute reads as ''). */
export function meetsCondition(c: SpanCondition, span: SpanAttributesLike): boolean {
  let re = compiled.get(c.pattern);
  if (!re) compiled.set(c.pattern, (re = new RegExp(c.pattern)));
  return re.test(text(span.attributes?.[c.key]));
}

/**
 * A token count of one span: the first non-zero source; the total falls back to input + output.
 * 0 on a span that does not meet TOKEN_SPAN_CONDITION (a wrapper repeating its call's usage).
 */
export function spanTokens(field: TokenField, span: SpanAttributesLike, conventions: readonly Convention[] = CONVENTIONS): number {
  if (!meetsCondition(TOKEN_SPAN_CONDITION, span)) return 0;
  for (const s of sourcesOf(field, conventions)) {
    const v = readNumber(s, span);
    if (v !== 0) return v;
  }
  if (field === "totalTokens") return spanTokens("inputTokens", span, conventions) + spanTokens("outputTokens", span, conventions);
  return 0;
}

/** Every attribute key that holds inputs or outputs under some convention (shown once, as inputs/outputs, by the formatter). */
export function isPayloadAttribute(key: string, conventions: readonly Convention[] = CONVENTIONS): boolean {
  const fields: Field[] = ["inputs", "outputs"];
  for (const f of fields) {
    for (const s of sourcesOf(f, conventions)) {
      if ((s.kind === "attr" || s.kind === "jsonNumber") && s.key === key) return true;
      if (s.kind === "messages" && key.startsWith(s.prefix) && /^\d+\./.test(key.slice(s.prefix.length))) return true;
    }
  }
  return false;
}

/** Every attribute key that names a span type under some convention. */
export function isSpanTypeAttribute(key: string, conventions: readonly Convention[] = CONVENTIONS): boolean {
  return sourcesOf("spanType", conventions).some((s) => s.kind === "attr" && s.key === key);
}

export interface RankedSpan {
  spanId: string;
  /** Empty or absent for a root span. */
  parentSpanId?: string | null;
  /** Start time in Unix nanoseconds (decimal string or bigint) or milliseconds (number). */
  start: string | bigint | number | undefined;
  /** Duration, in the same unit as `start`. */
  duration: string | bigint | number | undefined;
}

/**
 * The trace-level rule (docs/conventions.md): the trace's inputs are those of its root span;
 * when the root has none, those of the outermost span that has some — the one that starts
 * first, the longer one on a tie (a parent starts no later and ends no earlier than its
 * children), then the smaller span id. The same for outputs, independently. It depends only
 * on the spans, never on their arrival order; the collector applies the same order with
 * argMin over TRACE_RANK_SQL (sql.ts) when it reads a trace summary.
 */
export function compareOutermost(a: RankedSpan, b: RankedSpan): number {
  const ra = a.parentSpanId ? 1 : 0;
  const rb = b.parentSpanId ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const sa = exact(a.start);
  const sb = exact(b.start);
  if (sa !== sb) return sa < sb ? -1 : 1;
  const da = exact(a.duration);
  const db = exact(b.duration);
  if (da !== db) return da > db ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/** Nanosecond strings compared exactly (they exceed Number's precision); numbers as they are. */
function exact(v: string | bigint | number | undefined): bigint | number {
  if (v === undefined || v === "") return 0;
  if (typeof v === "bigint" || typeof v === "number") return v;
  return /^\d+$/.test(v) ? BigInt(v) : Number(v);
}

/** The first span in `compareOutermost` order for which `has` is true. */
export function outermost<T extends RankedSpan>(spans: readonly T[], has: (s: T) => boolean): T | undefined {
  let best: T | undefined;
  for (const s of spans) if (has(s) && (best === undefined || compareOutermost(s, best) < 0)) best = s;
  return best;
}
