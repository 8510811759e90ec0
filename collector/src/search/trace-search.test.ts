/**
 * Trace search against a real embedded ClickHouse (chDB). Spans go into otel_traces
 * exactly as the OTLP writer would store them; the materialized views fill
 * gavel_traces and gavel_assessments, so these tests also pin the search to the schema.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreClient, type StoreClient } from "../store/clickhouse.js";
import { migrate } from "../store/migrations.js";
import { FilterSyntaxError } from "./filter-parser.js";
import {
  InvalidPageTokenError,
  InvalidSearchParameterError,
  searchTraceSummaries,
  type TraceSearchRequest,
  type TraceSummaryRow,
} from "./trace-search.js";
import { recordQueries } from "../../../test/support/query-recorder.js";

const B = 1_700_000_000_000n; // ms
const ns = (ms: bigint, extraNs = 0n) => ms * 1_000_000n + extraNs;
const hex = (s: string, len: number) => createHash("sha256").update(s).digest("hex").slice(0, len);
const tid = (name: string) => hex(`trace:${name}`, 32);
const sid = (name: string) => hex(`span:${name}`, 16);

interface EventSpec {
  at: bigint; // ns
  attrs: Record<string, string>;
}

interface SpanSpec {
  trace: string;
  span: string;
  parent?: string;
  name: string;
  start: bigint; // ns
  durMs: number;
  status?: "Ok" | "Error" | "Unset";
  attrs?: Record<string, string>;
  resource?: Record<string, string>;
  service?: string;
  events?: EventSpec[];
}

function row(s: SpanSpec): Record<string, unknown> {
  const events = s.events ?? [];
  return {
    Timestamp: s.start.toString(),
    TraceId: tid(s.trace),
    SpanId: sid(s.span),
    ParentSpanId: s.parent ? sid(s.parent) : "",
    SpanName: s.name,
    SpanKind: "Internal",
    ServiceName: s.service ?? "svc",
    ResourceAttributes: s.resource ?? {},
    SpanAttributes: s.attrs ?? {},
    Duration: String(Math.round(s.durMs * 1e6)),
    StatusCode: s.status ?? "Unset",
    StatusMessage: "",
    "Events.Timestamp": events.map((e) => e.at.toString()),
    "Events.Name": events.map(() => "gen_ai.evaluation.result"),
    "Events.Attributes": events.map((e) => e.attrs),
  };
}

/** A gen_ai.evaluation.result event as Gavel's writers emit it. */
function assessment(
  at: bigint,
  a: { id: string; name: string; value?: string; kind?: string; valid?: boolean; deleted?: boolean; score?: string; label?: string; overrides?: string },
): EventSpec {
  const attrs: Record<string, string> = {
    "gen_ai.evaluation.name": a.name,
    "gavel.assessment.id": a.id,
    "gavel.assessment.kind": a.kind ?? "feedback",
    "gavel.assessment.source_type": "LLM_JUDGE",
    "gavel.assessment.valid": a.valid === false ? "false" : "true",
  };
  if (a.value !== undefined) attrs["gavel.assessment.value"] = a.value;
  if (a.deleted) attrs["gavel.assessment.deleted"] = "true";
  if (a.score !== undefined) attrs["gen_ai.evaluation.score.value"] = a.score;
  if (a.label !== undefined) attrs["gen_ai.evaluation.score.label"] = a.label;
  if (a.overrides) attrs["gavel.assessment.overrides"] = a.overrides;
  return { at, attrs };
}

const evalSpan = (trace: string, span: string, at: bigint, events: EventSpec[]): SpanSpec => ({
  trace,
  span,
  parent: `${trace}-root`,
  name: "evaluate",
  start: at,
  durMs: 1,
  attrs: { "gavel.evaluation": "true", "gavel.experiment_id": "e1" },
  events,
});

const root = (trace: string, name: string, startNs: bigint, durMs: number, status: SpanSpec["status"], attrs: Record<string, string>): SpanSpec => ({
  trace,
  span: `${trace}-root`,
  name,
  start: startNs,
  durMs,
  status,
  attrs,
});

