// Sustained OTLP ingest into embedded ClickHouse, against raw insert paths for the same rows.
//
//   node bench/collector-ingest.bench.mjs [--seconds 20] [--senders 4]
//
// 1. Raw baselines (a child process with its own chDB): the same 512-span requests, decoded
//    once, inserted in 10k-row batches as JSONEachRow through @clickhouse/client on the chDB
//    connection, as RowBinary through a file (JS encode + engine), and as RowBinary / Native
//    files prepared beforehand (engine only).
// 2. Gavel: the collector as its own process (the README's start path), fed by this process
//    with OTLP/protobuf requests of 512 spans from several concurrent senders. Reports spans/s
//    acknowledged, p50/p99 request latency, the collector's peak RSS, and checks with SQL that
//    every acknowledged span is stored.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { buildProtobufRequests, percentile } from "./lib/llm-spans.mjs";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    senders: { type: "string", default: "4" },
    requests: { type: "string", default: "120" },
    raw: { type: "boolean", default: false },
  },
});
const SPANS_PER_REQUEST = 512;
const REQUESTS = Number(args.requests);
const here = fileURLToPath(new URL(".", import.meta.url));

if (args.raw) {
  await rawBaselines();
  process.exit(0);
}

const bodies = buildProtobufRequests(REQUESTS, SPANS_PER_REQUEST);
const bytesPerSpan = bodies.reduce((n, b) => n + b.length, 0) / (REQUESTS * SPANS_PER_REQUEST);

// ------------------------------------------------------------------ raw baselines
const raw = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--raw", "--requests", String(REQUESTS)], { encoding: "utf8" });
if (raw.status !== 0) {
  console.error(raw.stdout, raw.stderr);
  throw new Error("raw baseline failed");
}
const baselines = JSON.parse(raw.stdout.trim().split("\n").pop());

