/**
 * `judge.align(traces, optimizer?, options?)`: extract the labelled examples, split them
 * (stratified, seeded; only traces the judge has never seen can be held out), measure the
 * judge on the held-out part, run the optimizer on the training part, measure that judge on the
 * same held-out part, and then, by default, run the optimizer again on every labelled example,
 * so no label is wasted. The report says which judge it describes.
 */
import { GavelConfigError } from "../errors.js";
import { attachAlignmentReport, Judge } from "../judge.js";
import { buildReport, statsOf } from "./report.js";
import { DEFAULT_CONCURRENCY, mapLimit, retrievalCounts, runJudge, UsageMeter } from "./run.js";
import { SIMBAAlignmentOptimizer } from "./simba.js";
import { DEFAULT_HELD_OUT_FRACTION, stratifiedSplit } from "./split.js";
import { describeSkips, extractTrainingSet } from "./training-set.js";
import type { AlignmentExample, AlignmentOptimizer, AlignmentPhase, AlignmentReport, AlignOptions, OptimizerContext, OptimizerResult, TrainingExample } from "./types.js";

export const DEFAULT_ALIGNMENT_SEED = 42;

/** The report of an aligned judge (the same as `judge.alignmentReport`). */
export function alignmentReportOf(judge: Judge): AlignmentReport | undefined {
  const r = judge.alignmentReport;
  return r && typeof r === "object" ? r : undefined;
}