const T1root = root("T1", "chat", ns(B + 1000n, 500_000n), 120, "Ok", {
  "gavel.experiment_id": "e1",
  "gavel.run_id": "r1",
  "gavel.span_type": "CHAIN",
  "gavel.inputs": '{"q":"hello world"}',
  "gavel.outputs": '{"a":"hi there"}',
  "gavel.tag.env": "prod",
  "gavel.tag.mlflow.user": "alice",
  "gavel.metadata.session": "s1",
});

const FIXTURE: SpanSpec[] = [
  T1root,
  {
    trace: "T1",
    span: "T1-llm",
    parent: "T1-root",
    name: "llm-call",
    start: ns(B + 1010n),
    durMs: 100,
    status: "Ok",
    attrs: {
      "gavel.experiment_id": "e1",
      "gavel.span_type": "LLM",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.usage.input_tokens": "150",
      "gavel.inputs": '{"prompt":"needle-in-child"}',
    },
  },
  evalSpan("T1", "T1-eval", ns(B + 1200n), [
    assessment(ns(B + 1200n), { id: "a1", name: "quality", value: '"good"', label: "good" }),
    assessment(ns(B + 1201n), { id: "a2", name: "score", value: "4", score: "4" }),
    assessment(ns(B + 1202n), { id: "a3", name: "expected", value: '"hi there"', kind: "expectation" }),
  ]),

  root("T2", "chat", ns(B + 2000n), 900, "Error", { "gavel.experiment_id": "e1", "gavel.run_id": "r2", "gavel.tag.env": "dev" }),
  {
    trace: "T2",
    span: "T2-ret",
    parent: "T2-root",
    name: "retrieve",
    start: ns(B + 2001n),
    durMs: 5,
    attrs: { "gavel.experiment_id": "e1", "gavel.span_type": "RETRIEVER", "retrieval.k": "5" },
  },
  evalSpan("T2", "T2-eval", ns(B + 3000n), [
    assessment(ns(B + 3000n), { id: "b1", name: "quality", value: '"bad"' }),
    assessment(ns(B + 3001n), { id: "b2", name: "correct", value: "true" }),
    assessment(ns(B + 3002n), { id: "b3", name: "toxicity", value: '"high"' }),
    assessment(ns(B + 3003n), { id: "b4", name: "score", value: "2", score: "2" }),
    assessment(ns(B + 3004n), { id: "b5", name: "rating", value: '"3"' }),
  ]),

  root("T3", "summarize", ns(B + 3000n), 50, "Unset", {
    "gavel.experiment_id": "e1",
    "gavel.inputs": '{"text":"a long document"}',
    "gavel.tag.env": "prod",
  }),
  evalSpan("T3", "T3-eval", ns(B + 3100n), [
    assessment(ns(B + 3100n), { id: "c1", name: "quality", value: '"good"' }),
    assessment(ns(B + 3101n), { id: "c3", name: "correct", value: "false" }),
    // A score and a label, no Gavel JSON value: Value becomes the label, ScoreValue the score.
    assessment(ns(B + 3102n), { id: "c4", name: "score", score: "5", label: "excellent" }),
  ]),

  root("T4", "judge-call", ns(B + 4000n), 10, "Ok", { "gavel.experiment_id": "e1", "gavel.judge": "true" }),
  root("T5", "chat", ns(B + 5000n), 300, "Ok", { "gavel.experiment_id": "e2", "gavel.tag.env": "prod" }),

  // An OpenInference app: experiment as a resource attribute, plain-text input, a
  // third-party evaluation event without Gavel's attributes.
  {
    ...root("T6", "agent-run", ns(B + 6000n), 10, "Ok", { "input.value": "plain text question", "openinference.span.kind": "agent" }),
    resource: { "gavel.experiment_id": "e1" },
  },
  {
    trace: "T6",
    span: "T6-eval",
    parent: "T6-root",
    name: "eval",
    start: ns(B + 6100n),
    durMs: 1,
    resource: { "gavel.experiment_id": "e1" },
    events: [{ at: ns(B + 6100n), attrs: { "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.label": "relevant" } }],
  },
];

/** The span the collector writes for an assessment logged later (assessments/assessment-span.ts). */
const carrierSpan = (trace: string, span: string, at: bigint, events: EventSpec[]): SpanSpec => ({
  ...evalSpan(trace, span, at, events),
  name: "gavel.assessment",
  service: "gavel",
  attrs: { "gavel.assessment_span": "true", "gavel.experiment_id": "e1" },
});

