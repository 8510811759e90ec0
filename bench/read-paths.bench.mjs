// Read paths at production size: every call of the UI's main screens and the online worker's poll,
// timed against the goals of issue 15, idle and while ingest runs in the background.
//
//   node bench/read-paths.bench.mjs [--traces 1000000] [--rounds 5] [--ingest-rate 2000] [--no-ui]
//   GAVEL_BENCH_READ_DATA=/var/tmp/gavel-read npm run bench -- read     # keep the loaded store between runs
//
// 1. Load (a child process, skipped when GAVEL_BENCH_READ_DATA holds a store this script loaded
//    with the same --traces): the schema by `migrate`, then bench/lib/read-dataset.mjs generates
//    the traces inside the engine (INSERT … SELECT, one insert per day), so every materialized
//    view runs as on OTLP ingest; then SQL checks the shape (traces, spans and roots per trace,
//    experiments, days, models, sessions, errors, assessments).
// 2. The collector as its own process (the README's start path) on that store. Each call of the
//    table is made once to warm up, then timed `--rounds` times over its real HTTP API; the median
//    is printed against the goal. Then the same with OTLP/protobuf ingest of fresh 512-span
//    requests at `--ingest-rate` spans/s in the background. The UI: Chromium (playwright-core)
//    opens the Traces tab in a fresh context, timed until the first trace row is on screen.
// 3. The online worker's poll (not an HTTP call): a child process opens the store and runs the
//    worker's candidate and arrival queries for one judge sampling 10 % of the largest experiment.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, loadavg, availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values: args } = parseArgs({
  options: {
    traces: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "5" },
    "ingest-rate": { type: "string", default: "2000" },
    "no-ui": { type: "boolean", default: false },
    load: { type: "string" },
    "worker-poll": { type: "string" },
  },
});
const here = fileURLToPath(new URL(".", import.meta.url));
const TRACES = Number(args.traces);
const ROUNDS = Number(args.rounds);
const DAYS = 27;

if (args.load) {
  await load(args.load);
  process.exit(0);
}
if (args["worker-poll"]) {
  await workerPoll(args["worker-poll"]);
  process.exit(0);
}

const { EXPERIMENTS, experimentIdFor, MODELS } = await import("./lib/read-dataset.mjs");
const E1 = experimentIdFor(EXPERIMENTS[0].name);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const loads = [loadavg()[0]];

// ------------------------------------------------------------------ 1. the store
const cacheDir = process.env.GAVEL_BENCH_READ_DATA;
const dataDir = cacheDir ?? mkdtempSync(join(tmpdir(), "gavel-bench-read-"));
const marker = join(dataDir, "gavel-bench-read.json");
const wanted = JSON.stringify({ traces: TRACES, days: DAYS, dataset: 2 });
let loadReport;
if (existsSync(marker) && JSON.parse(readFileSync(marker, "utf8")).key === wanted) {
  loadReport = JSON.parse(readFileSync(marker, "utf8"));
  console.log(`Using the store loaded on ${new Date(loadReport.loadedAt).toISOString()} in ${dataDir} (GAVEL_BENCH_READ_DATA).`);
} else {
  if (cacheDir) rmSync(dataDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--load", dataDir, "--traces", String(TRACES)], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`loading failed:\n${r.stdout}`);
  loadReport = JSON.parse(r.stdout.trim().split("\n").pop());
  writeFileSync(marker, JSON.stringify({ ...loadReport, key: wanted }));
}
console.log(`Loaded ${loadReport.spans.toLocaleString("en-US")} spans / ${loadReport.traces.toLocaleString("en-US")} traces in ${loadReport.seconds.toFixed(0)} s. Shape: ${JSON.stringify(loadReport.shape)}\n`);

// ------------------------------------------------------------------ 2. the collector
const collector = spawn(process.execPath, [join(here, "../collector/dist/cli/main.js"), "start", "--port", "0", "--data-dir", dataDir], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, GAVEL_WORKER: process.env.GAVEL_WORKER ?? "off" },
});
process.on("exit", () => collector.kill("SIGKILL"));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
const url = await new Promise((resolve, reject) => {
  let out = "";
  collector.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  collector.once("exit", (c) => reject(new Error(`collector exited ${c}: ${out}`)));
});

