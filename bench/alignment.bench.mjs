#!/usr/bin/env node
// Cost of aligning one judge on the same 50 labelled traces with SIMBA (defaults) and MemAlign
// (defaults): LLM calls, tokens and wall time, against the provider simulator answering after
// 200 ms, as a hosted model would. Judge calls within a SIMBA phase run 16 at a time
// (align's default `concurrency`); MemAlign's distillation runs up to 8 calls at a time.
//
// The simulator runs in this process so it can be scripted with handlers that play a
// competent model: rollouts at temperature 1 vary their answers (the simulator itself ignores
// temperature), OfferFeedback and the guideline distillation write keyword rules from the
// example they are shown, which the simulator's judge then follows. So the before/after
// agreement printed is meaningful for the mechanics, not a model-quality claim.
// Uses the BUILT packages (npm run bench builds first; or npx tsc -b packages/judges test/simulator).
//
//   node bench/alignment.bench.mjs [--traces 50] [--latency-ms 200] [--concurrency 16] [--json]
import { fnv1a, promptParts, startProviderSimulator } from "../test/simulator/dist/index.js";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRACES = arg("traces", 50);
const LATENCY_MS = arg("latency-ms", 200);
const CONCURRENCY = arg("concurrency", 16);
const JSON_OUT = process.argv.includes("--json");

const sim = await startProviderSimulator({ latencyMs: LATENCY_MS });
Object.assign(process.env, sim.env());
const { makeJudge } = await import("../packages/judges/dist/index.js");
const { MemAlignOptimizer, SIMBAAlignmentOptimizer, alignmentReportOf } = await import("../packages/judges/dist/alignment/index.js");

// ---------- data: the human rule the judge does not know ----------
const TOPICS = ["billing error", "password reset", "refund request", "slow website", "feature idea", "login trouble"];
const labelOf = (topic) => (/billing|refund/.test(topic) ? "poor" : "good");
const traces = Array.from({ length: TRACES }, (_, i) => {
  const topic = TOPICS[i % TOPICS.length];
  return {
    traceId: `t${i}`,
    inputs: { issue: `${topic} (ticket ${1000 + i})` },
    // Every reply reads as "good" to the simulator: the original judge misses the rule.
    outputs: { response: `A good reply about the ${topic}, ticket ${1000 + i}.` },
    assessments: [{ name: "support_quality", value: labelOf(topic), source: { sourceType: "HUMAN", sourceId: "expert" }, valid: true, createTimeMs: 1 }],
  };
});
const keywordOf = (text) => TOPICS.map((t) => t.split(" ")[0]).find((k) => text.includes(k));

// ---------- the simulated model ----------
const schemaName = (req) => req.body?.response_format?.json_schema?.name;
const seen = new Map();
sim.script((req) => {
  const name = schemaName(req);
  if (name === "judge_result" && req.body.temperature === 1) {
    // Sampling noise: identical prompts get different answers, deterministically per prompt.
    const { systemText, firstUserText } = promptParts(req);
    const key = `${systemText}\n${firstUserText}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    if (fnv1a(`${key}#${n}`) % 10 < 3) return { content: { rationale: "sampled", result: fnv1a(`${key}@${n}`) % 2 ? "good" : "poor" } };
    return undefined;
  }
  if (name === "offer_feedback") {
    const text = promptParts(req).firstUserText;
    const inputs = /<program_inputs>([\s\S]*?)<\/program_inputs>/.exec(text)?.[1] ?? "";
    const label = /"human_label": "(\w+)"/.exec(text)?.[1] ?? "good";
    const kw = keywordOf(inputs) ?? "ticket";
    return { content: { discussion: `The worse run ignored what "${kw}" means to the expert.`, module_advice: { judge: `If the issue mentions "${kw}", rate as ${label}.` } } };
  }
  if (name === "memalign_guidelines") {
    const text = promptParts(req).firstUserText;
    const examples = JSON.parse(/<examples>\n([\s\S]*?)\n<\/examples>/.exec(text)[1]);
    const byKeyword = new Map();
    for (const e of examples) {
      const kw = keywordOf(e.inputs ?? "");
      if (!kw) continue;
      const g = byKeyword.get(kw) ?? { ids: [], labels: {} };
      g.ids.push(e.trace_id);
      g.labels[e.human_label] = (g.labels[e.human_label] ?? 0) + 1;
      byKeyword.set(kw, g);
    }
    const guidelines = [...byKeyword].map(([kw, g]) => ({
      guideline_text: `If the issue mentions "${kw}", rate as ${Object.entries(g.labels).sort((a, b) => b[1] - a[1])[0][0]}.`,
      source_trace_ids: g.ids,
    }));
    return { content: { guidelines } };
  }
  return undefined;
}, { api: "openai.chat" });

const SUPPORT = [
  "Evaluate the quality of this customer support response.",
  "Rate as one of: good, poor",
  "Focus on {{ outputs }} responding to {{ inputs }}.",
].join("\n");
const judge = makeJudge({ name: "support_quality", instructions: SUPPORT, model: "openai:/gpt-4o-mini" });

async function run(name, optimizer) {
  sim.requests.length = 0;
  seen.clear();
  const t0 = performance.now();
  const aligned = await judge.align(traces, optimizer, { concurrency: CONCURRENCY });
  const wallMs = performance.now() - t0;
  const r = alignmentReportOf(aligned);
  if (r.llm.calls !== sim.requests.length) throw new Error(`${name}: report says ${r.llm.calls} LLM calls, the simulator saw ${sim.requests.length}`);
  return { name, report: r, wallMs };
}

const simba = await run("SIMBA", new SIMBAAlignmentOptimizer());
const memalign = await run("MemAlign", new MemAlignOptimizer());
await sim.close();

if (JSON_OUT) {
  console.log(JSON.stringify({ traces: TRACES, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, simba: simba.report, memalign: memalign.report }));
  process.exit(0);
}

const fmt = (n) => n.toLocaleString("en-US");
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const row = ({ name, report: r, wallMs }) =>
  `| ${name} | ${fmt(r.llm.calls)} (${fmt(r.llm.optimizer.calls)} + ${fmt(r.llm.evaluation.calls)}) | ${fmt(r.llm.inputTokens)} | ${fmt(r.llm.outputTokens)} | ${(wallMs / 1000).toFixed(1)} s | ${pct(r.before.agreement)} → ${pct(r.after.agreement)} |`;
console.log(`Aligning one judge on ${TRACES} labelled traces (${simba.report.split.train} train / ${simba.report.split.heldOut} held out), simulator latency ${LATENCY_MS} ms, ${CONCURRENCY} judge calls in flight, node ${process.version}.`);
console.log("");
console.log("| optimizer (defaults) | LLM calls (optimizer + before/after eval) | input tokens | output tokens | wall time | held-out agreement |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
console.log(row(simba));
console.log(row(memalign));
console.log("");
const ratio = (a, b) => (b === 0 ? "∞" : `${(a / b).toFixed(1)}×`);
const tokens = (r) => r.llm.inputTokens + r.llm.outputTokens;
console.log(
  `SIMBA / MemAlign: ${ratio(simba.report.llm.calls, memalign.report.llm.calls)} the LLM calls, ` +
    `${ratio(tokens(simba.report), tokens(memalign.report))} the tokens, ${ratio(simba.wallMs, memalign.wallMs)} the wall time ` +
    `(optimizer calls alone: ${ratio(simba.report.llm.optimizer.calls, memalign.report.llm.optimizer.calls)}).`,
);
