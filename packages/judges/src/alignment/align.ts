/**
 * `judge.align(traces, optimizer?, options?)`: extract the labelled examples, split them
 * (stratified, seeded), measure the judge on the held-out part, run the optimizer on the
 * training part, measure the aligned judge on the same held-out part, and return the aligned
 * judge with its report. Added to Judge.prototype the way judge.ts documents, so every judge,
 * existing ones included, has it once this module is loaded.
 */
import { GavelConfigError } from "../errors.js";
import { Judge } from "../judge.js";
import { buildReport, statsOf } from "./report.js";
import { DEFAULT_CONCURRENCY, mapLimit, runJudge, UsageMeter } from "./run.js";
import { SIMBAAlignmentOptimizer } from "./simba.js";
import { DEFAULT_HELD_OUT_FRACTION, stratifiedSplit } from "./split.js";
import { describeSkips, extractTrainingSet } from "./training-set.js";
import type { AlignmentExample, AlignmentOptimizer, AlignmentPhase, AlignmentReport, AlignOptions, OptimizerContext } from "./types.js";

export const DEFAULT_ALIGNMENT_SEED = 42;

/** The report of an aligned judge, typed. */
export function alignmentReportOf(judge: Judge): AlignmentReport | undefined {
  const r = judge.alignmentReport;
  return r && typeof r === "object" ? (r as AlignmentReport) : undefined;
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
  const usage = { optimizer: new UsageMeter(), evaluation: new UsageMeter() };
  const progress = (phase: AlignmentPhase, message: string, extra: { step?: number; totalSteps?: number } = {}) =>
    options.onProgress?.({
      phase,
      message,
      ...extra,
      llmCalls: usage.optimizer.calls + usage.evaluation.calls,
      elapsedMs: Math.round(performance.now() - started),
    });

  // Prepare: examples and split.
  const set = extractTrainingSet(judge, traces);
  const min = Math.max(1, optimizer.minExamples ?? 1);
  const skipNote = set.examples.length < set.total ? `Skipped ${set.total - set.examples.length} of ${set.total} traces: ${describeSkips(set, judge.name)}.` : undefined;
  if (set.examples.length < min) {
    throw new GavelConfigError(
      `Need at least ${min} trace${min === 1 ? "" : "s"} (have ${set.examples.length}) with a valid human "${judge.name}" label to align with ${optimizer.name}.` +
        (skipNote ? ` ${skipNote}` : ""),
    );
  }
  const split = stratifiedSplit(set.examples, (e) => e.label, { fraction, seed, minTrain: min });
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
  let aligned = result.judge;
  if (!(aligned instanceof Judge)) throw new Error(`${optimizer.name}.align() did not return a Judge.`);
  if (aligned.templateVariables.join(",") !== judge.templateVariables.join(",")) {
    throw new Error(
      `${optimizer.name} changed the judge's template variables (${judge.templateVariables.join(", ")} → ${aligned.templateVariables.join(", ")}); an aligned judge must take the same arguments.`,
    );
  }
  // The report rides on the returned object: never on the caller's judge.
  if (aligned === judge) aligned = judge.clone();

  // After: the aligned judge on the same held-out split.
  progress("evaluate", `Measuring the aligned judge on ${split.heldOut.length} held-out examples`);
  const afterRuns = await mapLimit(split.heldOut, concurrency, (ex) => runJudge(aligned, ex, recordEval, signal), signal);

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
    after: statsOf(aligned, split.heldOut, afterRuns),
    usage: { optimizer: usage.optimizer.toJSON(), evaluation: usage.evaluation.toJSON() },
    wallTimeMs: performance.now() - started,
    result,
    ...(skipNote ? { skipNote } : {}),
  });
  Object.defineProperty(aligned, "alignmentReport", { value: report, enumerable: false, writable: false, configurable: true });
  progress("done", `Agreement ${(100 * report.before.agreement).toFixed(1)}% → ${(100 * report.after.agreement).toFixed(1)}% on ${report.after.n} examples`);
  return aligned;
}

Judge.prototype.align = function align(this: Judge, traces: readonly AlignmentExample[], optimizer?: AlignmentOptimizer, options?: AlignOptions) {
  return alignJudge(this, traces, optimizer, options);
};

// Judges that were not produced by align() have no report. The SDK's registry may define its
// own getter (for registered versions); an aligned judge's own property shadows both.
if (!Object.getOwnPropertyDescriptor(Judge.prototype, "alignmentReport")) {
  Object.defineProperty(Judge.prototype, "alignmentReport", { get: () => undefined, configurable: true });
}

export type { AlignmentReport };
