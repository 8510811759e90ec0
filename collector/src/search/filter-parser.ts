/**
 * MLflow's trace filter language, hand-parsed: `clause AND clause AND …`, where a
 * clause is `field operator value`. The parser also type-checks every clause, so the
 * compiler only ever sees well-typed input and every mistake is reported here, with
 * the position of the offending token and what to write instead.
 *
 * The language, as users write it (keywords and field prefixes are case-insensitive):
 *
 *   trace.status              = != LIKE ILIKE IN NOT IN  'OK' | 'ERROR' | 'UNSET'
 *   trace.timestamp_ms        = != < <= > >=           whole ms since 1970 (alias trace.timestamp)
 *   trace.end_time_ms         = != < <= > >=           timestamp_ms + execution time, whole ms
 *   trace.execution_time_ms   = != < <= > >=           ms, fractional allowed (alias trace.execution_time)
 *   trace.name | run_id | client_request_id
 *                             = != LIKE ILIKE RLIKE    (MLflow refuses IN on these)
 *   trace.experiment_id | trace_id
 *                             = != LIKE ILIKE RLIKE IN NOT IN
 *   trace.text                LIKE ILIKE               names, types, inputs, outputs, attribute keys and values of the spans
 *   span.name | span.type     = != LIKE ILIKE RLIKE IN NOT IN   any span of the trace
 *   span.status               = != IN NOT IN           'OK' | 'ERROR' | 'UNSET'
 *   span.content              LIKE ILIKE               a span's name, attribute keys and values
 *   span.attributes.<key>     all but IS NULL          text, or numeric with a number / ordering operator
 *   (all span.* clauses of one filter must hold for the same span, as in MLflow)
 *   tag.<key> | metadata.<key>  = != LIKE ILIKE RLIKE IN NOT IN IS [NOT] NULL  a missing key only matches IS NULL
 *   feedback.<name> | expectation.<name> | assessment.<name>
 *                             all operators, IS [NOT] NULL  latest valid, not deleted version; strings compare
 *                                                      the decoded JSON string, numbers the number, true/false the boolean;
 *                                                      IN lists hold strings only
 *
 * `trace.` may also be written `attributes.` or left out (`status = 'OK'`); `tags.`,
 * `request_metadata.` and plural assessment prefixes are accepted, and any name may be
 * backtick-quoted (`tags`.env, `timestamp`). Keys with dots are
 * written in backticks (tag.`mlflow.user`) or, since the key is everything after the
 * prefix, plainly (tag.mlflow.user). Strings take '…' or "…" with backslash escapes or
 * doubled quotes; `<>` is `!=`. There is no OR and no grouping: run two searches.
 */
import { SearchRequestError } from "./errors.js";

export type Operator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE" | "RLIKE" | "IN" | "NOT IN" | "IS NULL" | "IS NOT NULL";

export type TraceAttr =
  | "status"
  | "timestamp_ms"
  | "end_time_ms"
  | "execution_time_ms"
  | "name"
  | "run_id"
  | "experiment_id"
  | "trace_id"
  | "client_request_id"
  | "text";

export type AssessmentKind = "feedback" | "expectation";

export type FieldRef =
  | { entity: "trace"; attr: TraceAttr }
  | { entity: "span"; attr: "name" | "type" | "status" | "content" }
  | { entity: "span_attribute"; key: string }
  | { entity: "tag"; key: string }
  | { entity: "metadata"; key: string }
  /** kind undefined: `assessment.<name>`, either kind. */
  | { entity: "assessment"; kind?: AssessmentKind; name: string };

export type FilterValue =
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "boolean"; value: boolean }
  | { type: "string_list"; values: string[] }
  | { type: "number_list"; values: number[] }
  /** The operand of IS NULL / IS NOT NULL. */
  | { type: "null" };

export interface FilterClause {
  field: FieldRef;
  op: Operator;
  value: FilterValue;
  /** Offsets in the filter string, for error messages of later stages. */
  position: { field: number; op: number; value: number };
}

/** A filter the parser rejected. `position` is the 0-based offset of the offending token. */
export class FilterSyntaxError extends SearchRequestError {
  override name = "FilterSyntaxError";

