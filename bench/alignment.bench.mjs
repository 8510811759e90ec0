#!/usr/bin/env node
// Held-out agreement before and after, and the cost, of aligning one judge on the same labelled
// traces with SIMBA (defaults) and MemAlign (defaults), against the provider simulator answering
// after 200 ms, as a hosted model would. Judge calls within a SIMBA phase run 16 at a time
// (align's default `concurrency`); MemAlign's distillation runs up to 8 calls at a time.
//
// The data: support tickets on six topics; the human experts' rule, which the base judge lacks,
// is that replies about billing, refunds and logins are "poor" whatever they say; the "poor"
// labels of every 5th trace carry the expert's reason, which states the rule in words. Every 4th
// trace has three reviewers, one of whom disagrees (the majority counts); every 7th has two who
// disagree (the newest counts). 40 % of the traces are held out: they are never in the
// optimizer's training split (checked here through the optimizer's own input), and after the
// measurement align() retrains on all of them (its default), which is counted in the cost.
//
// The simulator runs in this process so it can be scripted with handlers that play a
// competent model: rollouts at temperature 1 vary their answers (the simulator itself ignores
// temperature), OfferFeedback writes a keyword rule from the expert's reason when the example
// has one (else from the example's topic), the guideline distillation one rule per topic from
// the examples it is shown; the simulator's judge follows such rules, and learns in context
// from labelled examples in its prompt (SIMBA's demos, MemAlign's retrieved examples): a case
// gets the result of the example nearest to it, when one is near (see "In-context learning"
// below). So the before/after agreement printed is meaningful for the mechanics, not a
// model-quality claim: only a real model can say how well a judge aligns.
// Uses the BUILT packages (npm run bench builds first; or npx tsc -b packages/judges test/simulator).
//
//   node bench/alignment.bench.mjs [--traces 100] [--held-out 0.4] [--latency-ms 200] [--concurrency 16] [--seed 42] [--no-icl] [--json]
// --seed: align()'s seed (split and optimizers); --no-icl: the simulated judge ignores the labelled
// examples in its prompt (no in-context learning), as this bench did before.
import { fnv1a, promptParts, startProviderSimulator } from "../test/simulator/dist/index.js";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRACES = arg("traces", 100);
const HELD_OUT = arg("held-out", 0.4);
const LATENCY_MS = arg("latency-ms", 200);
const CONCURRENCY = arg("concurrency", 16);
const SEED = arg("seed", 42);
const ICL = !process.argv.includes("--no-icl");
const JSON_OUT = process.argv.includes("--json");

const sim = await startProviderSimulator({ latencyMs: LATENCY_MS });
Object.assign(process.env, sim.env());
const { makeJudge } = await import("../packages/judges/dist/index.js");
const { MemAlignOptimizer, SIMBAAlignmentOptimizer, alignmentReportOf } = await import("../packages/judges/dist/alignment/index.js");

// ---------- data: the human rule the judge does not know ----------
const TOPICS = ["billing error", "password reset", "refund request", "slow website", "login trouble", "feature idea"];
const labelOf = (topic) => (/billing|refund|login/.test(topic) ? "poor" : "good");
const other = (label) => (label === "poor" ? "good" : "poor");
// The "poor" labels of every 5th trace come with the expert's reason, which states the rule in words.
const REASON = "Billing, refund and login issues need a specialist: a first-line reply to them is poor, however friendly.";
const vote = (value, reviewer, at, rationale) => ({ name: "support_quality", value, source: { sourceType: "HUMAN", sourceId: reviewer }, valid: true, createTimeMs: at, ...(rationale ? { rationale } : {}) });
const traces = Array.from({ length: TRACES }, (_, i) => {
  const topic = TOPICS[i % TOPICS.length];
  const label = labelOf(topic);
  const why = label === "poor" && i % 5 === 0 ? REASON : undefined;
  // Reviewers who disagree: 2 against 1 (the majority wins, the dissenter is the newest), or 1
  // against 1 (the newest wins). Labels in any case: "POOR" and "poor" are one label.
  const assessments =
    i % 4 === 0
      ? [vote(label.toUpperCase(), "ann", 1), vote(label, "bob", 2, why), vote(other(label), "cy", 3)]
      : i % 7 === 0
        ? [vote(other(label), "ann", 1), vote(label, "bob", 2, why)]
        : [vote(label, "expert", 1, why)];
  return {
    traceId: `t${i}`,
    inputs: { issue: `${topic} (ticket ${1000 + i})` },
    // Every reply reads as "good" to the simulator: the original judge misses the rule.
    outputs: { response: `A good reply about the ${topic}, ticket ${1000 + i}.` },
    assessments,
  };
});
const disagreeing = new Set(traces.filter((t, i) => i % 4 === 0 || i % 7 === 0).map((t) => t.traceId));
const keywordOf = (text) => TOPICS.map((t) => t.split(" ")[0]).find((k) => text.includes(k));

