#!/usr/bin/env node
// Online-scoring throughput: judgements per second against per-model concurrency, with the LLM
// provider simulator answering after 300 ms, compared in the same run with the limit
// concurrency ÷ latency (a worker that only waited on the LLM would reach it). Also the
// worker's own CPU per judgement, LLM excluded: the simulator runs as a child process, so this
// process's CPU is the worker's — polls, the judge's prompt building and OpenAI client, the
// assessment writes, and the embedded ClickHouse (chDB) work behind them.
//
//   node bench/worker-throughput.bench.mjs [--latency-ms 300] [--seconds 6] [--levels 1,8,32,128] [--json]
//
// Uses the BUILT collector (npx tsc -b). Traces are stored before each measurement, so ingest
// costs nothing here; each level has its own experiment and judge.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values: args } = parseArgs({
  options: {
    "latency-ms": { type: "string", default: "300" },
    seconds: { type: "string", default: "6" },
    levels: { type: "string", default: "1,8,32,128" },
    json: { type: "boolean", default: false },
  },
});
const LATENCY_MS = Number(args["latency-ms"]);
const SECONDS = Number(args.seconds);
const LEVELS = args.levels.split(",").map(Number);
const here = fileURLToPath(new URL(".", import.meta.url));

// ------------------------------------------------------------------ simulator (child process)
const sim = spawn(process.execPath, [join(here, "../test/simulator/dist/main.js"), "--port", "0", "--latency-ms", String(LATENCY_MS)], {
  stdio: ["ignore", "pipe", "ignore"],
});
const simUrl = await new Promise((resolve, reject) => {
  let out = "";
  sim.stdout.on("data", (d) => {
    out += d;
    const line = out.split("\n")[0];
    if (out.includes("\n")) resolve(line.trim());
  });
  sim.once("exit", (c) => reject(new Error(`simulator exited ${c}`)));
});
Object.assign(process.env, {
  OPENAI_BASE_URL: `${simUrl}/v1`,
  OPENAI_API_KEY: "sk-simulator",
  // Judge spans would go to the no-op tracer anyway; this keeps captured content out of the cost.
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "false",
});

const { loadConfig } = await import("../collector/dist/config/config.js");
const { Store } = await import("../collector/dist/store/store.js");
const { registerScorer, setSampling } = await import("../collector/dist/store/queries/scorers.js");
const { encodeSpansRowBinary } = await import("../collector/dist/store/rowbinary.js");
const { WorkerRuntime } = await import("../collector/dist/worker/runtime.js");
const { DEFAULT_WORKER_SETTINGS } = await import("../collector/dist/worker/settings.js");

const dataDir = mkdtempSync(join(tmpdir(), "gavel-bench-worker-"));
const store = await Store.open(loadConfig({}, { dataDir }));

const MODEL = "openai:/gpt-4o-mini";
const judgeJson = (name) => ({
  type: "gavel.judge",
  schemaVersion: 1,
  name,
  instructions: "Rate as one of: excellent, good, needs_improvement, poor\nJudge how well {{ outputs }} answers {{ inputs }}.",
  model: MODEL,
  feedbackValueType: ["excellent", "good", "needs_improvement", "poor"],
});

function rootSpans(experimentId, n) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      timestamp: now + BigInt(i),
      traceId: randomBytes(16).toString("hex"),
      spanId: randomBytes(8).toString("hex"),
      parentSpanId: "",
      traceState: "",
      spanName: "support_app",
      spanKind: "Server",
      serviceName: "bench-app",
      resourceAttributes: [["service.name", "bench-app"]],
      scopeName: "bench",
      scopeVersion: "",
      spanAttributes: [
        ["gavel.experiment_id", experimentId],
        ["gavel.inputs", JSON.stringify({ issue: `My order ${i} has not arrived and the tracking page shows no update since Monday.` })],
        ["gavel.outputs", JSON.stringify({ response: `I'm sorry about order ${i}. I have opened a carrier investigation; you will hear from us within 24 hours.` })],
      ],
      duration: 1_200_000_000n,
      statusCode: "Ok",
      statusMessage: "",
      events: [],
      links: [],
    });
  }
  return rows;
}

/**
 * CPU of this process's main thread (the JavaScript event loop) in µs, from /proc: the rest of
 * process.cpuUsage() is chDB's threads. Undefined where /proc is absent.
 */
function mainThreadCpuUs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime (fields 14 and 15 of the full line) in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

