import { describe, expect, it } from "vitest";
import { compileTraceFilter, filterReadsSpans, ParamBag, TRACE_STATUS_SQL } from "./filter-compiler.js";
import { FilterSyntaxError } from "./filter-parser.js";
import { compileOrderBy, InvalidOrderByError } from "./trace-search.js";

const NOSPAN = "NOT (ServiceName = 'gavel' AND SpanName = 'gavel.assessment')";

function compile(filter: string | undefined): { sql: string; params: Record<string, unknown> } {
  const bag = new ParamBag();
  const sql = compileTraceFilter(filter, bag);
  return { sql, params: bag.values };
}

describe("ParamBag", () => {
  it("allocates sequential names and returns typed placeholders", () => {
    const b = new ParamBag("q");
    expect(b.add("String", "a")).toBe("{q0:String}");
    expect(b.add("Array(String)", ["x"])).toBe("{q1:Array(String)}");
    expect(b.values).toEqual({ q0: "a", q1: ["x"] });
  });
});

describe("compileTraceFilter", () => {
  it("compiles an empty filter to 1 with no parameters", () => {
    expect(compile(undefined)).toEqual({ sql: "1", params: {} });
    expect(compile("   ")).toEqual({ sql: "1", params: {} });
  });

  it("compiles trace.status against the displayed status", () => {
    expect(compile("trace.status = 'error'")).toEqual({ sql: `(${TRACE_STATUS_SQL} = {p0:String})`, params: { p0: "ERROR" } });
    expect(compile("trace.status NOT IN ('OK')")).toEqual({
      sql: `(${TRACE_STATUS_SQL} NOT IN {p0:Array(String)})`,
      params: { p0: ["OK"] },
    });
  });

  it("compiles timestamp comparisons to millisecond ranges on the raw column", () => {
    const at = (p: string) => `fromUnixTimestamp64Milli({${p}:Int64})`;
    expect(compile("trace.timestamp_ms > 1000")).toEqual({ sql: `(t.Timestamp >= ${at("p0")})`, params: { p0: 1001 } });
    expect(compile("trace.timestamp_ms >= 1000")).toEqual({ sql: `(t.Timestamp >= ${at("p0")})`, params: { p0: 1000 } });
    expect(compile("trace.timestamp_ms < 1000")).toEqual({ sql: `(t.Timestamp < ${at("p0")})`, params: { p0: 1000 } });
    expect(compile("trace.timestamp_ms <= 1000")).toEqual({ sql: `(t.Timestamp < ${at("p0")})`, params: { p0: 1001 } });
    expect(compile("trace.timestamp = 1000")).toEqual({
      sql: `(t.Timestamp >= ${at("p0")} AND t.Timestamp < ${at("p1")})`,
      params: { p0: 1000, p1: 1001 },
    });
    expect(compile("trace.timestamp_ms != 1000").sql).toBe(`(NOT (t.Timestamp >= ${at("p0")} AND t.Timestamp < ${at("p1")}))`);
  });

  it("compiles execution time in fractional milliseconds", () => {
    expect(compile("trace.execution_time_ms > 1.5")).toEqual({ sql: "(t.Duration / 1000000 > {p0:Float64})", params: { p0: 1.5 } });
  });

  it("compiles the text columns of the trace", () => {
    expect(compile("trace.name LIKE 'a%'")).toEqual({ sql: "(t.Name LIKE {p0:String})", params: { p0: "a%" } });
    expect(compile("trace.run_id = 'r'")).toEqual({
      sql: "(t.RunId = {p0:String} OR t.TraceId IN (SELECT TraceId FROM gavel_trace_run_links WHERE RunId = {p1:String} GROUP BY RunId, TraceId HAVING argMax(Unlinked, UpdatedAt) = 0))",
      params: { p0: "r", p1: "r" },
    });
    expect(compile("trace.experiment_id IN ('1', '2')")).toEqual({ sql: "(t.ExperimentId IN {p0:Array(String)})", params: { p0: ["1", "2"] } });
    expect(compile("trace.trace_id != 'abc'").sql).toBe("(t.TraceId != {p0:String})");
  });

  it("compiles trace.run_id over the trace's own run and the runs it was linked to; != negates the whole", () => {
    expect(compile("trace.run_id != 'r'").sql).toBe(
      "(NOT (t.RunId = {p0:String} OR t.TraceId IN (SELECT TraceId FROM gavel_trace_run_links WHERE RunId = {p1:String} GROUP BY RunId, TraceId HAVING argMax(Unlinked, UpdatedAt) = 0)))",
    );
    expect(compile("trace.run_id RLIKE '^r'").sql).toBe(
      "(match(t.RunId, {p0:String}) OR t.TraceId IN (SELECT TraceId FROM gavel_trace_run_links WHERE match(RunId, {p1:String}) GROUP BY RunId, TraceId HAVING argMax(Unlinked, UpdatedAt) = 0))",
    );
  });

  it("compiles trace.text over the trace and, through a subquery, every span", () => {
    const { sql, params } = compile("trace.text ILIKE '%needle%'");
    expect(params).toEqual({ p0: "%needle%" });
    expect(sql).toMatch(/^\(t\.Name ILIKE \{p0:String\} OR t\.Inputs ILIKE \{p0:String\} OR t\.Outputs ILIKE \{p0:String\} OR t\.TraceId IN \(SELECT TraceId FROM otel_traces WHERE NOT \(ServiceName = 'gavel' AND SpanName = 'gavel\.assessment'\) AND \(SpanName ILIKE \{p0:String\} OR /);
    // Span types, attribute keys and values (MLflow's test_search_traces_with_full_text_filter),
    // without Gavel's own bookkeeping attributes apart from the inputs and outputs.
    expect(sql).toContain("SpanType ILIKE {p0:String}");
    expect(sql).toContain("arrayExists((k, v) -> (k ILIKE {p0:String} OR v ILIKE {p0:String}) AND (NOT startsWith(k, 'gavel.') OR k IN ('gavel.inputs', 'gavel.outputs')), mapKeys(SpanAttributes), mapValues(SpanAttributes))");
  });

  it("bounds span subqueries by a start time when asked (windowed search), and says which filters read spans", () => {
    const params = new ParamBag();
    const sql = compileTraceFilter("span.name = 'llm' AND trace.text LIKE '%x%' AND tag.env = 'prod'", params, { spanFrom: "fromUnixTimestamp64Nano({w:Int64})" });
    expect(sql.match(/FROM otel_traces WHERE Timestamp >= fromUnixTimestamp64Nano\(\{w:Int64\}\) AND /g)).toHaveLength(2);
    expect(compileTraceFilter("span.name = 'llm'", new ParamBag())).not.toContain("Timestamp >=");
    for (const f of ["span.name = 'x'", "span.attributes.`a.b` = '1'", "trace.text LIKE '%x%'", "trace.client_request_id = 'r'", "tag.a = 'b' AND span.status = 'OK'"]) {
      expect(filterReadsSpans(f)).toBe(true);
    }
    for (const f of [undefined, "", "tag.a = 'b'", "feedback.q = 'good'", "trace.status = 'OK'", "trace.timestamp_ms > 5"]) expect(filterReadsSpans(f)).toBe(false);
  });

  it("compiles span fields to ANY-span subqueries", () => {
    expect(compile("span.name = 'llm'")).toEqual({
      sql: `(t.TraceId IN (SELECT TraceId FROM otel_traces WHERE ${NOSPAN} AND ((SpanName = {p0:String}))))`,
      params: { p0: "llm" },
    });
    expect(compile("span.type IN ('LLM', 'TOOL')").sql).toBe(`(t.TraceId IN (SELECT TraceId FROM otel_traces WHERE ${NOSPAN} AND ((SpanType IN {p0:Array(String)}))))`);
  });

  it("puts all span clauses on one span, as MLflow does", () => {
    const { sql } = compile("span.name = 'search' AND trace.name = 'chat' AND span.status = 'error'");
    expect(sql).toBe(
      `(t.TraceId IN (SELECT TraceId FROM otel_traces WHERE ${NOSPAN} AND ((SpanName = {p0:String}) AND (multiIf(StatusCode = 'Error', 'ERROR', StatusCode = 'Ok', 'OK', 'UNSET') = {p1:String})))) AND (t.Name = {p2:String})`,
    );
  });

  it("compiles RLIKE to match(), IS [NOT] NULL on tags and assessments, and trace.end_time_ms", () => {
    expect(compile("trace.name RLIKE '^Gen'")).toEqual({ sql: "(match(t.Name, {p0:String}))", params: { p0: "^Gen" } });
    expect(compile("tag.env IS NULL").sql).toBe("(NOT mapContains(t.Tags, {p0:String}))");
    expect(compile("metadata.env IS NOT NULL").sql).toBe("(mapContains(t.Metadata, {p0:String}))");
    expect(compile("feedback.q IS NULL").sql).toBe(
      "(t.TraceId NOT IN (SELECT TraceId FROM gavel_assessments FINAL WHERE Name = {p0:String} AND Kind = {p1:String} AND Valid AND NOT Deleted))",
    );
    expect(compile("trace.end_time_ms >= 5")).toEqual({
      sql: "(intDiv(toUnixTimestamp64Nano(t.Timestamp) + toInt64(t.Duration), 1000000) >= {p0:Int64})",
      params: { p0: 5 },
    });
  });

  it("compiles span attributes with the key as a parameter, numerically for numbers", () => {
    expect(compile("span.attributes.`gen_ai.request.model` = 'gpt-4o'")).toEqual({
      sql: `(t.TraceId IN (SELECT TraceId FROM otel_traces WHERE ${NOSPAN} AND ((mapContains(SpanAttributes, {p0:String}) AND SpanAttributes[{p0:String}] = {p1:String}))))`,
      params: { p0: "gen_ai.request.model", p1: "gpt-4o" },
    });
    expect(compile("span.attributes.tokens >= 100")).toEqual({
      sql: `(t.TraceId IN (SELECT TraceId FROM otel_traces WHERE ${NOSPAN} AND ((mapContains(SpanAttributes, {p0:String}) AND toFloat64OrNull(SpanAttributes[{p0:String}]) >= {p1:Float64}))))`,
      params: { p0: "tokens", p1: 100 },
    });
  });

  it("compiles tags and metadata so that a missing key never matches", () => {
    expect(compile("tag.`mlflow.user` != 'bob'")).toEqual({
      sql: "(mapContains(t.Tags, {p0:String}) AND t.Tags[{p0:String}] != {p1:String})",
      params: { p0: "mlflow.user", p1: "bob" },
    });
    expect(compile("metadata.session IN ('a')").sql).toBe("(mapContains(t.Metadata, {p0:String}) AND t.Metadata[{p0:String}] IN {p1:Array(String)})");
  });

  it("compiles assessments to a subquery over the latest valid versions", () => {
    const s = compile("feedback.quality = 'good'");
    expect(s.params).toEqual({ p0: "quality", p1: "feedback", p2: "good" });
    expect(s.sql).toMatch(
      /^\(t\.TraceId IN \(SELECT TraceId FROM gavel_assessments FINAL WHERE Name = \{p0:String\} AND Kind = \{p1:String\} AND Valid AND NOT Deleted AND multiIf\(.*JSONExtractString\(Value\).*\) = \{p2:String\}\)\)$/,
    );
    const n = compile("expectation.score >= 4");
    expect(n.params).toEqual({ p0: "score", p1: "expectation", p2: 4 });
    expect(n.sql).toMatch(/coalesce\(.*ScoreValue.*\) >= \{p2:Float64\}\)\)$/);
    const b = compile("assessment.correct = true");
    expect(b.params).toEqual({ p0: "correct", p1: true });
    expect(b.sql).not.toContain("Kind =");
    expect(b.sql).toContain("JSONType(Value) = 'Bool' AND JSONExtractBool(Value) = {p1:Bool}");
    expect(compile("feedback.s IN ('a', 'b')").sql).toContain("IN {p2:Array(String)}");
  });

  it("joins clauses with AND, each in parentheses, numbering parameters across them", () => {
    const { sql, params } = compile("trace.name = 'a' AND tag.env = 'prod'");
    expect(sql).toBe("(t.Name = {p0:String}) AND (mapContains(t.Tags, {p1:String}) AND t.Tags[{p1:String}] = {p2:String})");
    expect(params).toEqual({ p0: "a", p1: "env", p2: "prod" });
  });

  it("never puts user text into the SQL", () => {
    const evil = "x') OR 1=1 --";
    const filters = [
      `trace.name = '${evil.replace(/'/g, "''")}'`,
      `tag.\`${evil}\` = 'v'`,
      `metadata.\`${evil}\` = 'v'`,
      `span.attributes.\`${evil}\` = 'v'`,
      `feedback.\`${evil}\` = 'v'`,
      `trace.text LIKE '%${evil.replace(/'/g, "\\'")}%'`,
      `trace.status IN ('OK')`,
    ];
    for (const f of filters) {
      const { sql } = compile(f);
      expect(sql).not.toContain("1=1");
      expect(sql).not.toContain("x')");
    }
  });

  it("propagates parser errors", () => {
    expect(() => compile("trace.name = 'a' OR trace.name = 'b'")).toThrow(FilterSyntaxError);
  });
});

describe("compileOrderBy", () => {
  it("defaults to newest first, with TraceId ascending as the tie-breaker (MLflow's order)", () => {
    const o = compileOrderBy(undefined);
    expect(o.sql).toBe("t.Timestamp DESC, t.TraceId ASC");
    expect(compileOrderBy([]).sql).toBe(o.sql);
  });

  it("accepts the allowlisted fields, aliases and prefixes; ASC when no direction is given", () => {
    expect(compileOrderBy(["execution_time_ms desc", "name"]).sql).toBe("t.Duration DESC, t.Name ASC, t.Timestamp DESC, t.TraceId ASC");
    expect(compileOrderBy(["attributes.timestamp ASC"]).sql).toBe("t.Timestamp ASC, t.TraceId ASC");
    expect(compileOrderBy(["  trace.execution_time  DESC "]).keys.map((k) => k.field)).toEqual(["execution_time_ms", "timestamp_ms", "trace_id"]);
    expect(compileOrderBy(["status DESC"]).sql).toBe(`${TRACE_STATUS_SQL} DESC, t.Timestamp DESC, t.TraceId ASC`);
    // Tags and runs: rows without one come last, in either direction; the key is a parameter.
    const bag = new ParamBag("o");
    expect(compileOrderBy(["tag.`env name` DESC", "run_id"], bag).sql).toBe(
      "(NOT mapContains(t.Tags, {o0:String})) ASC, t.Tags[{o0:String}] DESC, (t.RunId = '') ASC, t.RunId ASC, t.Timestamp DESC, t.TraceId ASC",
    );
    expect(bag.values).toEqual({ o0: "env name" });
  });

  it("rejects other fields, bad directions and repeats with a 400-class error", () => {
    for (const bad of ["metric.env", "timestamp_ms DOWN", "Duration; DROP TABLE x", "name ASC DESC", ""]) {
      const e = (() => {
        try {
          compileOrderBy([bad]);
        } catch (x) {
          return x as InvalidOrderByError;
        }
        return undefined;
      })();
      expect(e, bad).toBeInstanceOf(InvalidOrderByError);
      expect(e!.status).toBe(400);
      expect(e!.message).toContain("timestamp_ms, execution_time_ms, name, status, run_id, experiment_id, tag.<key>");
    }
    expect(() => compileOrderBy(["name", "trace.name DESC"])).toThrow(/names name twice/);
  });
});