  constructor(
    message: string,
    readonly position: number,
    readonly filter: string,
    readonly token: string,
  ) {
    super("INVALID_FILTER", "filter", message);
  }
}

// ---------------------------------------------------------------------------
// Tokens

interface PathSegment {
  text: string;
  /** Backtick- or double-quoted: taken verbatim, never a keyword. */
  quoted: boolean;
}

type Token =
  | { kind: "path"; start: number; end: number; segments: PathSegment[] }
  | { kind: "keyword"; start: number; end: number; keyword: string }
  | { kind: "string"; start: number; end: number; value: string }
  | { kind: "number"; start: number; end: number; value: number }
  | { kind: "op"; start: number; end: number; op: string }
  | { kind: "lparen" | "rparen" | "comma" | "eof"; start: number; end: number };

const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "RLIKE", "TRUE", "FALSE", "NULL", "IS", "BETWEEN"]);

const isIdentStart = (c: string) => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string) => /[A-Za-z0-9_\-]/.test(c);
const isDigit = (c: string) => c >= "0" && c <= "9";

const TRACE_FIELD_NAMES = [
  "trace.status",
  "trace.timestamp_ms",
  "trace.end_time_ms",
  "trace.execution_time_ms",
  "trace.name",
  "trace.run_id",
  "trace.experiment_id",
  "trace.trace_id",
  "trace.client_request_id",
  "trace.text",
];
const VALID_FIELDS_HINT =
  `Valid fields: ${TRACE_FIELD_NAMES.join(", ")}, span.name, span.type, span.status, span.content, span.attributes.<key>, ` +
  "tag.<key>, metadata.<key>, feedback.<name>, expectation.<name>, assessment.<name> " +
  "(quote keys that contain dots with backticks, e.g. tag.`mlflow.user`).";

/** Renders the filter with a caret under `pos`; long filters are cut to a window around it. */
export function pointAt(filter: string, pos: number): string {
  // Tabs and newlines would misalign the caret; they are one character each, like a space.
  const flat = filter.replace(/[\t\r\n]/g, " ");
  const WINDOW = 60;
  const start = pos > WINDOW ? pos - WINDOW : 0;
  const end = Math.min(flat.length, Math.max(pos, start) + WINDOW);
  const prefix = start > 0 ? "…" : "";
  const suffix = end < flat.length ? "…" : "";
  return `${prefix}${flat.slice(start, end)}${suffix}\n${" ".repeat(prefix.length + pos - start)}^`;
}

function quoteToken(text: string): string {
  const t = text.length > 40 ? `${text.slice(0, 37)}…` : text;
  return `"${t}"`;
}

class Lexer {
  private pos = 0;

  constructor(private readonly src: string) {}

  fail(message: string, position: number, token: string): never {
    throw new FilterSyntaxError(`${message}\n${pointAt(this.src, position)}`, position, this.src, token);
  }

