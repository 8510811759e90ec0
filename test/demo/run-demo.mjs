#!/usr/bin/env node
// `npm run demo`: the whole judge workflow (docs/judge-workflow.md), steps 1–5, end to end.
// With OPENAI_API_KEY or ANTHROPIC_API_KEY set it uses that provider; otherwise it starts the
// local LLM provider simulator and says so. It uses the collector at GAVEL_URL when one answers,
// otherwise it starts one (embedded ClickHouse in a temporary directory) and stops it at the end.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const children = [];
const say = (s) => console.log(s);

function startChild(args, env, ready) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    children.push(p);
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve(m[1]);
    });
    p.once("exit", (c) => reject(new Error(`${args.join(" ")} exited with ${c}: ${out}`)));
  });
}

async function reachable(url) {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function main() {
  let model;
  if (process.env.ANTHROPIC_API_KEY) model = "anthropic:/claude-opus-4-1-20250805";
  else if (process.env.OPENAI_API_KEY) model = `openai:/${process.env.GAVEL_DEMO_OPENAI_MODEL ?? "gpt-4o-mini"}`;
  let simulated = false;
  if (!model) {
    const url = await startChild(["test/simulator/dist/main.js", "--port", "0"], {}, /(http:\/\/\S+)/);
    Object.assign(process.env, {
      ANTHROPIC_BASE_URL: url, ANTHROPIC_API_KEY: "sim-key", OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: "sim-key",
    });
    model = "anthropic:/claude-opus-4-1-20250805";
    simulated = true;
    say(`No OPENAI_API_KEY or ANTHROPIC_API_KEY: using the LOCAL LLM PROVIDER SIMULATOR at ${url}.`);
    say("Its judgements are deterministic stand-ins, not real model opinions: the demo shows the mechanics.\n");
  } else {
    say(`Using the real provider for ${model}.\n`);
  }

  let gavelUrl = (process.env.GAVEL_URL ?? "http://127.0.0.1:4318").replace(/\/$/, "");
  let dataDir;
  if (!(await reachable(gavelUrl))) {
    dataDir = mkdtempSync(join(tmpdir(), "gavel-demo-"));
    gavelUrl = await startChild(["collector/dist/cli/main.js", "start", "--port", "0", "--grpc-port", "0", "--data-dir", dataDir], {}, /listening on (http:\/\/\S+)/);
    say(`Started a collector for the demo at ${gavelUrl} (data in ${dataDir}, removed at the end).\n`);
  } else {
    say(`Using the running collector at ${gavelUrl}.\n`);
  }

  const sdk = await import("@gavel/sdk");
  const { init, createExperiment, setExperiment, startRun, trace, getLastActiveTraceId, makeJudge, logAssessment, logFeedback,
    searchTraces, AssessmentSourceType, SIMBAAlignmentOptimizer, getScorer, evaluate, shutdown } = sdk;

  // Step 1: the initial judge.
  init({ serviceName: "support-app", url: gavelUrl });
  const experimentId = await createExperiment(`support-judge-development-${Date.now().toString(36)}`);
  setExperiment({ experimentId });
  const supportJudge = makeJudge({
    name: "support_quality",
    instructions: `
Evaluate the quality of this customer support response.
Rate as one of: excellent, good, needs_improvement, poor
Consider:
- Does it address the customer's issue?
- Is the tone professional and empathetic?
- Are next steps clear?
Focus on {{ outputs }} responding to {{ inputs }}.`,
    model,
  });
  say(`Step 1: judge "${supportJudge.name}" on ${model}; experiment ${experimentId}`);

  // Step 2: traces, judge assessments, human feedback.
  const customerSupportApp = trace(async function customerSupportApp(issue) {
    return { response: `I'll help you with: ${issue}` };
  });
  const cases = [
    ["Password reset not working", "excellent"], ["Billing discrepancy", "poor"], ["Feature request", "good"],
    ["Technical error", "needs_improvement"], ["Refund request", "poor"], ["Cannot log in", "good"],
    ["Order never arrived", "poor"], ["App crashes on start", "needs_improvement"], ["Wrong item shipped", "poor"],
    ["Invoice missing", "good"], ["Account locked", "excellent"], ["Slow website", "needs_improvement"],
  ];
  for (const [issue, label] of cases) {
    await startRun({ experimentId }, async () => {
      const result = await customerSupportApp(issue);
      const traceId = getLastActiveTraceId();
      const assessment = await supportJudge({ inputs: { issue }, outputs: result });
      await logAssessment({ traceId, assessment });
      await logFeedback({ traceId, name: "support_quality", value: label, source: { sourceType: AssessmentSourceType.HUMAN, sourceId: "ground_truth" } });
    });
  }
  say(`Step 2: ${cases.length} traces judged and labelled (see them at ${gavelUrl}/)`);

  // Step 3: align.
  const traces = await searchTraces({ experimentIds: [experimentId] });
  const alignedTraces = traces.filter((t) => {
    const a = t.searchAssessments({ name: "support_quality" });
    return a.some((x) => x.source.sourceType === AssessmentSourceType.LLM_JUDGE) && a.some((x) => x.source.sourceType === AssessmentSourceType.HUMAN);
  });
  say(`Step 3: found ${alignedTraces.length} traces with both assessments; aligning with SIMBA…`);
  const alignedJudge = await supportJudge.align(
    alignedTraces,
    new SIMBAAlignmentOptimizer(simulated ? { maxSteps: 3, numCandidates: 3, batchSize: 6 } : {}),
    { onProgress: (p) => process.stdout.write(`\r  ${p.phase.padEnd(9)} ${p.message.slice(0, 70).padEnd(70)} (${p.llmCalls} LLM calls)`) },
  );
  process.stdout.write("\n");
  const r = alignedJudge.alignmentReport;
  say(`  agreement ${(r.before.agreement * 100).toFixed(0)}% → ${(r.after.agreement * 100).toFixed(0)}%, kappa ${r.before.kappa?.toFixed(2) ?? "n/a"} → ${r.after.kappa?.toFixed(2) ?? "n/a"}; ${r.llm.calls} LLM calls, ${(r.wallTimeMs / 1000).toFixed(1)} s`);
  if (r.split.note) say(`  (${r.split.note})`);

  // Step 4: test and register.
  for (const c of [
    { inputs: { issue: "Can't log in" }, outputs: { response: "Let me reset your password for you." } },
    { inputs: { issue: "Refund request" }, outputs: { response: "I'll process that refund immediately." } },
  ]) {
    const a = await alignedJudge(c);
    say(`Step 4: ${c.inputs.issue} → ${a.value} (${(a.rationale ?? "").slice(0, 80)})`);
  }
  const registered = await alignedJudge.register({ experimentId });
  say(`  registered version ${registered.registeredVersion}`);

  // Step 5: production.
  const productionJudge = await getScorer({ name: "support_quality", experimentId });
  const results = await evaluate({
    data: [
      { inputs: { issue: "Can't access my account" }, outputs: { response: "I'll help you regain access immediately." } },
      { inputs: { issue: "Slow website performance" }, outputs: { response: "Let me investigate the performance issues." } },
    ],
    scorers: [productionJudge],
  });
  say("Step 5: evaluation metrics:");
  console.table(results.metrics);
  console.table(results.tables.evalResults.map((row) => ({ traceId: row.traceId, value: row["support_quality/value"] })));
  await productionJudge.start({ sampleRate: 0.1 });
  say(`  online scoring started at sampleRate 0.1 — live traces of experiment ${experimentId} are now judged.`);
  await shutdown();
  return dataDir;
}

let dataDir;
try {
  dataDir = await main();
  say("\nDone.");
} catch (err) {
  console.error(`\nDemo failed: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
} finally {
  for (const c of children.reverse()) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
