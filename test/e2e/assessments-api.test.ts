import { describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { jsonBody, makeSpans, protobufBody } from "../support/otlp-bodies.js";
import { sql } from "../support/gavel-process.js";

const gavelOf = useGavel();

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${gavelOf().url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function ingest(n: number, attrs: Record<string, string> = {}) {
  const spans = makeSpans(n, attrs);
  const res = await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: protobufBody(spans), headers: { "content-type": "application/x-protobuf" } });
  expect(res.status).toBe(200);
  return spans.map((s) => ({ traceId: s.spanContext().traceId, spanId: s.spanContext().spanId }));
}

const judge = { sourceType: "LLM_JUDGE", sourceId: "anthropic:/claude" };

describe("assessments", () => {
  it("stores feedback as an evaluation span event on the judged trace and returns it with the trace", async () => {
    const [t] = await ingest(1, { "gavel.experiment_id": "exp-a" });
    const logged = await api("POST", `/traces/${t!.traceId}/assessments`, { name: "support_quality", value: "good", rationale: "clear", source: judge });
    expect(logged.status).toBe(200);
    expect(logged.body).toMatchObject({ name: "support_quality", value: "good", valid: true, source: judge });
    // On the whole trace: no span id, as in MLflow (test/mlflow-parity).
    expect(logged.body.spanId).toBeUndefined();

    const trace = await api("GET", `/traces/${t!.traceId}`);
    expect(trace.body.assessments).toHaveLength(1);
    expect(trace.body.assessments[0]).toMatchObject({ assessmentId: logged.body.assessmentId, rationale: "clear" });
    // The evaluation span is not shown as one of the app's spans, and the trace keeps its root.
    expect(trace.body.data.spans).toHaveLength(1);
    const [ev] = await sql<{ Name: string; Attrs: Record<string, string>; Parent: string }>(
      gavelOf().url,
      "SELECT Events.Name[1] AS Name, Events.Attributes[1] AS Attrs, ParentSpanId AS Parent FROM otel_traces WHERE TraceId = {t:String} AND SpanName = 'gavel.assessment'",
      { t: t!.traceId },
    );
    expect(ev!.Name).toBe("gen_ai.evaluation.result");
    expect(ev!.Parent).toBe("");
    expect(ev!.Attrs).toMatchObject({ "gen_ai.evaluation.name": "support_quality", "gen_ai.evaluation.score.label": "good", "gen_ai.evaluation.explanation": "clear" });
  });

  it("accepts an assessment before its trace, and joins it once the trace lands", async () => {
    const [t] = makeSpans(1, { "gavel.experiment_id": "exp-early" }).map((s) => s.spanContext());
    const early = await api("POST", `/traces/${t!.traceId}/assessments`, { name: "quality", value: 3, source: { sourceType: "human", sourceId: "ann" } });
    expect(early.status).toBe(200);
    expect(early.body.source.sourceType).toBe("HUMAN");
    expect((await api("GET", `/traces/${t!.traceId}`)).status).toBe(404);
    const [row0] = await sql(gavelOf().url, "SELECT count() AS n FROM gavel_traces WHERE TraceId = {t:String}", { t: t!.traceId });
    expect(row0).toEqual({ n: "0" });

    // Now the trace itself arrives (a span with that trace id).
    const spans = makeSpans(1, { "gavel.experiment_id": "exp-early" });
    const body = JSON.parse(jsonBody(spans).toString());
    body.resourceSpans[0].scopeSpans[0].spans[0].traceId = t!.traceId;
    const res = await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    const rows = await sql(
      gavelOf().url,
      `SELECT t.ExperimentId AS e, a.Name AS name, a.ScoreValue AS v FROM gavel_traces t
       JOIN (SELECT * FROM gavel_assessments FINAL) a ON a.TraceId = t.TraceId WHERE t.TraceId = {t:String}`,
      { t: t!.traceId },
    );
    expect(rows).toEqual([{ e: "exp-early", name: "quality", v: 3 }]);
    expect((await api("GET", `/traces/${t!.traceId}`)).body.assessments).toHaveLength(1);
  });

  it("overrides feedback: the new one names the old, the old stays but is invalid", async () => {
    const [t] = await ingest(1);
    const first = (await api("POST", `/traces/${t!.traceId}/assessments`, { name: "q", value: "poor", source: judge })).body;
    const over = await api("POST", `/traces/${t!.traceId}/assessments/${first.assessmentId}/override`, {
      value: "good",
      rationale: "the judge missed the refund",
      source: { sourceType: "HUMAN", sourceId: "lee" },
    });
    expect(over.body).toMatchObject({ overrides: first.assessmentId, value: "good", valid: true, name: "q" });
    const all = (await api("GET", `/traces/${t!.traceId}/assessments`)).body.assessments;
    expect(all).toHaveLength(2);
    expect(all.find((a: any) => a.assessmentId === first.assessmentId)).toMatchObject({ valid: false, value: "poor" });
    expect((await api("GET", `/traces/${t!.traceId}/assessments/${first.assessmentId}`)).body.valid).toBe(false);
  });

  it("deletes an assessment", async () => {
    const [t] = await ingest(1);
    const a = (await api("POST", `/traces/${t!.traceId}/assessments`, { name: "q", value: true, source: judge })).body;
    expect((await api("DELETE", `/traces/${t!.traceId}/assessments/${a.assessmentId}`)).body.deleted).toBe(true);
    expect((await api("GET", `/traces/${t!.traceId}/assessments`)).body.assessments).toEqual([]);
    expect((await api("GET", `/traces/${t!.traceId}/assessments/${a.assessmentId}`)).status).toBe(404);
    // Idempotent, as MLflow's delete_assessment.
    expect((await api("DELETE", `/traces/${t!.traceId}/assessments/nope`)).body).toEqual({ deleted: true, existed: false, assessmentId: "nope" });
  });

  it("keeps labels from several reviewers, and a retried id never duplicates", async () => {
    const [t] = await ingest(1);
    for (const who of ["ann", "bob", "cy"]) {
      await api("POST", `/traces/${t!.traceId}/assessments`, { name: "q", value: who === "bob" ? "poor" : "good", source: { sourceType: "HUMAN", sourceId: who } });
    }
    for (let i = 0; i < 3; i++) {
      await api("POST", `/traces/${t!.traceId}/assessments`, { assessmentId: "judge-q-v1", name: "q", value: "good", source: judge });
    }
    const list = (await api("GET", `/traces/${t!.traceId}/assessments`)).body.assessments;
    expect(list.filter((a: any) => a.source.sourceType === "HUMAN").map((a: any) => a.source.sourceId).sort()).toEqual(["ann", "bob", "cy"]);
    expect(list.filter((a: any) => a.assessmentId === "judge-q-v1")).toHaveLength(1);
  });

  it("joins judge and human assessments in SQL", async () => {
    const traces = await ingest(4, { "gavel.experiment_id": "exp-join" });
    const labels = [["good", "good"], ["poor", "good"], ["good", "good"], ["poor", "poor"]];
    for (const [i, t] of traces.entries()) {
      await api("POST", `/traces/${t.traceId}/assessments`, { name: "support_quality", value: labels[i]![0], source: judge });
      await api("POST", `/traces/${t.traceId}/assessments`, { name: "support_quality", value: labels[i]![1], source: { sourceType: "HUMAN", sourceId: "gt" } });
    }
    const [row] = await sql<{ pairs: string; agree: string }>(
      gavelOf().url,
      `SELECT count() AS pairs, countIf(j.ScoreLabel = h.ScoreLabel) AS agree
       FROM (SELECT TraceId, ScoreLabel FROM gavel_assessments FINAL WHERE Name = {n:String} AND SourceType = 'LLM_JUDGE' AND Valid AND NOT Deleted) j
       JOIN (SELECT TraceId, ScoreLabel FROM gavel_assessments FINAL WHERE Name = {n:String} AND SourceType = 'HUMAN' AND Valid AND NOT Deleted) h USING TraceId
       JOIN gavel_traces t USING TraceId WHERE t.ExperimentId = {e:String}`,
      { n: "support_quality", e: "exp-join" },
    );
    expect(row).toEqual({ pairs: "4", agree: "3" });
  });

  it.each([
    [{ name: "q", value: "x", source: { sourceType: "ROBOT", sourceId: "r" } }, "source.sourceType"],
    [{ name: "q", value: "x" }, "source"],
    [{ name: "", value: "x", source: judge }, "name"],
    [{ name: "q", value: "x", source: judge, spanId: "zz" }, "spanId"],
    [{ name: "q", value: "x", source: judge, extra: 1 }, "extra"],
  ])("rejects a bad assessment body (%#) naming %s", async (body, field) => {
    const r = await api("POST", `/traces/${"b".repeat(32)}/assessments`, body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
  });
});