  tokens(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const t = this.next();
      out.push(t);
      if (t.kind === "eof") return out;
    }
  }

  private next(): Token {
    const s = this.src;
    while (this.pos < s.length && /\s/.test(s[this.pos]!)) this.pos++;
    const start = this.pos;
    if (start >= s.length) return { kind: "eof", start, end: start };
    const c = s[start]!;
    const c2 = s.slice(start, start + 2);
    if (c === "(") return this.single("lparen");
    if (c === ")") return this.single("rparen");
    if (c === ",") return this.single("comma");
    if (c2 === "!=" || c2 === "<>" || c2 === "<=" || c2 === ">=") {
      this.pos += 2;
      return { kind: "op", start, end: this.pos, op: c2 === "<>" ? "!=" : c2 };
    }
    if (c2 === "==") {
      this.fail(`Unknown operator "==" at position ${start}. Write a single "=" for equality.`, start, "==");
    }
    if (c2 === "&&") this.fail(`Unexpected "&&" at position ${start}. Join clauses with the keyword AND.`, start, "&&");
    if (c2 === "||") {
      this.fail(
        `Unexpected "||" at position ${start}. OR is not supported: run two searches, one per side, and combine their results.`,
        start,
        "||",
      );
    }
    if (c === "=" || c === "<" || c === ">") {
      this.pos++;
      return { kind: "op", start, end: this.pos, op: c };
    }
    if (c === "'" || c === '"') return this.string(c);
    if (isDigit(c) || ((c === "-" || c === "+" || c === ".") && /[0-9.]/.test(s[start + 1] ?? ""))) return this.number();
    if (isIdentStart(c) || c === "`") return this.path();
    return this.fail(
      `Unexpected character ${quoteToken(c)} at position ${start}. A clause looks like trace.status = 'OK'; ` +
        "quote string values with ' or \".",
      start,
      c,
    );
  }

  private single(kind: "lparen" | "rparen" | "comma"): Token {
    const start = this.pos++;
    return { kind, start, end: this.pos };
  }

  /** Backslash escapes (\' \" \\ \n \t \r) and SQL's doubled quote; other escapes stay as written so LIKE's \% and \_ survive. */
  private string(quote: string): Token {
    const s = this.src;
    const start = this.pos++;
    let value = "";
    for (;;) {
      if (this.pos >= s.length) {
        this.fail(
          `Unterminated string starting at position ${start}: add the closing ${quote}. ` +
            `To put a ${quote} inside the string, write \\${quote} or ${quote}${quote}.`,
          start,
          s.slice(start),
        );
      }
      const ch = s[this.pos]!;
      if (ch === "\\") {
        const n = s[this.pos + 1];
        if (n === undefined) {
          this.fail(`Unterminated string starting at position ${start}: it ends with a lone backslash.`, start, s.slice(start));
        }
        const mapped = n === "n" ? "\n" : n === "t" ? "\t" : n === "r" ? "\r" : n === "\\" || n === "'" || n === '"' ? n : undefined;
        value += mapped ?? `\\${n}`;
        this.pos += 2;
        continue;
      }
      if (ch === quote) {
        if (s[this.pos + 1] === quote) {
          value += quote;
          this.pos += 2;
          continue;
        }
        this.pos++;
        return { kind: "string", start, end: this.pos, value };
      }
      value += ch;
      this.pos++;
    }
  }

  private number(): Token {
    const s = this.src;
    const start = this.pos;
    const m = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/.exec(s.slice(start));
    const text = m![0];
    const after = s[start + text.length];
    if (after !== undefined && (isIdentPart(after) || after === ".")) {
      const bad = /^[^\s(),=<>!]+/.exec(s.slice(start))![0];
      this.fail(
        `Malformed number ${quoteToken(bad)} at position ${start}. Numbers look like 42, -1.5 or 1e3; ` +
          `quote text values: '${bad}'.`,
        start,
        bad,
      );
    }
    this.pos += text.length;
    return { kind: "number", start, end: this.pos, value: Number(text) };
  }

  /** A dotted path such as trace.status, tag.`mlflow.user` or span.attributes.gen_ai.request.model. */
  private path(): Token {
    const s = this.src;
    const start = this.pos;
    const segments: PathSegment[] = [];
    for (;;) {
      const c = s[this.pos];
      if (c === "`" || (c === '"' && segments.length > 0)) {
        const open = this.pos;
        const close = s.indexOf(c, open + 1);
        if (close < 0) {
          this.fail(`Unterminated quoted name starting at position ${open}: add the closing ${c}.`, open, s.slice(open));
        }
        const text = s.slice(open + 1, close);
        if (text === "") this.fail(`Empty quoted name at position ${open}. Put the key between the ${c}s.`, open, `${c}${c}`);
        segments.push({ text, quoted: true });
        this.pos = close + 1;
      } else if (c !== undefined && (segments.length === 0 ? isIdentStart(c) : isIdentPart(c))) {
        const b = this.pos;
        while (this.pos < s.length && isIdentPart(s[this.pos]!)) this.pos++;
        segments.push({ text: s.slice(b, this.pos), quoted: false });
      } else {
        const shown = c === undefined ? "end of filter" : quoteToken(c);
        this.fail(
          `Expected a name after "." at position ${this.pos}, found ${shown}. ` +
            "Quote names with special characters in backticks, e.g. tag.`my key`.",
          this.pos,
          c ?? "",
        );
      }
      if (s[this.pos] !== ".") break;
      this.pos++;
    }
    const only = segments[0]!;
    if (segments.length === 1 && !only.quoted && KEYWORDS.has(only.text.toUpperCase())) {
      return { kind: "keyword", start, end: this.pos, keyword: only.text.toUpperCase() };
    }
    return { kind: "path", start, end: this.pos, segments };
  }
}

