// Sustained OTLP ingest into embedded ClickHouse, against raw insert paths for the same rows.
//
//   node bench/collector-ingest.bench.mjs [--seconds 15] [--senders 8,32]
//   node bench/collector-ingest.bench.mjs --ab NAME=VALUE [--rounds 3] [--senders 8]
//   node bench/collector-ingest.bench.mjs --dedup-ab [--rounds 3] [--senders 8]
//
// --ab skips the raw baselines and runs the collector alternately with the environment variable
// NAME=VALUE and without it (the default), --rounds times each, and prints with / without, e.g.
// --ab GAVEL_ACK_LOGGED_ROWS=0 (always answer once stored). --dedup-ab is
// --ab GAVEL_DEDUP_WINDOW_SECONDS=0: the resend memory off against on.
//
// Every path runs for the same --seconds, so each pays the background merges its inserts cause.
// 1. Raw baselines (a child process with its own chDB and the same schema): the same 512-span
//    requests, decoded once, inserted back to back in 10k-row batches as JSONEachRow through
//    @clickhouse/client on the chDB connection, as RowBinary through a file (JS encode +
//    engine), and as RowBinary / Native files prepared beforehand (engine only).
// 2. Gavel: the collector as its own process (the README's start path), fed by this process
//    with OTLP/protobuf requests of 512 spans from N concurrent closed-loop senders, once per
//    value of --senders. Reports spans/s stored (requests may be answered once logged, before
//    their insert: the time until the last acknowledged span is stored counts), p50/p99 request
//    latency, rows per insert, CPU, the collector's peak RSS, and checks with SQL that every
//    acknowledged span is stored.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { buildProtobufRequests, percentile, uniqueBody } from "./lib/llm-spans.mjs";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    senders: { type: "string", default: "8,32" },
    requests: { type: "string", default: "120" },
    raw: { type: "boolean", default: false },
    "dedup-ab": { type: "boolean", default: false },
    ab: { type: "string" },
    rounds: { type: "string", default: "3" },
  },
});
const SPANS_PER_REQUEST = 512;
const REQUESTS = Number(args.requests);
const here = fileURLToPath(new URL(".", import.meta.url));

if (args.raw) {
  await rawBaselines(Number(args.seconds));
  process.exit(0);
}

const bodies = buildProtobufRequests(REQUESTS, SPANS_PER_REQUEST);
const bytesPerSpan = bodies.reduce((n, b) => n + b.length, 0) / (REQUESTS * SPANS_PER_REQUEST);

// ------------------------------------------------------------------ raw baselines
const raw = args["dedup-ab"] || args.ab ? undefined : spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--raw", "--requests", String(REQUESTS), "--seconds", args.seconds], { encoding: "utf8" });
if (raw && raw.status !== 0) {
  console.error(raw.stdout, raw.stderr);
  throw new Error("raw baseline failed");
}
const baselines = raw && JSON.parse(raw.stdout.trim().split("\n").pop());