async function call(method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}
const search = (req) => call("POST", "/api/v1/traces/search", { experimentIds: [E1], maxResults: 50, ...req });
const sql = async (query) => (await call("POST", "/api/v1/sql", { query })).rows;

const first = await search({});
const [{ id: someTrace }] = await sql(`SELECT TraceId AS id FROM gavel_traces WHERE ExperimentId = '${E1}' AND NOT IsJudge ORDER BY Timestamp DESC LIMIT 1 OFFSET 5000`);

// What a dashboard of token use asks: the daily rollup the store keeps (docs/architecture.md),
// or, on a store without it (before migration 7), the same sums over the spans.
const ROLLUP_SQL = `SELECT Day AS day, Model AS model, sum(InputTokens) AS input_tokens
FROM gavel_token_usage_daily GROUP BY day, model ORDER BY day, model`;
const SPANS_SQL = `SELECT toDate(Timestamp) AS day, SpanAttributes['gen_ai.request.model'] AS model,
  sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens'])) AS input_tokens
FROM otel_traces WHERE model != '' GROUP BY day, model ORDER BY day, model`;
const TOKENS_SQL = await sql(ROLLUP_SQL).then(
  (rows) => (rows.length > 0 ? ROLLUP_SQL : SPANS_SQL),
  () => SPANS_SQL,
);
const tokensFrom = TOKENS_SQL === ROLLUP_SQL ? "gavel_token_usage_daily" : "otel_traces";

/** name, goal (ms), the call, and a check that its answer is the real thing. */
const CALLS = [
  ["`GET /api/v1/experiments` (the UI's first screen)", 50, () => call("GET", "/api/v1/experiments"),
    (r) => r.experiments?.length >= EXPERIMENTS.length && r.experiments.some((e) => e.traceCount > TRACES / 4)],
  ["trace list, newest 50", 30, () => search({}), (r) => r.traces.length === 50],
  ["trace list, next page", 30, () => search({ pageToken: first.nextPageToken }), (r) => r.traces.length === 50],
  ["trace list, slowest first", 100, () => search({ orderBy: ["execution_time_ms DESC"] }), (r) => r.traces.length === 50],
  ["filter `feedback.quality = 'poor'`", 100, () => search({ filter: "feedback.quality = 'poor'" }), (r) => r.traces.length > 0],
  ["filter ``span.attributes.`gen_ai.request.model` = 'gpt-4o-mini'``", 300,
    () => search({ filter: "span.attributes.`gen_ai.request.model` = 'gpt-4o-mini'" }), (r) => r.traces.length > 0],
  ["filter `trace.text LIKE '%zebra%'`", 300, () => search({ filter: "trace.text LIKE '%zebra%'" }), (r) => r.traces.length > 0],
  ["trace page, a 4-span trace (`GET /api/v1/traces/:id`)", 50, () => call("GET", `/api/v1/traces/${someTrace}`), (r) => r.data.spans.length === 4],
  ["review queue", 100, () => call("GET", `/api/v1/experiments/${E1}/review-queue`), (r) => r.items.length > 0 && r.judges[0]?.judged > TRACES / 1000],
  [`SQL: input tokens by model by day (from ${tokensFrom})`, 100, () => sql(TOKENS_SQL), (rows) => rows.length >= DAYS * (new Set(MODELS).size)],
];
async function timeCalls() {
  const out = new Map();
  for (const [name, , fn, check] of CALLS) {
    const warm = await fn();
    if (!check(warm)) throw new Error(`${name}: unexpected answer ${JSON.stringify(warm).slice(0, 400)}`);
    const ms = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await fn();
      ms.push(performance.now() - t0);
    }
    out.set(name, median(ms));
    process.stderr.write(`[read bench]   ${name}: ${ms.map((x) => x.toFixed(0)).join(", ")} ms\n`);
    loads.push(loadavg()[0]);
  }
  return out;
}