// ---------------------------------------------------------------------------
// Fields

const TRACE_ATTRS: Record<string, TraceAttr> = {
  status: "status",
  timestamp_ms: "timestamp_ms",
  timestamp: "timestamp_ms",
  end_time_ms: "end_time_ms",
  end_time: "end_time_ms",
  execution_time_ms: "execution_time_ms",
  execution_time: "execution_time_ms",
  name: "name",
  client_request_id: "client_request_id",
  run_id: "run_id",
  experiment_id: "experiment_id",
  trace_id: "trace_id",
  request_id: "trace_id",
  text: "text",
};

const STRING_OPS: Operator[] = ["=", "!=", "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN"];
/** MLflow refuses IN on these trace attributes (test_search_traces_with_invalid_filter). */
const SCALAR_STRING_OPS: Operator[] = ["=", "!=", "LIKE", "ILIKE", "RLIKE"];
const COMPARE_OPS: Operator[] = ["=", "!=", "<", "<=", ">", ">="];
const NULL_OPS: Operator[] = ["IS NULL", "IS NOT NULL"];
const ALL_OPS: Operator[] = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN"];

/** The operators a field accepts, for checking and for the hint in the error. */
function operatorsFor(f: FieldRef): Operator[] {
  switch (f.entity) {
    case "trace":
      switch (f.attr) {
        case "status":
          return ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
        case "timestamp_ms":
        case "end_time_ms":
        case "execution_time_ms":
          return COMPARE_OPS;
        case "text":
          return ["LIKE", "ILIKE"];
        case "name":
        case "run_id":
        case "client_request_id":
          return SCALAR_STRING_OPS;
        default:
          return STRING_OPS;
      }
    case "span":
      if (f.attr === "content") return ["LIKE", "ILIKE"];
      if (f.attr === "status") return ["=", "!=", "IN", "NOT IN"];
      return STRING_OPS;
    case "tag":
    case "metadata":
      return [...STRING_OPS, ...NULL_OPS];
    case "span_attribute":
      return ALL_OPS;
    case "assessment":
      return [...ALL_OPS, ...NULL_OPS];
  }
}

/** The field as the user should write it, in messages. */
export function fieldName(f: FieldRef): string {
  const q = (k: string) => (/^[A-Za-z_][A-Za-z0-9_\-]*$/.test(k) ? k : `\`${k}\``);
  switch (f.entity) {
    case "trace":
      return `trace.${f.attr}`;
    case "span":
      return `span.${f.attr}`;
    case "span_attribute":
      return `span.attributes.${q(f.key)}`;
    case "tag":
      return `tag.${q(f.key)}`;
    case "metadata":
      return `metadata.${q(f.key)}`;
    case "assessment":
      return `${f.kind ?? "assessment"}.${q(f.name)}`;
  }
}

// ---------------------------------------------------------------------------
// Parser

const STATUSES: Record<string, string> = { OK: "OK", ERROR: "ERROR", UNSET: "UNSET" };

type RawValue =
  | { type: "string"; value: string; start: number; text: string }
  | { type: "number"; value: number; start: number; text: string }
  | { type: "boolean"; value: boolean; start: number; text: string };

class Parser {
  private i = 0;
  private readonly tokens: Token[];
  private readonly lexer: Lexer;

  constructor(private readonly src: string) {
    this.lexer = new Lexer(src);
    this.tokens = this.lexer.tokens();
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private take(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== "eof") this.i++;
    return t;
  }

  private text(t: Token): string {
    return t.kind === "eof" ? "" : this.src.slice(t.start, t.end);
  }

  private describe(t: Token): string {
    return t.kind === "eof" ? "the end of the filter" : quoteToken(this.text(t));
  }

