/**
 * The conventions (conventions.ts) as ClickHouse SQL expressions over an `otel_traces` row
 * (SpanAttributes, Events.Name, Events.Attributes): what the collector materializes, stores in
 * trace summaries and searches. read.ts is the same in JavaScript.
 */
import { CONVENTIONS, TOKEN_SPAN_CONDITION, sourcesOf, type Convention, type Source, type SpanCondition } from "./conventions.js";
import { messageRoleKeyPattern, type TextField, type TokenField } from "./read.js";

/** A ClickHouse string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

const A = (key: string) => `SpanAttributes[${sqlString(key)}]`;

function textSql(s: Source): string {
  switch (s.kind) {
    case "attr": {
      let e = A(s.key);
      if (s.unquote) e = `trim(BOTH '"' FROM ${e})`;
      const other = s.upper ? `upper(${e})` : e;
      if (!s.values) return other;
      const keys = Object.keys(s.values);
      return `transform(lower(${e}), [${keys.map(sqlString).join(", ")}], [${keys.map((k) => sqlString(s.values![k]!)).join(", ")}], ${other})`;
    }
    case "messages": {
      const key = (field: string) => `SpanAttributes[concat(${sqlString(s.prefix)}, toString(i), ${sqlString(`.${field}`)})]`;
      const n = `arrayCount(k -> match(k, ${sqlString(messageRoleKeyPattern(s))}), mapKeys(SpanAttributes))`;
      // The first message's key decides cheaply whether to scan the keys at all (most spans have no list).
      const first = `mapContains(SpanAttributes, ${sqlString(`${s.prefix}0.${s.role}`)})`;
      return `if(NOT ${first}, '', toJSONString(arrayMap(i -> map('role', ${key(s.role)}, 'content', ${key(s.content)}), range(${n}))))`;
    }
    case "event":
      return `arrayElement(Events.Attributes, indexOf(Events.Name, ${sqlString(s.event)}))[${sqlString(s.key)}]`;
    case "jsonNumber":
      return `toString(${numberSql(s)})`;
  }
}

function numberSql(s: Source): string {
  if (s.kind === "jsonNumber") return `toUInt64(greatest(0, JSONExtractFloat(${A(s.key)}, ${sqlString(s.field)})))`;
  return `toUInt64OrZero(${textSql(s)})`;
}

/** First non-empty of the field's sources, '' when none. */
export function textFieldSql(field: TextField, conventions: readonly Convention[] = CONVENTIONS): string {
  const exprs = sourcesOf(field, conventions).map(textSql);
  return `multiIf(${exprs.flatMap((e) => [`${e} != ''`, e]).join(", ")}, '')`;
}

/** Whether an otel_traces row meets the condition (an absent attribute reads as ''). */
export function conditionSql(c: SpanCondition): string {
  return `match(${A(c.key)}, ${sqlString(c.pattern)})`;
}

/**
 * First non-zero of the field's sources (UInt64), 0 when none; the total falls back to input +
 * output, or to `totalFallback` (e.g. `InputTokens + OutputTokens`, columns computed already).
 * 0 on a span that does not meet `condition` (TOKEN_SPAN_CONDITION; `null` for none, as before
 * migration 11).
 */
export function tokenFieldSql(
  field: TokenField,
  conventions: readonly Convention[] = CONVENTIONS,
  totalFallback?: string,
  condition: SpanCondition | null = TOKEN_SPAN_CONDITION,
): string {
  const exprs = sourcesOf(field, conventions).map(numberSql);
  const fallback =
    field === "totalTokens"
      ? `(${totalFallback ?? `${tokenFieldSql("inputTokens", conventions, undefined, null)} + ${tokenFieldSql("outputTokens", conventions, undefined, null)}`})`
      : "toUInt64(0)";
  const first = `multiIf(${exprs.flatMap((e) => [`${e} != 0`, e]).join(", ")}, ${fallback})`;
  return condition ? `if(${conditionSql(condition)}, ${first}, toUInt64(0))` : first;
}

/**
 * The order of read.ts's compareOutermost as an argMin key over an otel_traces row: the
 * root first, then the earliest start, then the longest, then the smallest span id.
 */
export const TRACE_RANK_SQL = "(ParentSpanId != '', Timestamp, -toInt64(Duration), SpanId)";
