import { describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { jsonBody, makeSpans } from "../support/otlp-bodies.js";

const gavelOf = useGavel();

async function api(method: string, path: string, body?: unknown, raw?: string) {
  const res = await fetch(`${gavelOf().url}/api/v1${path}`, {
    method,
    headers: body !== undefined || raw !== undefined ? { "content-type": "application/json" } : {},
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("experiments and runs", () => {
  it("creates an experiment idempotently and finds it by id and by name", async () => {
    const a = await api("POST", "/experiments", { name: "support-judge-development" });
    const b = await api("POST", "/experiments", { name: "support-judge-development" });
    expect(a.status).toBe(200);
    expect(b.body.experimentId).toBe(a.body.experimentId);
    const byId = await api("GET", `/experiments/${a.body.experimentId}`);
    expect(byId.body).toMatchObject({ name: "support-judge-development", traceCount: 0, lastActivity: null });
    const byName = await api("GET", `/experiments/by-name/${encodeURIComponent("support-judge-development")}`);
    expect(byName.body.experimentId).toBe(a.body.experimentId);
    const list = await api("GET", "/experiments");
    expect(list.body.experiments.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(["Default", "support-judge-development"]));
  });

  it("404s an unknown experiment with a hint", async () => {
    const r = await api("GET", "/experiments/nope");
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/GET \/api\/v1\/experiments/);
  });

  it("starts, ends and lists runs", async () => {
    const exp = (await api("POST", "/experiments", { name: "runs" })).body.experimentId;
    const run = await api("POST", "/runs", { experimentId: exp, name: "first" });
    expect(run.body.runId).toMatch(/^[0-9a-f]{32}$/);
    const end = await api("POST", `/runs/${run.body.runId}/end`, { status: "FINISHED" });
    expect(end.body.status).toBe("FINISHED");
    const list = await api("GET", `/runs?experimentId=${exp}`);
    expect(list.body.runs).toHaveLength(1);
    expect(list.body.runs[0]).toMatchObject({ name: "first", status: "FINISHED" });
    expect(list.body.runs[0].endTime).toBeGreaterThan(0);
  });

  it("ends a run with metrics and lists runs by kind", async () => {
    const exp = (await api("POST", "/experiments", { name: "eval-runs" })).body.experimentId;
    await api("POST", "/runs", { experimentId: exp, name: "plain" });
    const ev = (await api("POST", "/runs", { experimentId: exp, name: "eval", kind: "evaluation" })).body.runId;
    expect((await api("POST", `/runs/${ev}/end`, { status: "FINISHED", metrics: { "q/mean": 0.5 } })).body).toMatchObject({ status: "FINISHED", metrics: { "q/mean": 0.5 } });
    const evals = await api("GET", `/runs?experimentId=${exp}&kind=evaluation`);
    expect(evals.body.runs).toHaveLength(1);
    expect(evals.body.runs[0]).toMatchObject({ runId: ev, kind: "evaluation", metrics: { "q/mean": 0.5 } });
    expect((await api("GET", `/runs/${ev}`)).body.metrics).toEqual({ "q/mean": 0.5 });
    const bad = await api("POST", `/runs/${ev}/end`, { status: "FINISHED", metrics: { "q/mean": "high" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toMatch(/^metrics/);
  });
});

describe("REST input validation", () => {
  it.each([
    ["an unknown field", "/experiments", { name: "x", colour: "red" }, "colour"],
    ["a wrong type", "/experiments", { name: 42 }, "name"],
    ["an empty name", "/experiments", { name: "  " }, "name"],
    ["a bad run status", "/runs/abc/end", { status: "DONE" }, "status"],
    ["maxResults too large", "/traces/search", { maxResults: 5000 }, "maxResults"],
    ["an unknown SQL field", "/sql", { query: "SELECT 1", limit: 3 }, "limit"],
  ])("answers 400 naming the field for %s", async (_label, path, body, field) => {
    const r = await api("POST", path, body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
    expect(r.body.error.message).toContain(field);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const r = await api("POST", "/experiments", undefined, "{nope");
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("INVALID_JSON");
  });

  it("answers 400 for a malformed trace id and 404 for an unknown one", async () => {
    expect((await api("GET", "/traces/xyz")).status).toBe(400);
    expect((await api("GET", `/traces/${"a".repeat(32)}`)).status).toBe(404);
  });

  it("answers 400 from the SQL endpoint for a write, with the reason", async () => {
    const r = await api("POST", "/sql", { query: "DROP TABLE otel_traces" });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("SQL_REJECTED");
  });
});

describe("trace search and detail", () => {
  it("filters by experiment, run, status and time, pages by keyset, and returns spans on request", async () => {
    const exp = (await api("POST", "/experiments", { name: "search" })).body.experimentId;
    const runA = (await api("POST", "/runs", { experimentId: exp })).body.runId;
    const okSpans = makeSpans(5, { "gavel.experiment_id": exp, "gavel.run_id": runA, "gavel.inputs": '{"x":1}' });
    const errSpans = makeSpans(2, { "gavel.experiment_id": exp });
    const body = JSON.parse(jsonBody([...okSpans, ...errSpans]).toString());
    const errIds = new Set(errSpans.map((s) => s.spanContext().traceId));
    for (const rs of body.resourceSpans)
      for (const ss of rs.scopeSpans) for (const s of ss.spans) if (errIds.has(s.traceId)) s.status = { code: 2, message: "boom" };
    const ingest = await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    expect(ingest.status).toBe(200);

    const all = await api("POST", "/traces/search", { experimentIds: [exp] });
    expect(all.body.traces).toHaveLength(7);
    const errors = await api("POST", "/traces/search", { experimentIds: [exp], filter: "trace.status = 'ERROR'" });
    expect(errors.body.traces).toHaveLength(2);
    const inRun = await api("POST", "/traces/search", { experimentIds: [exp], filter: `trace.run_id = '${runA}'`, includeSpans: true });
    expect(inRun.body.traces).toHaveLength(5);
    expect(inRun.body.traces[0].info.inputs).toEqual({ x: 1 });
    expect(inRun.body.traces[0].data.spans).toHaveLength(1);
    const future = await api("POST", "/traces/search", { experimentIds: [exp], filter: `trace.timestamp_ms > ${Date.now() + 60_000}` });
    expect(future.body.traces).toHaveLength(0);

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await api("POST", "/traces/search", { experimentIds: [exp], maxResults: 3, pageToken: token });
      seen.push(...page.body.traces.map((t: { info: { traceId: string } }) => t.info.traceId));
      token = page.body.nextPageToken;
    } while (token);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);

    const bad = await api("POST", "/traces/search", { experimentIds: [exp], filter: "trace.status = " });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_FILTER");

    const one = await api("GET", `/traces/${okSpans[0]!.spanContext().traceId}`);
    expect(one.status).toBe(200);
    expect(one.body.info).toMatchObject({ experimentId: exp, runId: runA, status: "UNSET" });
    expect(one.body.data.spans[0].attributes["test.index"]).toBe("0");

    const exps = await api("GET", `/experiments/${exp}`);
    expect(exps.body.traceCount).toBe(7);
  });
});
