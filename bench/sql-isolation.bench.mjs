// OTLP and REST latency while heavy user SQL runs, against the same load without it (issue 11,
// item 3: one user query held every OTLP request for 23 s).
//
//   node bench/sql-isolation.bench.mjs [--seconds 10] [--senders 2] [--spans 128]
//
// The collector runs as its own process (the README's start path). This process sends OTLP/protobuf
// requests of --spans spans from --senders closed-loop senders (each pausing 20 ms between
// requests) and reads GET /api/v1/experiments every 100 ms, timing every request. Phase 1: that
// load alone. Phase 2: the same load while user SQL runs without pause on every SQL session
// (GAVEL_SQL_SESSIONS, 2 by default): a hashing aggregation over numbers(), one of them
// parameterised (the second case), each stopped by the 30 s time limit or its own end.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { buildProtobufRequests, percentile } from "./lib/llm-spans.mjs";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    senders: { type: "string", default: "2" },
    spans: { type: "string", default: "128" },
  },
});
const seconds = Number(args.seconds);
const senders = Number(args.senders);
const bodies = buildProtobufRequests(60, Number(args.spans));
const here = fileURLToPath(new URL(".", import.meta.url));

const dataDir = mkdtempSync(join(tmpdir(), "gavel-bench-sql-"));
const collector = spawn(process.execPath, [join(here, "../collector/dist/cli/main.js"), "start", "--port", "0", "--data-dir", dataDir], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, GAVEL_WORKER: "off" },
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

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
async function timed(fn) {
  const t = performance.now();
  const status = await fn();
  return { status, ms: performance.now() - t };
}
const postSpans = (body) =>
  timed(async () => {
    const res = await fetch(`${url}/v1/traces`, { method: "POST", body, headers: { "content-type": "application/x-protobuf" } });
    await res.arrayBuffer();
    return res.status;
  });
const getExperiments = () =>
  timed(async () => {
    const res = await fetch(`${url}/api/v1/experiments`);
    await res.arrayBuffer();
    return res.status;
  });
async function userSql(query, params = {}) {
  return timed(async () => {
    const res = await fetch(`${url}/api/v1/sql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, params }) });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`user SQL answered ${res.status}: ${JSON.stringify(body)}`);
    return res.status;
  });
}

/** Runs the OTLP senders and the experiments poller for `seconds`; returns their latencies. */
async function load(label) {
  const otlp = [];
  const rest = [];
  let failed = 0;
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all([
    ...Array.from({ length: senders }, async () => {
      while (performance.now() < deadline) {
        const r = await postSpans(bodies[next++ % bodies.length]);
        if (r.status === 200) otlp.push(r.ms);
        else failed++;
        await sleep(20);
      }
    }),
    (async () => {
      while (performance.now() < deadline) {
        const r = await getExperiments();
        if (r.status === 200) rest.push(r.ms);
        else failed++;
        await sleep(100);
      }
    })(),
  ]);
  otlp.sort((a, b) => a - b);
  rest.sort((a, b) => a - b);
  return { label, otlp, rest, failed };
}

// Warm-up: JIT, first parts.
for (let i = 0; i < 5; i++) await postSpans(bodies[i]);
await getExperiments();

const alone = await load("alone");

const HEAVY = [
  ["SELECT count() AS n, sum(cityHash64(number, toString(number))) AS h FROM numbers(400000000)", {}],
  ["SELECT count() AS n, sum(cityHash64(number, toString(number))) AS h FROM numbers({n:UInt64})", { n: 400000000 }],
];
let stop = false;
const sqlDone = [];
const heavyLoops = HEAVY.map(async ([q, p]) => {
  while (!stop) sqlDone.push((await userSql(q, p)).ms);
});
await sleep(500); // both heavy queries are running
const busy = await load("with heavy user SQL");
stop = true;
await Promise.all(heavyLoops);

collector.kill("SIGTERM");
await new Promise((ok) => collector.once("exit", ok));
rmSync(dataDir, { recursive: true, force: true });

const p = (xs, q) => percentile(xs, q);
console.log(`${senders} OTLP senders (${args.spans}-span requests, 20 ms pause), GET /api/v1/experiments every 100 ms, ${seconds} s per phase.\n`);
console.log("| phase | OTLP requests | OTLP p50 ms | OTLP p99 ms | experiments p50 ms | experiments p99 ms | errors |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of [alone, busy]) {
  console.log(`| ${r.label} | ${r.otlp.length} | ${p(r.otlp, 50).toFixed(0)} | ${p(r.otlp, 99).toFixed(0)} | ${p(r.rest, 50).toFixed(0)} | ${p(r.rest, 99).toFixed(0)} | ${r.failed} |`);
}
const ratioOtlp = p(busy.otlp, 99) / p(alone.otlp, 99);
const ratioRest = p(busy.rest, 99) / p(alone.rest, 99);
console.log(`\nUser SQL during phase 2: ${sqlDone.length} heavy queries finished (${sqlDone.map((ms) => (ms / 1000).toFixed(1)).join(", ")} s).`);
console.log(`Ratio with heavy user SQL / alone: OTLP p99 ${ratioOtlp.toFixed(2)}×, GET /api/v1/experiments p99 ${ratioRest.toFixed(2)}× (goal ≤ 2× and never above 1 s: ` +
  `${ratioOtlp <= 2 && p(busy.otlp, 99) < 1000 && p(busy.rest, 99) < 1000 ? "met" : "NOT met"}).`);