export async function alignJudge(
  judge: Judge,
  traces: readonly AlignmentExample[],
  optimizer: AlignmentOptimizer = new SIMBAAlignmentOptimizer(),
  options: AlignOptions = {},
): Promise<Judge> {
  if (!Array.isArray(traces)) {
    throw new GavelConfigError(`judge.align() of "${judge.name}" needs an array of traces, e.g. await searchTraces({ experimentIds: [id] }).`);
  }
  if (!optimizer || typeof optimizer.align !== "function") {
    throw new GavelConfigError("judge.align(): the optimizer must implement AlignmentOptimizer (an object with align(judge, trainset, context)).");
  }
  const fraction = options.heldOutFraction ?? DEFAULT_HELD_OUT_FRACTION;
  if (!(fraction >= 0 && fraction < 1)) throw new GavelConfigError(`judge.align(): heldOutFraction must be in [0, 1), got ${fraction}.`);
  const started = performance.now();
  const seed = options.seed ?? optimizer.seed ?? DEFAULT_ALIGNMENT_SEED;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  const signal = options.signal;
  const retrain = options.retrainOnAll ?? true;
  const usage = { optimizer: new UsageMeter(), evaluation: new UsageMeter(), retrain: new UsageMeter() };
  const progress = (phase: AlignmentPhase, message: string, extra: { step?: number; totalSteps?: number } = {}) =>
    options.onProgress?.({
      phase,
      message,
      ...extra,
      llmCalls: usage.optimizer.calls + usage.evaluation.calls + usage.retrain.calls,
      elapsedMs: Math.round(performance.now() - started),
    });

  // Prepare: examples and split.
  const set = extractTrainingSet(judge, traces);
  if (options.unlabelled !== undefined && options.unlabelled > 0) {
    set.total += options.unlabelled;
    set.skipped.noLabel += options.unlabelled;
  }
  const min = Math.max(1, optimizer.minExamples ?? 1);
  const skipNote = set.examples.length < set.total ? `Skipped ${set.total - set.examples.length} of ${set.total} traces: ${describeSkips(set, judge.name)}.` : undefined;
  if (set.examples.length < min) {
    throw new GavelConfigError(
      `Need at least ${min} trace${min === 1 ? "" : "s"} (have ${set.examples.length}) with a valid human "${judge.name}" label to align with ${optimizer.name}.` +
        (skipNote ? ` ${skipNote}` : ""),
    );
  }
  // Traces the judge has already learned from (an aligned judge aligned again) never count as held out.
  const seen = judge.seenTraceIds();
  const alreadySeen = set.examples.filter((e) => seen.has(e.traceId)).length;
  const split = stratifiedSplit(set.examples, (e) => e.label, { fraction, seed, minTrain: min, ...(alreadySeen > 0 ? { eligible: (e: TrainingExample) => !seen.has(e.traceId) } : {}) });
  progress("prepare", `${set.examples.length} labelled examples: ${split.train.length} to train, ${split.stratified ? `${split.heldOut.length} held out` : "no held-out split"}`);

  // Before: the original judge on the held-out split.
  progress("baseline", `Measuring "${judge.name}" on ${split.heldOut.length} held-out examples`);
  const recordEval = (u: Parameters<UsageMeter["add"]>[0]) => usage.evaluation.add(u);
  const beforeRuns = await mapLimit(split.heldOut, concurrency, (ex) => runJudge(judge, ex, recordEval, signal), signal);

  // Optimize.
  const ctx: OptimizerContext = {
    seed,
    concurrency,
    signal,
    record: (u) => usage.optimizer.add(u),
    progress: (p) => progress("optimize", p.message, { ...(p.step !== undefined ? { step: p.step } : {}), ...(p.totalSteps !== undefined ? { totalSteps: p.totalSteps } : {}) }),
  };
  progress("optimize", `${optimizer.name}: optimizing on ${split.train.length} examples`);
  const result = await optimizer.align(judge, split.train, ctx);
  const measured = checkResult(optimizer, judge, result, split.train);

  // After: the aligned judge on the same held-out split.
  progress("evaluate", `Measuring the aligned judge on ${split.heldOut.length} held-out examples`);
  const afterRuns = await mapLimit(split.heldOut, concurrency, (ex) => runJudge(measured, ex, recordEval, signal), signal);

  // Every label used: the held-out examples train too, once they have been measured on.
  let returned = measured;
  let retrained: { result: OptimizerResult; examples: number } | undefined;
  if (retrain && split.stratified && split.heldOut.length > 0) {
    progress("retrain", `${optimizer.name}: retraining on all ${set.examples.length} labelled examples`);
    const rctx: OptimizerContext = { ...ctx, record: (u) => usage.retrain.add(u) };
    const r = optimizer.retrain ? await optimizer.retrain(judge, measured, set.examples, rctx) : await optimizer.align(judge, set.examples, rctx);
    returned = checkResult(optimizer, judge, r, set.examples);
    retrained = { result: r, examples: set.examples.length };
  }

  const report = buildReport({
    optimizer: { name: optimizer.name, ...(optimizer.describe ? { settings: optimizer.describe() } : {}) },
    judge,
    seed,
    set,
    split: {
      train: split.train.length,
      heldOut: split.heldOut.length,
      stratified: split.stratified,
      heldOutFraction: fraction,
      ...(split.note ? { note: split.note } : {}),
    },
    before: statsOf(judge, split.heldOut, beforeRuns),
    after: statsOf(measured, split.heldOut, afterRuns),
    retrieval: { before: retrievalCounts(beforeRuns), after: retrievalCounts(afterRuns) },
    usage: { optimizer: usage.optimizer.toJSON(), evaluation: usage.evaluation.toJSON(), retrain: usage.retrain.toJSON() },
    wallTimeMs: performance.now() - started,
    result,
    returned,
    ...(retrained ? { retrained } : {}),
    ...(skipNote ? { skipNote } : {}),
  });
  attachAlignmentReport(returned, report);
  progress("done", `Agreement ${(100 * report.before.agreement).toFixed(1)}% → ${(100 * report.after.agreement).toFixed(1)}% on ${report.after.n} examples`);
  return returned;
}

/**
 * Checks an optimizer's judge and gives it its lineage: the traces it was trained on join the
 * ones the input judge had seen, so a later alignment cannot hold them out. Never the caller's
 * judge object: the report rides on the returned one.
 */
function checkResult(optimizer: AlignmentOptimizer, judge: Judge, result: OptimizerResult, trainset: readonly TrainingExample[]): Judge {
  const aligned = result.judge;
  if (!(aligned instanceof Judge)) throw new Error(`${optimizer.name}.align() did not return a Judge.`);
  if (aligned.templateVariables.join(",") !== judge.templateVariables.join(",")) {
    throw new Error(
      `${optimizer.name} changed the judge's template variables (${judge.templateVariables.join(", ")} → ${aligned.templateVariables.join(", ")}); an aligned judge must take the same arguments.`,
    );
  }
  const alignedOn = [...new Set([...judge.seenTraceIds(), ...(aligned.alignedOn ?? []), ...trainset.map((e) => e.traceId)])].filter((id) => !id.startsWith("#"));
  return aligned.clone({ alignedOn });
}

export type { AlignmentReport };