  private fail(message: string, t: Token | number, token?: string): never {
    const pos = typeof t === "number" ? t : t.start;
    const tok = token ?? (typeof t === "number" ? "" : this.text(t));
    return this.lexer.fail(message, pos, tok);
  }

  private failOr(t: Token): never {
    return this.fail(
      `OR is not supported (found at position ${t.start}): clauses can only be joined with AND. ` +
        "Run two searches, one per side of the OR, and combine their results " +
        "(for alternative values of one field, use IN: trace.status IN ('OK', 'ERROR')).",
      t,
    );
  }

  parse(): FilterClause[] {
    const clauses: FilterClause[] = [];
    for (;;) {
      clauses.push(this.clause());
      const t = this.take();
      if (t.kind === "eof") return clauses;
      if (t.kind === "keyword" && t.keyword === "AND") {
        if (this.peek().kind === "eof") {
          this.fail(`Expected a clause after AND at position ${t.start}, found the end of the filter. Remove the trailing AND.`, this.peek(), "");
        }
        continue;
      }
      if (t.kind === "keyword" && t.keyword === "OR") this.failOr(t);
      this.fail(
        `Unexpected ${this.describe(t)} at position ${t.start}: a clause ends after its value. ` +
          "Join clauses with AND, e.g. trace.status = 'OK' AND trace.name = 'chat'.",
        t,
      );
    }
  }

  private clause(): FilterClause {
    const ft = this.take();
    if (ft.kind === "keyword" && ft.keyword === "OR") this.failOr(ft);
    if (ft.kind === "lparen") {
      this.fail(
        `Unexpected "(" at position ${ft.start}: parentheses only enclose IN lists. Write clauses joined by AND, without grouping.`,
        ft,
      );
    }
    if (ft.kind !== "path") {
      const what = ft.kind === "eof" ? "the end of the filter" : this.describe(ft);
      this.fail(`Expected a field at position ${ft.start}, found ${what}. ${VALID_FIELDS_HINT}`, ft);
    }
    const field = this.field(ft);
    const ot = this.take();
    const op = this.operator(ot, field);
    const allowed = operatorsFor(field);
    if (!allowed.includes(op)) {
      const extra =
        field.entity === "trace" && field.attr === "text"
          ? " trace.text is a full-text match: write trace.text LIKE '%word%' (or ILIKE to ignore case)."
          : field.entity === "span" && field.attr === "content"
            ? " span.content only supports LIKE and ILIKE: write span.content LIKE '%word%'."
            : field.entity === "trace" && (field.attr === "timestamp_ms" || field.attr === "end_time_ms" || field.attr === "execution_time_ms")
              ? ` Compare ${fieldName(field)} with a number, e.g. ${fieldName(field)} > 1000.`
              : (op === "IN" || op === "NOT IN") && allowed.includes("=")
                ? ` For several values, run one search per value.`
                : op === "IS NULL" || op === "IS NOT NULL"
                  ? " IS NULL and IS NOT NULL work on tag.<key>, metadata.<key>, feedback.<name>, expectation.<name> and assessment.<name>."
                  : "";
      this.fail(`Operator ${quoteToken(this.text(ot))} is not valid for ${fieldName(field)}. Use one of: ${allowed.join(", ")}.${extra}`, ot);
    }
    const vt = this.peek();
    const value: FilterValue =
      op === "IS NULL" || op === "IS NOT NULL"
        ? { type: "null" }
        : op === "IN" || op === "NOT IN"
          ? this.list(field, op)
          : this.check(field, op, this.scalar(field));
    return { field, op, value, position: { field: ft.start, op: ot.start, value: vt.start } };
  }