let chromium;
if (!args["no-ui"]) ({ chromium } = await import("playwright-core"));
async function timeUi() {
  if (!chromium) return NaN;
  const browser = await chromium.launch({ executablePath: process.env.GAVEL_CHROMIUM ?? "/usr/bin/chromium" });
  try {
    const ms = [];
    for (let i = 0; i <= ROUNDS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${url}/experiments/${E1}/traces`);
      await page.locator(".traces-table tbody tr").first().waitFor({ timeout: 60_000 });
      if (i > 0) ms.push(performance.now() - t0);
      await context.close();
    }
    process.stderr.write(`[read bench]   UI: Traces tab, first row on screen: ${ms.map((x) => x.toFixed(0)).join(", ")} ms\n`);
    return median(ms);
  } finally {
    await browser.close();
  }
}

/** Open-loop OTLP/protobuf ingest of fresh four-span traces at `rate` spans/s until stopped. */
function backgroundIngest(rate) {
  const SPANS = 512;
  const { buildSpans, assertFourSpanTraces } = ingestLib;
  let stop = false;
  let sent = 0;
  let acked = 0;
  let failed = 0;
  const inflight = new Set();
  const seedBase = Date.now() % 1_000_000_000;
  const t0 = performance.now();
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const due = t0 + (i * SPANS * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
      const spans = buildSpans(SPANS, seedBase + i, Math.floor(Date.now() / 1000) - 60);
      if (i === 0) assertFourSpanTraces(spans);
      const body = Buffer.from(ingestLib.ProtobufTraceSerializer.serializeRequest(spans));
      sent += SPANS;
      const p = fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": "application/x-protobuf" }, body })
        .then((r) => (r.ok ? (acked += SPANS) : failed++), () => failed++)
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  })();
  return async () => {
    stop = true;
    await loop;
    await Promise.all(inflight);
    const s = (performance.now() - t0) / 1000;
    return { rate: acked / s, sent, acked, failed };
  };
}
const ingestLib = {
  ...(await import("./lib/llm-spans.mjs")),
  ProtobufTraceSerializer: (await import("@opentelemetry/otlp-transformer")).ProtobufTraceSerializer,
};

const progress = (s) => process.stderr.write(`[read bench] ${s}\n`);
progress("idle: API calls");
const idle = await timeCalls();
progress("idle: UI");
const idleUi = await timeUi();
progress("background ingest: API calls");
const stopIngest = backgroundIngest(Number(args["ingest-rate"]));
await new Promise((ok) => setTimeout(ok, 3000));
const busy = await timeCalls();
progress("background ingest: UI");
const busyUi = await timeUi();
const ingest = await stopIngest();
// Requests answered once logged make API reads wait for their insert (docs/architecture.md): say how many there were.
const metricsText = await (await fetch(`${url}/metrics`)).text();
ingest.loggedAcks = Number(/^gavel_ingest_logged_acks_total (\S+)$/m.exec(metricsText)?.[1] ?? NaN);
progress("worker poll");

collector.kill("SIGTERM");
await new Promise((ok) => collector.once("exit", ok));

// ------------------------------------------------------------------ 3. the worker's poll
const wp = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--worker-poll", dataDir, "--rounds", String(ROUNDS)], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
if (wp.status !== 0) throw new Error(`worker poll failed:\n${wp.stdout}`);
const poll = JSON.parse(wp.stdout.trim().split("\n").pop());
progress(`worker poll: candidates ${fmtMs(poll.findMs)} ms, arrival counts ${fmtMs(poll.countMs)} ms; sessions ${fmtMs(poll.sessionFindMs)} ms, session counts ${fmtMs(poll.sessionCountMs)} ms, session traces ${fmtMs(poll.sessionReadMs)} ms`);
if (!cacheDir) rmSync(dataDir, { recursive: true, force: true });

const row = (name, goal, a, b) => {
  const ratio = (x) => (Number.isNaN(x) ? "—" : `${(x / goal).toFixed(2)}×${x <= goal ? "" : " ✗"}`);
  const v = (x) => (Number.isNaN(x) ? "—" : fmtMs(x));
  console.log(`| ${name} | ${v(a)} | ${v(b)} | < ${goal} | ${ratio(a)} | ${ratio(b)} |`);
};
console.log(`Median of ${ROUNDS} after one warm-up call, ms. Background ingest: ${Math.round(ingest.rate)} spans/s acknowledged ` +
  `(${ingest.failed} requests failed, ${ingest.loggedAcks} answered once logged). Load average during the run ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${availableParallelism()} cores. ` +
  `Engine speed: \`SELECT count() FROM numbers(100000000) WHERE cityHash64(number) % 7 = 0\` took ${fmtMs(poll.calibrationMs)} ms (compare runs by it).\n`);
console.log("| call | idle | under ingest | goal | idle / goal | under ingest / goal |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const [name, goal] of CALLS) row(name, goal, idle.get(name), busy.get(name));
row("UI: Traces tab, navigation to the first row on screen (Chromium)", 1000, idleUi, busyUi);
row(`online worker poll: candidates (judge sampling 10 %, 24 h lookback, ${poll.candidates} found)`, 50, poll.findMs, NaN);
row("online worker poll: arrival counts", 50, poll.countMs, NaN);
row(`online worker poll: complete sessions (session judge sampling 10 %, ${poll.sessions} found)`, 100, poll.sessionFindMs, NaN);
row("online worker poll: session arrival counts", 100, poll.sessionCountMs, NaN);
row(`online worker poll: the found sessions' traces (${poll.sessionTraces})`, 50, poll.sessionReadMs, NaN);

// ------------------------------------------------------------------ child: load
async function load(dir) {
  const { spansInsert, judgementsInsert, experimentsInsert, EXPERIMENTS, MODELS } = await import("./lib/read-dataset.mjs");
  const { openStoreClient } = await import("../collector/dist/store/clickhouse.js");
  const { migrate } = await import("../collector/dist/store/migrations.js");
  const sc = await openStoreClient({ dataDir: dir });
  const t0 = performance.now();
  const log = (s) => process.stderr.write(`[read bench load ${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}\n`);
  const q = async (query) => (await sc.client.query({ query, format: "JSONEachRow" })).json();
  try {
    await migrate(sc.client);
    const endMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const t0Ms = endMs - DAYS * 86_400_000;
    const stepNs = Math.floor((DAYS * 86_400_000 * 1e6) / TRACES);
    const perDay = Math.ceil(TRACES / DAYS);
    for (let d = 0; d < DAYS; d++) {
      const from = d * perDay;
      const count = Math.min(perDay, TRACES - from);
      if (count <= 0) break;
      await sc.client.command({ query: spansInsert(from, count, t0Ms, stepNs) });
      await sc.client.command({ query: judgementsInsert(from, count, t0Ms, stepNs) });
      log(`day ${d + 1}/${DAYS}`);
    }
    await sc.client.command({ query: experimentsInsert(t0Ms) });
    const seconds = (performance.now() - t0) / 1000;
    // The merges of the load run now, not during the idle phase (at most five minutes).
    log("waiting for the load's merges");
    for (let i = 0; i < 600; i++) {
      const [m] = await q("SELECT count() AS n FROM system.merges");
      if (Number(m.n) === 0) break;
      await new Promise((ok) => setTimeout(ok, 500));
    }
    log("checking the shape");
    const [shape] = await q(`SELECT count() AS traces, min(n) AS minSpans, max(n) AS maxSpans, min(r) AS minRoots, max(r) AS maxRoots,
        sum(n) AS spans FROM (SELECT TraceId, count() AS n, countIf(ParentSpanId = '') AS r FROM otel_traces
        WHERE SpanAttributes['gavel.assessment_span'] != 'true' AND SpanAttributes['gavel.judge'] != 'true' GROUP BY TraceId)`);
    const [t] = await q(`SELECT uniqExact(ExperimentId) AS experiments, dateDiff('day', min(Timestamp), max(Timestamp)) + 1 AS days,
        countIf(StatusCode = 'Error') AS errors, countIf(IsJudge) AS judgeTraces FROM gavel_traces`);
    const [s] = await q(`SELECT uniqExact(SpanAttributes['session.id']) AS sessions, uniqExact(GenAiModel) - 1 AS models FROM otel_traces`);
    const a = await q(`SELECT SourceType AS source, count() AS n, uniqExact(TraceId) AS traces FROM gavel_assessments GROUP BY SourceType ORDER BY source`);
    const shapeOut = {
      traces: Number(shape.traces), spansPerTrace: [Number(shape.minSpans), Number(shape.maxSpans)], rootsPerTrace: [Number(shape.minRoots), Number(shape.maxRoots)],
      experiments: Number(t.experiments), days: Number(t.days), errors: Number(t.errors), judgeTraces: Number(t.judgeTraces),
      sessions: Number(s.sessions), models: Number(s.models), assessments: Object.fromEntries(a.map((r) => [r.source, Number(r.traces)])),
    };
    const ok = shapeOut.traces === TRACES && shapeOut.spansPerTrace.join() === "4,4" && shapeOut.rootsPerTrace.join() === "1,1" &&
      shapeOut.experiments === EXPERIMENTS.length && shapeOut.days >= DAYS && shapeOut.errors > 0 && shapeOut.sessions > TRACES / 10 &&
      shapeOut.models === new Set(MODELS).size && shapeOut.assessments.LLM_JUDGE > 0 && shapeOut.assessments.HUMAN > 0;
    if (!ok) throw new Error(`the loaded data has the wrong shape: ${JSON.stringify(shapeOut)}`);
    console.log(JSON.stringify({ spans: Number(shape.spans), traces: TRACES, seconds, shape: shapeOut, loadedAt: Date.now() }));
  } finally {
    await sc.close();
  }
}

// ------------------------------------------------------------------ child: the worker's poll
async function workerPoll(dir) {
  const { EXPERIMENTS, experimentIdFor } = await import("./lib/read-dataset.mjs");
  const { openStoreClient } = await import("../collector/dist/store/clickhouse.js");
  const { findCandidates, countArrivals } = await import("../collector/dist/worker/candidates.js");
  const { sampleThreshold } = await import("../collector/dist/worker/sampler.js");
  const sc = await openStoreClient({ dataDir: dir });
  try {
    // A collector has been running on this store for a while; here the store was just opened,
    // so the merges the background ingest left behind run first (at most two minutes).
    for (let i = 0; i < 240; i++) {
      const [m] = await (await sc.client.query({ query: "SELECT count() AS n FROM system.merges", format: "JSONEachRow" })).json();
      if (Number(m.n) === 0) break;
      await new Promise((ok) => setTimeout(ok, 500));
    }
    const base = {
      experimentId: experimentIdFor(EXPERIMENTS[0].name), name: "quality", version: 2, filter: null,
      fromMs: Date.now() - 24 * 3_600_000, settleMs: 5000, threshold: sampleThreshold(0.1), shard: { count: 1, index: 0 },
    };
    const timed = async (fn) => {
      let result = await fn();
      const ms = [];
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        result = await fn();
        ms.push(performance.now() - t0);
      }
      return { ms: [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)], result };
    };
    const find = await timed(() => findCandidates(sc.client, { ...base, exclude: [], limit: 32 }));
    const count = await timed(() => countArrivals(sc.client, { ...base, afterMs: Date.now() - 60_000 }));
    // A {{ conversation }} judge sampling 10 % of the sessions (session.id, 5 traces each); the same 5 s settle as
    // above, so a store loaded minutes ago has complete sessions to find.
    const { findSessionCandidates, countSessionArrivals, sessionTraces } = await import("../collector/dist/worker/session-candidates.js");
    const sbase = { experimentId: base.experimentId, name: "resolved", fromMs: base.fromMs, settleMs: base.settleMs, threshold: sampleThreshold(0.1), shard: base.shard };
    const sfind = await timed(() => findSessionCandidates(sc.client, { ...sbase, version: 1, exclude: [], limit: 32 }));
    const scount = await timed(() => countSessionArrivals(sc.client, { ...sbase, afterMs: Date.now() - 60_000 }));
    const ids = sfind.result.map((c) => c.sessionId);
    const sread = await timed(() => sessionTraces(sc.client, { experimentId: base.experimentId, fromMs: base.fromMs - 24 * 3_600_000, sessionIds: ids }));
    // The engine's speed on this machine right now, to compare runs: a fixed CPU-bound query.
    const calibration = await timed(() => sc.client.query({ query: "SELECT count() FROM numbers(100000000) WHERE cityHash64(number) % 7 = 0", format: "JSONEachRow" }).then((r) => r.json()));
    console.log(JSON.stringify({
      findMs: find.ms, countMs: count.ms, candidates: find.result.length, calibrationMs: calibration.ms,
      sessionFindMs: sfind.ms, sessionCountMs: scount.ms, sessionReadMs: sread.ms, sessions: ids.length,
      sessionTraces: [...sread.result.values()].reduce((n, l) => n + l.length, 0),
    }));
  } finally {
    await sc.close();
  }
}
