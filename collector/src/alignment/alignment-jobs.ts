import { randomBytes } from "node:crypto";
import {
  judgeFromJSON,
  MemAlignOptimizer,
  SIMBAAlignmentOptimizer,
  type AlignmentOptimizer,
  type Judge,
  type PlainLabelledTrace,
} from "@gavel/judges";
import type { Store } from "../store/store.js";
import { getScorer, registerScorer } from "../store/queries/scorers.js";
import { getSpans } from "../store/queries/traces.js";
import { AssessmentStore } from "../assessments/assessment-store.js";
import { loadTrainingSet } from "./training-set.js";
import { getAlignmentRun, listAlignmentRuns, saveAlignmentRun, type AlignmentRun } from "./alignment-runs.js";

export type OptimizerName = "simba" | "memalign";

export interface StartAlignment {
  experimentId: string;
  judgeName: string;
  /** Registered version to start from; default the latest. */
  version?: number;
  optimizer: OptimizerName;
  register: boolean;
  /** Retrain on every labelled trace after the held-out measurement (default true), as judge.align() does. */
  retrainOnAll?: boolean;
  seed?: number;
  /** Model for the optimizer's own calls (rules, reflection); default the judge's model. */
  optimizerModel?: string;
  /** SIMBA's budget knobs; defaults as in the reference (8 steps, 6 candidates, batches of 10). */
  simba?: { maxSteps?: number; numCandidates?: number; batchSize?: number; maxDemos?: number };
}

export class AlignmentRequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function makeOptimizer(req: StartAlignment): AlignmentOptimizer {
  const model = req.optimizerModel;
  if (req.optimizer === "memalign") return new MemAlignOptimizer({ ...(model ? { reflectionModel: model } : {}) });
  return new SIMBAAlignmentOptimizer({ ...req.simba, ...(model ? { model } : {}), ...(req.seed !== undefined ? { seed: req.seed } : {}) });
}

/**
 * Server-side alignment: finds the human-labelled traces in ClickHouse, runs the optimizer in
 * the collector process, stores the report with the run, and registers the aligned judge when
 * asked. Progress of running jobs is kept in memory and served over REST.
 */
export class AlignmentJobs {
  private readonly running = new Map<string, AlignmentRun>();
  private readonly assessments: AssessmentStore;

  constructor(private readonly store: Store) {
    this.assessments = new AssessmentStore(store);
  }

  async start(req: StartAlignment): Promise<AlignmentRun> {
    const scorer = await getScorer(this.store.client, req.experimentId, req.judgeName, req.version);
    if (!scorer) {
      throw new AlignmentRequestError(404, "NOT_FOUND",
        `No registered judge "${req.judgeName}"${req.version ? ` version ${req.version}` : ""} in experiment ${req.experimentId}. Register it first with judge.register({ experimentId }).`);
    }
    const run: AlignmentRun = {
      alignmentId: `al-${randomBytes(8).toString("hex")}`,
      experimentId: req.experimentId,
      judgeName: scorer.name,
      baseVersion: scorer.version,
      optimizer: req.optimizer,
      status: "RUNNING",
      progress: { phase: "prepare", message: "loading labelled traces", llmCalls: 0, elapsedMs: 0 },
      report: null,
      alignedJudge: null,
      registeredVersion: null,
      error: null,
      startedAt: Date.now(),
      endedAt: null,
    };
    await saveAlignmentRun(this.store.client, run);
    this.running.set(run.alignmentId, run);
    void this.execute(run, judgeFromJSON(scorer.judge), req).finally(() => this.running.delete(run.alignmentId));
    return run;
  }

  /**
   * The experiment's human-labelled traces with every human label on them: judge.align() votes
   * (each reviewer's newest label, then the majority) and counts what it skips, the same code as
   * client-side alignment. Traces the judge never scored are kept.
   */
  private async examples(judge: Judge, experimentId: string): Promise<{ traces: PlainLabelledTrace[]; unlabelled: number }> {
    const data = await loadTrainingSet(this.store.client, experimentId, judge.name);
    const ids = data.traces.map((r) => r.traceId);
    const vars = new Set<string>(judge.templateVariables);
    const [expectations, spans] = await Promise.all([
      vars.has("expectations") ? this.assessments.forTraces(ids) : Promise.resolve(null),
      vars.has("trace") ? getSpans(this.store.client, ids) : Promise.resolve(null),
    ]);
    const traces = data.traces.map((r) => {
      const ex: PlainLabelledTrace = { traceId: r.traceId, inputs: r.inputs, outputs: r.outputs, assessments: r.labels };
      const exp = expectations?.get(r.traceId)?.filter((a) => a.kind === "expectation" && a.valid);
      if (exp && exp.length > 0) ex.expectations = Object.fromEntries(exp.map((a) => [a.name, a.value]));
      const sp = spans?.get(r.traceId);
      if (sp) ex.trace = { info: { traceId: r.traceId }, data: { spans: sp } } as unknown as PlainLabelledTrace["trace"];
      return ex;
    });
    return { traces, unlabelled: data.unlabelled };
  }

  private async execute(run: AlignmentRun, judge: Judge, req: StartAlignment): Promise<void> {
    try {
      const examples = await this.examples(judge, req.experimentId);
      const aligned = await judge.align(examples.traces, makeOptimizer(req), {
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
        unlabelled: examples.unlabelled,
        ...(req.retrainOnAll !== undefined ? { retrainOnAll: req.retrainOnAll } : {}),
        onProgress: (p) => {
          run.progress = { phase: p.phase, message: p.message, step: p.step, totalSteps: p.totalSteps, llmCalls: p.llmCalls, elapsedMs: p.elapsedMs };
        },
      });
      run.report = (aligned.alignmentReport ?? null) as Record<string, unknown> | null;
      run.alignedJudge = aligned.toJSON() as unknown as Record<string, unknown>;
      if (req.register) {
        const registered = await registerScorer(this.store.client, {
          experimentId: req.experimentId,
          name: judge.name,
          judge: run.alignedJudge,
          report: run.report,
          alignmentRunId: run.alignmentId,
        });
        run.registeredVersion = registered.version;
      }
      run.status = "SUCCEEDED";
    } catch (err) {
      run.status = "FAILED";
      run.error = (err as Error).message ?? String(err);
    }
    run.endedAt = Date.now();
    run.progress = { ...(run.progress ?? { llmCalls: 0, elapsedMs: 0 }), phase: "done", message: run.status === "SUCCEEDED" ? "done" : `failed: ${run.error}` };
    await saveAlignmentRun(this.store.client, run).catch((e: unknown) => console.error("[gavel] could not store alignment run:", e));
  }

  async get(alignmentId: string): Promise<AlignmentRun | null> {
    return this.running.get(alignmentId) ?? (await getAlignmentRun(this.store.client, alignmentId));
  }

  async list(experimentId: string): Promise<AlignmentRun[]> {
    const stored = await listAlignmentRuns(this.store.client, experimentId);
    return stored.map((r) => this.running.get(r.alignmentId) ?? r);
  }

  /** Waits for running jobs (graceful shutdown); they keep their own errors. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
}