  private field(t: Extract<Token, { kind: "path" }>): FieldRef {
    const segs = t.segments;
    // MLflow accepts a backtick-quoted entity or attribute: `tags`.source_name, `timestamp` >= 1.
    const head = segs[0]!.text.toLowerCase();
    const rest = segs.slice(1);
    const key = rest.map((s) => s.text).join(".");
    const whole = this.text(t);
    const needKey = (example: string): never =>
      this.fail(`Field ${quoteToken(whole)} at position ${t.start} needs a key: write ${example}.`, t);

    const traceAttr = (name: PathSegment | undefined): FieldRef | undefined => {
      if (!name) return undefined;
      const a = TRACE_ATTRS[name.text.toLowerCase()];
      return a ? { entity: "trace", attr: a } : undefined;
    };

    switch (head) {
      case "trace":
      case "attributes":
      case "attribute": {
        const f = rest.length === 1 ? traceAttr(rest[0]) : undefined;
        if (f) return f;
        return this.fail(`Unknown trace field ${quoteToken(whole)} at position ${t.start}. ${VALID_FIELDS_HINT}`, t);
      }
      case "span":
      case "spans": {
        const sub = rest[0] && !rest[0].quoted ? rest[0].text.toLowerCase() : "";
        if ((sub === "name" || sub === "type" || sub === "status" || sub === "content") && rest.length === 1) return { entity: "span", attr: sub };
        if (sub === "attributes" || sub === "attribute") {
          if (rest.length < 2) needKey("span.attributes.<key>, e.g. span.attributes.`gen_ai.request.model` = 'gpt-4o'");
          return { entity: "span_attribute", key: rest.slice(1).map((s) => s.text).join(".") };
        }
        return this.fail(
          `Unknown span field ${quoteToken(whole)} at position ${t.start}. Span fields are span.name, span.type, span.status, span.content and span.attributes.<key>.`,
          t,
        );
      }
      case "tag":
      case "tags":
        if (!key) needKey("tag.<key>, e.g. tag.env = 'prod'");
        return { entity: "tag", key };
      case "metadata":
      case "request_metadata":
        if (!key) needKey("metadata.<key>, e.g. metadata.session = 'abc'");
        return { entity: "metadata", key };
      case "feedback":
      case "expectation":
      case "assessment":
      case "feedbacks":
      case "expectations":
      case "assessments": {
        const kind = head.replace(/s$/, "");
        if (!key) needKey(`${kind}.<name>, e.g. ${kind}.correctness = 'yes'`);
        return kind === "assessment" ? { entity: "assessment", name: key } : { entity: "assessment", kind: kind as AssessmentKind, name: key };
      }
    }
    // MLflow also accepts trace attributes without a prefix (`status = 'OK'`).
    const bare = segs.length === 1 ? traceAttr(segs[0]) : undefined;
    if (bare) return bare;
    return this.fail(`Unknown field ${quoteToken(whole)} at position ${t.start}. ${VALID_FIELDS_HINT}`, t);
  }

  private operator(t: Token, field: FieldRef): Operator {
    if (t.kind === "op") return t.op as Operator;
    if (t.kind === "keyword") {
      if (t.keyword === "LIKE" || t.keyword === "ILIKE" || t.keyword === "RLIKE" || t.keyword === "IN") return t.keyword;
      if (t.keyword === "NOT") {
        const n = this.take();
        if (n.kind === "keyword" && n.keyword === "IN") return "NOT IN";
        if (n.kind === "keyword" && (n.keyword === "LIKE" || n.keyword === "ILIKE")) {
          return this.fail(
            `NOT ${n.keyword} is not supported (position ${t.start}). The negated operators are != and NOT IN.`,
            t,
            `NOT ${n.keyword}`,
          );
        }
        return this.fail(`Expected IN after NOT at position ${n.start}, found ${this.describe(n)}. Write ${fieldName(field)} NOT IN ('a', 'b').`, n);
      }
      if (t.keyword === "IS") {
        const n = this.take();
        const negated = n.kind === "keyword" && n.keyword === "NOT";
        const last = negated ? this.take() : n;
        if (last.kind === "keyword" && last.keyword === "NULL") return negated ? "IS NOT NULL" : "IS NULL";
        return this.fail(
          `Expected NULL after IS${negated ? " NOT" : ""} at position ${last.start}, found ${this.describe(last)}. ` +
            `Write ${fieldName(field)} IS NULL or ${fieldName(field)} IS NOT NULL; compare values with = or LIKE.`,
          last,
        );
      }
      if (t.keyword === "BETWEEN") {
        return this.fail(
          `BETWEEN is not supported (position ${t.start}). Write two clauses: ${fieldName(field)} >= 1 AND ${fieldName(field)} <= 2.`,
          t,
        );
      }
    }
    const found = t.kind === "eof" ? "the end of the filter" : this.describe(t);
    return this.fail(
      `Expected an operator after ${fieldName(field)} at position ${t.start}, found ${found}. Use one of: ${operatorsFor(field).join(", ")}.`,
      t,
    );
  }