// Later writes: an exporter retry of T1's root, an override of c1 (old version
// invalidated, new assessment c2), and the deletion of b3.
const LATER: SpanSpec[] = [
  T1root,
  carrierSpan("T3", "T3-override", ns(B + 9000n), [
    assessment(ns(B + 9000n), { id: "c1", name: "quality", value: '"good"', valid: false }),
    assessment(ns(B + 9001n), { id: "c2", name: "quality", value: '"bad"', overrides: "c1" }),
  ]),
  carrierSpan("T2", "T2-delete", ns(B + 9000n), [assessment(ns(B + 9002n), { id: "b3", name: "toxicity", value: '"high"', deleted: true })]),
];

let store: StoreClient;
let client: ClickHouseClient;
let dir: string;

async function insert(spans: SpanSpec[]): Promise<void> {
  await client.insert({ table: "otel_traces", values: spans.map(row), format: "JSONEachRow" });
}

async function search(req: TraceSearchRequest): Promise<TraceSummaryRow[]> {
  return (await searchTraceSummaries(client, { maxResults: 1000, ...req })).rows;
}

const names = (rows: TraceSummaryRow[]) => rows.map((r) => Object.entries(TRACE_IDS).find(([, id]) => id === r.traceId)?.[0] ?? r.traceId);
const TRACE_IDS: Record<string, string> = Object.fromEntries(["T1", "T2", "T3", "T4", "T5", "T6"].map((t) => [t, tid(t)]));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gavel-search-"));
  store = await openStoreClient({ dataDir: dir });
  client = store.client;
  await migrate(client);
  // Keep duplicates and old assessment versions in separate parts, so the test
  // exercises LIMIT 1 BY and FINAL rather than a background merge.
  await client.command({ query: "SYSTEM STOP MERGES gavel_traces" });
  await client.command({ query: "SYSTEM STOP MERGES gavel_assessments" });
  await insert(FIXTURE);
  await insert(LATER);
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("searchTraceSummaries: filters", () => {
  it("really holds a duplicate root and two versions of an assessment (so dedupe is exercised)", async () => {
    const rs = await client.query({
      query: `SELECT (SELECT toUInt32(count()) FROM gavel_traces WHERE TraceId = {t:String}) AS roots,
                     (SELECT toUInt32(count()) FROM gavel_assessments WHERE AssessmentId = 'c1') AS versions`,
      query_params: { t: tid("T1") },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ roots: 2, versions: 2 }]);
  });

  it("returns the experiment's traces newest first, once each, without judge traces", async () => {
    expect(names(await search({ experimentIds: ["e1"] }))).toEqual(["T6", "T3", "T2", "T1"]);
    expect(names(await search({ experimentIds: ["e1"], includeJudgeTraces: true }))).toEqual(["T6", "T4", "T3", "T2", "T1"]);
    expect(names(await search({}))).toEqual(["T6", "T5", "T3", "T2", "T1"]);
    expect(names(await search({ experimentIds: ["e2", "e1", "e2"] }))).toEqual(["T6", "T5", "T3", "T2", "T1"]);
    expect(await search({ experimentIds: ["nope"] })).toEqual([]);
  });

  it("maps the root span to a summary row", async () => {
    const [r] = await search({ experimentIds: ["e1"], filter: "trace.run_id = 'r1'" });
    expect(r).toEqual({
      traceId: tid("T1"),
      experimentId: "e1",
      runId: "r1",
      name: "chat",
      serviceName: "svc",
      spanType: "CHAIN",
      timestampNs: ns(B + 1000n, 500_000n).toString(),
      durationNs: "120000000",
      status: "OK",
      inputs: '{"q":"hello world"}',
      outputs: '{"a":"hi there"}',
      tags: { env: "prod", "mlflow.user": "alice" },
      metadata: { session: "s1" },
      rootSpanId: sid("T1-root"),
    });
  });

  const cases: [string, string[]][] = [
    ["trace.status = 'OK'", ["T6", "T1"]],
    ["trace.status = 'error'", ["T2"]],
    ["trace.status = 'UNSET'", ["T3"]],
    ["trace.status != 'OK'", ["T3", "T2"]],
    ["trace.status IN ('OK', 'ERROR')", ["T6", "T2", "T1"]],
    ["trace.status NOT IN ('OK', 'ERROR')", ["T3"]],
    // T1 starts 0.5 ms into millisecond B+1000.
    [`trace.timestamp_ms = ${B + 1000n}`, ["T1"]],
    [`trace.timestamp_ms > ${B + 1000n}`, ["T6", "T3", "T2"]],
    [`trace.timestamp_ms >= ${B + 1000n}`, ["T6", "T3", "T2", "T1"]],
    [`trace.timestamp_ms < ${B + 2000n}`, ["T1"]],
    [`trace.timestamp <= ${B + 2000n}`, ["T2", "T1"]],
    [`trace.timestamp_ms != ${B + 2000n}`, ["T6", "T3", "T1"]],
    [`trace.timestamp_ms > '${B + 2500n}'`, ["T6", "T3"]],
    ["trace.timestamp_ms < 99999999999999", ["T6", "T3", "T2", "T1"]],
    ["trace.timestamp_ms > 99999999999999", []],
    ["trace.execution_time_ms > 100", ["T2", "T1"]],
    ["trace.execution_time <= 50", ["T6", "T3"]],
    ["trace.execution_time_ms = 120", ["T1"]],
    ["trace.execution_time_ms >= 120.5 AND trace.execution_time_ms < 1000", ["T2"]],
    ["trace.name = 'chat'", ["T2", "T1"]],
    ["trace.name != 'chat'", ["T6", "T3"]],
    ["trace.name LIKE 'sum%'", ["T3"]],
    ["trace.name ILIKE 'CHAT'", ["T2", "T1"]],
    ["trace.name LIKE 'CHAT'", []],
    // MLflow refuses IN on trace.name (test/mlflow-parity); trace ids take lists.
    [`trace.trace_id IN ('${tid("T1")}', '${tid("T3")}')`, ["T3", "T1"]],
    [`trace.trace_id NOT IN ('${tid("T1")}')`, ["T6", "T3", "T2"]],
    ["trace.run_id = 'r2'", ["T2"]],
    ["trace.experiment_id = 'e1'", ["T6", "T3", "T2", "T1"]],
    [`trace.trace_id = '${tid("T2")}'`, ["T2"]],
    ["trace.text LIKE '%hello%'", ["T1"]],
    ["trace.text LIKE '%needle-in-child%'", ["T1"]],
    ["trace.text ILIKE '%PLAIN TEXT%'", ["T6"]],
    ["trace.text LIKE '%summ%'", ["T3"]],
    ["trace.text LIKE '%retrieve%'", ["T2"]],
    ["trace.text LIKE '%hi there%'", ["T1"]],
    ["trace.text LIKE '%nowhere%'", []],
    ["span.name = 'llm-call'", ["T1"]],
    ["span.name LIKE 'retr%'", ["T2"]],
    ["span.name != 'evaluate'", ["T6", "T3", "T2", "T1"]],
    ["span.type = 'RETRIEVER'", ["T2"]],
    ["span.type = 'AGENT'", ["T6"]],
    ["span.type IN ('LLM', 'RETRIEVER')", ["T2", "T1"]],
    ["span.attributes.`gen_ai.request.model` = 'gpt-4o'", ["T1"]],
    ["span.attributes.gen_ai.request.model LIKE 'gpt%'", ["T1"]],
    ["span.attributes.gen_ai.usage.input_tokens > 100", ["T1"]],
    ["span.attributes.gen_ai.usage.input_tokens > 200", []],
    ["span.attributes.retrieval.k = 5", ["T2"]],
    ["span.attributes.retrieval.k = '5'", ["T2"]],
    ["span.attributes.retrieval.k IN (5, 6)", ["T2"]],
    ["span.attributes.retrieval.k NOT IN ('5')", []],
    ["span.name = 'llm-call' AND span.type = 'RETRIEVER'", []],
    // Gavel's assessment-carrier spans are not the app's spans.
    ["span.name = 'gavel.assessment'", []],
    ["span.name NOT IN ('summarize', 'evaluate') AND trace.status = 'UNSET'", []],
    ["trace.text LIKE '%gavel.assessment%'", []],
    ["tag.env = 'prod'", ["T3", "T1"]],
    ["tag.env != 'prod'", ["T2"]],
    ["tags.`mlflow.user` = 'alice'", ["T1"]],
    ["tag.mlflow.user = 'alice'", ["T1"]],
    ["tag.env IN ('prod', 'dev')", ["T3", "T2", "T1"]],
    ["tag.env NOT IN ('prod')", ["T2"]],
    ["tag.env LIKE 'pr%'", ["T3", "T1"]],
    ["tag.missing = ''", []],
    ["metadata.session = 's1'", ["T1"]],
    ["metadata.session != 's1'", []],
    ["feedback.quality = 'good'", ["T1"]],
    ["feedback.quality = 'bad'", ["T3", "T2"]],
    ["feedback.quality != 'good'", ["T3", "T2"]],
    ["feedback.quality LIKE 'go%'", ["T1"]],
    ["feedback.quality ILIKE 'BA_'", ["T3", "T2"]],
    ["feedback.quality IN ('good', 'bad')", ["T3", "T2", "T1"]],
    ["feedback.quality NOT IN ('bad')", ["T1"]],
    ["feedback.score >= 4", ["T3", "T1"]],
    ["feedback.score < 3", ["T2"]],
    ["feedback.score = 4", ["T1"]],
    ["feedback.score != 4", ["T3", "T2"]],
    // MLflow refuses lists of numbers on assessments; the values as text work.
    ["feedback.score IN ('2', 'x')", ["T2"]],
    ["feedback.score NOT IN ('2')", ["T3", "T1"]],
    ["feedback.score = 'excellent'", ["T3"]],
    ["feedback.rating = 3", ["T2"]],
    ["feedback.rating = '3'", ["T2"]],
    ["feedback.correct = true", ["T2"]],
    ["feedback.correct = false", ["T3"]],
    ["feedback.correct != true", ["T3"]],
    ["feedback.toxicity = 'high'", []],
    ["expectation.expected = 'hi there'", ["T1"]],
    ["feedback.expected = 'hi there'", []],
    ["assessment.expected = 'hi there'", ["T1"]],
    ["feedback.relevance = 'relevant'", ["T6"]],
    ["feedback.`quality` = 'good' AND feedback.score >= 4", ["T1"]],
    ["trace.name = 'chat' AND feedback.quality = 'bad' AND tag.env = 'dev'", ["T2"]],
    ["trace.status = 'OK' AND trace.name = 'chat' AND trace.execution_time_ms < 100", []],
  ];

  it.each(cases)("%s", async (filter, expected) => {
    expect(names(await search({ experimentIds: ["e1"], filter }))).toEqual(expected);
  });

  it("applies filters across experiments and to judge traces when asked", async () => {
    expect(names(await search({ filter: "trace.name = 'chat'" }))).toEqual(["T5", "T2", "T1"]);
    expect(names(await search({ experimentIds: ["e1"], includeJudgeTraces: true, filter: "trace.name = 'judge-call'" }))).toEqual(["T4"]);
  });

  it("finds nothing and breaks nothing with injection attempts", async () => {
    const count = async () =>
      (
        (await (await client.query({ query: "SELECT toUInt32(count()) AS n FROM otel_traces", format: "JSONEachRow" })).json()) as {
          n: number;
        }[]
      )[0]!.n;
    const before = await count();
    const attempts = [
      "trace.name = 'x'' OR 1=1 --'",
      String.raw`trace.name = 'x\' OR 1=1 --'`,
      "trace.name = 'chat'' OR ''1''=''1'",
      "tag.`env'] = 'prod' OR 1=1 OR t.Tags['env` = 'prod'",
      "span.attributes.`x']) OR 1=1 --` = 'v'",
      "feedback.`quality' OR 1=1 --` = 'good'",
      "trace.text LIKE '%''; DROP TABLE otel_traces; --%'",
      "trace.name = 'a\n\nDROP TABLE otel_traces'",
      "trace.trace_id IN ('x'') OR (1=1', 'y')",
    ];
    for (const filter of attempts) {
      expect(await search({ experimentIds: ["e1"], filter }), filter).toEqual([]);
    }
    // The quote is part of the value, not SQL syntax.
    expect(names(await search({ experimentIds: ["e1"], filter: "trace.name = 'x'' OR 1=1 --'" }))).toEqual([]);
    expect(await count()).toBe(before);
    expect(names(await search({ experimentIds: ["e1"] }))).toEqual(["T6", "T3", "T2", "T1"]);
    // And a filter that does not parse never reaches the store.
    await expect(searchTraceSummaries(client, { filter: "trace.name = 'a'; DROP TABLE otel_traces" })).rejects.toBeInstanceOf(FilterSyntaxError);
  });
});

