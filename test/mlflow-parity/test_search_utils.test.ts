/**
 * MLflow parity: the trace filter parser, from MLflow's tests/utils/test_search_utils.py
 * (the SearchTraceUtils tests, and the entity quoting of test_filter). Run searches are not
 * Gavel's (it has no metrics or params), so only the trace cases are restated.
 */
import { describe, expect, it } from "vitest";
import { FilterSyntaxError, parseTraceFilter } from "../../collector/src/search/filter-parser.js";

const one = (f: string) => {
  const clauses = parseTraceFilter(f);
  expect(clauses).toHaveLength(1);
  return clauses[0]!;
};

function refused(filter: string, message: RegExp): void {
  let err: unknown;
  try {
    parseTraceFilter(filter);
  } catch (e) {
    err = e;
  }
  expect(err, filter).toBeInstanceOf(FilterSyntaxError);
  expect((err as Error).message, filter).toMatch(message);
}

describe("MLflow tests/utils/test_search_utils.py", () => {
  it("test_filter: backtick-quoted entity names (`tags`.source_name)", () => {
    expect(one("`tags`.source_name = 'a notebook'")).toMatchObject({
      field: { entity: "tag", key: "source_name" },
      op: "=",
      value: { type: "string", value: "a notebook" },
    });
    expect(one("tags.version = 'commit-hash'").field).toEqual({ entity: "tag", key: "version" });
    expect(one('tags."t.a.g" = "a"')).toMatchObject({ field: { entity: "tag", key: "t.a.g" }, value: { value: "a" } });
    expect(parseTraceFilter("")).toEqual([]);
  });

  it("test_correct_quote_trimming: either quote, the other one inside", () => {
    expect(one("tag.m = 'LR'").value).toEqual({ type: "string", value: "LR" });
    expect(one('tag.m = "LR"').value).toEqual({ type: "string", value: "LR" });
    expect(one(`tag.m = "L'Hosp"`).value).toEqual({ type: "string", value: "L'Hosp" });
  });

  it("test_error_filter / test_invalid_clauses: OR, grouping, unterminated quotes, IS without NULL", () => {
    refused("tag.a = 'x' OR tag.b = 'LR'", /OR is not supported/);
    refused("tag.a = 'x' AND (tag.b = 'LR')", /parentheses only enclose IN lists/);
    refused("`tag.A = 'x'", /Unterminated quoted name/);
    refused("tag.acc = 'LR", /Unterminated string/);
    refused("tag.acc = = 'LR'", /Expected a value/);
    refused("trace.status IS 'RUNNING'", /Expected NULL after IS/);
    refused("tag.acc LR", /Expected an operator/);
    refused("1=1", /Expected a field/);
  });

  it("test_trace_search_filter_with_feedback", () => {
    const cases: [string, string, unknown][] = [
      ["feedback.is_correct = true", "=", { type: "boolean", value: true }],
      ["feedback.is_correct = false", "=", { type: "boolean", value: false }],
      ["feedback.is_correct != true", "!=", { type: "boolean", value: true }],
      ["feedback.score = 0.95", "=", { type: "number", value: 0.95 }],
      ["feedback.score > 0.5", ">", { type: "number", value: 0.5 }],
      ["feedback.score < 0.5", "<", { type: "number", value: 0.5 }],
      ["feedback.score >= 0.7", ">=", { type: "number", value: 0.7 }],
      ["feedback.score <= 0.3", "<=", { type: "number", value: 0.3 }],
      ["feedback.sentiment = 'positive'", "=", { type: "string", value: "positive" }],
      ['feedback.sentiment = "negative"', "=", { type: "string", value: "negative" }],
      ["feedback.sentiment != 'neutral'", "!=", { type: "string", value: "neutral" }],
      ["feedback.sentiment LIKE 'pos%'", "LIKE", { type: "string", value: "pos%" }],
      ["feedback.category IN ('good', 'excellent')", "IN", { type: "string_list", values: ["good", "excellent"] }],
      ["feedback.category NOT IN ('bad', 'poor')", "NOT IN", { type: "string_list", values: ["bad", "poor"] }],
    ];
    for (const [filter, op, value] of cases) {
      const c = one(filter);
      expect(c.field, filter).toMatchObject({ entity: "assessment", kind: "feedback" });
      expect(c.op, filter).toBe(op);
      expect(c.value, filter).toEqual(value);
    }
  });

  it("test_trace_search_filter_feedback_invalid_comparators", () => {
    for (const f of ["feedback.is_correct > true", "feedback.is_correct < false", "feedback.is_correct >= true", "feedback.is_correct <= false"]) {
      refused(f, /compares numbers/);
    }
    refused("feedback.score IN (0.5, 0.6)", /numeric values only support =, !=, <, <=, > and >=/);
    for (const f of ["feedback.sentiment > 'positive'", "feedback.sentiment < 'negative'", "feedback.sentiment >= 'positive'", "feedback.sentiment <= 'negative'"]) {
      refused(f, /compares numbers/);
    }
  });

  it("test_trace_search_filter_feedback_value_type_inference", () => {
    expect(one("feedback.test = true").value).toEqual({ type: "boolean", value: true });
    expect(one("feedback.test = false").value).toEqual({ type: "boolean", value: false });
    expect(one("feedback.test = 42").value).toEqual({ type: "number", value: 42 });
    expect(one("feedback.test = 3.14").value).toEqual({ type: "number", value: 3.14 });
    expect(one("feedback.test = 'hello'").value).toEqual({ type: "string", value: "hello" });
    expect(one("feedback.test IN ('a', 'b', 'c')").value).toEqual({ type: "string_list", values: ["a", "b", "c"] });
  });

  it("test_trace_search_filter_with_span", () => {
    expect(one("span.type = 'LLM'")).toMatchObject({ field: { entity: "span", attr: "type" }, op: "=", value: { value: "LLM" } });
    expect(one("span.type != 'CHAIN'")).toMatchObject({ op: "!=" });
    expect(one("span.type IN ('LLM', 'CHAIN')").value).toEqual({ type: "string_list", values: ["LLM", "CHAIN"] });
    expect(one("span.type NOT IN ('UNKNOWN')").value).toEqual({ type: "string_list", values: ["UNKNOWN"] });
    expect(one("span.content LIKE '%hello%'")).toMatchObject({ field: { entity: "span", attr: "content" }, op: "LIKE", value: { value: "%hello%" } });
    expect(one("span.content ILIKE '%WORLD%'")).toMatchObject({ op: "ILIKE", value: { value: "%WORLD%" } });
  });

  it("test_trace_search_filter_span_invalid_comparators", () => {
    for (const f of ["span.content = 'test'", "span.content > 'test'", "span.content IN ('test')", "span.content != 'test'"]) {
      refused(f, /span\.content only supports LIKE and ILIKE/);
    }
    for (const f of ["span.type > 'LLM'", "span.type < 'LLM'"]) refused(f, /not valid for span\.type/);
    refused("span.invalid = 'test'", /Unknown span field "span\.invalid"/);
    // Deliberate difference: this MLflow file also refuses span.type LIKE/ILIKE, span.name
    // and span.status in the parser, while MLflow's store tests
    // (test_search_traces_with_span_type_filter, _span_name_filter, _span_status_filter)
    // search with them. Gavel follows the store, which is what users call.
    expect(one("span.type LIKE '%LLM%'").op).toBe("LIKE");
    expect(one("span.name = 'test'").field).toEqual({ entity: "span", attr: "name" });
    expect(one("span.status = 'OK'").field).toEqual({ entity: "span", attr: "status" });
  });
});
