import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeJudge } from "@gavel/sdk";
import { sessionAssessmentId } from "../../collector/src/worker/assessment-id.js";
import { eventually, REPO_ROOT, sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";
import { startProviderSimulator, type ProviderSimulator } from "../simulator/src/index.js";
import { makeTraces, metricValue, postSpans, traceIdOf } from "./support.js";

// Online scoring of session-level ({{ conversation }}) judges, in the collector as the README
// starts it (built CLI, embedded chDB, judges through the `openai` client to the simulator),
// restarted on the same data directory. Trace settle 200 ms, session settle 2.5 s.
const SESSION_SETTLE_MS = 2500;
const SESSION = "gavel.metadata.mlflow.trace.session";
const dataDir = mkdtempSync(join(tmpdir(), "gavel-session-scoring-"));
let sim: ProviderSimulator;
let gavel: GavelProcess | undefined;
const env = () => ({
  ...sim.env(),
  GAVEL_SETTLE_MS: "200",
  GAVEL_SESSION_SETTLE_MS: String(SESSION_SETTLE_MS),
  GAVEL_WORKER_POLL_MS: "100",
  GAVEL_WORKER_WRITE_MS: "50",
});
beforeAll(async () => {
  sim = await startProviderSimulator({ latencyMs: 20 });
  gavel = await startGavelProcess({ dataDir, env: env() });
});
afterAll(async () => {
  await gavel?.stop();
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${gavel!.url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function register(experimentId: string, name: string, instructions: string, sampleRate: number): Promise<void> {
  const judge = makeJudge({ name, instructions, model: "openai:/gpt-4o-mini" });
  await api("POST", `/experiments/${experimentId}/scorers`, { judge: judge.toJSON() });
  await api("POST", `/experiments/${experimentId}/scorers/${name}/sampling`, { sampleRate });
}

const CONVERSATION = "Rate as one of: good, bad\nDoes the assistant stay coherent over the whole {{ conversation }}?";
const TRACE_LEVEL = "Rate as one of: good, bad\nIs {{ outputs }} right for {{ inputs }}?";

interface Row {
  TraceId: string;
  AssessmentId: string;
  Value: string;
  Error: string;
  Metadata: string;
  JudgeVersion: number;
  /** The assessment version (its write time, ns). */
  V: string;
}
const assessments = (name: string, experimentId: string, final = true) =>
  sql<Row>(
    gavel!.url,
    `SELECT TraceId, AssessmentId, Value, Error, Metadata, JudgeVersion, toString(toUnixTimestamp64Nano(Version)) AS V FROM gavel_assessments ${final ? "FINAL" : ""}
WHERE Name = {n:String} AND TraceId IN (SELECT TraceId FROM gavel_traces WHERE ExperimentId = {e:String}) ORDER BY Version`,
    { n: name, e: experimentId },
  );
/** The judge calls that carried a conversation. */
const conversationCalls = () => sim.requests.filter((r) => JSON.stringify(r.body).includes("<conversation>"));
/** The session's first trace as evaluate() picks it: earliest start (milliseconds), then trace id. */
function anchorOf(turns: ReturnType<typeof makeTraces>): string {
  const ms = (t: (typeof turns)[number]) => t.root.startTime[0] * 1000 + Math.floor(t.root.startTime[1] / 1e6);
  return traceIdOf([...turns].sort((a, b) => ms(a) - ms(b) || (traceIdOf(a.root) < traceIdOf(b.root) ? -1 : 1))[0]!.root);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("online scoring of session-level judges", () => {
  let experimentId = "";
  let ids: string[] = [];
  let anchor = "";

  it("scores a settled session once, on its first trace, next to a trace-level judge", async () => {
    ({ experimentId } = await api<{ experimentId: string }>("POST", "/experiments", { name: "sessions-live" }));
    await register(experimentId, "coherence", CONVERSATION, 1);
    await register(experimentId, "correct", TRACE_LEVEL, 1);

    const turns = makeTraces(3, { "gavel.experiment_id": experimentId, [SESSION]: "chat-1" });
    ids = turns.map((t) => traceIdOf(t.root));
    anchor = anchorOf(turns);
    let lastPostAt = 0;
    for (const t of turns) {
      if (lastPostAt > 0) await sleep(300);
      await postSpans(gavel!.url, [t.root]);
      // The collector stamped the turn's arrival before it answered, so at most this.
      lastPostAt = Date.now();
    }
    // The trace-level judge scores each turn after 200 ms; the session judge waits for the session to settle.
    await eventually(async () => (await assessments("correct", experimentId)).length === 3, 10_000);
    // Not before the session settled, though every turn is complete and judged.
    expect(Date.now() - lastPostAt).toBeLessThan(SESSION_SETTLE_MS - 500);
    expect(await assessments("coherence", experimentId)).toEqual([]);
    expect(conversationCalls()).toEqual([]);
    await eventually(async () => (await assessments("coherence", experimentId)).length > 0, 15_000);
    // Arrival + settle, less the request's round trip (arrival is stamped before the answer).
    expect(Date.now() - lastPostAt).toBeGreaterThanOrEqual(SESSION_SETTLE_MS - 300);
    await sleep(1500);

    const rows = await assessments("coherence", experimentId, false);
    expect(rows).toHaveLength(1);
    const a = rows[0]!;
    expect(a.TraceId).toBe(anchor);
    expect(a.AssessmentId).toBe(sessionAssessmentId("chat-1", "coherence", 1));
    expect(a.JudgeVersion).toBe(1);
    expect(["\"good\"", "\"bad\""]).toContain(a.Value);
    expect(JSON.parse(a.Metadata)).toMatchObject({ "mlflow.trace.session": "chat-1", scoring: "online", model: "openai:/gpt-4o-mini" });
    // One call, with all three turns of the conversation (user messages in the rendered conversation).
    const calls = conversationCalls();
    expect(calls).toHaveLength(1);
    const body = JSON.stringify(sim.requests.find((r) => JSON.stringify(r.body).includes("<conversation>"))!.body);
    for (let i = 0; i < 3; i++) expect(body).toContain(`question ${i}`);
    expect(body.indexOf("question 0")).toBeLessThan(body.indexOf("question 2"));
    // The trace-level judge judged each turn once and never got a conversation.
    const perTrace = await assessments("correct", experimentId);
    expect(perTrace.map((r) => r.TraceId).sort()).toEqual([...ids].sort());
    expect(perTrace.every((r) => JSON.parse(r.Metadata)["mlflow.trace.session"] === undefined)).toBe(true);

    const session = await api<{ sessionId: string; assessments: { name: string; traceId: string; metadata: Record<string, string> }[] }>(
      "GET",
      `/experiments/${experimentId}/sessions/chat-1`,
    );
    expect(session.assessments.map((x) => x.name)).toEqual(["coherence"]);
    expect(session.assessments[0]!.traceId).toBe(anchor);

    const metrics = await (await fetch(`${gavel!.url}/metrics`)).text();
    expect(metricValue(metrics, "gavel_worker_traces_scored_total", { judge: "coherence", mode: "online" })).toBe(1);
    expect(metricValue(metrics, "gavel_worker_traces_scored_total", { judge: "correct", mode: "online" })).toBe(3);
    expect(metricValue(metrics, "gavel_worker_sessions_seen_total", { judge: "coherence" })).toBe(1);
    expect(metricValue(metrics, "gavel_worker_sessions_sampled_total", { judge: "coherence" })).toBe(1);
    expect(metricValue(metrics, "gavel_worker_lag_seconds_count", { judge: "coherence" })).toBe(1);
  });

  it("stores MISSING_CONTENT for a session with no inputs or outputs, without calling the model", async () => {
    const before = conversationCalls().length;
    const turns = makeTraces(2, { "gavel.experiment_id": experimentId, [SESSION]: "chat-empty" }, 0, false);
    await postSpans(gavel!.url, turns.map((t) => t.root));
    const first = anchorOf(turns);
    const row = await eventually(async () => (await assessments("coherence", experimentId)).find((r) => r.TraceId === first), 15_000);
    expect(JSON.parse(row.Error)).toMatchObject({ code: "MISSING_CONTENT" });
    expect(row.AssessmentId).toBe(sessionAssessmentId("chat-empty", "coherence", 1));
    expect(conversationCalls().length).toBe(before);
    const metrics = await (await fetch(`${gavel!.url}/metrics`)).text();
    expect(metricValue(metrics, "gavel_worker_traces_skipped_total", { judge: "coherence", reason: "MISSING_CONTENT", mode: "online" })).toBe(1);
  });

  it("samples by session id: a session is scored whole or not at all", async () => {
    const { experimentId: sampledExp } = await api<{ experimentId: string }>("POST", "/experiments", { name: "sessions-sampled" });
    await register(sampledExp, "tone", CONVERSATION, 0.5);
    const sessions = Array.from({ length: 16 }, (_, i) => `conv-${i}`);
    const firstOf = new Map<string, string>();
    for (const s of sessions) {
      // Half of them carry OpenInference's session.id instead of MLflow's metadata key.
      const turns = makeTraces(3, { "gavel.experiment_id": sampledExp, [sessions.indexOf(s) % 2 === 0 ? SESSION : "session.id"]: s });
      firstOf.set(s, anchorOf(turns));
      await postSpans(gavel!.url, turns.map((t) => t.root));
    }
    // The sample the worker must take: cityHash64(session id, judge name) % 1e6 < rate × 1e6.
    const expected = (
      await sql<{ s: string }>(gavel!.url, "SELECT arrayJoin({ss:Array(String)}) AS s WHERE cityHash64(s, 'tone') % 1000000 < 500000", { ss: sessions })
    ).map((r) => r.s);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(sessions.length);
    await eventually(async () => (await assessments("tone", sampledExp)).length >= expected.length, 20_000);
    await sleep(1500);
    const rows = await assessments("tone", sampledExp, false);
    expect(rows.map((r) => JSON.parse(r.Metadata)["mlflow.trace.session"]).sort()).toEqual([...expected].sort());
    expect(expected.some((s) => sessions.indexOf(s) % 2 === 1)).toBe(true);
    // Each on its session's first trace, once.
    for (const r of rows) expect(r.TraceId).toBe(firstOf.get(JSON.parse(r.Metadata)["mlflow.trace.session"]));
    const metrics = await (await fetch(`${gavel!.url}/metrics`)).text();
    expect(metricValue(metrics, "gavel_worker_sessions_seen_total", { judge: "tone" })).toBe(sessions.length);
    expect(metricValue(metrics, "gavel_worker_sessions_sampled_total", { judge: "tone" })).toBe(expected.length);
  });

  it("does not score a session again after a restart, and re-scores it when a new turn arrives", async () => {
    const calls = conversationCalls().length;
    const chat1 = async () => (await assessments("coherence", experimentId)).filter((r) => JSON.parse(r.Metadata)["mlflow.trace.session"] === "chat-1");
    const [before] = await chat1();
    expect(before).toBeDefined();
    await gavel!.stop();
    gavel = await startGavelProcess({ dataDir, env: env() });
    // Several session polls of the new process.
    await sleep(SESSION_SETTLE_MS);
    expect(conversationCalls().length).toBe(calls);
    expect(await chat1()).toEqual([before]);

    // A fourth turn: once the session settles again, a new version of the same assessment.
    const [turn] = makeTraces(1, { "gavel.experiment_id": experimentId, [SESSION]: "chat-1" });
    await postSpans(gavel.url, [turn!.root]);
    await eventually(async () => conversationCalls().length > calls, 15_000);
    await eventually(async () => (await chat1()).some((r) => BigInt(r.V) > BigInt(before!.V)), 5_000);
    await sleep(1500);
    expect(conversationCalls().length).toBe(calls + 1);
    // Replaced, not added: one assessment of the session (latest versions), same id, same first trace.
    const after = await chat1();
    expect(after).toHaveLength(1);
    expect(after[0]!.AssessmentId).toBe(sessionAssessmentId("chat-1", "coherence", 1));
    expect(after[0]!.TraceId).toBe(anchor);
    const latest = (await assessments("coherence", experimentId)).filter((r) => r.TraceId === anchor);
    expect(latest).toHaveLength(1);
    const body = JSON.stringify(sim.requests.filter((r) => JSON.stringify(r.body).includes("<conversation>")).at(-1)!.body);
    expect(body).toContain("question 0");
    expect(body.match(/question 0/g)!.length).toBe(2);
  });
});

describe("gavel worker --session-settle", () => {
  it("refuses a value that is not a duration, saying what to write", () => {
    const r = spawnSync(process.execPath, ["collector/dist/cli/main.js", "worker", "--session-settle", "soon"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--session-settle.*"soon" is not a duration up to 24h: write e\.g\. 5m/s);
  });
});