// ---------- the simulated model ----------
const schemaName = (req) => req.body?.response_format?.json_schema?.name;
const seen = new Map();
// In-context learning, simulated. A judge prompt can carry labelled examples: SIMBA's demos
// (blocks "Example N:" with the example's "inputs:", "outputs:" and the "result:" it got) and
// MemAlign's retrieved examples (the same with "expert's result:"). A capable model judges a case
// like the example nearest to it; here: the example whose inputs share the most words with the
// case's inputs (Jaccard similarity of their word sets, ≥ 0.5 — in this data, the same ticket
// topic) gives its result. A rule written in the instructions that matches the case comes first
// (the simulator's own keyword rule decides then); when no example is that near, the simulator's
// defaults decide. A real model learns more, and less reliably, from examples than this.
const wordsOf = (text) => new Set(text.toLowerCase().match(/\p{L}+/gu) ?? []);
const jaccard = (a, b) => {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared || 1);
};
const RULE_LINE = /^\s*(?:[-*•]|\d+[.)])?\s*if\b/i;
const writtenRuleApplies = (systemText, userText) =>
  systemText.split("\n").some((line) => RULE_LINE.test(line) && [...line.matchAll(/"([^"\n]{1,80})"/g)].some((m) => userText.toLowerCase().includes(m[1].toLowerCase())));
/** The labelled examples of a judge prompt: { inputs, result } each. */
function demosOf(systemText) {
  return systemText
    .split(/^Example \d+:$/m)
    .slice(1)
    .map((block) => ({
      inputs: /^inputs: ([\s\S]*?)(?=\n(?:outputs|expectations|trace|conversation|result|expert's result|rationale|expert's rationale): |(?![\s\S]))/m.exec(block)?.[1] ?? "",
      result: /^(?:expert's )?result: (\S+)$/m.exec(block)?.[1],
    }))
    .filter((d) => d.inputs !== "" && d.result !== undefined);
}
/** The result of the demo nearest to the case, if one is near enough (and the nearest agree). */
function nearestDemoResult(systemText, userText) {
  const demos = demosOf(systemText);
  if (demos.length === 0 || writtenRuleApplies(systemText, userText)) return undefined;
  const inputs = wordsOf(/<inputs>\n([\s\S]*?)\n<\/inputs>/.exec(userText)?.[1] ?? "");
  let best = 0;
  let results = new Set();
  for (const d of demos) {
    const sim = jaccard(inputs, wordsOf(d.inputs));
    if (sim > best) [best, results] = [sim, new Set([d.result])];
    else if (sim === best) results.add(d.result);
  }
  return best >= 0.5 && results.size === 1 ? { result: [...results][0], similarity: best } : undefined;
}
/** Per run: judge calls, how many of them the nearest example decided, and how many of those measured the aligned judge on the held-out traces. */
const judgeStats = { calls: 0, byExample: 0, byExampleAfter: 0, phase: "" };
sim.script((req) => {
  const name = schemaName(req);
  if (name === "judge_result") {
    judgeStats.calls++;
    const { systemText, firstUserText } = promptParts(req);
    if (req.body.temperature === 1) {
      // Sampling noise: identical prompts get different answers, deterministically per prompt.
      const key = `${systemText}\n${firstUserText}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      if (fnv1a(`${key}#${n}`) % 10 < 3) return { content: { rationale: "sampled", result: fnv1a(`${key}@${n}`) % 2 ? "good" : "poor" } };
    }
    const demo = ICL ? nearestDemoResult(systemText, firstUserText) : undefined;
    if (demo) {
      judgeStats.byExample++;
      if (judgeStats.phase === "evaluate") judgeStats.byExampleAfter++;
      return { content: { rationale: `Like the example with the most similar inputs (similarity ${demo.similarity.toFixed(2)}), this is ${demo.result}.`, result: demo.result } };
    }
    return undefined;
  }
  if (name === "offer_feedback") {
    // A capable model: it generalises from the expert's stated reason when there is one, else
    // from the example's topic.
    const text = promptParts(req).firstUserText;
    const inputs = /<program_inputs>([\s\S]*?)<\/program_inputs>/.exec(text)?.[1] ?? "";
    const oracle = /<oracle_metadata>([\s\S]*?)<\/oracle_metadata>/.exec(text)?.[1] ?? "";
    const label = /"human_label": "(\w+)"/.exec(text)?.[1] ?? "good";
    const reason = /"human_rationale": "([^"]*)"/.exec(oracle)?.[1]?.toLowerCase() ?? "";
    const fromReason = TOPICS.map((t) => t.split(" ")[0]).filter((k) => reason.includes(k));
    const kws = fromReason.length > 0 ? fromReason : [keywordOf(inputs) ?? "ticket"];
    const quoted = kws.map((k) => `"${k}"`).join(" or ");
    return { content: { discussion: `The worse run ignored what ${quoted} means to the expert.`, module_advice: { judge: `If the issue mentions ${quoted}, rate as ${label}.` } } };
  }
  if (name === "memalign_guidelines") {
    const text = promptParts(req).firstUserText;
    const examples = JSON.parse(/<examples>\n([\s\S]*?)\n<\/examples>/.exec(text)[1]);
    const byKeyword = new Map();
    for (const e of examples) {
      const kw = keywordOf(e.inputs ?? "");
      if (!kw) continue;
      const g = byKeyword.get(kw) ?? { ids: [], labels: {} };
      g.ids.push(e.example);
      g.labels[e.human_label] = (g.labels[e.human_label] ?? 0) + 1;
      byKeyword.set(kw, g);
    }
    const guidelines = [...byKeyword].map(([kw, g]) => ({
      guideline_text: `If the issue mentions "${kw}", rate as ${Object.entries(g.labels).sort((a, b) => b[1] - a[1])[0][0]}.`,
      source_examples: g.ids,
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

/** The optimizer, watched: the trace ids of the training split it is given first. */
function watched(optimizer) {
  let train;
  return {
    get train() { return train; },
    name: optimizer.name,
    minExamples: optimizer.minExamples,
    seed: optimizer.seed,
    describe: () => optimizer.describe(),
    align: (j, trainset, ctx) => {
      train ??= new Set(trainset.map((e) => e.traceId));
      return optimizer.align(j, trainset, ctx);
    },
    ...(optimizer.retrain ? { retrain: (...a) => optimizer.retrain(...a) } : {}),
  };
}

async function run(name, optimizer) {
  sim.requests.length = 0;
  seen.clear();
  Object.assign(judgeStats, { calls: 0, byExample: 0, byExampleAfter: 0, phase: "" });
  const opt = watched(optimizer);
  const t0 = performance.now();
  const aligned = await judge.align(traces, opt, { concurrency: CONCURRENCY, heldOutFraction: HELD_OUT, seed: SEED, onProgress: (p) => (judgeStats.phase = p.phase) });
  const wallMs = performance.now() - t0;
  const r = alignmentReportOf(aligned);
  if (r.llm.calls !== sim.requests.length) throw new Error(`${name}: report says ${r.llm.calls} LLM calls, the simulator saw ${sim.requests.length}`);
  const heldOut = traces.map((t) => t.traceId).filter((id) => !opt.train.has(id));
  if (heldOut.length !== r.split.heldOut || heldOut.length !== r.after.n) throw new Error(`${name}: ${heldOut.length} traces outside the training split, the report measured ${r.after.n}`);
  // The measured judge's demos (SIMBA) are training examples: a held-out trace never teaches it.
  const leaked = (r.details?.chosenProgram?.demoSources ?? []).filter((id) => !opt.train.has(id));
  if (leaked.length > 0) throw new Error(`${name}: the measured judge has demos of held-out traces ${leaked.join(", ")}`);
  return { name, report: r, wallMs, heldOut, judgeCalls: judgeStats.calls, byExample: judgeStats.byExample, byExampleAfter: judgeStats.byExampleAfter };
}

// SIMBA with its defaults (append-a-demo and append-a-rule), SIMBA with maxDemos 0 (rules only)
// for comparison, and MemAlign.
const simba = await run("SIMBA (defaults)", new SIMBAAlignmentOptimizer());
const simbaRules = await run("SIMBA (maxDemos 0)", new SIMBAAlignmentOptimizer({ maxDemos: 0 }));
const memalign = await run("MemAlign (defaults)", new MemAlignOptimizer());
await sim.close();

if (JSON_OUT) {
  // Written before exiting: process.exit() right after console.log cuts a piped stdout short.
  await new Promise((resolve) => process.stdout.write(`${JSON.stringify({ traces: TRACES, heldOutFraction: HELD_OUT, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, seed: SEED, inContextLearning: ICL, simba: simba.report, simbaMaxDemos0: simbaRules.report, memalign: memalign.report })}\n`, resolve));
  process.exit(0);
}

const fmt = (n) => n.toLocaleString("en-US");
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const pp = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;
const row = ({ name, report: r, wallMs }) =>
  `| ${name} | ${r.before.agreement.toFixed(2)} → ${r.after.agreement.toFixed(2)} (${pp(r.after.agreement - r.before.agreement)}) | ${fmt(r.llm.calls)} (${fmt(r.llm.optimizer.calls)} + ${fmt(r.llm.evaluation.calls)} + ${fmt(r.llm.retrain.calls)}) | ${fmt(r.llm.inputTokens)} | ${fmt(r.llm.outputTokens)} | ${(wallMs / 1000).toFixed(1)} s |`;
const dis = simba.heldOut.filter((id) => disagreeing.has(id)).length;
console.log(
  `Aligning one judge on ${TRACES} labelled traces (${simba.report.split.train} train / ${simba.report.split.heldOut} held out; ` +
    `${disagreeing.size} traces have reviewers who disagree, ${dis} of them held out), simulator latency ${LATENCY_MS} ms, ${CONCURRENCY} judge calls in flight, seed ${SEED}, ` +
    `simulated in-context learning ${ICL ? "on" : "off (--no-icl)"}, node ${process.version}.`,
);
console.log(
  `Held out: ${simba.heldOut.length}, ${simbaRules.heldOut.length} and ${memalign.heldOut.length} traces, none of them in the optimizer's training split nor a demo of the measured judge (checked); ` +
    `the returned judges were then retrained on all ${TRACES} (align()'s default), which the cost includes.`,
);
console.log("");
console.log("| optimizer | held-out agreement before → after | LLM + embedding calls (optimizer + before/after eval + retrain) | input tokens | output tokens | wall time |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
console.log(row(simba));
console.log(row(simbaRules));
console.log(row(memalign));
console.log("");
const lift = (r) => r.after.agreement - r.before.agreement;
const ok = (r) => `${pp(lift(r))} ${lift(r) >= 0.25 ? "✓" : "✗"}`;
console.log(`Goal: each optimizer lifts held-out agreement by ≥ 0.25: SIMBA (defaults) ${ok(simba.report)}, MemAlign ${ok(memalign.report)}; SIMBA (maxDemos 0) ${ok(simbaRules.report)}.`);
const icl = (x) => `${x.name} ${fmt(x.byExample)} of ${fmt(x.judgeCalls)} (${x.byExampleAfter} of the ${x.report.after.n} held-out answers after)`;
console.log(`Judge answers the nearest labelled example in the prompt decided (simulated in-context learning): ${icl(simba)}; ${icl(simbaRules)}; ${icl(memalign)}.`);
const measured = (x) => {
  const c = x.report.details?.chosenProgram;
  return c ? `${x.name}: ${c.rules.length ? c.rules.map((r) => JSON.stringify(r)).join(", ") : "no rule"}; demos of ${c.demoSources.length ? c.demoSources.join(", ") : "no trace"}` : `${x.name}: -`;
};
console.log(`The measured judges' rules and demos: ${measured(simba)}. ${measured(simbaRules)}.`);
const ratio = (a, b) => (b === 0 ? "∞" : `${(a / b).toFixed(1)}×`);
const tokens = (r) => r.llm.inputTokens + r.llm.outputTokens;
console.log(
  `SIMBA (defaults) / MemAlign: ${ratio(simba.report.llm.calls, memalign.report.llm.calls)} the LLM calls, ` +
    `${ratio(tokens(simba.report), tokens(memalign.report))} the tokens, ${ratio(simba.wallMs, memalign.wallMs)} the wall time ` +
    `(optimizer calls alone: ${ratio(simba.report.llm.optimizer.calls, memalign.report.llm.optimizer.calls)}). ` +
    `Goal: MemAlign ≥ 10× cheaper in LLM calls ${simba.report.llm.calls >= 10 * memalign.report.llm.calls ? "✓" : "✗"}.`,
);
