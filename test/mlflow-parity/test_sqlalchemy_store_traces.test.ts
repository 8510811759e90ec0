/**
 * MLflow parity: trace search, from MLflow's
 * tests/store/tracking/sqlalchemy_store/test_sqlalchemy_store_traces.py.
 * Each test names the MLflow test whose expectations it restates, against Gavel's SDK
 * (`searchTraces`, `logFeedback`, `logExpectation`) and a real collector on chDB.
 *
 * How MLflow's fixtures map to Gavel: an MLflow trace record with spans is a Gavel root span
 * (see support.ts); MLflow's trace name tag is the root span's name; `mlflow.sourceRun`
 * metadata becomes both the trace's run (`gavel.run_id`) and a metadata key; MLflow's
 * STATE_UNSPECIFIED is Gavel's UNSET; MLflow's JSON-encoded span attribute values are plain
 * OpenTelemetry attribute strings here.
 */
import { describe, expect, it } from "vitest";
import { GavelApiError, logExpectation, logFeedback, overrideFeedback, searchTraces } from "@gavel/sdk";
import { BASE_MS, newExperiment, parityGavel, sendTraces, type TraceSpec } from "./support.js";

const gavelOf = parityGavel();

/** Sends the traces; returns label → trace id and a search that answers labels. */
async function fixture(exp: string, traces: Record<string, Omit<TraceSpec, "experimentId" | "name"> & { name?: string }>) {
  const labels = Object.keys(traces);
  const ids = await sendTraces(
    gavelOf().url,
    labels.map((l) => ({ name: l, ...traces[l]!, experimentId: exp })),
  );
  const idOf = Object.fromEntries(labels.map((l, i) => [l, ids[i]!]));
  const labelOf = new Map(ids.map((id, i) => [id, labels[i]!]));
  const search = async (filter?: string, orderBy?: string[], experimentIds = [exp]) =>
    (await searchTraces({ experimentIds, ...(filter !== undefined ? { filter } : {}), ...(orderBy ? { orderBy } : {}) })).map(
      (t) => labelOf.get(t.info.traceId) ?? t.info.traceId,
    );
  const set = async (filter: string) => new Set(await search(filter));
  return { idOf, search, set };
}

const HUMAN = { sourceType: "HUMAN" as const, sourceId: "user@example.com" };
const CODE = { sourceType: "CODE" as const, sourceId: "checker" };

async function refused(filter: string, exp: string, message?: RegExp) {
  const err = await searchTraces({ experimentIds: [exp], filter }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, filter).toBeInstanceOf(GavelApiError);
  expect((err as GavelApiError).status).toBe(400);
  if (message) expect((err as GavelApiError).message).toMatch(message);
}

/** MLflow's `store_with_traces` fixture: five traces in two experiments. */
async function storeWithTraces() {
  const exp1 = await newExperiment("exp1");
  const exp2 = await newExperiment("exp2");
  const specs: Record<string, TraceSpec> = {
    "tr-0": { experimentId: exp2, name: "ddd", startMs: 0, durationMs: 6, status: "OK", runId: "run0", metadata: { "mlflow.sourceRun": "run0" } },
    "tr-1": {
      experimentId: exp2,
      name: "aaa",
      startMs: 1,
      durationMs: 2,
      status: "ERROR",
      tags: { fruit: "apple", color: "red" },
      runId: "run1",
      metadata: { "mlflow.sourceRun": "run1" },
    },
    "tr-2": { experimentId: exp1, name: "bbb", startMs: 2, durationMs: 4, status: "UNSET", tags: { fruit: "apple", color: "green" } },
    "tr-3": { experimentId: exp1, name: "ccc", startMs: 3, durationMs: 10, status: "OK", tags: { fruit: "orange" } },
    "tr-4": { experimentId: exp1, name: "ddd", startMs: 4, durationMs: 10, status: "OK", tags: { color: "blue" } },
  };
  const labels = Object.keys(specs);
  const ids = await sendTraces(gavelOf().url, labels.map((l) => specs[l]!));
  const labelOf = new Map(ids.map((id, i) => [id, labels[i]!]));
  const search = async (o: { filter?: string; orderBy?: string[]; maxResults?: number; pageToken?: string } = {}) => {
    const list = await searchTraces({ experimentIds: [exp1, exp2], maxResults: 5, ...o });
    return { labels: list.map((t) => labelOf.get(t.info.traceId)!), next: list.nextPageToken };
  };
  return { exp1, exp2, search };
}

