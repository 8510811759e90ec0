import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import {
  init, shutdown, createExperiment, setExperiment, startRun, trace, getLastActiveTraceId, makeJudge, logAssessment,
  logFeedback, searchTraces, getScorer, listScorerVersions, AssessmentSourceType, SIMBAAlignmentOptimizer,
  type Judge,
} from "@gavel/sdk";
import { useSimulator } from "../support/use-simulator.js";
import { eventually, sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";

// Workflow steps 1–4 (docs/judge-workflow.md): judge → feedback → align → test and register,
// against a collector started as the README says and the LLM provider simulator. The
// simulator cannot judge quality, so this checks the mechanics: data flow, reports, registry.
const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gavel-align-e2e-"));
const simOf = useSimulator({ GAVEL_LLM_MAX_RETRIES: "1" });
let gavel: GavelProcess;
let experimentId: string;
let supportJudge: Judge;

const ISSUES = [
  "Password reset not working", "Billing discrepancy", "Feature request", "Technical error", "Refund request",
  "Cannot log in", "Order never arrived", "App crashes on start", "Wrong item shipped", "Invoice missing",
  "Account locked", "Slow website",
];
// Ground truth a domain expert would give; the simulator's judge answers differ on some.
const HUMAN = ["excellent", "poor", "good", "needs_improvement", "poor", "good", "poor", "needs_improvement", "poor", "good", "excellent", "needs_improvement"];

const customerSupportApp = trace(async function customerSupportApp(issue: string) {
  return { response: `I'll help you with: ${issue}` };
});

beforeAll(async () => {
  gavel = await startGavelProcess({ dataDir: join(dir, "data"), env: { ...simOf().env(), GAVEL_LLM_MAX_RETRIES: "1" } });
  init({ serviceName: "support-app", url: gavel.url });
  experimentId = await createExperiment("support-judge-development");
  setExperiment({ experimentId });
  supportJudge = makeJudge({
    name: "support_quality",
    instructions: `
Evaluate the quality of this customer support response.
Rate as one of: excellent, good, needs_improvement, poor
Consider:
- Does it address the customer's issue?
- Is the tone professional and empathetic?
- Are next steps clear?
Focus on {{ outputs }} responding to {{ inputs }}.`,
    model: "anthropic:/claude-opus-4-1-20250805",
  });
  // Step 2: traces, judge assessments, human feedback.
  for (const [i, issue] of ISSUES.entries()) {
    await startRun({ experimentId }, async () => {
      const result = await customerSupportApp(issue);
      const traceId = getLastActiveTraceId()!;
      const assessment = await supportJudge({ inputs: { issue }, outputs: result });
      expect(assessment.error).toBeUndefined();
      await logAssessment({ traceId, assessment });
      await logFeedback({ traceId, name: "support_quality", value: HUMAN[i], source: { sourceType: AssessmentSourceType.HUMAN, sourceId: "ground_truth" } });
    });
  }
});
afterAll(async () => {
  await shutdown();
  await gavel?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("judge alignment end to end (workflow steps 3–4)", () => {
  it("aligns on traces with both assessments, tests, registers, and getScorer returns that version", async () => {
    const traces = await searchTraces({ experimentIds: [experimentId] });
    const alignedTraces = traces.filter((t) => {
      const a = t.searchAssessments({ name: "support_quality" });
      return a.some((x) => x.source.sourceType === AssessmentSourceType.LLM_JUDGE) && a.some((x) => x.source.sourceType === AssessmentSourceType.HUMAN);
    });
    expect(alignedTraces).toHaveLength(ISSUES.length);

    await expect(supportJudge.align(alignedTraces.slice(0, 7))).rejects.toThrow(/Need at least 10 traces \(have 7\)/);

    const progress: string[] = [];
    const alignedJudge = await supportJudge.align(alignedTraces, new SIMBAAlignmentOptimizer({ maxSteps: 2, numCandidates: 2, batchSize: 6 }), {
      onProgress: (p) => progress.push(p.phase),
    });
    expect(progress).toContain("optimize");
    expect(alignedJudge.templateVariables).toEqual(supportJudge.templateVariables);
    const report = alignedJudge.alignmentReport as Record<string, any>;
    expect(report.examples.used).toBe(ISSUES.length);
    // 12 examples are too few to hold 20 % out: the report measures on all of them and says so.
    expect(report.split).toMatchObject({ train: ISSUES.length, heldOut: ISSUES.length, stratified: false });
    expect(report.split.note).toMatch(/Too few examples to split/);
    expect(report.before.confusion.labels.length).toBeGreaterThan(0);
    expect(typeof report.after.agreement).toBe("number");
    expect(report.llm.calls).toBeGreaterThan(0);

    // Step 4: test, then register.
    const a = await alignedJudge({ inputs: { issue: "Can't log in" }, outputs: { response: "Let me reset your password for you." } });
    expect(["excellent", "good", "needs_improvement", "poor"]).toContain(a.value);
    const registered = await alignedJudge.register({ experimentId });
    const productionJudge = await getScorer({ name: "support_quality", experimentId });
    expect(productionJudge.registeredVersion).toBe(registered.registeredVersion);
    expect(productionJudge.instructions).toBe(alignedJudge.instructions);
    expect((productionJudge.alignmentReport as Record<string, any>).examples.used).toBe(ISSUES.length);
  });

  it("runs server-side with `gavel align --register`: one SQL join, progress, stored report, new version", async () => {
    const before = (await listScorerVersions({ name: "support_quality", experimentId })).length;
    const out = await run(
      process.execPath,
      [CLI, "align", "--experiment", "support-judge-development", "--judge", "support_quality", "--register", "--max-steps", "2", "--num-candidates", "2", "--batch-size", "6"],
      { env: { ...process.env, GAVEL_URL: gavel.url } },
    ).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`gavel align failed:\n${e.stdout}\n${e.stderr}`);
    });
    const { stdout, stderr } = out;
    expect(stderr).toMatch(/Alignment al-[0-9a-f]+: judge "support_quality" with simba/);
    // Every trace of the experiment is counted; those without a human label are said.
    const used = /(\d+) of (\d+) traces used(?: \((\d+) without a human label\))?/.exec(stdout)!;
    expect(Number(used[1])).toBe(12);
    expect(Number(used[2]) - Number(used[3] ?? 0)).toBe(12);
    expect(stdout).toMatch(/before .*%\s+κ/);
    expect(stdout).toMatch(/Confusion after \(rows: human, columns: judge\)/);
    expect(stdout).toMatch(new RegExp(`Registered "support_quality" version ${before + 1}`));

    const versions = await listScorerVersions({ name: "support_quality", experimentId });
    expect(versions).toHaveLength(before + 1);
    const res = await fetch(`${gavel.url}/api/v1/experiments/${experimentId}/alignments`);
    const { alignments } = (await res.json()) as { alignments: Record<string, any>[] };
    expect(alignments[0]).toMatchObject({ status: "SUCCEEDED", registeredVersion: before + 1, optimizer: "simba" });
    expect(alignments[0]!.report.examples.used).toBe(12);

    // The judge calls the collector made for the job are traced into its own store, marked, never judged.
    const judgeTraces = await eventually(async () => {
      const rows = await sql<{ n: string; judged: string }>(
        gavel.url,
        `SELECT count() AS n, countIf(TraceId IN (SELECT TraceId FROM gavel_assessments)) AS judged
         FROM gavel_traces WHERE IsJudge AND ServiceName = 'gavel-collector'`,
      );
      return Number(rows[0]!.n) > 0 ? rows[0]! : null;
    });
    expect(judgeTraces.judged).toBe("0");
    const [llm] = await sql<{ model: string }>(gavel.url, "SELECT any(GenAiModel) AS model FROM otel_traces WHERE ServiceName = 'gavel-collector' AND GenAiModel != ''");
    expect(llm!.model).toBe("claude-opus-4-1-20250805");

    const missing = await run(process.execPath, [CLI, "align", "--experiment", experimentId, "--judge", "nope"], { env: { ...process.env, GAVEL_URL: gavel.url } }).catch((e: { stderr: string; code: number }) => e);
    expect((missing as { code: number }).code).toBe(1);
    expect((missing as { stderr: string }).stderr).toMatch(/No registered judge "nope".*judge\.register/);
  });
});
