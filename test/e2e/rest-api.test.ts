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

describe("work for an experiment that does not exist is refused (issue 11 item 7)", () => {
  const JUDGE = { name: "j", instructions: "Rate {{ outputs }}", model: "openai:/gpt-4o-mini" };
  const hint = /No experiment with id "no-such-exp".*GET \/api\/v1\/experiments.*POST \/api\/v1\/experiments/;

  it("runs, judges, sampling, backfill and alignment answer 404 saying how to list and create experiments", async () => {
    const cases: [string, string, unknown][] = [
      ["POST", "/runs", { experimentId: "no-such-exp", name: "r" }],
      ["POST", "/experiments/no-such-exp/scorers", { judge: JUDGE }],
      ["POST", "/experiments/no-such-exp/scorers/j/sampling", { sampleRate: 0.5 }],
      ["POST", "/experiments/no-such-exp/scorers/j/backfill", { since: "1h" }],
      ["POST", "/experiments/no-such-exp/alignments", { judge: "j" }],
    ];
    for (const [method, path, body] of cases) {
      const r = await api(method, path, body);
      expect([r.status, r.body.error?.code, r.body.error?.field], `${method} ${path}`).toEqual([404, "NOT_FOUND", "experimentId"]);
      expect(r.body.error.message, `${method} ${path}`).toMatch(hint);
    }
    // Nothing was created on the way.
    const runs = await api("GET", "/runs?experimentId=no-such-exp");
    expect(runs.body.runs).toEqual([]);
    expect((await api("GET", "/experiments/no-such-exp/scorers")).body.scorers).toEqual([]);
  });

  it("an experiment known only from its traces' gavel.experiment_id is one", async () => {
    const spans = makeSpans(1, { "gavel.experiment_id": "from-traces-only" });
    const res = await fetch(`${gavelOf().url}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: jsonBody(spans) });
    expect(res.status).toBe(200);
    const run = await api("POST", "/runs", { experimentId: "from-traces-only" });
    expect(run.status).toBe(200);
    expect(run.body.runId).toMatch(/^[0-9a-f]{32}$/);
    const created = (await api("POST", "/experiments", { name: "exists-now" })).body.experimentId;
    expect((await api("POST", `/experiments/${created}/scorers`, { judge: JUDGE })).status).toBe(200);
  });
});

describe("every error is Gavel's JSON error shape, never an HTML page (issue 12)", () => {
  async function rawCall(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}) {
    const res = await fetch(`${gavelOf().url}${path}`, { method, headers: init.headers, body: init.body });
    const text = await res.text();
    return { status: res.status, type: res.headers.get("content-type") ?? "", text, json: text.startsWith("{") ? JSON.parse(text) : null };
  }

  it("unknown paths answer a JSON 404 for every method, outside the UI's pages", async () => {
    const paths = ["/nope", "/api", "/api/v2/experiments", "/api/v1/nope", "/v1/logs", "/v1/metrics", "/metrics/x", "/healthz/", "/experiments", "/sql/x", "/traces", "/index.htm", "/.env", "/api/v1/experiments/0/scorers/j/unknown"];
    for (const path of paths) {
      for (const method of ["GET", "POST", "DELETE", "HEAD"]) {
        const r = await rawCall(method, path, method === "POST" ? { body: "{}", headers: { "content-type": "application/json" } } : {});
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.type, `${method} ${path}`).toMatch(/application\/json/);
        if (method !== "HEAD") {
          expect(r.json?.error?.code, `${method} ${path}`).toBe("NOT_FOUND");
          expect(r.json?.error?.message, `${method} ${path}`).toMatch(/case-sensitive.*docs\/rest-api\.md/);
        }
      }
    }
  });

  it("malformed JSON, a body too large, a bad percent-encoding and a wrong content type answer JSON", async () => {
    const json = { "content-type": "application/json" };
    const bad = await rawCall("POST", "/api/v1/experiments", { body: '{"name": ', headers: json });
    expect([bad.status, bad.json?.error?.code]).toEqual([400, "INVALID_JSON"]);
    expect(bad.json.error.message).toMatch(/not valid JSON/);
    const big = await rawCall("POST", "/api/v1/sql", { body: JSON.stringify({ query: "x".repeat(17 * 1024 * 1024) }), headers: json });
    expect([big.status, big.json?.error?.code]).toEqual([413, "BODY_TOO_LARGE"]);
    const encoded = await rawCall("GET", "/api/v1/traces/%E0%A4%A");
    expect(encoded.status).toBe(400);
    expect(encoded.type).toMatch(/application\/json/);
    expect(encoded.json?.error?.code).toBe("BAD_REQUEST");
    const plain = await rawCall("POST", "/api/v1/sql", { body: "SELECT 1", headers: { "content-type": "text/plain" } });
    expect([plain.status, plain.json?.error?.code]).toEqual([415, "UNSUPPORTED_MEDIA_TYPE"]);
    const missingAsset = await rawCall("GET", "/assets/gone-123.js");
    expect([missingAsset.status, missingAsset.json?.error?.code]).toEqual([404, "NOT_FOUND"]);
    for (const r of [bad, big, encoded, plain, missingAsset]) expect(r.text).not.toMatch(/<html|<pre|<!DOCTYPE/i);
  });
});