  private scalar(field: FieldRef): RawValue {
    const t = this.take();
    const text = this.text(t);
    switch (t.kind) {
      case "string":
        return { type: "string", value: t.value, start: t.start, text };
      case "number":
        return { type: "number", value: t.value, start: t.start, text };
      case "keyword":
        if (t.keyword === "TRUE" || t.keyword === "FALSE") return { type: "boolean", value: t.keyword === "TRUE", start: t.start, text };
        if (t.keyword === "NULL") {
          this.fail(`Write IS NULL or IS NOT NULL to test for an absent value (position ${t.start}); "= NULL" never matches.`, t);
        }
        break;
      case "eof":
        this.fail(`Expected a value after the operator at position ${t.start}, found the end of the filter. Example: ${example(field)}.`, t);
    }
    if (t.kind === "path") {
      this.fail(
        `Expected a value at position ${t.start}, found ${this.describe(t)}. Quote text values: '${text.replace(/'/g, "''")}'.`,
        t,
      );
    }
    return this.fail(`Expected a value at position ${t.start}, found ${this.describe(t)}. Example: ${example(field)}.`, t);
  }

  private list(field: FieldRef, op: Operator): FilterValue {
    const open = this.take();
    if (open.kind !== "lparen") {
      this.fail(`Expected "(" after ${op} at position ${open.start}, found ${this.describe(open)}. Write ${fieldName(field)} ${op} ('a', 'b').`, open);
    }
    const items: RawValue[] = [];
    if (this.peek().kind === "rparen") {
      this.fail(`Empty ${op} list at position ${open.start}. Put at least one value between the parentheses.`, open);
    }
    for (;;) {
      items.push(this.scalar(field));
      const t = this.take();
      if (t.kind === "rparen") break;
      if (t.kind === "comma") continue;
      this.fail(`Expected "," or ")" in the ${op} list at position ${t.start}, found ${this.describe(t)}.`, t);
    }
    const checked = items.map((v) => this.check(field, "=", v));
    const first = checked[0]!;
    if (first.type === "string") {
      return { type: "string_list", values: checked.map((c, k) => (c.type === "string" ? c.value : this.mixed(items[k]!, op))) };
    }
    if (first.type === "number" && field.entity === "assessment") {
      // MLflow: "Numeric feedback values only support comparison operators".
      this.fail(
        `${op} lists of numbers are not supported for ${fieldName(field)} (position ${items[0]!.start}): numeric values only support ` +
          `=, !=, <, <=, > and >=. Write one clause per bound, e.g. ${fieldName(field)} >= 0.5 AND ${fieldName(field)} <= 0.6.`,
        items[0]!.start,
        items[0]!.text,
      );
    }
    if (first.type === "number") {
      return { type: "number_list", values: checked.map((c, k) => (c.type === "number" ? c.value : this.mixed(items[k]!, op))) };
    }
    return this.fail(`${op} lists hold strings or numbers, not booleans (position ${items[0]!.start}). Use = true or = false.`, items[0]!.start, items[0]!.text);
  }

  private mixed(v: RawValue, op: Operator): never {
    return this.fail(`Mixed value types in the ${op} list at position ${v.start}: ${quoteToken(v.text)} differs from the first item. Use values of one type.`, v.start, v.text);
  }