async function measure(concurrency) {
  const n = Math.max(20, Math.round((concurrency / (LATENCY_MS / 1000)) * SECONDS));
  const experimentId = `bench-c${concurrency}-${randomBytes(3).toString("hex")}`;
  const rows = rootSpans(experimentId, n);
  for (let i = 0; i < rows.length; i += 5000) await store.batcher.submit(encodeSpansRowBinary(rows.slice(i, i + 5000)), Math.min(5000, rows.length - i));
  const name = `throughput_c${concurrency}`;
  await registerScorer(store.client, { experimentId, name, judge: judgeJson(name) });
  await setSampling(store.client, experimentId, name, { sampleRate: 1 });
  const settings = {
    ...DEFAULT_WORKER_SETTINGS,
    settleMs: 100,
    pollMs: 250,
    concurrency: { default: concurrency, byModel: new Map() },
  };
  await new Promise((r) => setTimeout(r, settings.settleMs + 50));
  const rt = new WorkerRuntime(store, settings, { log: (m) => console.error(`  [worker] ${m}`) });
  // Resolves when the n-th judgement is stored, timed at that moment (no polling loop here).
  let count = 0;
  let t1 = 0;
  let allDone;
  const done = new Promise((r) => (allDone = r));
  for (const c of [rt.metrics.scored, rt.metrics.failed]) {
    const inc = c.inc.bind(c);
    c.inc = (labels, by = 1) => {
      inc(labels, by);
      count += by;
      if (count >= n && !t1) {
        t1 = performance.now();
        allDone();
      }
    };
  }
  const inserts0 = metric(rt, "gavel_ingest_inserts_total");
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const js0 = mainThreadCpuUs();
  const t0 = performance.now();
  rt.startOnline();
  await done;
  const cpu = process.cpuUsage(cpu0);
  const js1 = mainThreadCpuUs();
  await rt.stop();
  // Stop is part of the worker's life; after it every worker is idle and another level starts clean.
  const failed = rt.metrics.failed.total();
  const seconds = (t1 - t0) / 1000;
  const rate = n / seconds;
  const limit = concurrency / (LATENCY_MS / 1000);
  return {
    concurrency,
    judgements: n,
    failed,
    seconds: Number(seconds.toFixed(2)),
    perSecond: Number(rate.toFixed(1)),
    limit: Number(limit.toFixed(1)),
    ratio: Number((rate / limit).toFixed(3)),
    cpuUsPerJudgement: Math.round((cpu.user + cpu.system) / n),
    jsCpuUsPerJudgement: js0 === undefined ? null : Math.round((js1 - js0) / n),
    llmMeanMs: Math.round((metric(rt, "gavel_llm_latency_seconds_sum") / metric(rt, "gavel_llm_latency_seconds_count")) * 1000),
    polls: rt.metrics.polls.get(),
    candidateQueries: rt.metrics.candidateQueries.total(),
    inserts: metric(rt, "gavel_ingest_inserts_total") - inserts0,
  };
}

function metric(rt, name) {
  const line = rt.metrics.registry.render().split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.split(" ").pop()) : NaN;
}

const results = [];
try {
  // Warm-up: JIT, the OpenAI client, the first parts of each table.
  await measure(4);
  for (const c of LEVELS) results.push(await measure(c));
} finally {
  sim.kill("SIGTERM");
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

if (args.json) {
  console.log(JSON.stringify({ latencyMs: LATENCY_MS, results }));
} else {
  console.log(
    `Simulator latency ${LATENCY_MS} ms (child process); limit = concurrency ÷ latency. Timed from the worker's start to the last ` +
      `judgement stored, so the first poll and the last write window (GAVEL_WORKER_WRITE_MS) count against it.\n`,
  );
  console.log("| concurrency | judgements | s | judgements/s | limit/s | of limit | mean LLM ms | CPU µs/judgement: process | of which JS thread |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    console.log(
      `| ${r.concurrency} | ${r.judgements} | ${r.seconds} | ${r.perSecond} | ${r.limit} | ${(r.ratio * 100).toFixed(0)} % | ${r.llmMeanMs} | ${r.cpuUsPerJudgement} | ${r.jsCpuUsPerJudgement ?? "n/a"} |`,
    );
  }
  console.log("\nCPU is this process's (the simulator's is not in it); the process figure includes embedded ClickHouse's threads (queries, inserts).");
  const at32 = results.find((r) => r.concurrency === 32);
  if (at32) console.log(`\nAt concurrency 32: ${(at32.ratio * 100).toFixed(0)} % of the limit (goal ≥ 70 %) — ${at32.ratio >= 0.7 ? "PASS" : "FAIL"}.`);
  const failed = results.reduce((s, r) => s + r.failed, 0);
  if (failed) console.log(`${failed} judgements failed (see the worker log above).`);
}
const at32 = results.find((r) => r.concurrency === 32);
process.exit(at32 && at32.ratio < 0.7 ? 1 : 0);