// ------------------------------------------------------------------ Gavel
const seconds = Number(args.seconds);
const senderCounts = args.senders.split(",").map(Number);
if (senderCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--senders takes whole numbers separated by commas, e.g. 8,32 (got "${args.senders}")`);
const cpuSeconds = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in seconds (USER_HZ = 100)
};

/** One fresh collector process, loaded by `senders` closed-loop senders for `seconds`. */
async function runGavel(senders, env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "gavel-bench-ingest-"));
  const collector = spawn(process.execPath, [...(process.env.GAVEL_BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean), join(here, "../collector/dist/cli/main.js"), "start", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
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
  async function send(template) {
    // Each request is unique, as an exporter's are (a repeat would be answered as a resend).
    const body = uniqueBody(template);
    const t = performance.now();
    const res = await fetch(`${url}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/x-protobuf" } });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t, retryAfter: Number(res.headers.get("retry-after") ?? 0) };
  }
  // Warm-up: JIT, first parts, page cache.
  for (let i = 0; i < 4; i++) await send(bodies[i]);

  const latencies = [];
  let acked = 0;
  let refused = 0;
  let next = 0;
  const loadCpu0 = process.cpuUsage();
  const collectorCpu0 = cpuSeconds(collector.pid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      while (performance.now() < deadline) {
        const r = await send(bodies[next++ % bodies.length]);
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
  const collectorCores = (cpuSeconds(collector.pid) - collectorCpu0) / elapsed;

  const count = async () => {
    const countRes = await fetch(`${url}/api/v1/sql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "SELECT count() AS n, countIf(ParentSpanId = '') AS roots, uniqExact(TraceId) AS traces FROM otel_traces" }),
    });
    return (await countRes.json()).rows[0];
  };
  // A request may be acknowledged once it is in the ingest log, before its insert: the rate is
  // what is stored, so wait until every acknowledged span is, and count that time too.
  let counted = await count();
  while (Number(counted.n) - 4 * SPANS_PER_REQUEST < acked && performance.now() - started < (seconds + 20) * 1000) {
    await new Promise((ok) => setTimeout(ok, 50));
    counted = await count();
  }
  const drained = (performance.now() - started) / 1000;
  const stored = Number(counted.n) - 4 * SPANS_PER_REQUEST;
  // The stored data must have the generator's shape: one root in every four spans, and no more
  // distinct traces than the requests hold (the requests are re-sent in a loop).
  if (Number(counted.roots) * 4 !== Number(counted.n) || Number(counted.traces) > (REQUESTS * SPANS_PER_REQUEST) / 4) {
    throw new Error(`stored spans have the wrong shape: ${JSON.stringify(counted)}`);
  }
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const metric = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? NaN);
  const inserts = metric("gavel_ingest_inserts_total");
  const rowsPerInsert = metric("gavel_ingest_rows_inserted_total") / inserts;
  const loggedAcks = metric("gavel_ingest_logged_acks_total");
  collector.kill("SIGTERM");
  await new Promise((ok) => collector.once("exit", ok));
  rmSync(dataDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    senders, rate: acked / drained, acked, drainMs: (drained - elapsed) * 1000, stored, refused, peakRss, collectorCores, rowsPerInsert, loggedAcks,
    loadCores: (loadCpu.user + loadCpu.system) / 1e6 / elapsed,
    p50: percentile(latencies, 50), p99: percentile(latencies, 99),
  };
}

// --ab NAME=VALUE: the collector alternately with the variable set ("with") and with the
// default ("without"); --dedup-ab is --ab GAVEL_DEDUP_WINDOW_SECONDS=0.
const ab = args["dedup-ab"] ? "GAVEL_DEDUP_WINDOW_SECONDS=0" : args.ab;
if (ab) {
  const [name, value] = [ab.slice(0, ab.indexOf("=")), ab.slice(ab.indexOf("=") + 1)];
  if (!name || value === undefined || !ab.includes("=")) throw new Error(`--ab takes NAME=VALUE, e.g. --ab GAVEL_BATCH_WAIT_MS=10 (got "${ab}")`);
  const fmt = (n) => Math.round(n).toLocaleString("en-US");
  console.log(`Collector with ${ab} and without (the default), ${args.rounds} alternating rounds of ${seconds} s each, 512-span requests.\n`);
  console.log("| senders | round | with: spans/s | without: spans/s | with / without | with: rows/insert | without: rows/insert | with: p50 ms | without: p50 ms |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const n of senderCounts) {
    const sum = { with: 0, without: 0 };
    for (let r = 1; r <= Number(args.rounds); r++) {
      const withIt = await runGavel(n, { [name]: value });
      const without = await runGavel(n);
      for (const x of [withIt, without]) if (x.stored < x.acked) throw new Error("LOST SPANS");
      sum.with += withIt.rate;
      sum.without += without.rate;
      console.log(`| ${n} | ${r} | ${fmt(withIt.rate)} | ${fmt(without.rate)} | ${(withIt.rate / without.rate).toFixed(2)}× | ${fmt(withIt.rowsPerInsert)} | ${fmt(without.rowsPerInsert)} | ${withIt.p50.toFixed(0)} | ${without.p50.toFixed(0)} |`);
    }
    console.log(`\n${n} senders, all rounds: with / without = ${(sum.with / sum.without).toFixed(2)}× (none lost).`);
  }
  process.exit(0);
}

const runs = [];
for (const n of senderCounts) runs.push(await runGavel(n));

const fastest = Object.entries(baselines.endToEnd).sort((a, b) => b[1] - a[1])[0];
const fastestEngine = Object.entries(baselines.engineOnly).sort((a, b) => b[1] - a[1])[0];
const fmt = (n) => Math.round(n).toLocaleString("en-US");

console.log(`Requests of ${SPANS_PER_REQUEST} spans, ${Math.round(bytesPerSpan)} bytes/span in OTLP protobuf; every path sustained for ${seconds} s.\n`);
console.log("| path | spans/s | / fastest raw end to end |");
console.log("| --- | ---: | ---: |");
for (const [k, v] of Object.entries(baselines.endToEnd)) console.log(`| raw ${k} (JS encode + engine, 10k-row batches back to back) | ${fmt(v)} | ${(v / fastest[1]).toFixed(2)}× |`);
for (const [k, v] of Object.entries(baselines.engineOnly)) console.log(`| raw ${k} file, engine only | ${fmt(v)} | ${(v / fastest[1]).toFixed(2)}× |`);
for (const r of runs) console.log(`| **Gavel collector, ${r.senders} senders: OTLP/protobuf over HTTP, transcode to RowBinary, 200 once stored or logged** | **${fmt(r.rate)}** | **${(r.rate / fastest[1]).toFixed(2)}×** |`);
console.log("");
for (const r of runs) {
  console.log(`Gavel, ${r.senders} senders: latency p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms; ${fmt(r.rowsPerInsert)} rows per insert; ` +
    `${fmt(r.loggedAcks)} requests acknowledged once logged; the last acknowledged span stored ${r.drainMs.toFixed(0)} ms after the senders stopped; ` +
    `refused (429/503) ${r.refused}; collector peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB; CPU: collector ${r.collectorCores.toFixed(2)} cores ` +
    `(${((r.collectorCores * 1e6) / r.rate).toFixed(0)} µs/span), load generator ${r.loadCores.toFixed(2)}, of 2; ` +
    `acknowledged ${fmt(r.acked)}, stored ${fmt(r.stored)}: ${r.stored >= r.acked ? "none lost" : "LOST SPANS"}.`);
}
console.log("");
for (const r of runs) {
  console.log(`Ratio Gavel (${r.senders} senders) / fastest raw end-to-end path (${fastest[0]}): ${(r.rate / fastest[1]).toFixed(2)}× (goal ≥ 0.8× with 8 senders); ` +
    `/ fastest engine-only path (${fastestEngine[0]}): ${(r.rate / fastestEngine[1]).toFixed(2)}×`);
}

// ------------------------------------------------------------------ raw baselines (child)
async function rawBaselines(seconds) {
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
  // Back to back for `seconds`, cycling through the batches, like the collector's sustained load.
  async function time(fn) {
    await client.command({ query: "TRUNCATE TABLE otel_traces" });
    const t = performance.now();
    let n = 0;
    for (let i = 0; performance.now() - t < seconds * 1000; i++) {
      const b = batches[i % batches.length];
      await fn(b, i % batches.length);
      n += b.length;
    }
    return n / ((performance.now() - t) / 1000);
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
  // The same, with the next batch encoded while the current one is inserted: the engine runs
  // the insert on its own thread, so a writer that overlaps the two gets both cores.
  endToEnd["RowBinary, encode overlapped with insert"] = await (async () => {
    await client.command({ query: "TRUNCATE TABLE otel_traces" });
    const encode = (i) => {
      const f = join(shm, `rbp-${i % 2}.bin`);
      writeFileSync(f, encodeSpansRowBinary(batches[i % batches.length]));
      return f;
    };
    const t = performance.now();
    let n = 0;
    let file = encode(0);
    for (let i = 0; performance.now() - t < seconds * 1000; i++) {
      const insert = client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${file}' FORMAT RowBinary` });
      await new Promise((ok) => setImmediate(ok)); // let the insert start reading its file
      file = encode(i + 1);
      await insert;
      n += batches[i % batches.length].length;
    }
    return n / ((performance.now() - t) / 1000);
  })();
  const rbFiles = batches.map((b, i) => {
    const f = join(shm, `rb-pre-${i}.bin`);
    writeFileSync(f, encodeSpansRowBinary(b));
    return f;
  });
  engineOnly.RowBinary = await time((_b, i) => client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${rbFiles[i]}' FORMAT RowBinary` }));
  // Native files of the same rows, produced by the engine itself.
  await client.command({ query: "TRUNCATE TABLE otel_traces" });
  for (const f of rbFiles) await client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${f}' FORMAT RowBinary` });
  const nativeFiles = [];
  for (let i = 0; i < batches.length; i++) {
    const f = join(shm, `native-${i}.bin`);
    await client.command({ query: `SELECT ${cols} FROM otel_traces ORDER BY TraceId, SpanId LIMIT ${BATCH} OFFSET ${i * BATCH} INTO OUTFILE '${f}' FORMAT Native` });
    nativeFiles.push(f);
  }
  engineOnly.Native = await time((_b, i) => client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${nativeFiles[i]}' FORMAT Native` }));
  await sc.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(shm, { recursive: true, force: true });
  console.log(JSON.stringify({ endToEnd, engineOnly }));
}
