// OTLP and REST latency while heavy user SQL runs, against the same load without it (issue 11,
// item 3: one user query held every OTLP request for 23 s).
//
//   node bench/sql-isolation.bench.mjs [--seconds 8] [--rounds 3] [--senders 2] [--spans 64]
//
// The collector runs as its own process (the README's start path), with its default SQL settings.
// This process sends OTLP/protobuf requests of --spans spans from --senders closed-loop senders
// (each pausing 20 ms between requests) and reads GET /api/v1/experiments every 100 ms, timing
// every request. Phases alternate, --rounds times: that load alone, then the same load while two
// loops send heavy user SQL without pause (a hashing aggregation over numbers(), one loop's query
// parameterised: the second case). Alternating keeps the rest of the machine's load
// alike for both conditions; the latencies of all rounds of a condition are pooled.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { buildProtobufRequests, percentile, uniqueBody } from "./lib/llm-spans.mjs";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    senders: { type: "string", default: "2" },
    spans: { type: "string", default: "64" },
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
    // Unique bodies: a repeated one would be answered as an exporter's resend, without an insert.
    const res = await fetch(`${url}/v1/traces`, { method: "POST", body: uniqueBody(body), headers: { "content-type": "application/x-protobuf" } });
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
    // 503: every SQL session was busy for the whole wait (GAVEL_SQL_SESSIONS); anything else is a bug.
    if (res.status !== 200 && res.status !== 503) throw new Error(`user SQL answered ${res.status}: ${JSON.stringify(body)}`);
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

const HEAVY = [
  ["SELECT count() AS n, sum(cityHash64(number, toString(number))) AS h FROM numbers(30000000)", {}],
  ["SELECT count() AS n, sum(cityHash64(number, toString(number))) AS h FROM numbers({n:UInt64})", { n: 30000000 }],
];
const sqlDone = [];
let busySql = 0;
const merge = (into, r) => {
  into.otlp.push(...r.otlp);
  into.rest.push(...r.rest);
  into.failed += r.failed;
};
const alone = { label: "alone", otlp: [], rest: [], failed: 0 };
const busy = { label: "with heavy user SQL", otlp: [], rest: [], failed: 0 };
for (let round = 0; round < Number(args.rounds); round++) {
  merge(alone, await load("alone"));
  let stop = false;
  const heavyLoops = HEAVY.map(async ([q, p]) => {
    while (!stop) {
      const r = await userSql(q, p);
      if (r.status === 200) sqlDone.push(r.ms);
      else busySql++;
    }
  });
  await sleep(300); // the heavy queries are running
  merge(busy, await load("busy"));
  stop = true;
  await Promise.all(heavyLoops);
}
for (const r of [alone, busy]) {
  r.otlp.sort((a, b) => a - b);
  r.rest.sort((a, b) => a - b);
}

collector.kill("SIGTERM");
await new Promise((ok) => collector.once("exit", ok));
rmSync(dataDir, { recursive: true, force: true });

const p = (xs, q) => percentile(xs, q);
console.log(`${senders} OTLP senders (${args.spans}-span requests, 20 ms pause), GET /api/v1/experiments every 100 ms; ${args.rounds} rounds of ${seconds} s per condition.\n`);
console.log("| phase | OTLP requests | OTLP p50 ms | OTLP p99 ms | experiments p50 ms | experiments p99 ms | errors |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of [alone, busy]) {
  console.log(`| ${r.label} | ${r.otlp.length} | ${p(r.otlp, 50).toFixed(0)} | ${p(r.otlp, 99).toFixed(0)} | ${p(r.rest, 50).toFixed(0)} | ${p(r.rest, 99).toFixed(0)} | ${r.failed} |`);
}
const ratioOtlp = p(busy.otlp, 99) / p(alone.otlp, 99);
const ratioRest = p(busy.rest, 99) / p(alone.rest, 99);
sqlDone.sort((a, b) => a - b);
console.log(`\nHeavy user SQL: ${sqlDone.length} queries finished, ${(p(sqlDone, 50) / 1000).toFixed(1)} s median (including waits for a free SQL session); ${busySql} waited too long (503).`);
console.log(`Ratio with heavy user SQL / alone: OTLP p99 ${ratioOtlp.toFixed(2)}×, GET /api/v1/experiments p99 ${ratioRest.toFixed(2)}× (goal ≤ 2× and never above 1 s: ` +
  `${ratioOtlp <= 2 && p(busy.otlp, 99) < 1000 && p(busy.rest, 99) < 1000 ? "met" : "NOT met"}).`);