describe("searchTraceSummaries: keyset paging", () => {
  const N = 250;
  const pg = Array.from({ length: N }, (_, i) => ({
    id: tid(`pg${i}`),
    // Ties on every key, so the TraceId tie-breaker decides.
    tsNs: ns(B + 100_000n + BigInt(Math.floor(i / 3)) * 1000n),
    durNs: BigInt(((i * 37) % 50) * 1_000_000),
    name: `n${i % 7}`,
    status: i % 5 === 0 ? "Error" : "Ok",
  }));

  beforeAll(async () => {
    const spans = pg.map(
      (t, i): SpanSpec => ({
        trace: `pg${i}`,
        span: `pg${i}-root`,
        name: t.name,
        start: t.tsNs,
        durMs: Number(t.durNs) / 1e6,
        status: t.status as SpanSpec["status"],
        attrs: { "gavel.experiment_id": "pg" },
      }),
    );
    // Several parts, and every 10th root sent twice.
    await insert(spans.slice(0, 100));
    await insert(spans.slice(100));
    await insert(spans.filter((_, i) => i % 10 === 0));
  });

  const cmp = (a: bigint | string, b: bigint | string) => (a < b ? -1 : a > b ? 1 : 0);

  async function collect(req: TraceSearchRequest, pageSize: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await searchTraceSummaries(client, { ...req, maxResults: pageSize, pageToken: token });
      pages++;
      expect(page.rows.length).toBeLessThanOrEqual(pageSize);
      if (page.nextPageToken) expect(page.rows.length).toBe(pageSize);
      ids.push(...page.rows.map((r) => r.traceId));
      token = page.nextPageToken;
      expect(pages).toBeLessThan(100);
    } while (token);
    return { ids, pages };
  }

  it("pages newest first over every trace exactly once", async () => {
    // Ties: trace id ascending, as in MLflow.
    const expected = [...pg].sort((a, b) => cmp(b.tsNs, a.tsNs) || cmp(a.id, b.id)).map((t) => t.id);
    const { ids, pages } = await collect({ experimentIds: ["pg"] }, 17);
    expect(new Set(ids).size).toBe(N);
    expect(ids).toEqual(expected);
    expect(pages).toBe(Math.ceil(N / 17));
  });

  it("pages by execution time ascending, then name descending", async () => {
    const expected = [...pg].sort((a, b) => cmp(a.durNs, b.durNs) || cmp(b.name, a.name) || cmp(b.tsNs, a.tsNs) || cmp(a.id, b.id)).map((t) => t.id);
    const { ids } = await collect({ experimentIds: ["pg"], orderBy: ["execution_time_ms ASC", "name DESC"] }, 23);
    expect(ids).toEqual(expected);
  });

  it("pages a filtered search by status and name", async () => {
    const kept = pg.filter((t) => t.name !== "n3");
    const st = (s: string) => (s === "Error" ? "ERROR" : "OK");
    const expected = [...kept].sort((a, b) => cmp(st(b.status), st(a.status)) || cmp(a.name, b.name) || cmp(b.tsNs, a.tsNs) || cmp(a.id, b.id)).map((t) => t.id);
    const { ids } = await collect({ experimentIds: ["pg"], filter: "trace.name != 'n3'", orderBy: ["status DESC", "name"] }, 50);
    expect(ids).toEqual(expected);
  });

  it("defaults to 100 results and allows changing maxResults between pages", async () => {
    const first = await searchTraceSummaries(client, { experimentIds: ["pg"] });
    expect(first.rows).toHaveLength(100);
    const second = await searchTraceSummaries(client, { experimentIds: ["pg"], pageToken: first.nextPageToken, maxResults: 1000 });
    expect(second.rows).toHaveLength(150);
    expect(second.nextPageToken).toBeUndefined();
    expect(new Set([...first.rows, ...second.rows].map((r) => r.traceId)).size).toBe(250);
  });

  it("accepts a token when the filter differs only in spacing or keyword case", async () => {
    const a = await searchTraceSummaries(client, { experimentIds: ["pg"], filter: "trace.name != 'n3' AND trace.status = 'OK'", maxResults: 10 });
    const b = await searchTraceSummaries(client, {
      experimentIds: ["pg"],
      filter: "trace.name  <>  'n3'  and  trace.status = 'ok'",
      maxResults: 10,
      pageToken: a.nextPageToken,
    });
    expect(b.rows).toHaveLength(10);
    expect(b.rows[0]!.traceId).not.toBe(a.rows[9]!.traceId);
  });

  it("rejects a token used with a different search", async () => {
    const base: TraceSearchRequest = { experimentIds: ["pg"], filter: "trace.name = 'n1'", maxResults: 5 };
    const { nextPageToken } = await searchTraceSummaries(client, base);
    expect(nextPageToken).toBeDefined();
    const variants: TraceSearchRequest[] = [
      { ...base, filter: "trace.name = 'n2'" },
      { ...base, filter: undefined },
      { ...base, orderBy: ["timestamp_ms ASC"] },
      { ...base, experimentIds: ["pg", "e1"] },
      { ...base, experimentIds: undefined },
      { ...base, includeJudgeTraces: true },
    ];
    for (const v of variants) {
      const err = await searchTraceSummaries(client, { ...v, pageToken: nextPageToken }).catch((e: unknown) => e);
      expect(err, JSON.stringify(v)).toBeInstanceOf(InvalidPageTokenError);
      expect((err as InvalidPageTokenError).message).toMatch(/different search.*without pageToken/s);
      expect((err as InvalidPageTokenError).status).toBe(400);
    }
    // The same search with the token still works.
    await expect(searchTraceSummaries(client, { ...base, pageToken: nextPageToken })).resolves.toHaveProperty("rows");
  });

  it("rejects malformed and tampered tokens", async () => {
    const { nextPageToken } = await searchTraceSummaries(client, { experimentIds: ["pg"], maxResults: 5 });
    const decoded = JSON.parse(Buffer.from(nextPageToken!, "base64url").toString()) as { v: number; h: string; k: string[] };
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const bad = [
      "not a token!",
      "abc",
      enc({ hello: 1 }),
      enc({ ...decoded, v: 2 }),
      enc({ ...decoded, k: [decoded.k[0]] }),
      enc({ ...decoded, k: ["1 OR 1=1", decoded.k[1]] }),
      enc({ ...decoded, h: "x" }),
    ];
    for (const pageToken of bad) {
      const err = await searchTraceSummaries(client, { experimentIds: ["pg"], maxResults: 5, pageToken }).catch((e: unknown) => e);
      expect(err, pageToken).toBeInstanceOf(InvalidPageTokenError);
      expect((err as InvalidPageTokenError).code).toBe("INVALID_PAGE_TOKEN");
    }
  });

  it("returns a root stored many times once, even when its copies fill a page", async () => {
    const d1 = root("D1", "dup", ns(B + 500_000n), 1, "Ok", { "gavel.experiment_id": "dup" });
    const d2 = root("D2", "dup", ns(B + 400_000n), 1, "Ok", { "gavel.experiment_id": "dup" });
    await insert([d1, d2]);
    for (let i = 0; i < 5; i++) await insert([d1]);
    const first = await searchTraceSummaries(client, { experimentIds: ["dup"], maxResults: 1 });
    expect(first.rows.map((r) => r.traceId)).toEqual([tid("D1")]);
    const second = await searchTraceSummaries(client, { experimentIds: ["dup"], maxResults: 1, pageToken: first.nextPageToken });
    expect(second.rows.map((r) => r.traceId)).toEqual([tid("D2")]);
    expect(second.nextPageToken).toBeUndefined();
    expect((await searchTraceSummaries(client, { experimentIds: ["dup"], maxResults: 2 })).rows.map((r) => r.traceId)).toEqual([tid("D1"), tid("D2")]);
  });

  it("rejects maxResults outside 1..1000", async () => {
    for (const maxResults of [0, -1, 1001, 1.5, Number.NaN]) {
      const err = await searchTraceSummaries(client, { experimentIds: ["pg"], maxResults }).catch((e: unknown) => e);
      expect(err, String(maxResults)).toBeInstanceOf(InvalidSearchParameterError);
      expect((err as InvalidSearchParameterError).field).toBe("maxResults");
    }
    await expect(searchTraceSummaries(client, { experimentIds: ["pg"], maxResults: 1000 })).resolves.toHaveProperty("rows");
  });
});

