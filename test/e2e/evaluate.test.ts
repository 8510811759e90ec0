import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import {
  init, shutdown, createExperiment, setExperiment, startRun, trace, getLastActiveTraceId, makeJudge, logAssessment,
  logExpectation, getScorer, evaluate, scorer, searchTraces, getTrace, listRuns, getRun,
  type Judge,
} from "@gavel/sdk";
import { useSimulator } from "../support/use-simulator.js";
import { sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";

// Workflow Step 5 (reference/judge-workflow.ts.md) against a collector started as the README
// says, with the LLM provider simulator standing in for the model.
const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "gavel-eval-e2e-"));
const simOf = useSimulator({ GAVEL_LLM_MAX_RETRIES: "1" });
let gavel: GavelProcess;
let experimentId: string;
let productionJudge: Judge;

const CATEGORIES = ["excellent", "good", "needs_improvement", "poor"];
const hasNextSteps = scorer({
  name: "has_next_steps",
  fn: ({ outputs }) => {
    const text = JSON.stringify(outputs);
    if (text.includes("regain")) return { value: true, rationale: "promises to restore access" };
    return /\b(i'll|let me|will)\b/i.test(text);
  },
});

beforeAll(async () => {
  gavel = await startGavelProcess({ dataDir: join(dir, "data") });
  init({ serviceName: "support-app", url: gavel.url });

  // Steps 1 and 4, shortened: the judge is created and registered.
  experimentId = await createExperiment("support-judge-development");
  setExperiment({ experimentId });
  const supportJudge = makeJudge({
    name: "support_quality",
    instructions: `
Evaluate the quality of this customer support response.
Rate as one of: excellent, good, needs_improvement, poor
Focus on {{ outputs }} responding to {{ inputs }}.`,
    model: "anthropic:/claude-opus-4-1-20250805",
  });
  await supportJudge.register({ experimentId });
  productionJudge = await getScorer({ name: "support_quality", experimentId });
});
afterAll(async () => {
  await shutdown();
  await gavel?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("evaluate() end to end (workflow step 5)", () => {
  it("scores rows with the registered judge and a code scorer, on evaluation traces of a new run", async () => {
    expect(productionJudge.registeredVersion).toBe(1);
    const data = [
      { inputs: { issue: "Can't access my account" }, outputs: { response: "I'll help you regain access immediately." } },
      { inputs: { issue: "Slow website performance" }, outputs: { response: "Let me investigate the performance issues." } },
      { inputs: { issue: "Refund request" }, outputs: { response: "Refunds are not possible." } },
    ];
    const results = await evaluate({ data, scorers: [productionJudge, hasNextSteps] });

    const { runId, metrics, tables } = results;
    expect(metrics["has_next_steps/mean"]).toBeCloseTo(2 / 3);
    expect(metrics["has_next_steps/p50"]).toBe(1);
    expect(metrics["has_next_steps/min"]).toBe(0);
    expect(CATEGORIES.map((c) => metrics[`support_quality/${c}/share`]!).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    expect(metrics["support_quality/count"]).toBe(3);
    expect(metrics["support_quality/error_count"]).toBe(0);

    expect(tables.evalResults).toHaveLength(3);
    expect(tables.evalResults[0]).toMatchObject({
      inputs: data[0]!.inputs,
      outputs: data[0]!.outputs,
      "has_next_steps/value": true,
      "has_next_steps/rationale": "promises to restore access",
    });
    for (const row of tables.evalResults) {
      expect(row.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(CATEGORIES).toContain(row["support_quality/value"]);
      expect(String(row["support_quality/rationale"])).not.toBe("");
    }

    // The run: kind evaluation, FINISHED, with the metrics stored on it.
    const evalRuns = await listRuns(experimentId, { kind: "evaluation" });
    expect(evalRuns.map((r) => r.runId)).toContain(runId);
    const stored = await getRun(runId);
    expect(stored).toMatchObject({ kind: "evaluation", status: "FINISHED", name: results.runName });
    expect(stored!.metrics).toEqual(metrics);

    // The assessments are on the evaluation traces (as the UI's Traces tab shows them).
    const traces = await searchTraces({ experimentIds: [experimentId], filter: `trace.run_id = '${runId}'` });
    expect(traces.map((t) => t.info.traceId).sort()).toEqual(tables.evalResults.map((r) => r.traceId).sort());
    for (const t of traces) {
      const row = tables.evalResults.find((r) => r.traceId === t.info.traceId)!;
      expect(t.info.inputs).toEqual(row.inputs);
      expect(t.info.outputs).toEqual(row.outputs);
      expect(t.rootSpan!.attributes["gavel.evaluation"]).toBe("true");
      expect(t.rootSpan!.attributes["gavel.run_id"]).toBe(runId);
      const [judged] = t.searchAssessments({ name: "support_quality" });
      expect(judged).toMatchObject({ value: row["support_quality/value"], runId, judgeVersion: 1, source: { sourceType: "LLM_JUDGE" } });
      const [code] = t.searchAssessments({ name: "has_next_steps" });
      expect(code).toMatchObject({ value: row["has_next_steps/value"], runId, source: { sourceType: "CODE", sourceId: "has_next_steps" } });
    }
    const [flags] = await sql<{ n: string; evals: string }>(
      gavel.url,
      "SELECT count() AS n, countIf(IsEvaluation) AS evals FROM gavel_traces WHERE RunId = {r:String} AND NOT IsJudge",
      { r: runId },
    );
    expect(flags).toEqual({ n: "3", evals: "3" });
  });

  it("scores searchTraces results in place, with expectations from the traces", async () => {
    const customerSupportApp = trace(async function customerSupportApp(issue: string) {
      return { response: `I'll help you with: ${issue}` };
    });
    const traceIds: string[] = [];
    for (const issue of ["Password reset not working", "Billing discrepancy"]) {
      await startRun({ experimentId }, async () => {
        const result = await customerSupportApp(issue);
        const traceId = getLastActiveTraceId()!;
        traceIds.push(traceId);
        await logAssessment({ traceId, assessment: await productionJudge({ inputs: { issue }, outputs: result }) });
      });
    }
    await logExpectation({ traceId: traceIds[0]!, name: "mentions_issue", value: "Password reset" });
    const traces = await searchTraces({ experimentIds: [experimentId], filter: "trace.name = 'customerSupportApp'" });
    expect(traces).toHaveLength(2);

    const mentions = scorer({
      name: "mentions_issue",
      fn: ({ outputs, expectations, trace: t }) => {
        expect(t?.info.traceId).toMatch(/^[0-9a-f]{32}$/);
        return expectations ? JSON.stringify(outputs).includes(String(expectations.mentions_issue)) : null;
      },
    });
    const results = await evaluate({ data: traces, scorers: [productionJudge, mentions], runName: "re-score production traces" });
    expect(results.tables.evalResults.map((r) => r.traceId).sort()).toEqual([...traceIds].sort());
    const withExpectation = results.tables.evalResults.find((r) => r.traceId === traceIds[0])!;
    expect(withExpectation).toMatchObject({ expectations: { mentions_issue: "Password reset" }, "mentions_issue/value": true });
    expect(results.metrics["mentions_issue/count"]).toBe(1);

    // No new traces: the assessments went on the originals, next to the earlier judge's.
    const [made] = await sql<{ n: string }>(gavel.url, "SELECT count() AS n FROM gavel_traces WHERE RunId = {r:String} AND NOT IsJudge", { r: results.runId });
    expect(made!.n).toBe("0");
    // The scored traces are linked to the evaluation run (MLflow's evaluate() links them too).
    expect((await searchTraces({ runId: results.runId })).map((t) => t.info.traceId).sort()).toEqual([...traceIds].sort());
    for (const traceId of traceIds) {
      const t = (await getTrace(traceId))!;
      const judged = t.searchAssessments({ name: "support_quality" });
      expect(judged).toHaveLength(2);
      expect(judged.filter((a) => a.runId === results.runId)).toHaveLength(1);
    }
  });

  it("runs predictFn under trace(), and a failing row does not stop the evaluation", async () => {
    // The simulator fails every judge call about one row; the judge retries once, then records it.
    simOf().script((req) => (JSON.stringify(req.body).includes("Slow website") ? { status: 500, errorMessage: "simulated outage" } : undefined), { api: "anthropic" });
    const lookupKb = trace(function lookupKb(issue: string) {
      return [`kb article about ${issue}`];
    }, { spanType: "RETRIEVER" });
    const supportApp = async function supportApp(inputs: { issue: string }) {
      const docs = lookupKb(inputs.issue);
      return { response: `I'll help you: see ${docs[0]}` };
    };
    const usedRetriever = scorer({ name: "used_retriever", fn: ({ trace: t }) => t!.data.spans.some((s) => s.spanType === "RETRIEVER") });
    const strict = scorer({
      name: "strict",
      fn: ({ inputs }) => {
        if ((inputs as { issue: string }).issue.startsWith("Refund")) throw new Error("no policy for refunds");
        return 5;
      },
    });
    try {
      const results = await evaluate({
        data: [{ inputs: { issue: "Can't access my account" } }, { inputs: { issue: "Slow website performance" } }, { inputs: { issue: "Refund request" } }],
        predictFn: supportApp,
        scorers: [productionJudge, usedRetriever, strict],
        concurrency: 2,
      });
      const [ok, outage, refund] = results.tables.evalResults;
      expect(ok).toMatchObject({ outputs: { response: "I'll help you: see kb article about Can't access my account" }, "used_retriever/value": true, "strict/value": 5 });
      expect(outage!["support_quality/value"]).toBeNull();
      expect(outage!["support_quality/error"]).toMatch(/simulated outage/);
      expect(outage!["used_retriever/value"]).toBe(true);
      expect(refund!["strict/error"]).toBe("SCORER_ERROR: no policy for refunds");
      expect(refund!["support_quality/error"]).toBeUndefined();
      expect(results.metrics["support_quality/error_count"]).toBe(1);
      expect(results.metrics["support_quality/count"]).toBe(2);
      expect(results.metrics["strict/mean"]).toBe(5);
      expect(results.metrics["strict/error_count"]).toBe(1);
      expect((await getRun(results.runId))!.status).toBe("FINISHED");

      const t = (await getTrace(outage!.traceId))!;
      expect(t.rootSpan).toMatchObject({ name: "supportApp", inputs: { issue: "Slow website performance" } });
      expect(t.rootSpan!.attributes["gavel.evaluation"]).toBe("true");
      expect(t.data.spans.map((s) => s.name).sort()).toContain("lookupKb");
      const [failed] = t.searchAssessments({ name: "support_quality" });
      expect(failed).toMatchObject({ value: null, runId: results.runId, error: { code: "PROVIDER_ERROR" } });
    } finally {
      simOf().reset();
    }
  });

  it("`gavel eval` scores a JSONL file with a registered judge and writes the results", async () => {
    const data = join(dir, "cases.jsonl");
    writeFileSync(
      data,
      [
        JSON.stringify({ inputs: { issue: "Can't log in" }, outputs: { response: "Let me reset your password for you." } }),
        "",
        JSON.stringify({ inputs: { issue: "Refund request" }, outputs: { response: "I'll process that refund immediately." }, expectations: { refund: true } }),
      ].join("\n") + "\n",
    );
    const output = join(dir, "results.json");
    const env = { ...process.env, GAVEL_URL: gavel.url, ...simOf().env() };
    const { stdout } = await run(
      process.execPath,
      [CLI, "eval", "--experiment", "support-judge-development", "--judge", "support_quality", "--data", data, "--concurrency", "2", "--output", output],
      { env },
    );
    expect(stdout).toMatch(/Evaluation run "eval-\d{8}-\d{6}" \([0-9a-f]{32}\) in experiment "support-judge-development": 2 rows scored by support_quality v1/);
    expect(stdout).toMatch(/metric\s+│ value/);
    expect(stdout).toMatch(/support_quality\/count\s+│ 2/);
    const written = JSON.parse(readFileSync(output, "utf8")) as { runId: string; metrics: Record<string, number>; evalResults: Record<string, unknown>[] };
    expect(written.evalResults).toHaveLength(2);
    expect(written.evalResults[1]).toMatchObject({ inputs: { issue: "Refund request" }, expectations: { refund: true } });
    expect(CATEGORIES).toContain(written.evalResults[0]!["support_quality/value"]);
    expect((await getRun(written.runId))).toMatchObject({ kind: "evaluation", status: "FINISHED", metrics: written.metrics, experimentId });
    const traces = await searchTraces({ experimentIds: [experimentId], filter: `trace.run_id = '${written.runId}'` });
    expect(traces.every((t) => t.searchAssessments({ name: "support_quality" })[0]?.runId === written.runId)).toBe(true);
    expect(traces).toHaveLength(2);

    // A bad line is reported with its line number; nothing is run.
    writeFileSync(data, `${JSON.stringify({ inputs: { issue: "ok" } })}\n{"outputs": "no inputs"}\n`);
    const bad = await run(process.execPath, [CLI, "eval", "-e", experimentId, "-j", "support_quality", "-d", data], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toContain(`${data}:2: no "inputs"`);
    writeFileSync(data, `${JSON.stringify({ inputs: { issue: "ok" } })}\n`);
    const missing = await run(process.execPath, [CLI, "eval", "-e", experimentId, "-j", "nope", "-d", data], { env }).catch((e: { stderr: string }) => e);
    expect((missing as { stderr: string }).stderr).toMatch(/No judge "nope" registered in experiment "support-judge-development"/);
  });
});