  /** Type-checks a value against the field and operator, normalising it to what the compiler expects. */
  private check(field: FieldRef, op: Operator, v: RawValue): FilterValue {
    const fname = fieldName(field);
    const bad: (why: string) => never = (why) =>
      this.fail(`Invalid value ${quoteToken(v.text)} for ${fname} at position ${v.start}: ${why}`, v.start, v.text);
    const isOrdering = op === "<" || op === "<=" || op === ">" || op === ">=";
    const isPattern = op === "LIKE" || op === "ILIKE" || op === "RLIKE";
    if (isPattern && v.type !== "string") bad(`${op} needs a quoted pattern, e.g. ${fname} ${op} '%${v.text}%'.`);
    if (op === "RLIKE") {
      // ClickHouse runs RE2; JavaScript's parser catches the same syntax errors for what users write.
      try {
        new RegExp(v.value as string);
      } catch (err) {
        bad(`RLIKE needs a regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, "")}).`);
      }
      return { type: "string", value: v.value as string };
    }
    if (isPattern && field.entity !== "assessment" && field.entity !== "span_attribute") return { type: "string", value: v.value as string };

    const asNumber = (): number => {
      if (v.type === "number") return v.value;
      if (v.type === "string" && /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(v.value)) return Number(v.value);
      return bad(`${fname} is numeric; write a number, e.g. ${fname} > 100.`);
    };

    switch (field.entity) {
      case "trace":
        switch (field.attr) {
          case "status": {
            const s = v.type === "string" ? STATUSES[v.value.trim().toUpperCase()] : undefined;
            if (!s) return bad("the status is one of 'OK', 'ERROR', 'UNSET'.");
            return { type: "string", value: s };
          }
          case "end_time_ms":
          case "timestamp_ms": {
            const n = asNumber();
            if (!Number.isSafeInteger(n) || n < 0) bad(`${fname} is whole milliseconds since 1970, e.g. ${fname} > 1700000000000.`);
            return { type: "number", value: n };
          }
          case "execution_time_ms": {
            const n = asNumber();
            if (!Number.isFinite(n)) bad("write a finite number of milliseconds.");
            return { type: "number", value: n };
          }
          default:
            if (v.type !== "string") return bad(`${fname} is text; quote the value: ${fname} ${op} '${v.text}'.`);
            return { type: "string", value: v.value };
        }
      case "span":
        if (field.attr === "status") {
          const s = v.type === "string" ? STATUSES[v.value.trim().toUpperCase()] : undefined;
          if (!s) return bad("a span status is one of 'OK', 'ERROR', 'UNSET'.");
          return { type: "string", value: s };
        }
        if (v.type !== "string") return bad(`${fname} is text; quote the value: ${fname} ${op} '${v.text}'.`);
        return { type: "string", value: v.value };
      case "tag":
      case "metadata":
        if (v.type !== "string") return bad(`${fname} is text; quote the value: ${fname} ${op} '${v.text}'.`);
        return { type: "string", value: v.value };
      case "span_attribute":
        if (isOrdering) return { type: "number", value: asNumber() };
        if (v.type === "number") return { type: "number", value: v.value };
        // Attributes are stored as text; a boolean attribute reads 'true' / 'false'.
        return { type: "string", value: v.type === "boolean" ? String(v.value) : v.value };
      case "assessment":
        if (isOrdering) {
          if (v.type !== "number") return bad(`${op} compares numbers; write e.g. ${fname} ${op} 3.`);
          return { type: "number", value: v.value };
        }
        if (v.type === "boolean") {
          if (op !== "=" && op !== "!=") bad(`booleans are compared with = or !=.`);
          return { type: "boolean", value: v.value };
        }
        if (v.type === "number") {
          if (!Number.isFinite(v.value)) bad("write a finite number.");
          return { type: "number", value: v.value };
        }
        return { type: "string", value: v.value };
    }
  }
}

function example(f: FieldRef): string {
  const n = fieldName(f);
  switch (f.entity) {
    case "trace":
      if (f.attr === "status") return `${n} = 'ERROR'`;
      if (f.attr === "timestamp_ms") return `${n} > 1700000000000`;
      if (f.attr === "execution_time_ms") return `${n} > 500`;
      if (f.attr === "text") return `${n} LIKE '%word%'`;
      return `${n} = 'value'`;
    case "assessment":
      return `${n} = 'yes' or ${n} >= 4`;
    default:
      return `${n} = 'value'`;
  }
}

/** Parses and type-checks a filter; an empty or blank filter has no clauses. */
export function parseTraceFilter(filter: string | undefined): FilterClause[] {
  if (filter === undefined || filter.trim() === "") return [];
  return new Parser(filter).parse();
}