// ------------------------------------------------------------------ Gavel
const dataDir = mkdtempSync(join(tmpdir(), "gavel-bench-ingest-"));
const collector = spawn(process.execPath, [...(process.env.GAVEL_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean), join(here, "../collector/dist/cli/main.js"), "start", "--port", "0", "--data-dir", dataDir], {
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise((resolve, reject) => {
  let out = "";
  collector.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  collector.once("exit", (c) => reject(new Error(`collector exited ${c}`)));
});

let peakRss = 0;
const rssTimer = setInterval(() => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${collector.pid}/status`, "utf8"));
    if (m) peakRss = Math.max(peakRss, Number(m[1]) * 1024);
  } catch {}
}, 100);

async function send(body) {
  const t = performance.now();
  const res = await fetch(`${url}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/x-protobuf" } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t, retryAfter: Number(res.headers.get("retry-after") ?? 0) };
}

// Warm-up: JIT, first parts, page cache.
for (let i = 0; i < 4; i++) await send(bodies[i]);

const seconds = Number(args.seconds);
const latencies = [];
let acked = 0;
let refused = 0;
let next = 0;
const cpuStats = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in seconds (USER_HZ = 100)
};
const loadCpu0 = process.cpuUsage();
const collectorCpu0 = cpuStats(collector.pid);
const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(
  Array.from({ length: Number(args.senders) }, async () => {
    while (performance.now() < deadline) {
      const body = bodies[next++ % bodies.length];
      const r = await send(body);
      if (r.status === 200) {
        acked += SPANS_PER_REQUEST;
        latencies.push(r.ms);
      } else {
        refused++;
        await new Promise((ok) => setTimeout(ok, (r.retryAfter || 1) * 100));
      }
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
clearInterval(rssTimer);
const loadCpu = process.cpuUsage(loadCpu0);
const loadCores = (loadCpu.user + loadCpu.system) / 1e6 / elapsed;
const collectorCores = (cpuStats(collector.pid) - collectorCpu0) / elapsed;

const countRes = await fetch(`${url}/api/v1/sql`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ query: "SELECT count() AS n FROM otel_traces" }),
});
const stored = Number((await countRes.json()).rows[0].n);
collector.kill("SIGTERM");
await new Promise((ok) => collector.once("exit", ok));
rmSync(dataDir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const gavelRate = acked / elapsed;
const fastest = Object.entries(baselines.endToEnd).sort((a, b) => b[1] - a[1])[0];
const fastestEngine = Object.entries(baselines.engineOnly).sort((a, b) => b[1] - a[1])[0];
const fmt = (n) => Math.round(n).toLocaleString("en-US");

console.log(`Requests of ${SPANS_PER_REQUEST} spans, ${Math.round(bytesPerSpan)} bytes/span in OTLP protobuf; ${args.senders} concurrent senders for ${seconds} s.\n`);
console.log("| path | spans/s |");
console.log("| --- | ---: |");
for (const [k, v] of Object.entries(baselines.endToEnd)) console.log(`| raw ${k} (JS encode + engine, 10k-row batches) | ${fmt(v)} |`);
for (const [k, v] of Object.entries(baselines.engineOnly)) console.log(`| raw ${k} file, engine only | ${fmt(v)} |`);
console.log(`| **Gavel collector, OTLP/protobuf over HTTP, decode + RowBinary + ack after store** | **${fmt(gavelRate)}** |`);
console.log("");
console.log(`Gavel request latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; ` +
  `refused (429/503): ${refused}; collector peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB.`);
console.log(`CPU while loading: collector ${collectorCores.toFixed(2)} cores (${((collectorCores * 1e6) / (acked / elapsed)).toFixed(0)} µs/span), load generator ${loadCores.toFixed(2)} cores, of 2.`);
console.log(`Acknowledged ${fmt(acked)} spans, stored ${fmt(stored - 4 * SPANS_PER_REQUEST)} (+ ${4 * SPANS_PER_REQUEST} warm-up): ${stored - 4 * SPANS_PER_REQUEST >= acked ? "none lost" : "LOST SPANS"}.`);
console.log(`Ratio Gavel / fastest raw end-to-end path (${fastest[0]}): ${(gavelRate / fastest[1]).toFixed(2)}× (target ≥ 0.7×)`);
console.log(`Ratio Gavel / fastest engine-only path (${fastestEngine[0]}): ${(gavelRate / fastestEngine[1]).toFixed(2)}×`);

// ------------------------------------------------------------------ raw baselines (child)
async function rawBaselines() {
  const { openStoreClient } = await import("../collector/dist/store/clickhouse.js");
  const { migrate } = await import("../collector/dist/store/migrations.js");
  const { decodeTraceRequestProtobuf } = await import("../collector/dist/otlp/decode-protobuf.js");
  const { encodeSpansRowBinary, SPAN_COLUMNS } = await import("../collector/dist/store/rowbinary.js");
  const dir = mkdtempSync(join(tmpdir(), "gavel-bench-raw-"));
  const shm = mkdtempSync(join("/dev/shm", "gavel-bench-"));
  const sc = await openStoreClient({ dataDir: dir });
  await migrate(sc.client);
  const client = sc.client;
  const reqs = buildProtobufRequests(REQUESTS, SPANS_PER_REQUEST);
  const rows = reqs.flatMap((b) => decodeTraceRequestProtobuf(b).rows);
  const BATCH = 10_000;
  const batches = [];
  for (let i = 0; i < rows.length; i += BATCH) batches.push(rows.slice(i, i + BATCH));
  const cols = SPAN_COLUMNS.map((c) => (c.includes(".") ? `\`${c}\`` : c)).join(", ");
  const toJsonRow = (r) => ({
    Timestamp: r.timestamp.toString(), TraceId: r.traceId, SpanId: r.spanId, ParentSpanId: r.parentSpanId, TraceState: r.traceState,
    SpanName: r.spanName, SpanKind: r.spanKind, ServiceName: r.serviceName, ResourceAttributes: Object.fromEntries(r.resourceAttributes),
    ScopeName: r.scopeName, ScopeVersion: r.scopeVersion, SpanAttributes: Object.fromEntries(r.spanAttributes), Duration: r.duration.toString(),
    StatusCode: r.statusCode, StatusMessage: r.statusMessage,
    "Events.Timestamp": r.events.map((e) => e.timeUnixNano.toString()), "Events.Name": r.events.map((e) => e.name),
    "Events.Attributes": r.events.map((e) => Object.fromEntries(e.attributes)),
    "Links.TraceId": r.links.map((l) => l.traceId), "Links.SpanId": r.links.map((l) => l.spanId),
    "Links.TraceState": r.links.map((l) => l.traceState), "Links.Attributes": r.links.map((l) => Object.fromEntries(l.attributes)),
  });
  async function time(fn) {
    await client.command({ query: "TRUNCATE TABLE otel_traces" });
    const t = performance.now();
    for (const b of batches) await fn(b);
    return rows.length / ((performance.now() - t) / 1000);
  }
  let seq = 0;
  const endToEnd = {};
  const engineOnly = {};
  // Warm-up one batch of each.
  await client.insert({ table: "otel_traces", values: batches[0].map(toJsonRow), format: "JSONEachRow" });
  endToEnd.JSONEachRow = await time((b) => client.insert({ table: "otel_traces", values: b.map(toJsonRow), format: "JSONEachRow" }));
  endToEnd.RowBinary = await time(async (b) => {
    const f = join(shm, `rb-${seq++}.bin`);
    writeFileSync(f, encodeSpansRowBinary(b));
    await client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${f}' FORMAT RowBinary` });
    rmSync(f);
  });
  const rbFiles = batches.map((b, i) => {
    const f = join(shm, `rb-pre-${i}.bin`);
    writeFileSync(f, encodeSpansRowBinary(b));
    return f;
  });
  let k = 0;
  engineOnly.RowBinary = await time(() => client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${rbFiles[k++]}' FORMAT RowBinary` }));
  // Native files of the same rows, produced by the engine itself.
  const nativeFiles = [];
  for (let i = 0; i < batches.length; i++) {
    const f = join(shm, `native-${i}.bin`);
    await client.command({ query: `SELECT ${cols} FROM otel_traces ORDER BY TraceId, SpanId LIMIT ${BATCH} OFFSET ${i * BATCH} INTO OUTFILE '${f}' FORMAT Native` });
    nativeFiles.push(f);
  }
  k = 0;
  engineOnly.Native = await time(() => client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${nativeFiles[k++]}' FORMAT Native` }));
  await sc.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(shm, { recursive: true, force: true });
  console.log(JSON.stringify({ endToEnd, engineOnly }));
}