describe("searchTraceSummaries: newest first over span conditions, in time windows", () => {
  // 200 traces 18 h apart (150 days), so a search crosses every window (1, 3, 12, 48 days, rest).
  const W = B - 200n * 86_400_000n;
  const N = 200;
  const winTrace = (i: number) => `W${i}`;
  beforeAll(async () => {
    const spans: SpanSpec[] = [];
    for (let i = 0; i < N; i++) {
      const start = ns(W + BigInt(i) * 64_800_000n);
      spans.push(root(winTrace(i), "agent", start, 2000, "Ok", { "gavel.experiment_id": "win" }));
      spans.push({
        trace: winTrace(i),
        span: `${winTrace(i)}-llm`,
        parent: `${winTrace(i)}-root`,
        name: "llm",
        // Every tenth child starts 30 minutes before its root (clock skew between services).
        start: i % 10 === 0 ? start - 1_800_000_000_000n : start + 1_000_000_000n,
        durMs: 500,
        attrs: { "gavel.experiment_id": "win", model: i % 3 === 0 ? "m1" : "m2", "llm.prompt": i % 7 === 0 ? "a zebra question" : "a question" },
      });
    }
    // otel_traces is partitioned by day, and one insert may touch at most 100 partitions.
    for (let i = 0; i < spans.length; i += 100) await insert(spans.slice(i, i + 100));
  });

  async function allPages(filter: string, maxResults: number): Promise<string[]> {
    const out: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await searchTraceSummaries(client, { experimentIds: ["win"], filter, maxResults, ...(pageToken ? { pageToken } : {}) });
      out.push(...page.rows.map((r) => r.traceId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }
  const expected = (keep: (i: number) => boolean) =>
    Array.from({ length: N }, (_, i) => N - 1 - i)
      .filter(keep)
      .map((i) => tid(winTrace(i)));

  it("returns every match once, newest first, page after page, whatever the page size", async () => {
    const m1 = expected((i) => i % 3 === 0);
    expect(await allPages("span.attributes.model = 'm1'", 7)).toEqual(m1);
    expect(await allPages("span.attributes.model = 'm1'", 100)).toEqual(m1);
    expect(await allPages("trace.text LIKE '%zebra%'", 5)).toEqual(expected((i) => i % 7 === 0));
    expect(await allPages("span.name = 'llm' AND span.attributes.model = 'm2'", 40)).toEqual(expected((i) => i % 3 !== 0));
    expect(await allPages("span.attributes.model = 'none'", 10)).toEqual([]);
  });

  it("the first page of a rare match reaches back past every window; a common one reads only the newest day's spans", async () => {
    // Count the span scans each search runs, and the windows they were cut to.
    const { client: counting, seen: scans } = recordQueries(client, (sql) => sql.includes("FROM otel_traces WHERE Timestamp >="));
    const rare = await searchTraceSummaries(counting, { experimentIds: ["win"], filter: "trace.text LIKE '%zebra%' AND span.attributes.model = 'm1'", maxResults: 50 });
    expect(rare.rows.map((r) => r.traceId)).toEqual(expected((i) => i % 21 === 0));
    expect(rare.nextPageToken).toBeUndefined();
    expect(scans).toHaveLength(4); // 1, 3, 12 and 48 days; the rest has no lower bound
    scans.length = 0;
    // Two traces start within a day of the newest: enough for a page of one and its token.
    const common = await searchTraceSummaries(counting, { experimentIds: ["win"], filter: "span.name = 'llm'", maxResults: 1 });
    expect(common.rows.map((r) => r.traceId)).toEqual([tid(winTrace(N - 1))]);
    expect(common.nextPageToken).toBeDefined();
    expect(scans).toHaveLength(1);
  });
});
