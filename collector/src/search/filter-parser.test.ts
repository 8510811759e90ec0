import { describe, expect, it } from "vitest";
import { FilterSyntaxError, parseTraceFilter, pointAt, type FilterClause } from "./filter-parser.js";

const one = (f: string): FilterClause => {
  const cs = parseTraceFilter(f);
  expect(cs).toHaveLength(1);
  return cs[0]!;
};

/** Parses `f`, expecting a FilterSyntaxError at `position` whose message contains every `parts`. */
function fails(f: string, position: number, ...parts: (string | RegExp)[]): FilterSyntaxError {
  let err: unknown;
  try {
    parseTraceFilter(f);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${f} to fail`).toBeInstanceOf(FilterSyntaxError);
  const e = err as FilterSyntaxError;
  expect({ position: e.position, message: e.message }).toMatchObject({ position });
  for (const p of parts) {
    if (typeof p === "string") expect(e.message).toContain(p);
    else expect(e.message).toMatch(p);
  }
  // The last two lines show the filter and a caret under the offending token.
  const lines = e.message.split("\n");
  expect(lines.at(-2)).toBe(f.replace(/[\t\r\n]/g, " "));
  expect(lines.at(-1)).toBe(`${" ".repeat(position)}^`);
  expect(e.code).toBe("INVALID_FILTER");
  expect(e.status).toBe(400);
  expect(e.field).toBe("filter");
  return e;
}

describe("parseTraceFilter: fields", () => {
  it("treats empty and blank filters as no clauses", () => {
    expect(parseTraceFilter(undefined)).toEqual([]);
    expect(parseTraceFilter("")).toEqual([]);
    expect(parseTraceFilter("  \n ")).toEqual([]);
  });

  it("parses trace.status, normalising the value case-insensitively", () => {
    expect(one("trace.status = 'ok'")).toMatchObject({ field: { entity: "trace", attr: "status" }, op: "=", value: { type: "string", value: "OK" } });
    expect(one("TRACE.STATUS != 'Error'").value).toEqual({ type: "string", value: "ERROR" });
    expect(one("trace.status IN ('unset', 'OK')").value).toEqual({ type: "string_list", values: ["UNSET", "OK"] });
  });

  it("parses the timestamp and execution time fields with their aliases", () => {
    expect(one("trace.timestamp_ms > 1700000000000")).toMatchObject({
      field: { entity: "trace", attr: "timestamp_ms" },
      op: ">",
      value: { type: "number", value: 1700000000000 },
    });
    expect(one("trace.timestamp >= '1700000000000'").value).toEqual({ type: "number", value: 1700000000000 });
    expect(one("trace.execution_time_ms <= 12.5")).toMatchObject({ field: { attr: "execution_time_ms" }, value: { value: 12.5 } });
    expect(one("trace.execution_time < 1e3").value).toEqual({ type: "number", value: 1000 });
  });

  it("parses the text fields of a trace", () => {
    for (const attr of ["name", "run_id", "experiment_id", "trace_id"] as const) {
      expect(one(`trace.${attr} = "x"`)).toMatchObject({ field: { entity: "trace", attr }, value: { type: "string", value: "x" } });
    }
    expect(one("trace.request_id = 'x'").field).toEqual({ entity: "trace", attr: "trace_id" });
    expect(one("trace.text ILIKE '%hello%'")).toMatchObject({ field: { attr: "text" }, op: "ILIKE" });
  });

  it("accepts MLflow's attributes. prefix and bare trace attributes", () => {
    expect(one("attributes.status = 'OK'").field).toEqual({ entity: "trace", attr: "status" });
    expect(one("status = 'OK'").field).toEqual({ entity: "trace", attr: "status" });
    expect(one("timestamp_ms > 5").field).toEqual({ entity: "trace", attr: "timestamp_ms" });
  });

  it("parses span fields", () => {
    expect(one("span.name = 'llm'").field).toEqual({ entity: "span", attr: "name" });
    expect(one("span.type = 'LLM'").field).toEqual({ entity: "span", attr: "type" });
    expect(one("span.attributes.`gen_ai.request.model` = 'gpt-4o'").field).toEqual({ entity: "span_attribute", key: "gen_ai.request.model" });
    expect(one("span.attributes.gen_ai.request.model = 'gpt-4o'").field).toEqual({ entity: "span_attribute", key: "gen_ai.request.model" });
    expect(one("span.attributes.tokens > 100")).toMatchObject({ field: { key: "tokens" }, value: { type: "number", value: 100 } });
    expect(one("span.attributes.cached = true").value).toEqual({ type: "string", value: "true" });
  });

  it("parses tags and metadata with backticked and dotted keys", () => {
    expect(one("tag.env = 'prod'").field).toEqual({ entity: "tag", key: "env" });
    expect(one("tags.`mlflow.user` = 'alice'").field).toEqual({ entity: "tag", key: "mlflow.user" });
    expect(one("tag.mlflow.user = 'alice'").field).toEqual({ entity: "tag", key: "mlflow.user" });
    expect(one('tag."my key" = \'v\'').field).toEqual({ entity: "tag", key: "my key" });
    expect(one("tag.`OR` = 'v'").field).toEqual({ entity: "tag", key: "OR" });
    expect(one("metadata.session = 's1'").field).toEqual({ entity: "metadata", key: "session" });
    expect(one("request_metadata.`mlflow.source` = 's'").field).toEqual({ entity: "metadata", key: "mlflow.source" });
  });

  it("parses assessments of each kind", () => {
    expect(one("feedback.quality = 'good'")).toMatchObject({ field: { entity: "assessment", kind: "feedback", name: "quality" }, value: { type: "string" } });
    expect(one("expectation.answer = 'x'").field).toEqual({ entity: "assessment", kind: "expectation", name: "answer" });
    expect(one("assessment.`my.judge` >= 3")).toMatchObject({ field: { entity: "assessment", name: "my.judge" }, value: { type: "number", value: 3 } });
    expect(one("assessment.x = 1").field).not.toHaveProperty("kind");
    expect(one("feedback.correct = TRUE").value).toEqual({ type: "boolean", value: true });
    expect(one("feedback.correct != false").value).toEqual({ type: "boolean", value: false });
    expect(one("feedback.score IS NOT NULL")).toMatchObject({ op: "IS NOT NULL", value: { type: "null" } });
    expect(one("feedback.label NOT IN ('a', \"b\")").value).toEqual({ type: "string_list", values: ["a", "b"] });
  });
});

describe("parseTraceFilter: operators and literals", () => {
  it("parses every operator, keywords in any case", () => {
    const ops: [string, string][] = [
      ["=", "="],
      ["!=", "!="],
      ["<>", "!="],
      ["<", "<"],
      ["<=", "<="],
      [">", ">"],
      [">=", ">="],
    ];
    for (const [w, op] of ops) expect(one(`feedback.s ${w} 1`).op).toBe(op);
    expect(one("trace.name like 'a%'").op).toBe("LIKE");
    expect(one("trace.name iLike 'a%'").op).toBe("ILIKE");
    expect(one("trace.name rlike 'a.*'").op).toBe("RLIKE");
    expect(one("trace.trace_id in ('a')").op).toBe("IN");
    expect(one("trace.trace_id not  In ('a')").op).toBe("NOT IN");
    expect(one("tag.env is not null").op).toBe("IS NOT NULL");
    expect(one("tag.env Is Null").op).toBe("IS NULL");
  });

  it("needs no spaces around symbolic operators", () => {
    expect(one("trace.execution_time_ms>=5")).toMatchObject({ op: ">=", value: { value: 5 } });
    expect(one("trace.name='a'")).toMatchObject({ op: "=", value: { value: "a" } });
  });

  it("decodes string escapes and doubled quotes", () => {
    expect(one(String.raw`trace.name = 'it\'s'`).value).toEqual({ type: "string", value: "it's" });
    expect(one("trace.name = 'it''s'").value).toEqual({ type: "string", value: "it's" });
    expect(one(String.raw`trace.name = "say \"hi\""`).value).toEqual({ type: "string", value: 'say "hi"' });
    expect(one(String.raw`trace.name = 'a\\b\nc\td'`).value).toEqual({ type: "string", value: "a\\b\nc\td" });
    // LIKE's own escapes pass through untouched.
    expect(one(String.raw`trace.name LIKE '100\%'`).value).toEqual({ type: "string", value: "100\\%" });
    expect(one("trace.name = 'é ✓'").value).toEqual({ type: "string", value: "é ✓" });
  });

  it("parses numbers: integers, decimals, signs, exponents", () => {
    expect(one("feedback.s = -3").value).toEqual({ type: "number", value: -3 });
    expect(one("feedback.s = .5").value).toEqual({ type: "number", value: 0.5 });
    expect(one("feedback.s = +2.").value).toEqual({ type: "number", value: 2 });
    expect(one("feedback.s = 1.5E-2").value).toEqual({ type: "number", value: 0.015 });
  });

  it("joins clauses with AND in any case and keeps their positions", () => {
    const f = "trace.status = 'OK' and tag.env = 'prod' AND span.type = 'LLM'";
    const cs = parseTraceFilter(f);
    expect(cs.map((c) => c.field.entity)).toEqual(["trace", "tag", "span"]);
    expect(cs[1]!.position).toEqual({ field: f.indexOf("tag"), op: f.indexOf("= 'prod'"), value: f.indexOf("'prod'") });
  });
});

describe("parseTraceFilter: errors", () => {
  it("rejects OR, saying to run two searches", () => {
    const f = "trace.status = 'OK' OR trace.status = 'ERROR'";
    fails(f, f.indexOf("OR"), "OR is not supported", "Run two searches", "IN");
    fails("or trace.name = 'a'", 0, "OR is not supported");
    fails("trace.name = 'a' || trace.name = 'b'", 17, '"||"', "OR is not supported");
  });

  it("rejects symbolic && and ==, naming the replacement", () => {
    fails("trace.name = 'a' && trace.name = 'b'", 17, '"&&"', "AND");
    fails("trace.name == 'a'", 11, '"=="', 'single "="');
  });

  it("rejects unknown fields, listing the valid ones", () => {
    const e = fails("trace.foo = 1", 0, '"trace.foo"', "trace.status", "span.attributes.<key>", "feedback.<name>");
    expect(e.token).toBe("trace.foo");
    fails("trace.status = 'OK' AND foo.bar = 1", 24, 'Unknown field "foo.bar"', "Valid fields");
    fails("trace.status.x = 1", 0, "Unknown trace field");
    fails("span.kind = 'x'", 0, '"span.kind"', "span.name, span.type, span.status, span.content and span.attributes.<key>");
    fails("nonsense = 1", 0, 'Unknown field "nonsense"');
  });

  it("rejects a prefix without a key", () => {
    fails("tag = 'x'", 0, '"tag" at position 0 needs a key', "tag.env = 'prod'");
    fails("metadata = 'x'", 0, "metadata.<key>");
    fails("feedback = 'x'", 0, "feedback.<name>");
    fails("span.attributes = 'x'", 0, "span.attributes.<key>");
    fails("tag. = 'x'", 4, 'Expected a name after "."', "backticks");
    fails("tag.`` = 'x'", 4, "Empty quoted name");
    fails("tag.`env = 'x'", 4, "Unterminated quoted name");
  });

  it("rejects a missing or unknown operator", () => {
    fails("trace.name 'x'", 11, "Expected an operator after trace.name", "=, !=, LIKE");
    fails("trace.name", 10, "found the end of the filter");
    fails("trace.name IS NULL", 11, 'Operator "IS" is not valid for trace.name', "IS NULL and IS NOT NULL work on tag.<key>");
    fails("tag.env IS 'a'", 11, "Expected NULL after IS");
    fails("trace.execution_time_ms BETWEEN 1 AND 2", 24, "BETWEEN is not supported", ">= 1 AND");
    fails("trace.name NOT LIKE 'a%'", 11, "NOT LIKE is not supported", "NOT IN");
    fails("trace.name NOT = 'a'", 15, "Expected IN after NOT");
  });

  it("rejects an operator the field does not support, listing those it does", () => {
    fails("trace.name > 'a'", 11, 'Operator ">" is not valid for trace.name', "=, !=, LIKE, ILIKE, RLIKE");
    fails("trace.text = 'a'", 11, "not valid for trace.text", "LIKE '%word%'");
    fails("trace.status > 'O'", 13, "=, !=, LIKE, ILIKE, IN, NOT IN");
    expect(one("trace.status LIKE 'O%'")).toMatchObject({ op: "LIKE", value: { type: "string", value: "O%" } });
    fails("trace.timestamp_ms LIKE '1%'", 19, "not valid for trace.timestamp_ms", "trace.timestamp_ms > 1000");
    fails("trace.execution_time_ms IN (1, 2)", 24, "=, !=, <, <=, >, >=");
    fails("tag.env < 'b'", 8, "not valid for tag.env");
    fails("span.name >= 'a'", 10, "not valid for span.name");
  });

  it("rejects missing and unquoted values", () => {
    fails("trace.name =", 12, "Expected a value", "end of the filter", "trace.name = 'value'");
    fails("trace.name = chat", 13, 'found "chat"', "Quote text values: 'chat'");
    fails("trace.name = = 'a'", 13, "Expected a value");
    fails("trace.name = NULL", 13, "Write IS NULL or IS NOT NULL");
  });

  it("rejects unterminated strings and malformed numbers", () => {
    fails("trace.name = 'abc", 13, "Unterminated string", "closing '");
    fails('trace.name = "abc', 13, 'closing "');
    fails("trace.name = 'abc\\", 13, "Unterminated string");
    fails("feedback.s = 12abc", 13, 'Malformed number "12abc"', "'12abc'");
    fails("feedback.s = 1.2.3", 13, "Malformed number");
  });

  it("rejects stray characters and tokens after a clause", () => {
    fails("trace.name = 'a'; DROP TABLE otel_traces", 16, 'Unexpected character ";"');
    fails("trace.name = 'a' trace.status = 'OK'", 17, 'Unexpected "trace.status"', "Join clauses with AND");
    fails("trace.name = 'a' AND", 20, "Remove the trailing AND");
    fails("(trace.name = 'a')", 0, "parentheses only enclose IN lists");
    fails("trace.name = 'a' AND AND trace.name = 'b'", 21, "Expected a field");
  });

  it("type-checks values against the field", () => {
    fails("trace.status = 'DONE'", 15, "'OK', 'ERROR', 'UNSET'");
    fails("trace.status = 1", 15, "'OK', 'ERROR', 'UNSET'");
    fails("trace.execution_time_ms > 'slow'", 26, "trace.execution_time_ms is numeric", "trace.execution_time_ms > 100");
    fails("trace.timestamp_ms > 1.5", 21, "whole milliseconds");
    fails("trace.timestamp_ms > -5", 21, "whole milliseconds");
    fails("trace.name = 5", 13, "quote the value: trace.name = '5'");
    fails("tag.env = true", 10, "quote the value");
    fails("span.type = 3", 12, "quote the value");
    fails("trace.name LIKE 5", 16, "LIKE needs a quoted pattern", "'%5%'");
    fails("feedback.s LIKE 5", 16, "LIKE needs a quoted pattern");
    fails("feedback.s > 'high'", 13, "> compares numbers", "feedback.s > 3");
    fails("feedback.ok < true", 14, "compares numbers");
    fails("span.attributes.tokens > 'many'", 25, "is numeric");
  });

  it("rejects malformed IN lists", () => {
    fails("trace.trace_id IN 'a'", 18, 'Expected "(" after IN', "trace.trace_id IN ('a', 'b')");
    fails("trace.trace_id IN ()", 18, "Empty IN list");
    fails("trace.trace_id IN ('a' 'b')", 23, 'Expected "," or ")"');
    fails("trace.trace_id IN ('a',", 23, "Expected a value");
    fails("feedback.s IN ('a', 1)", 20, "Mixed value types");
    fails("feedback.s IN (1, 2)", 15, "numeric values only support");
    fails("feedback.s IN (true)", 15, "not booleans");
    fails("trace.status NOT IN ('OK', 'nope')", 27, "'OK', 'ERROR', 'UNSET'");
  });

  it("quotes long tokens briefly and windows long filters around the caret", () => {
    const long = `trace.name = 'a' AND ${"tag.k = 'v' AND ".repeat(10)}bogus = 1`;
    const pos = long.indexOf("bogus");
    let e: FilterSyntaxError | undefined;
    try {
      parseTraceFilter(long);
    } catch (x) {
      e = x as FilterSyntaxError;
    }
    expect(e?.position).toBe(pos);
    const [line, caret] = e!.message.split("\n").slice(-2);
    expect(line!.startsWith("…")).toBe(true);
    expect(line![caret!.length - 1]).toBe("b");
    expect(line!.slice(caret!.length - 1)).toBe("bogus = 1");
  });

  it("aligns the caret in filters with newlines and tabs", () => {
    expect(pointAt("a\n\tb", 3)).toBe("a  b\n   ^");
  });
});
