/**
 * The alignment report: sizes, the split, agreement / kappa / confusion before and after on
 * the held-out split, LLM usage, wall time and the instruction diff. Plain JSON, so it can be
 * stored with the registered judge version as is.
 */
import type { Judge } from "../judge.js";
import { isCategories } from "../value-type.js";
import { unifiedDiff } from "./diff.js";
import { agreementStats, predictionLabel } from "./metrics.js";
import type { JudgeRun } from "./run.js";
import type { AgreementStats, AlignmentReport, LlmUsage, OptimizerResult, RetrievalCounts, TrainingExample, TrainingSet } from "./types.js";

export function statsOf(judge: Judge, examples: readonly TrainingExample[], runs: readonly JudgeRun[]): AgreementStats {
  const t = judge.feedbackValueType;
  return agreementStats(
    examples.map((e) => e.label),
    runs.map((r) => (r.error ? null : predictionLabel(r.prediction))),
    isCategories(t) ? t : t === "boolean" ? ["true", "false"] : undefined,
  );
}

export interface ReportInput {
  optimizer: { name: string; settings?: Record<string, unknown> };
  judge: Judge;
  seed: number;
  set: TrainingSet;
  split: { train: number; heldOut: number; stratified: boolean; heldOutFraction: number; note?: string };
  before: AgreementStats;
  after: AgreementStats;
  retrieval: { before: RetrievalCounts; after: RetrievalCounts };
  usage: { optimizer: LlmUsage; evaluation: LlmUsage; retrain: LlmUsage };
  wallTimeMs: number;
  /** The optimizer's run on the training split (the measured judge). */
  result: OptimizerResult;
  /** The judge align() returns. */
  returned: Judge;
  retrained?: { result: OptimizerResult; examples: number };
  skipNote?: string;
}

const sum = (a: LlmUsage, b: LlmUsage): LlmUsage => ({
  calls: a.calls + b.calls,
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
});

export function buildReport(r: ReportInput): AlignmentReport {
  const last = r.retrained?.result ?? r.result;
  const newText = last.effectiveInstructions ?? r.returned.instructions;
  const retrainNote = r.retrained
    ? `The returned judge was retrained on all ${r.retrained.examples} labelled examples after the measurement; "after" describes the judge trained on the ${r.split.train} training examples only.`
    : undefined;
  const notes = [r.skipNote, r.split.note, r.result.note, retrainNote, r.retrained?.result.note !== r.result.note ? r.retrained?.result.note : undefined].filter(
    (x): x is string => !!x,
  );
  const hasRetrieval = (c: RetrievalCounts) => Object.keys(c).length > 0;
  return {
    optimizer: r.optimizer.name,
    ...(r.optimizer.settings ? { optimizerSettings: r.optimizer.settings } : {}),
    judge: { name: r.judge.name, model: r.judge.model },
    seed: r.seed,
    examples: { total: r.set.total, used: r.set.examples.length, skipped: { ...r.set.skipped } },
    split: r.split,
    before: r.before,
    after: r.after,
    returned: r.retrained ? "retrained" : "measured",
    ...(r.retrained
      ? {
          retrained: {
            examples: r.retrained.examples,
            ...(r.retrained.result.details ? { details: r.retrained.result.details } : {}),
            ...(r.retrained.result.note ? { note: r.retrained.result.note } : {}),
          },
        }
      : {}),
    ...(hasRetrieval(r.retrieval.before) || hasRetrieval(r.retrieval.after) ? { retrieval: r.retrieval } : {}),
    llm: {
      ...sum(sum(r.usage.optimizer, r.usage.evaluation), r.usage.retrain),
      optimizer: { ...r.usage.optimizer },
      evaluation: { ...r.usage.evaluation },
      retrain: { ...r.usage.retrain },
    },
    wallTimeMs: Math.round(r.wallTimeMs),
    instructionDiff: unifiedDiff(r.judge.instructions, newText),
    ...(r.result.details ? { details: r.result.details } : {}),
    ...(notes.length > 0 ? { note: notes.join(" ") } : {}),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const kap = (k: number | null) => (k === null ? "n/a" : k.toFixed(3));

/** A few lines for a terminal: sizes, before → after, cost. */
export function formatReport(report: AlignmentReport): string {
  const lines = [
    `${report.optimizer} alignment of "${report.judge.name}" (${report.judge.model}), seed ${report.seed}`,
    `examples: ${report.examples.used} used of ${report.examples.total} (skipped: ${report.examples.skipped.noLabel} without label, ${report.examples.skipped.missingField} missing a field${report.examples.skipped.duplicate ? `, ${report.examples.skipped.duplicate} duplicates` : ""})`,
    `split: ${report.split.train} train / ${report.split.heldOut} held out${report.split.stratified ? " (stratified)" : " (no split: measured on all data)"}`,
    `held-out agreement: ${pct(report.before.agreement)} → ${pct(report.after.agreement)}; kappa: ${kap(report.before.kappa)} → ${kap(report.after.kappa)}`,
    report.returned === "retrained"
      ? `returned: the judge retrained on all ${report.retrained?.examples ?? report.examples.used} labelled examples (the figures above are of the judge trained on the ${report.split.train} training examples)`
      : "returned: the judge measured above",
    `LLM: ${report.llm.calls} calls, ${report.llm.inputTokens} input + ${report.llm.outputTokens} output tokens; ${(report.wallTimeMs / 1000).toFixed(1)} s`,
  ];
  if (report.note) lines.push(`note: ${report.note}`);
  return lines.join("\n");
}
