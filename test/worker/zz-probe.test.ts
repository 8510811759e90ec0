import { afterAll, beforeAll, it } from "vitest";
import { init, shutdown, createExperiment, makeJudge } from "@gavel/sdk";
import { startGavel, type RunningGavel } from "../../collector/src/server/gavel-server.js";
import { WorkerRuntime } from "../../collector/src/worker/runtime.js";
import { DEFAULT_WORKER_SETTINGS } from "../../collector/src/worker/settings.js";
import { startProviderSimulator, type ProviderSimulator } from "../simulator/src/index.js";
import { tempConfig } from "../support/temp-store.js";
import { assessedTraces, eventually, makeTraces, postSpans } from "./support.js";

process.env.GAVEL_WORKER = "off";
const cfg = tempConfig();
let gavel: RunningGavel;
let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startProviderSimulator();
  Object.assign(process.env, sim.env());
  gavel = await startGavel(cfg);
  init({ url: gavel.url, serviceName: "probe" });
});
afterAll(async () => { await shutdown(); await gavel?.close(); await sim?.close(); cfg.cleanup(); });

it("probe", async () => {
  const experimentId = await createExperiment("probe");
  await (await makeJudge({ name: "p", instructions: "Rate as one of: good, bad\n{{ outputs }} {{ inputs }}", model: "openai:/gpt-4o-mini" }).register({ experimentId })).start({ sampleRate: 1 });
  const traces = makeTraces(400, { "gavel.experiment_id": experimentId });
  await postSpans(gavel.url, traces.map((t) => t.root));
  await new Promise((r) => setTimeout(r, 300));
  const rt = new WorkerRuntime(gavel.store, { ...DEFAULT_WORKER_SETTINGS, settleMs: 200, pollMs: 100 });
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  rt.startOnline();
  await eventually(async () => (await assessedTraces(gavel.store.client, "p")).size >= 400, 60_000);
  const el = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await rt.stop();
  const m = rt.metrics;
  console.log(`400 in ${el} ms, polls ${m.polls.get()}, poll time sum`, rt.metrics.registry.render().split("\n").filter((l) => l.startsWith("gavel_worker_poll_seconds_sum") || l.startsWith("gavel_llm_latency_seconds_sum") || l.startsWith("gavel_ingest_inserts_total")).join(" | "), "cpu ms", (cpu.user + cpu.system) / 1000);
});
