#!/usr/bin/env node
// Per-call overhead of tracing a trivial function: raw OpenTelemetry startActiveSpan with two
// JSON attributes (the baseline of bench/README.md), Gavel's trace(), and Langfuse's observe().
// All three run on one registered NodeTracerProvider whose BatchSpanProcessor exports to a
// no-op exporter, so only the wrappers differ. Uses the BUILT SDK: npx tsc -b packages/sdk.
//
//   node bench/sdk-overhead.bench.mjs [--calls N] [--rounds R] [--json]
import { trace as otelTrace } from "@opentelemetry/api";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { observe } from "@langfuse/tracing";
import { trace as gavelTrace } from "../packages/sdk/dist/index.js";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg("calls", 20_000);
const ROUNDS = arg("rounds", 7);
// The batch processor flushes in a promise chain; yielding lets it run so the queue never
// fills up and starts dropping spans (which would make every variant look cheaper).
const YIELD_EVERY = 256;

let exported = 0;
const noopExporter = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
  forceFlush: async () => {},
};
const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter)] });
provider.register();
const tracer = otelTrace.getTracer("bench");

const input = { question: "What is the capital of France?", userId: 42 };
function work(x) {
  return { answer: "Paris", chars: x.question.length };
}
async function workAsync(x) {
  return { answer: "Paris", chars: x.question.length };
}

const variants = {
  sync: {
    none: work,
    raw: (x) =>
      tracer.startActiveSpan("work", (span) => {
        span.setAttribute("gavel.inputs", JSON.stringify(x));
        const r = work(x);
        span.setAttribute("gavel.outputs", JSON.stringify(r));
        span.end();
        return r;
      }),
    gavel: gavelTrace(work),
    langfuse: observe(work),
  },
  async: {
    none: workAsync,
    raw: (x) =>
      tracer.startActiveSpan("work", async (span) => {
        span.setAttribute("gavel.inputs", JSON.stringify(x));
        const r = await workAsync(x);
        span.setAttribute("gavel.outputs", JSON.stringify(r));
        span.end();
        return r;
      }),
    gavel: gavelTrace(workAsync),
    langfuse: observe(workAsync),
  },
};

const tick = () => new Promise((r) => setImmediate(r));

async function runSync(fn, n) {
  let sink = 0;
  let elapsed = 0n;
  for (let done = 0; done < n; done += YIELD_EVERY) {
    const m = Math.min(YIELD_EVERY, n - done);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) sink += fn(input).chars;
    elapsed += process.hrtime.bigint() - t0;
    await tick();
  }
  if (sink === 0) throw new Error("unreachable");
  return Number(elapsed) / 1000 / n;
}

async function runAsync(fn, n) {
  let sink = 0;
  let elapsed = 0n;
  for (let done = 0; done < n; done += YIELD_EVERY) {
    const m = Math.min(YIELD_EVERY, n - done);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) sink += (await fn(input)).chars;
    elapsed += process.hrtime.bigint() - t0;
    await tick();
  }
  if (sink === 0) throw new Error("unreachable");
  return Number(elapsed) / 1000 / n;
}

const names = ["none", "raw", "gavel", "langfuse"];
const best = { sync: {}, async: {} };
const all = { sync: {}, async: {} };

// Warm up every variant so each is optimised before timing.
for (const mode of ["sync", "async"]) {
  for (const name of names) {
    const run = mode === "sync" ? runSync : runAsync;
    await run(variants[mode][name], Math.min(CALLS, 20_000));
  }
}

for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ["sync", "async"]) {
    const run = mode === "sync" ? runSync : runAsync;
    // Rotate the order each round, so drift (GC, other load) lands on every variant alike.
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length];
      globalThis.gc?.();
      const us = await run(variants[mode][name], CALLS);
      best[mode][name] = Math.min(best[mode][name] ?? Infinity, us);
      (all[mode][name] ??= []).push(us);
    }
  }
}
await provider.forceFlush();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (x) => x.toFixed(2);
console.log(`Node ${process.version}, ${CALLS} calls x ${ROUNDS} rounds per variant, best round (median in brackets); ${exported} spans exported.\n`);
console.log("| variant | sync µs/call | async µs/call |");
console.log("| --- | ---: | ---: |");
const label = {
  none: "untraced function",
  raw: "raw OTel startActiveSpan + 2 JSON attrs",
  gavel: "Gavel trace()",
  langfuse: "Langfuse observe()",
};
for (const name of names) {
  console.log(
    `| ${label[name]} | ${f(best.sync[name])} (${f(median(all.sync[name]))}) | ${f(best.async[name])} (${f(median(all.async[name]))}) |`,
  );
}
const ratio = (mode, a) => best[mode][a] / best[mode].raw;
console.log("");
console.log(`gavel/raw: sync ${ratio("sync", "gavel").toFixed(2)}×, async ${ratio("async", "gavel").toFixed(2)}× (goal ≤ 1.25×)`);
console.log(`langfuse/raw: sync ${ratio("sync", "langfuse").toFixed(2)}×, async ${ratio("async", "langfuse").toFixed(2)}×`);
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ best, ratios: { gavelSync: ratio("sync", "gavel"), gavelAsync: ratio("async", "gavel") } }));
}
await provider.shutdown();
