import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { init, shutdown, createExperiment, makeJudge } from "@gavel/sdk";
import type { BackfillJob } from "../../collector/src/worker/backfill.js";
import { useGavel } from "../support/use-gavel.js";
import { useSimulator } from "../support/use-simulator.js";
import { eventually, makeTraces, postSpans, query, traceIdOf } from "./support.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));

Object.assign(process.env, { GAVEL_SETTLE_MS: "200", GAVEL_WORKER_POLL_MS: "100", GAVEL_WORKER_WRITE_MS: "50" });
const simOf = useSimulator();
const gavelOf = useGavel();
beforeAll(() => {
  init({ url: gavelOf().url, serviceName: "backfill-test" });
});
afterAll(async () => {
  await shutdown();
});

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gavelOf().url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function finished(jobId: string): Promise<BackfillJob> {
  return eventually(async () => {
    const { body } = await api<BackfillJob>("GET", `/jobs/${jobId}`);
    return body.status !== "running" ? body : undefined;
  }, 30_000);
}

const rawCount = async (name: string) => Number((await query<{ n: string }>(gavelOf().store.client, "SELECT count() AS n FROM gavel_assessments WHERE Name = {n:String}", { n: name }))[0]!.n);

describe("backfill", () => {
  it("scores existing traces whatever the sampleRate, never twice, and the online worker skips them", async () => {
    const experimentId = await createExperiment("backfill");
    const registered = await makeJudge({ name: "historic", instructions: "Rate as one of: good, bad\nIs {{ outputs }} right for {{ inputs }}?", model: "openai:/gpt-4o-mini" }).register({ experimentId });
    const traces = makeTraces(40, { "gavel.experiment_id": experimentId });
    await postSpans(gavelOf().url, traces.map((t) => t.root));
    const ids = traces.map((t) => traceIdOf(t.root));
    await new Promise((r) => setTimeout(r, 300));

    const started = await api<BackfillJob>("POST", `/experiments/${experimentId}/scorers/historic/backfill`, { since: "1h" });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: "running", judge: "historic", version: 1 });
    const job = await finished(started.body.jobId);
    expect(job).toMatchObject({ status: "succeeded", total: 40, done: 40, scored: 40, failed: 0, skipped: 0 });
    const rows = await query<{ TraceId: string; Metadata: string }>(gavelOf().store.client, "SELECT TraceId, Metadata FROM gavel_assessments FINAL WHERE Name = 'historic'");
    expect(rows.map((r) => r.TraceId).sort()).toEqual([...ids].sort());
    expect(JSON.parse(rows[0]!.Metadata)).toMatchObject({ scoring: "backfill", jobId: job.jobId });

    // Again: everything is already judged.
    const again = await finished((await api<BackfillJob>("POST", `/experiments/${experimentId}/scorers/historic/backfill`, { since: "1h" })).body.jobId);
    expect(again).toMatchObject({ status: "succeeded", done: 40, scored: 0, skipped: 40 });
    // Online scoring of the same version finds nothing left to do.
    await registered.start({ sampleRate: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    await registered.stop();
    expect(await rawCount("historic")).toBe(40);
    expect((await api<{ jobs: BackfillJob[] }>("GET", "/jobs")).body.jobs.map((j) => j.jobId)).toEqual(expect.arrayContaining([job.jobId, again.jobId]));
  });

  it("reports failed judgements, judges them again with retryErrors, and validates its input", async () => {
    const experimentId = await createExperiment("backfill-errors");
    await makeJudge({ name: "fragile", instructions: "Rate as one of: good, bad\n{{ outputs }}", model: "openai:/gpt-4o-mini" }).register({ experimentId });
    const traces = makeTraces(5, { "gavel.experiment_id": experimentId });
    await postSpans(gavelOf().url, traces.map((t) => t.root));
    await new Promise((r) => setTimeout(r, 300));
    process.env.GAVEL_LLM_MAX_RETRIES = "0";
    try {
      simOf().inject({ kind: "server_error", times: 5, status: 500 });
      const failed = await finished((await api<BackfillJob>("POST", `/experiments/${experimentId}/scorers/fragile/backfill`, { since: "1h" })).body.jobId);
      expect(failed).toMatchObject({ status: "succeeded", done: 5, failed: 5, scored: 0 });
      const retried = await finished(
        (await api<BackfillJob>("POST", `/experiments/${experimentId}/scorers/fragile/backfill`, { since: new Date(Date.now() - 3_600_000).toISOString(), retryErrors: true })).body.jobId,
      );
      expect(retried).toMatchObject({ status: "succeeded", done: 5, scored: 5, failed: 0 });
    } finally {
      delete process.env.GAVEL_LLM_MAX_RETRIES;
      simOf().reset();
    }
    const final = await query<{ n: string; errors: string }>(gavelOf().store.client, "SELECT count() AS n, countIf(Error != '') AS errors FROM gavel_assessments FINAL WHERE Name = 'fragile'");
    expect([Number(final[0]!.n), Number(final[0]!.errors)]).toEqual([5, 0]);

    const missing = await api<{ error: { code: string; message: string } }>("POST", `/experiments/${experimentId}/scorers/nope/backfill`, { since: "1h" });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/judge\.register/);
    const badSince = await api<{ error: { field: string } }>("POST", `/experiments/${experimentId}/scorers/fragile/backfill`, { since: "last tuesday" });
    expect(badSince.status).toBe(400);
    expect(badSince.body.error.field).toBe("since");
    const badFilter = await api<{ error: { field: string } }>("POST", `/experiments/${experimentId}/scorers/fragile/backfill`, { since: "1h", filter: "trace.nope = 1" });
    expect(badFilter.status).toBe(400);
    expect((await api("GET", "/jobs/job-unknown")).status).toBe(404);
  });

  it("`gavel backfill` shows progress and exits non-zero on failure; `gavel worker` needs a ClickHouse server", async () => {
    const experimentId = await createExperiment("backfill-cli");
    await makeJudge({ name: "cli_judge", instructions: "Rate as one of: good, bad\n{{ outputs }}", model: "openai:/gpt-4o-mini" }).register({ experimentId });
    const traces = makeTraces(12, { "gavel.experiment_id": experimentId });
    await postSpans(gavelOf().url, traces.map((t) => t.root));
    await new Promise((r) => setTimeout(r, 300));
    const env = { ...process.env, GAVEL_URL: gavelOf().url };

    const ok = await run(process.execPath, [CLI, "backfill", "--experiment", "backfill-cli", "--judge", "cli_judge", "--since", "2h"], { env });
    expect(ok.stdout).toMatch(/Backfill job-\w+ done: 12 scored, 0 failed, 0 skipped/);
    expect(ok.stderr).toMatch(/judge "cli_judge" v1 on experiment/);
    expect(ok.stderr).toMatch(/12\/12 traces/);
    expect(await rawCount("cli_judge")).toBe(12);

    process.env.GAVEL_LLM_MAX_RETRIES = "0";
    simOf().inject({ kind: "server_error", times: 2, status: 502 });
    const more = makeTraces(3, { "gavel.experiment_id": experimentId });
    await postSpans(gavelOf().url, more.map((t) => t.root));
    await new Promise((r) => setTimeout(r, 300));
    const partial = await run(process.execPath, [CLI, "backfill", "--experiment", experimentId, "--judge", "cli_judge", "--since", "2h"], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    delete process.env.GAVEL_LLM_MAX_RETRIES;
    simOf().reset();
    expect((partial as { code: number }).code).toBe(1);
    expect((partial as { stderr: string }).stderr).toMatch(/finished with failures: 1 scored, 2 failed, 12 skipped.*--retry-errors/s);

    const unknown = await run(process.execPath, [CLI, "backfill", "--experiment", experimentId, "--judge", "nope", "--since", "2h"], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((unknown as { code: number }).code).toBe(1);
    expect((unknown as { stderr: string }).stderr).toMatch(/No registered judge "nope"/);
    const noExperiment = await run(process.execPath, [CLI, "backfill", "--experiment", "no-such", "--judge", "x", "--since", "2h"], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((noExperiment as { stderr: string }).stderr).toMatch(/No experiment with id or name "no-such"/);
    const badSince = await run(process.execPath, [CLI, "backfill", "--experiment", experimentId, "--judge", "x", "--since", "soon"], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((badSince as { code: number }).code).not.toBe(0);
    expect((badSince as { stderr: string }).stderr).toMatch(/ISO time/);

    const noServer = await run(process.execPath, [CLI, "worker"], { env: { ...process.env, GAVEL_CLICKHOUSE_URL: "" } }).catch((e: { code: number; stderr: string }) => e);
    expect((noServer as { code: number }).code).toBe(2);
    expect((noServer as { stderr: string }).stderr).toMatch(/needs a ClickHouse server.*GAVEL_CLICKHOUSE_URL.*one process only/s);
    for (const shard of ["2/2", "a/b"]) {
      const bad = await run(process.execPath, [CLI, "worker", "--shard", shard], { env: { ...process.env, GAVEL_CLICKHOUSE_URL: "http://127.0.0.1:1" } }).catch((e: { code: number; stderr: string }) => e);
      expect((bad as { code: number }).code).not.toBe(0);
      expect((bad as { stderr: string }).stderr).toMatch(/shard/);
    }
  });
});
