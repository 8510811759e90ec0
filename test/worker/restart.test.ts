import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeJudge } from "@gavel/sdk";
import { eventually, sql, startGavelProcess } from "../support/gavel-process.js";
import { startProviderSimulator, type ProviderSimulator } from "../simulator/src/index.js";
import { makeTraces, postSpans, traceIdOf } from "./support.js";

// The collector as the README starts it (built CLI, embedded chDB), killed with SIGKILL while
// judgements are in flight and restarted on the same data directory.
const dataDir = mkdtempSync(join(tmpdir(), "gavel-worker-restart-"));
let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startProviderSimulator({ latencyMs: 200 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const N = 120;
const count = async (url: string) =>
  Number((await sql<{ n: string }>(url, "SELECT uniqExact(TraceId) AS n FROM gavel_assessments WHERE Name = 'durable'"))[0]!.n);

describe("a collector killed mid-scoring", () => {
  it("misses no trace and duplicates none after a restart", async () => {
    const env = {
      ...sim.env(),
      GAVEL_SETTLE_MS: "200",
      GAVEL_WORKER_POLL_MS: "100",
      GAVEL_WORKER_CONCURRENCY: "8",
      GAVEL_WORKER_WRITE_MS: "50",
    };
    const first = await startGavelProcess({ dataDir, env });
    let second: Awaited<ReturnType<typeof startGavelProcess>> | undefined;
    try {
      const { experimentId } = await api<{ experimentId: string }>(first.url, "POST", "/experiments", { name: "restart" });
      const judge = makeJudge({ name: "durable", instructions: "Rate as one of: good, bad\nIs {{ outputs }} right for {{ inputs }}?", model: "openai:/gpt-4o-mini" });
      await api(first.url, "POST", `/experiments/${experimentId}/scorers`, { judge: judge.toJSON() });
      await api(first.url, "POST", `/experiments/${experimentId}/scorers/durable/sampling`, { sampleRate: 1 });
      const traces = makeTraces(N, { "gavel.experiment_id": experimentId });
      await postSpans(first.url, traces.map((t) => t.root));
      const ids = traces.map((t) => traceIdOf(t.root));

      // Kill it with judgements stored and others waiting on the LLM.
      await eventually(async () => (await count(first.url)) >= 24, 30_000);
      await eventually(async () => sim.requests.some((r) => r.status === undefined));
      const pendingAtKill = sim.requests.filter((r) => r.status === undefined).length;
      const storedAtKill = await count(first.url);
      expect(await first.stop("SIGKILL")).toBe(null);
      expect(storedAtKill).toBeLessThan(N);
      expect(pendingAtKill).toBeGreaterThan(0);

      second = await startGavelProcess({ dataDir, env });
      await eventually(async () => (await count(second!.url)) >= N, 45_000);
      await new Promise((r) => setTimeout(r, 1000));
      const final = await sql<{ TraceId: string; n: string }>(
        second.url,
        "SELECT TraceId, count() AS n FROM gavel_assessments FINAL WHERE Name = 'durable' GROUP BY TraceId",
      );
      expect(final.map((r) => r.TraceId).sort()).toEqual([...ids].sort());
      expect(final.every((r) => r.n === "1")).toBe(true);
      // The judgements lost with the process were asked again; none stored twice.
      expect(sim.requests.length).toBeGreaterThanOrEqual(N);
    } finally {
      await first.stop("SIGKILL");
      await second?.stop();
    }
  });
});
