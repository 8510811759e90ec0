import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  init, createExperiment, setExperiment, startRun, trace, getLastActiveTraceId, flush, shutdown,
  logFeedback, overrideFeedback, deleteAssessment, getAssessment, searchTraces, getTrace, AssessmentSourceType,
} from "@gavel/sdk";
import { sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";

// Steps 1–2 of the judge workflow minus the judge, against a collector started as the README says.
const dataDir = mkdtempSync(join(tmpdir(), "gavel-sdk-e2e-"));
let gavel: GavelProcess;

beforeAll(async () => {
  gavel = await startGavelProcess({ dataDir });
  init({ serviceName: "support-app", url: gavel.url });
});
afterAll(async () => {
  await shutdown();
  await gavel?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const lookupOrder = trace(function lookupOrder(id: string) {
  return { id, status: "shipped" };
}, { spanType: "TOOL" });

const customerSupportApp = trace(async function customerSupportApp(issue: string) {
  const order = lookupOrder("A-1");
  if (issue === "crash") throw new Error("model unavailable");
  return { response: `I'll help you with: ${issue}`, order: order.status };
}, { spanType: "CHAIN", attributes: { team: "support" } });

describe("SDK → collector → SQL", () => {
  it("runs steps 1–2: experiment, runs, traced app, human feedback, search and SQL", async () => {
    const experimentId = await createExperiment("support-judge-development");
    expect(await createExperiment("support-judge-development")).toBe(experimentId);
    setExperiment({ experimentId });

    const issues = ["Password reset not working", "Billing discrepancy", "Feature request", "Technical error"];
    const traceIds: string[] = [];
    const runIds: string[] = [];
    for (const issue of issues) {
      await startRun({ experimentId }, async (run) => {
        runIds.push(run.runId);
        const result = await customerSupportApp(issue);
        expect(result.response).toContain(issue);
        traceIds.push(getLastActiveTraceId()!);
      });
    }
    await expect(startRun({ experimentId, name: "failing" }, () => customerSupportApp("crash"))).rejects.toThrow("model unavailable");
    const crashId = getLastActiveTraceId()!;

    const groundTruth: Record<string, string> = { [traceIds[0]!]: "excellent", [traceIds[1]!]: "poor", [traceIds[2]!]: "good" };
    for (const [traceId, value] of Object.entries(groundTruth)) {
      await logFeedback({ traceId, name: "support_quality", value, source: { sourceType: AssessmentSourceType.HUMAN, sourceId: "ground_truth" } });
    }
    await flush();

    const traces = await searchTraces({ experimentIds: [experimentId] });
    expect(traces.map((t) => t.info.traceId).sort()).toEqual([...traceIds, crashId].sort());
    const first = traces.find((t) => t.info.traceId === traceIds[0])!;
    expect(first.info.inputs).toBe("Password reset not working");
    expect(first.info.outputs).toEqual({ response: "I'll help you with: Password reset not working", order: "shipped" });
    expect(first.info.runId).toBe(runIds[0]);
    expect(first.data.spans.map((s) => s.name).sort()).toEqual(["customerSupportApp", "lookupOrder"]);
    const child = first.data.spans.find((s) => s.name === "lookupOrder")!;
    const root = first.data.spans.find((s) => s.name === "customerSupportApp")!;
    expect(child.parentSpanId).toBe(root.spanId);
    expect(child.spanType).toBe("TOOL");
    expect(child.attributes["gavel.run_id"]).toBe(runIds[0]);
    expect(root.attributes.team).toBe("support");
    const labels = first.searchAssessments({ name: "support_quality" });
    expect(labels).toHaveLength(1);
    expect(labels[0]).toMatchObject({ value: "excellent", source: { sourceType: "HUMAN", sourceId: "ground_truth" } });

    const errors = await searchTraces({ experimentIds: [experimentId], filter: "trace.status = 'ERROR'" });
    expect(errors.map((t) => t.info.traceId)).toEqual([crashId]);
    const crash = await getTrace(crashId);
    const crashRoot = crash!.data.spans.find((s) => s.parentSpanId === "")!;
    expect(crashRoot.status.code).toBe("ERROR");
    expect(crashRoot.events.map((e) => e.name)).toContain("exception");

    const rows = await sql<{ TraceId: string; RunId: string; label: string }>(
      gavel.url,
      `SELECT t.TraceId AS TraceId, t.RunId AS RunId, a.ScoreLabel AS label FROM gavel_traces t
       LEFT JOIN (SELECT TraceId, ScoreLabel FROM gavel_assessments FINAL WHERE Name = 'support_quality' AND NOT Deleted) a USING TraceId
       WHERE t.ExperimentId = {e:String} ORDER BY t.Timestamp`,
      { e: experimentId },
    );
    expect(rows.map((r) => r.label)).toEqual(["excellent", "poor", "good", "", ""]);
    expect(rows.map((r) => r.RunId).slice(0, 4)).toEqual(runIds);
    const [spanCount] = await sql<{ n: string }>(gavel.url, "SELECT count() AS n FROM otel_traces WHERE ExperimentId = {e:String} AND NOT SpanAttributes['gavel.assessment_span'] = 'true'", { e: experimentId });
    expect(spanCount!.n).toBe("10");
  });

  it("overrides and deletes feedback through the SDK", async () => {
    const traced = trace(function judgedThing() {
      return 1;
    });
    traced();
    const traceId = getLastActiveTraceId()!;
    await flush();
    const judged = await logFeedback({ traceId, name: "q", value: "poor", source: { sourceType: AssessmentSourceType.LLM_JUDGE, sourceId: "openai:/gpt-4o" } });
    const fixed = await overrideFeedback({ traceId, assessmentId: judged.assessmentId, value: "good", rationale: "human review", source: { sourceType: AssessmentSourceType.HUMAN, sourceId: "ann" } });
    expect(fixed.overrides).toBe(judged.assessmentId);
    expect((await getAssessment({ traceId, assessmentId: judged.assessmentId })).valid).toBe(false);
    const t = (await getTrace(traceId))!;
    expect(t.searchAssessments({ name: "q" }).map((a) => a.value)).toEqual(["good"]);
    expect(t.searchAssessments({ name: "q", all: true })).toHaveLength(2);
    await deleteAssessment({ traceId, assessmentId: fixed.assessmentId });
    // Deleting the override makes the judge's feedback valid again (MLflow's behaviour).
    expect((await getTrace(traceId))!.searchAssessments({ name: "q" }).map((a) => a.value)).toEqual(["poor"]);
    await deleteAssessment({ traceId, assessmentId: judged.assessmentId });
    expect((await getTrace(traceId))!.searchAssessments({ name: "q" })).toEqual([]);
  });
});