describe("MLflow tests/store/tracking/sqlalchemy_store/test_sqlalchemy_store_traces.py", () => {
  it("test_search_traces_order_by", async () => {
    const { exp1, exp2, search } = await storeWithTraces();
    const cases: [string[], string[]][] = [
      [[], ["tr-4", "tr-3", "tr-2", "tr-1", "tr-0"]],
      [["timestamp"], ["tr-0", "tr-1", "tr-2", "tr-3", "tr-4"]],
      [["timestamp DESC"], ["tr-4", "tr-3", "tr-2", "tr-1", "tr-0"]],
      [["execution_time DESC", "timestamp ASC"], ["tr-3", "tr-4", "tr-0", "tr-2", "tr-1"]],
      [["status"], ["tr-1", "tr-4", "tr-3", "tr-0", "tr-2"]],
      [["name"], ["tr-1", "tr-2", "tr-3", "tr-4", "tr-0"]],
      // Missing tags and runs sort last.
      [["tag.fruit"], ["tr-2", "tr-1", "tr-3", "tr-4", "tr-0"]],
      [["tag.fruit", "tag.color"], ["tr-2", "tr-1", "tr-3", "tr-4", "tr-0"]],
      [["tag.nonexistent"], ["tr-4", "tr-3", "tr-2", "tr-1", "tr-0"]],
      [["run_id"], ["tr-0", "tr-1", "tr-4", "tr-3", "tr-2"]],
    ];
    for (const [orderBy, expected] of cases) expect((await search({ orderBy })).labels, orderBy.join(",")).toEqual(expected);
    // Deliberate difference: MLflow's experiment ids count up from 1, so exp1 < exp2 there;
    // Gavel's are derived from the name (the first 16 hex of its SHA-256), so the expected
    // order follows the ids actually given, newest first within an experiment.
    const byExp = exp1 < exp2 ? ["tr-4", "tr-3", "tr-2", "tr-1", "tr-0"] : ["tr-1", "tr-0", "tr-4", "tr-3", "tr-2"];
    expect((await search({ orderBy: ["experiment_id"] })).labels).toEqual(byExp);
  });

  it("test_search_traces_with_filter", async () => {
    const { search } = await storeWithTraces();
    const t = (ms: number) => BASE_MS + ms;
    const cases: [string, string[]][] = [
      ["name = 'aaa'", ["tr-1"]],
      ["name != 'aaa'", ["tr-4", "tr-3", "tr-2", "tr-0"]],
      ["status = 'OK'", ["tr-4", "tr-3", "tr-0"]],
      ["status != 'OK'", ["tr-2", "tr-1"]],
      ["attributes.status = 'OK'", ["tr-4", "tr-3", "tr-0"]],
      ["attributes.name != 'aaa'", ["tr-4", "tr-3", "tr-2", "tr-0"]],
      ["trace.status = 'OK'", ["tr-4", "tr-3", "tr-0"]],
      ["trace.name != 'aaa'", ["tr-4", "tr-3", "tr-2", "tr-0"]],
      [`\`timestamp\` >= ${t(1)} AND execution_time < 10`, ["tr-2", "tr-1"]],
      ["tag.fruit = 'apple'", ["tr-2", "tr-1"]],
      ["tags.fruit = 'apple' and tags.color != 'red'", ["tr-2"]],
      ["run_id = 'run0'", ["tr-0"]],
      ["request_metadata.mlflow.sourceRun = 'run0'", ["tr-0"]],
      ["request_metadata.mlflow.sourceRun = 'run1'", ["tr-1"]],
      ["request_metadata.`mlflow.sourceRun` = 'run0'", ["tr-0"]],
      ["metadata.mlflow.sourceRun = 'run0'", ["tr-0"]],
      ["metadata.mlflow.sourceRun != 'run0'", ["tr-1"]],
    ];
    for (const [filter, expected] of cases) expect((await search({ filter })).labels, filter).toEqual(expected);
  });

  it("test_search_traces_with_invalid_filter", async () => {
    const exp = await newExperiment("invalid-filter");
    for (const f of ["invalid", "name = 'foo' AND invalid", "foo.bar = 'baz'", "invalid = 'foo'", "trace.tags.foo = 'bar'"]) await refused(f, exp);
    await refused("trace.status < 'OK'", exp, /Operator "<" is not valid for trace\.status/);
    await refused("name IN ('foo', 'bar')", exp, /Operator "IN" is not valid for trace\.name/);
  });

  it("test_search_traces_pagination", async () => {
    const { search } = await storeWithTraces();
    const p1 = await search({ maxResults: 2 });
    expect(p1.labels).toEqual(["tr-4", "tr-3"]);
    const p2 = await search({ maxResults: 2, pageToken: p1.next! });
    expect(p2.labels).toEqual(["tr-2", "tr-1"]);
    const p3 = await search({ maxResults: 2, pageToken: p2.next! });
    expect(p3.labels).toEqual(["tr-0"]);
    expect(p3.next).toBeUndefined();
  });

  it("test_search_traces_pagination_tie_breaker: same timestamp, newest first, then trace id", async () => {
    const exp = await newExperiment("tie-breaker");
    const older = Array.from({ length: 5 }, (_, i) => ({ name: `old-${i}`, startMs: 0, experimentId: exp }));
    const newer = Array.from({ length: 5 }, (_, i) => ({ name: `new-${i}`, startMs: 1, experimentId: exp }));
    const oldIds = await sendTraces(gavelOf().url, older);
    const newIds = await sendTraces(gavelOf().url, newer);
    const expected = [...[...newIds].sort(), ...[...oldIds].sort()];
    const got: string[] = [];
    let token: string | undefined;
    do {
      const page = await searchTraces({ experimentIds: [exp], maxResults: 3, ...(token ? { pageToken: token } : {}) });
      got.push(...page.map((t) => t.info.traceId));
      token = page.nextPageToken;
    } while (token);
    expect(got).toEqual(expected);
    // The same tie-break under another order: all have the same status, so newest first, then id.
    const byStatus: string[] = [];
    token = undefined;
    do {
      const page = await searchTraces({ experimentIds: [exp], maxResults: 4, orderBy: ["status"], ...(token ? { pageToken: token } : {}) });
      byStatus.push(...page.map((t) => t.info.traceId));
      token = page.nextPageToken;
    } while (token);
    expect(byStatus).toEqual(expected);
  });

  it("test_search_traces_with_span_name_filter", async () => {
    const exp = await newExperiment("span-name");
    const { set } = await fixture(exp, {
      trace1: { children: [{ name: "database_query", spanType: "FUNCTION" }] },
      trace2: { children: [{ name: "api_call", spanType: "FUNCTION" }] },
      trace3: { children: [{ name: "database_update", spanType: "FUNCTION" }] },
    });
    expect(await set('span.name = "database_query"')).toEqual(new Set(["trace1"]));
    expect(await set('span.name LIKE "database%"')).toEqual(new Set(["trace1", "trace3"]));
    expect(await set('span.name = "api_call"')).toEqual(new Set(["trace2"]));
    expect(await set('span.name = "nonexistent"')).toEqual(new Set());
  });

  it("test_search_traces_with_span_name_filter: span.name != matches a trace with any other span", async () => {
    const exp = await newExperiment("span-name-ne");
    // MLflow's traces here hold one span each; the span is the trace's root in Gavel.
    const { set } = await fixture(exp, { database_query: {}, api_call: {}, database_update: {} });
    expect(await set('span.name != "api_call"')).toEqual(new Set(["database_query", "database_update"]));
  });

  it("test_search_traces_with_full_text_filter", async () => {
    const exp = await newExperiment("full-text");
    const { set } = await fixture(exp, {
      database_query: { spanType: "FUNCTION", attributes: { "llm.inputs": "what's MLflow?" } },
      api_request: { spanType: "TOOL", attributes: { "response.token.usage": "123" } },
      computation: {
        spanType: "FUNCTION",
        attributes: { "llm.outputs": 'MLflow is a tool for " testing " ...' },
        children: [{ name: "result", spanType: "WORKFLOW", attributes: { test: '"the number increased 90%"' } }],
      },
    });
    expect(await set('trace.text LIKE "%database_query%"')).toEqual(new Set(["database_query"]));
    expect(await set('trace.text LIKE "%FUNCTION%"')).toEqual(new Set(["database_query", "computation"]));
    expect(await set(`trace.text LIKE "%what's MLflow?%"`)).toEqual(new Set(["database_query"]));
    expect(await set('trace.text LIKE "%MLflow is a tool for%"')).toEqual(new Set(["computation"]));
    expect(await set('trace.text LIKE "%llm.%"')).toEqual(new Set(["database_query", "computation"]));
    expect(await set('trace.text LIKE "%90%%"')).toEqual(new Set(["computation"]));
  });

  it("test_search_traces_with_invalid_span_attribute", async () => {
    const exp = await newExperiment("invalid-span-attr");
    await refused('span.duration = "1000"', exp, /Unknown span field "span\.duration".*span\.name, span\.type, span\.status/);
    await refused('span.parent_id = "123"', exp, /Unknown span field "span\.parent_id"/);
    await refused('span.content = "test"', exp, /span\.content only supports LIKE and ILIKE/);
  });

  it("test_search_traces_with_span_type_filter", async () => {
    const exp = await newExperiment("span-type");
    const { set } = await fixture(exp, {
      trace1: { spanType: "LLM" },
      trace2: { spanType: "RETRIEVER" },
      trace3: { spanType: "CHAIN" },
    });
    expect(await set('span.type = "LLM"')).toEqual(new Set(["trace1"]));
    expect(await set('span.type IN ("LLM", "RETRIEVER")')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.type NOT IN ("LLM", "RETRIEVER")')).toEqual(new Set(["trace3"]));
    expect(await set('span.type != "LLM"')).toEqual(new Set(["trace2", "trace3"]));
    expect(await set('span.type LIKE "LLM"')).toEqual(new Set(["trace1"]));
    expect(await set('span.type ILIKE "llm"')).toEqual(new Set(["trace1"]));
  });

  it("test_search_traces_with_span_status_filter", async () => {
    const exp = await newExperiment("span-status");
    const { set } = await fixture(exp, { trace1: { status: "OK" }, trace2: { status: "ERROR" }, trace3: { status: "UNSET" } });
    expect(await set('span.status = "OK"')).toEqual(new Set(["trace1"]));
    expect(await set('span.status = "ERROR"')).toEqual(new Set(["trace2"]));
    expect(await set('span.status IN ("OK", "ERROR")')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.status != "ERROR"')).toEqual(new Set(["trace1", "trace3"]));
  });

  it("test_search_traces_with_span_content_filter", async () => {
    const exp = await newExperiment("span-content");
    const { set } = await fixture(exp, {
      trace1: {
        spanType: "LLM",
        attributes: { model: "gpt-4", temperature: "0.7", "gavel.inputs": '{"prompt":"Tell me about machine learning"}', "gavel.outputs": '{"response":"Machine learning is a subset of AI"}' },
      },
      trace2: {
        spanType: "LLM",
        attributes: { model: "claude-3", max_tokens: "1000", "gavel.inputs": '{"query":"What is neural network?"}', "gavel.outputs": '{"response":"A neural network is..."}' },
      },
      trace3: {
        spanType: "RETRIEVER",
        attributes: { database: "vector_store", "gavel.inputs": '{"search":"embeddings"}', "gavel.outputs": '{"documents":["doc1","doc2"]}' },
      },
    });
    expect(await set('span.content LIKE "%gpt-4%"')).toEqual(new Set(["trace1"]));
    expect(await set('span.content LIKE "%neural network%"')).toEqual(new Set(["trace2"]));
    expect(await set('span.content LIKE "%temperature%"')).toEqual(new Set(["trace1"]));
    expect(await set('span.content ILIKE "%MACHINE LEARNING%"')).toEqual(new Set(["trace1"]));
    expect(await set('span.content LIKE "%model%"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.content LIKE "%doc1%"')).toEqual(new Set(["trace3"]));
  });

  it("test_search_traces_with_combined_span_filters", async () => {
    const exp = await newExperiment("combined-span");
    const { set } = await fixture(exp, {
      llm_success: { spanType: "LLM", status: "OK", attributes: { model: "gpt-4" } },
      llm_error: { spanType: "LLM", status: "ERROR", attributes: { model: "gpt-3.5" } },
      retriever_success: { spanType: "RETRIEVER", status: "OK", attributes: { database: "pinecone" } },
      llm_success_claude: { spanType: "LLM", status: "OK", attributes: { model: "claude-3" } },
    });
    expect(await set('span.type = "LLM" AND span.status = "OK"')).toEqual(new Set(["llm_success", "llm_success_claude"]));
    expect(await set('span.type = "LLM" AND span.content LIKE "%gpt%"')).toEqual(new Set(["llm_success", "llm_error"]));
    expect(await set('span.name LIKE "%success%" AND span.status = "OK"')).toEqual(new Set(["llm_success", "retriever_success", "llm_success_claude"]));
    expect(await set('span.type = "LLM" AND span.status = "OK" AND span.content LIKE "%gpt-4%"')).toEqual(new Set(["llm_success"]));
  });

  it("test_search_traces_combined_span_filters_match_same_span", async () => {
    const exp = await newExperiment("same-span");
    const { set } = await fixture(exp, {
      trace1: {
        children: [
          { name: "search_web", spanType: "TOOL", status: "ERROR", attributes: { query: "test" } },
          { name: "other_tool", spanType: "TOOL", status: "OK", attributes: { data: "value" } },
        ],
      },
      trace2: { children: [{ name: "search_web", spanType: "TOOL", status: "OK", attributes: { query: "test2" } }] },
    });
    expect(await set('span.name = "search_web" AND span.status = "OK"')).toEqual(new Set(["trace2"]));
    expect(await set('span.name = "search_web" AND span.status = "ERROR"')).toEqual(new Set(["trace1"]));
    expect(await set('span.name = "other_tool" AND span.status = "OK"')).toEqual(new Set(["trace1"]));
    expect(await set('span.name = "search_web"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.status = "OK"')).toEqual(new Set(["trace1", "trace2"]));
  });

  it("test_search_traces_span_filters_remain_experiment_scoped", async () => {
    const target = await newExperiment("target");
    const other = await newExperiment("other");
    await sendTraces(gavelOf().url, [{ name: "target-trace", experimentId: target }]);
    await sendTraces(gavelOf().url, [{ name: "other-trace", experimentId: other, attributes: { prompt: "needle" } }]);
    expect(await searchTraces({ experimentIds: [target], filter: 'trace.text ILIKE "%needle%"' })).toHaveLength(0);
    expect(await searchTraces({ experimentIds: [other], filter: 'trace.text ILIKE "%needle%"' })).toHaveLength(1);
  });

  it("test_search_traces_span_filters_with_no_results", async () => {
    const exp = await newExperiment("span-no-results");
    const { set } = await fixture(exp, { trace1: { spanType: "LLM", status: "OK", attributes: { model: "gpt-4" } } });
    expect(await set('span.type = "NONEXISTENT"')).toEqual(new Set());
    expect(await set('span.content LIKE "%nonexistent_model%"')).toEqual(new Set());
    expect(await set('span.type = "LLM" AND span.type = "RETRIEVER"')).toEqual(new Set());
  });

  it("test_search_traces_with_span_attributes_filter", async () => {
    const exp = await newExperiment("span-attributes");
    const { set } = await fixture(exp, {
      trace1: { spanType: "LLM", attributes: { model: "gpt-4", temperature: "0.7", max_tokens: "1000" } },
      trace2: { spanType: "LLM", attributes: { model: "claude-3", temperature: "0.5", provider: "anthropic" } },
      trace3: { spanType: "RETRIEVER", attributes: { database: "pinecone", top_k: "10", "similarity.threshold": "0.8" } },
    });
    expect(await set('span.attributes.model LIKE "%gpt-4%"')).toEqual(new Set(["trace1"]));
    expect(await set('span.attributes.temperature LIKE "%0.7%"')).toEqual(new Set(["trace1"]));
    expect(await set('span.attributes.provider LIKE "%anthropic%"')).toEqual(new Set(["trace2"]));
    expect(await set('span.attributes.database LIKE "%pinecone%"')).toEqual(new Set(["trace3"]));
    expect(await set('span.attributes.nonexistent LIKE "%value%"')).toEqual(new Set());
    expect(await set('span.attributes.similarity.threshold LIKE "%0.8%"')).toEqual(new Set(["trace3"]));
  });

  it("test_search_traces_with_feedback_and_expectation_filters", async () => {
    const exp = await newExperiment("feedback-expectation");
    const { idOf, set } = await fixture(exp, { trace1: {}, trace2: {}, trace3: {}, trace4: {} });
    await logFeedback({ traceId: idOf.trace1!, name: "correctness", value: true, source: HUMAN, rationale: "The response is accurate" });
    await logFeedback({ traceId: idOf.trace2!, name: "correctness", value: false, source: { sourceType: "LLM_JUDGE", sourceId: "gpt-4" } });
    await logFeedback({ traceId: idOf.trace2!, name: "helpfulness", value: 5, source: HUMAN });
    await logFeedback({ traceId: idOf.trace1!, name: "quality", value: "high", source: HUMAN });
    await logExpectation({ traceId: idOf.trace3!, name: "response_length", value: 150, source: CODE });
    await logExpectation({ traceId: idOf.trace4!, name: "response_length", value: 200, source: CODE });
    await logExpectation({ traceId: idOf.trace4!, name: "latency_ms", value: 1000, source: CODE });
    await logExpectation({ traceId: idOf.trace3!, name: "priority", value: "urgent", source: CODE });
    expect(await set('feedback.correctness = "true"')).toEqual(new Set(["trace1"]));
    expect(await set('feedback.correctness = "false"')).toEqual(new Set(["trace2"]));
    expect(await set('feedback.helpfulness = "5"')).toEqual(new Set(["trace2"]));
    expect(await set('feedback.quality = "high"')).toEqual(new Set(["trace1"]));
    expect(await set('expectation.response_length = "150"')).toEqual(new Set(["trace3"]));
    expect(await set('expectation.response_length = "200"')).toEqual(new Set(["trace4"]));
    expect(await set('expectation.latency_ms = "1000"')).toEqual(new Set(["trace4"]));
    expect(await set('expectation.priority = "urgent"')).toEqual(new Set(["trace3"]));
    expect(await set('expectation.response_length = "200" AND expectation.latency_ms = "1000"')).toEqual(new Set(["trace4"]));
    expect(await set('feedback.nonexistent = "value"')).toEqual(new Set());
    expect(await set('expectation.nonexistent = "value"')).toEqual(new Set());
  });

  it("test_search_traces_with_assessment_numeric_filters", async () => {
    const exp = await newExperiment("assessment-numeric");
    const { idOf, set } = await fixture(exp, { trace1: {}, trace2: {}, trace3: {}, trace4: {}, trace5: {}, trace6: {} });
    for (const [t, score, quality] of [
      ["trace1", 2, "low"],
      ["trace2", 3.0, "medium"],
      ["trace3", 3.5, "high"],
      ["trace4", 4, "high"],
    ] as const) {
      await logFeedback({ traceId: idOf[t]!, name: "score", value: score, source: HUMAN });
      await logFeedback({ traceId: idOf[t]!, name: "quality", value: quality, source: HUMAN });
    }
    for (const [t, threshold] of [
      ["trace1", 0.25],
      ["trace2", 0.5],
      ["trace3", 0.75],
    ] as const) {
      await logExpectation({ traceId: idOf[t]!, name: "threshold", value: threshold, source: HUMAN });
    }
    await logFeedback({ traceId: idOf.trace5!, name: "score", value: "high", source: HUMAN });
    await logFeedback({ traceId: idOf.trace6!, name: "score", value: true, source: HUMAN });
    expect(await set("feedback.score > 3")).toEqual(new Set(["trace3", "trace4"]));
    expect(await set("feedback.score >= 3.5")).toEqual(new Set(["trace3", "trace4"]));
    expect(await set("feedback.score < 3.5")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set("feedback.score <= 3")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('feedback.score > 3 AND feedback.quality = "high"')).toEqual(new Set(["trace3", "trace4"]));
    expect(await set("feedback.score >= 3.0 AND feedback.score < 4")).toEqual(new Set(["trace2", "trace3"]));
    expect(await set("expectation.threshold > 0.25")).toEqual(new Set(["trace2", "trace3"]));
    expect(await set("expectation.threshold <= 0.5")).toEqual(new Set(["trace1", "trace2"]));
    // A boolean is not a number, although its OpenTelemetry score is 1.
    expect(await set("feedback.score > 0")).toEqual(new Set(["trace1", "trace2", "trace3", "trace4"]));
    await refused('feedback.score > "high"', exp, /compares numbers/);
    // Deliberate difference: MLflow refuses `feedback.quality = 3` ("Expected a quoted string
    // value"); Gavel compares it with the number 3, so it matches numeric feedback only.
    expect(await set("feedback.quality = 3")).toEqual(new Set());
  });

  it("test_search_traces_with_run_id", async () => {
    const exp = await newExperiment("run-id");
    const { set } = await fixture(exp, { trace1: { runId: "run1" }, trace2: { runId: "run2" }, trace3: {} });
    expect(await set('trace.run_id = "run1"')).toEqual(new Set(["trace1"]));
    expect(await set('trace.run_id = "run2"')).toEqual(new Set(["trace2"]));
    expect(await set('trace.run_id = "run3"')).toEqual(new Set());
  });

  it("test_search_traces_with_client_request_id_filter", async () => {
    const exp = await newExperiment("client-request-id");
    const { set } = await fixture(exp, { trace1: { clientRequestId: "client-req-abc" }, trace2: { clientRequestId: "client-req-xyz" }, trace3: {} });
    expect(await set('trace.client_request_id = "client-req-abc"')).toEqual(new Set(["trace1"]));
    expect(await set('trace.client_request_id != "client-req-abc"')).toEqual(new Set(["trace2"]));
    expect(await set('trace.client_request_id LIKE "%abc%"')).toEqual(new Set(["trace1"]));
    expect(await set('trace.client_request_id ILIKE "%ABC%"')).toEqual(new Set(["trace1"]));
  });

  it("test_search_traces_with_name_like_filters", async () => {
    const exp = await newExperiment("name-like");
    const { set } = await fixture(exp, { GenerateResponse: {}, QueryDatabase: {}, GenerateEmbedding: {} });
    expect(await set('trace.name LIKE "Generate%"')).toEqual(new Set(["GenerateResponse", "GenerateEmbedding"]));
    expect(await set('trace.name LIKE "%Database"')).toEqual(new Set(["QueryDatabase"]));
    expect(await set('trace.name ILIKE "%response%"')).toEqual(new Set(["GenerateResponse"]));
    expect(await set('trace.name ILIKE "%generate%"')).toEqual(new Set(["GenerateResponse", "GenerateEmbedding"]));
  });

  it("test_search_traces_with_tag_like_filters", async () => {
    const exp = await newExperiment("tag-like");
    const { set } = await fixture(exp, {
      trace1: { tags: { environment: "production-us-east-1" } },
      trace2: { tags: { environment: "production-us-west-2" } },
      trace3: { tags: { environment: "staging-us-east-1" } },
    });
    expect(await set('tag.environment LIKE "production%"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('tag.environment LIKE "%-us-east-1"')).toEqual(new Set(["trace1", "trace3"]));
    expect(await set('tag.environment ILIKE "%PRODUCTION%"')).toEqual(new Set(["trace1", "trace2"]));
  });

  it("test_search_traces_with_feedback_like_filters", async () => {
    const exp = await newExperiment("feedback-like");
    const { idOf, set } = await fixture(exp, { trace1: {}, trace2: {}, trace3: {} });
    await logFeedback({ traceId: idOf.trace1!, name: "comment", value: "Great response! Very helpful.", source: HUMAN });
    await logFeedback({ traceId: idOf.trace2!, name: "comment", value: "Response was okay but could be better.", source: HUMAN });
    await logFeedback({ traceId: idOf.trace3!, name: "comment", value: "Not helpful at all.", source: HUMAN });
    expect(await set('feedback.comment LIKE "%helpful%"')).toEqual(new Set(["trace1", "trace3"]));
    expect(await set('feedback.comment ILIKE "%GREAT%"')).toEqual(new Set(["trace1"]));
    expect(await set('feedback.comment LIKE "%okay%"')).toEqual(new Set(["trace2"]));
    // test_search_traces_with_feedback_rlike_filters
    expect(await set('feedback.comment RLIKE "Great.*helpful"')).toEqual(new Set(["trace1"]));
    expect(await set('feedback.comment RLIKE "(okay|better)"')).toEqual(new Set(["trace2"]));
    expect(await set('feedback.comment RLIKE "Not.*all"')).toEqual(new Set(["trace3"]));
  });

  it("test_search_traces_with_assessment_is_null_filters", async () => {
    const exp = await newExperiment("assessment-null");
    const { idOf, set } = await fixture(exp, { trace1: {}, trace2: {}, trace3: {}, trace4: {}, trace5: {} });
    await logFeedback({ traceId: idOf.trace1!, name: "quality", value: "good", source: HUMAN });
    await logFeedback({ traceId: idOf.trace2!, name: "quality", value: "bad", source: HUMAN });
    await logExpectation({ traceId: idOf.trace4!, name: "score", value: 85, source: CODE });
    expect(await set("feedback.quality IS NOT NULL")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set("feedback.quality IS NULL")).toEqual(new Set(["trace3", "trace4", "trace5"]));
    expect(await set("expectation.score IS NOT NULL")).toEqual(new Set(["trace4"]));
    expect(await set("expectation.score IS NULL")).toEqual(new Set(["trace1", "trace2", "trace3", "trace5"]));
    expect(await set('feedback.quality IS NOT NULL AND feedback.quality = "good"')).toEqual(new Set(["trace1"]));
  });

  it("test_search_traces_with_feedback_filters_excludes_invalid_assessments", async () => {
    const exp = await newExperiment("excludes-invalid");
    const { idOf, set } = await fixture(exp, { trace1: {}, trace2: {} });
    const original = await logFeedback({ traceId: idOf.trace1!, name: "correctness", value: "no", source: HUMAN });
    await overrideFeedback({ traceId: idOf.trace1!, assessmentId: original.assessmentId, value: "yes", source: HUMAN });
    await logFeedback({ traceId: idOf.trace2!, name: "correctness", value: "no", source: HUMAN });
    expect(await set('feedback.correctness = "yes"')).toEqual(new Set(["trace1"]));
    expect(await set('feedback.correctness = "no"')).toEqual(new Set(["trace2"]));
    expect(await set("feedback.correctness IS NOT NULL")).toEqual(new Set(["trace1", "trace2"]));
  });

  it("test_search_traces_with_expectation_like_filters", async () => {
    const exp = await newExperiment("expectation-like");
    const { idOf, set } = await fixture(exp, { trace1: {}, trace2: {}, trace3: {} });
    await logExpectation({ traceId: idOf.trace1!, name: "output_format", value: "JSON with nested structure", source: CODE });
    await logExpectation({ traceId: idOf.trace2!, name: "output_format", value: "XML document", source: CODE });
    await logExpectation({ traceId: idOf.trace3!, name: "output_format", value: "JSON array", source: CODE });
    expect(await set('expectation.output_format LIKE "%JSON%"')).toEqual(new Set(["trace1", "trace3"]));
    expect(await set('expectation.output_format ILIKE "%xml%"')).toEqual(new Set(["trace2"]));
    expect(await set('expectation.output_format LIKE "%nested%"')).toEqual(new Set(["trace1"]));
  });

  it("test_search_traces_with_metadata_like_filters", async () => {
    const exp = await newExperiment("metadata-like");
    const { set } = await fixture(exp, {
      trace1: { metadata: { custom_field: "production-deployment-v1" } },
      trace2: { metadata: { custom_field: "production-deployment-v2" } },
      trace3: { metadata: { custom_field: "staging-deployment-v1" } },
    });
    expect(await set('metadata.custom_field LIKE "production%"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('metadata.custom_field LIKE "%-v1"')).toEqual(new Set(["trace1", "trace3"]));
    expect(await set('metadata.custom_field ILIKE "%PRODUCTION%"')).toEqual(new Set(["trace1", "trace2"]));
  });

  it("test_search_traces_with_combined_filters", async () => {
    const exp = await newExperiment("combined");
    const { set } = await fixture(exp, {
      trace1: { name: "GenerateResponse", tags: { env: "production" }, clientRequestId: "req-prod-001" },
      trace2: { name: "GenerateResponse", tags: { env: "staging" }, clientRequestId: "req-staging-001" },
      trace3: { name: "QueryDatabase", tags: { env: "production" }, clientRequestId: "req-prod-002" },
      trace4: { name: "QueryDatabase", tags: { env: "staging" }, clientRequestId: "req-staging-002" },
    });
    expect(await set('trace.name LIKE "Generate%" AND tag.env = "production"')).toEqual(new Set(["trace1"]));
    expect(await set('trace.client_request_id ILIKE "%PROD%" AND trace.name = "QueryDatabase"')).toEqual(new Set(["trace3"]));
    expect(await set('trace.name LIKE "%Response%" AND trace.client_request_id LIKE "%-staging-%"')).toEqual(new Set(["trace2"]));
    expect(await set('tag.env ILIKE "%STAGING%" AND trace.name != "GenerateResponse"')).toEqual(new Set(["trace4"]));
  });

  it("test_search_traces_with_client_request_id_edge_cases", async () => {
    const exp = await newExperiment("client-request-id-edge");
    const { set } = await fixture(exp, {
      trace1: { clientRequestId: "simple" },
      trace2: { clientRequestId: "with-dashes-123" },
      trace3: { clientRequestId: "WITH_UNDERSCORES_456" },
      trace4: {},
    });
    expect(await set('trace.client_request_id LIKE "%123"')).toEqual(new Set(["trace2"]));
    expect(await set('trace.client_request_id LIKE "WITH%"')).toEqual(new Set(["trace3"]));
    expect(await set('trace.client_request_id ILIKE "with%"')).toEqual(new Set(["trace2", "trace3"]));
    expect(await set('trace.client_request_id = "simple"')).toEqual(new Set(["trace1"]));
    expect(await set('trace.client_request_id != "simple"')).toEqual(new Set(["trace2", "trace3"]));
  });

  it("test_search_traces_with_name_ilike_variations", async () => {
    const exp = await newExperiment("name-ilike");
    const { set } = await fixture(exp, { USER_LOGIN: {}, user_logout: {}, User_Profile_Update: {}, AdminDashboard: {} });
    expect(await set('trace.name ILIKE "user%"')).toEqual(new Set(["USER_LOGIN", "user_logout", "User_Profile_Update"]));
    expect(await set('trace.name ILIKE "%_log%"')).toEqual(new Set(["USER_LOGIN", "user_logout"]));
    expect(await set('trace.name LIKE "user%"')).toEqual(new Set(["user_logout"]));
    expect(await set('trace.name != "USER_LOGIN"')).toEqual(new Set(["user_logout", "User_Profile_Update", "AdminDashboard"]));
  });

  it("test_search_traces_with_span_name_like_filters", async () => {
    const exp = await newExperiment("span-name-like");
    const { set } = await fixture(exp, {
      trace1: { children: [{ name: "llm.generate_response", spanType: "LLM" }] },
      trace2: { children: [{ name: "llm.generate_embedding", spanType: "LLM" }] },
      trace3: { children: [{ name: "database.query_users", spanType: "TOOL" }] },
    });
    expect(await set('span.name LIKE "llm.%"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.name LIKE "%_response"')).toEqual(new Set(["trace1"]));
    expect(await set('span.name ILIKE "%GENERATE%"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.name LIKE "%base.%"')).toEqual(new Set(["trace3"]));
  });

  it("test_search_traces_with_name_rlike_filters", async () => {
    const exp = await newExperiment("name-rlike");
    const { set } = await fixture(exp, { GenerateResponse: {}, QueryDatabase: {}, GenerateEmbedding: {}, api_v1_call: {} });
    expect(await set('trace.name RLIKE "^Generate"')).toEqual(new Set(["GenerateResponse", "GenerateEmbedding"]));
    expect(await set('trace.name RLIKE "Database$"')).toEqual(new Set(["QueryDatabase"]));
    expect(await set('trace.name RLIKE "^Generate[RE]"')).toEqual(new Set(["GenerateResponse", "GenerateEmbedding"]));
    expect(await set('trace.name RLIKE "(Query|Embedding)"')).toEqual(new Set(["QueryDatabase", "GenerateEmbedding"]));
    expect(await set('trace.name RLIKE "v[0-9]+"')).toEqual(new Set(["api_v1_call"]));
  });

  it("test_search_traces_with_tag_rlike_filters", async () => {
    const exp = await newExperiment("tag-rlike");
    const { set } = await fixture(exp, {
      trace1: { tags: { environment: "production-us-east-1" } },
      trace2: { tags: { environment: "production-us-west-2" } },
      trace3: { tags: { environment: "staging-us-east-1" } },
      trace4: { tags: { environment: "dev-local" } },
    });
    expect(await set('tag.environment RLIKE "^production"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('tag.environment RLIKE "us-(east|west)-[0-9]"')).toEqual(new Set(["trace1", "trace2", "trace3"]));
    expect(await set('tag.environment RLIKE "^dev"')).toEqual(new Set(["trace4"]));
  });

  it("test_search_traces_with_span_name_rlike_filters", async () => {
    const exp = await newExperiment("span-name-rlike");
    const { set } = await fixture(exp, {
      trace1: { children: [{ name: "llm.generate_response", spanType: "LLM" }] },
      trace2: { children: [{ name: "llm.generate_embedding", spanType: "LLM" }] },
      trace3: { children: [{ name: "database.query_users", spanType: "TOOL" }] },
      trace4: { children: [{ name: "api_v2_endpoint", spanType: "TOOL" }] },
      trace5: { children: [{ name: "base.query_users", spanType: "TOOL" }] },
    });
    expect(await set('span.name RLIKE "^llm\\\\."')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.name RLIKE "(response|users)"')).toEqual(new Set(["trace1", "trace3", "trace5"]));
    expect(await set('span.name RLIKE "v[0-9]+_"')).toEqual(new Set(["trace4"]));
    expect(await set('span.name RLIKE "query"')).toEqual(new Set(["trace3", "trace5"]));
    expect(await set('span.name RLIKE "query_users"')).toEqual(new Set(["trace3", "trace5"]));
    expect(await set('span.name RLIKE "^database\\\\.query_users$"')).toEqual(new Set(["trace3"]));
  });

  it("test_search_traces_with_metadata_is_null_filter and _is_not_null_filter", async () => {
    const exp = await newExperiment("metadata-null");
    const { set } = await fixture(exp, {
      trace1: { metadata: { env: "production", region: "us" } },
      trace2: { metadata: { env: "staging" } },
      trace3: {},
    });
    expect(await set("metadata.region IS NULL")).toEqual(new Set(["trace2", "trace3"]));
    expect(await set("metadata.env IS NULL")).toEqual(new Set(["trace3"]));
    expect(await set('metadata.region IS NULL AND metadata.env = "staging"')).toEqual(new Set(["trace2"]));
    expect(await set("metadata.region IS NOT NULL")).toEqual(new Set(["trace1"]));
    expect(await set("metadata.env IS NOT NULL")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('metadata.region IS NOT NULL AND metadata.env = "production"')).toEqual(new Set(["trace1"]));
  });

  it("test_search_traces_with_tag_is_null_filter and _is_not_null_filter", async () => {
    const exp = await newExperiment("tag-null");
    const { set } = await fixture(exp, { trace1: { tags: { env: "production", region: "us" } }, trace2: { tags: { env: "staging" } }, trace3: {} });
    expect(await set("tag.region IS NULL")).toEqual(new Set(["trace2", "trace3"]));
    expect(await set("tag.env IS NULL")).toEqual(new Set(["trace3"]));
    expect(await set('tag.region IS NULL AND tag.env = "staging"')).toEqual(new Set(["trace2"]));
    expect(await set("tag.region IS NOT NULL")).toEqual(new Set(["trace1"]));
    expect(await set("tag.env IS NOT NULL")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('tag.region IS NOT NULL AND tag.env = "production"')).toEqual(new Set(["trace1"]));
  });

  it("test_search_traces_with_metadata_rlike_filters", async () => {
    const exp = await newExperiment("metadata-rlike");
    const { set } = await fixture(exp, {
      trace1: { metadata: { version: "v1.2.3" } },
      trace2: { metadata: { version: "v2.0.0-beta" } },
      trace3: { metadata: { version: "v2.1.5" } },
    });
    expect(await set('metadata.version RLIKE "v[0-9]+\\\\.[0-9]+\\\\.[0-9]"')).toEqual(new Set(["trace1", "trace2", "trace3"]));
    expect(await set('metadata.version RLIKE "v2\\\\.[0-9]"')).toEqual(new Set(["trace2", "trace3"]));
    expect(await set('metadata.version RLIKE "beta"')).toEqual(new Set(["trace2"]));
  });

  it("test_search_traces_with_client_request_id_rlike_filters", async () => {
    const exp = await newExperiment("client-request-id-rlike");
    const { set } = await fixture(exp, {
      trace1: { clientRequestId: "req-prod-us-east-123" },
      trace2: { clientRequestId: "req-prod-us-west-456" },
      trace3: { clientRequestId: "req-staging-eu-789" },
      trace4: { clientRequestId: "req-dev-local-001" },
    });
    expect(await set('trace.client_request_id RLIKE "^req-prod"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('trace.client_request_id RLIKE "us-(east|west)"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('trace.client_request_id RLIKE "[0-9]{3}$"')).toEqual(new Set(["trace1", "trace2", "trace3", "trace4"]));
    expect(await set('trace.client_request_id RLIKE "(staging|dev)"')).toEqual(new Set(["trace3", "trace4"]));
  });

  it("test_search_traces_with_span_type_rlike_filters", async () => {
    const exp = await newExperiment("span-type-rlike");
    const { set } = await fixture(exp, {
      trace1: { spanType: "LLM" },
      trace2: { spanType: "LLM_EMBEDDING" },
      trace3: { spanType: "RETRIEVER" },
      trace4: { spanType: "CHAIN_PARENT" },
    });
    expect(await set('span.type RLIKE "^LLM"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.type RLIKE "PARENT$"')).toEqual(new Set(["trace4"]));
    expect(await set('span.type RLIKE "(EMBEDDING|RETRIEVER)"')).toEqual(new Set(["trace2", "trace3"]));
    expect(await set('span.type RLIKE "_"')).toEqual(new Set(["trace2", "trace4"]));
  });

  it("test_search_traces_with_span_attributes_rlike_filters", async () => {
    const exp = await newExperiment("span-attr-rlike");
    const { set } = await fixture(exp, {
      trace1: { spanType: "LLM", attributes: { model: "gpt-4-turbo-preview", provider: "openai" } },
      trace2: { spanType: "LLM", attributes: { model: "gpt-3.5-turbo", provider: "openai" } },
      trace3: { spanType: "LLM", attributes: { model: "claude-3-opus-20240229", provider: "anthropic" } },
      trace4: { spanType: "LLM", attributes: { model: "claude-3-sonnet-20240229", provider: "anthropic" } },
    });
    expect(await set('span.attributes.model RLIKE "^gpt"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.attributes.model RLIKE "^claude"')).toEqual(new Set(["trace3", "trace4"]));
    expect(await set('span.attributes.model RLIKE "(preview|[0-9]{8})"')).toEqual(new Set(["trace1", "trace3", "trace4"]));
    expect(await set('span.attributes.provider RLIKE "^openai"')).toEqual(new Set(["trace1", "trace2"]));
    expect(await set('span.attributes.model RLIKE "turbo"')).toEqual(new Set(["trace1", "trace2"]));
  });

  it("test_search_traces_with_empty_and_special_characters", async () => {
    const exp = await newExperiment("special-chars");
    const { set } = await fixture(exp, {
      trace1: { tags: { special: "test@example.com" }, clientRequestId: "req-123" },
      trace2: { tags: { special: "user#admin" }, clientRequestId: "req-456" },
      trace3: { tags: { special: "path/to/file" }, clientRequestId: "req-789" },
    });
    expect(await set('tag.special LIKE "%@%"')).toEqual(new Set(["trace1"]));
    expect(await set('tag.special LIKE "%#%"')).toEqual(new Set(["trace2"]));
    expect(await set('tag.special LIKE "%/%"')).toEqual(new Set(["trace3"]));
    expect(await set('tag.special ILIKE "%ADMIN%"')).toEqual(new Set(["trace2"]));
  });

  it("test_search_traces_with_timestamp_ms_filters", async () => {
    const exp = await newExperiment("timestamp-ms");
    const { set } = await fixture(exp, { trace1: { startMs: 0 }, trace2: { startMs: 5000 }, trace3: { startMs: 10000 }, trace4: { startMs: 15000 } });
    const b = BASE_MS;
    expect(await set(`trace.timestamp_ms = ${b}`)).toEqual(new Set(["trace1"]));
    expect(await set(`trace.timestamp_ms != ${b}`)).toEqual(new Set(["trace2", "trace3", "trace4"]));
    expect(await set(`trace.timestamp_ms > ${b + 5000}`)).toEqual(new Set(["trace3", "trace4"]));
    expect(await set(`trace.timestamp_ms >= ${b + 5000}`)).toEqual(new Set(["trace2", "trace3", "trace4"]));
    expect(await set(`trace.timestamp_ms < ${b + 10000}`)).toEqual(new Set(["trace1", "trace2"]));
    expect(await set(`trace.timestamp_ms <= ${b + 10000}`)).toEqual(new Set(["trace1", "trace2", "trace3"]));
    expect(await set(`trace.timestamp_ms >= ${b + 5000} AND trace.timestamp_ms < ${b + 15000}`)).toEqual(new Set(["trace2", "trace3"]));
  });

  it("test_search_traces_with_execution_time_ms_filters", async () => {
    const exp = await newExperiment("execution-time-ms");
    const { set } = await fixture(exp, {
      trace1: { durationMs: 100 },
      trace2: { durationMs: 500 },
      trace3: { durationMs: 1000 },
      trace4: { durationMs: 2000 },
      trace5: { durationMs: 5000 },
    });
    expect(await set("trace.execution_time_ms = 1000")).toEqual(new Set(["trace3"]));
    expect(await set("trace.execution_time_ms != 1000")).toEqual(new Set(["trace1", "trace2", "trace4", "trace5"]));
    expect(await set("trace.execution_time_ms > 1000")).toEqual(new Set(["trace4", "trace5"]));
    expect(await set("trace.execution_time_ms >= 1000")).toEqual(new Set(["trace3", "trace4", "trace5"]));
    expect(await set("trace.execution_time_ms < 1000")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set("trace.execution_time_ms <= 1000")).toEqual(new Set(["trace1", "trace2", "trace3"]));
    expect(await set("trace.execution_time_ms >= 500 AND trace.execution_time_ms <= 2000")).toEqual(new Set(["trace2", "trace3", "trace4"]));
  });

  it("test_search_traces_with_end_time_ms_all_operators", async () => {
    const exp = await newExperiment("end-time-ms");
    const { set } = await fixture(exp, {
      trace1: { durationMs: 1000 },
      trace2: { durationMs: 3000 },
      trace3: { durationMs: 5000 },
      trace4: { durationMs: 10000 },
    });
    const b = BASE_MS;
    expect(await set(`trace.end_time_ms = ${b + 3000}`)).toEqual(new Set(["trace2"]));
    expect(await set(`trace.end_time_ms != ${b + 3000}`)).toEqual(new Set(["trace1", "trace3", "trace4"]));
    expect(await set(`trace.end_time_ms > ${b + 3000}`)).toEqual(new Set(["trace3", "trace4"]));
    expect(await set(`trace.end_time_ms >= ${b + 3000}`)).toEqual(new Set(["trace2", "trace3", "trace4"]));
    expect(await set(`trace.end_time_ms < ${b + 5000}`)).toEqual(new Set(["trace1", "trace2"]));
    expect(await set(`trace.end_time_ms <= ${b + 5000}`)).toEqual(new Set(["trace1", "trace2", "trace3"]));
    expect(await set(`trace.end_time_ms > ${b + 1000} AND trace.end_time_ms < ${b + 10000}`)).toEqual(new Set(["trace2", "trace3"]));
  });

  it("test_search_traces_with_status_operators", async () => {
    const exp = await newExperiment("status-operators");
    const { set } = await fixture(exp, { trace1: { status: "OK" }, trace2: { status: "OK" }, trace3: { status: "ERROR" }, trace4: { status: "UNSET" } });
    expect(await set("trace.status = 'OK'")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set("trace.status = 'ERROR'")).toEqual(new Set(["trace3"]));
    expect(await set("trace.status != 'OK'")).toEqual(new Set(["trace3", "trace4"]));
    expect(await set("trace.status LIKE 'OK'")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set("trace.status ILIKE 'error'")).toEqual(new Set(["trace3"]));
    expect(await set("attributes.status = 'OK'")).toEqual(new Set(["trace1", "trace2"]));
    // Deliberate difference: MLflow's trace4 is IN_PROGRESS (its record exists before its
    // spans end). A Gavel trace is listed once its root span arrived, and an OpenTelemetry
    // span arrives ended, so there is no in-progress trace to find: the status is UNSET.
    expect(await set("status = 'UNSET'")).toEqual(new Set(["trace4"]));
  });

  it("test_search_traces_with_combined_numeric_and_string_filters", async () => {
    const exp = await newExperiment("combined-numeric");
    const { set } = await fixture(exp, {
      trace1: { startMs: 0, durationMs: 100, name: "FastQuery", status: "OK" },
      trace2: { startMs: 1000, durationMs: 500, name: "SlowQuery", status: "OK" },
      trace3: { startMs: 2000, durationMs: 2000, name: "FastQuery", status: "ERROR" },
      trace4: { startMs: 3000, durationMs: 5000, name: "SlowQuery", status: "ERROR" },
    });
    const b = BASE_MS;
    expect(await set("trace.execution_time_ms < 1000 AND trace.status = 'OK'")).toEqual(new Set(["trace1", "trace2"]));
    expect(await set("trace.execution_time_ms >= 2000")).toEqual(new Set(["trace3", "trace4"]));
    expect(await set(`trace.timestamp_ms > ${b + 1000} AND trace.status = 'ERROR'`)).toEqual(new Set(["trace3", "trace4"]));
    expect(await set('trace.name = "FastQuery" AND trace.execution_time_ms < 500')).toEqual(new Set(["trace1"]));
    expect(await set(`trace.timestamp_ms >= ${b} AND trace.timestamp_ms <= ${b + 2000} AND trace.name LIKE "%Query%"`)).toEqual(
      new Set(["trace1", "trace2", "trace3"]),
    );
  });
});
