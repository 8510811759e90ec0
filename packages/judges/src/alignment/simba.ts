/**
 * SIMBA (Stochastic Introspective Mini-Batch Ascent), ported from the description in
 * DSPy's documentation of its SIMBA optimizer, step by step:
 *
 *  1. mini-batch: the trainset indices are shuffled once and consumed `batchSize` at a time,
 *     reshuffled when the next slice would run past the end;
 *  2. trajectories: `numCandidates` model settings × the batch, each run by a program
 *     softmax-sampled from the top programs (plus the baseline);
 *  3. buckets: one per example, sorted by (max − min, max, max − mean) descending, plus the
 *     batch's 10th/90th percentile scores;
 *  4. new candidates: copy a sampled program, drop some demos, apply append-a-demo or
 *     append-a-rule (a skip still yields the copy; only an exception discards it);
 *  5. score the candidates on the batch; the best joins `winning`, all join the pool;
 *  final: evenly spaced winners (Python round-half-even) are scored on the whole trainset,
 *  the earliest best wins (so the baseline wins ties).
 *
 * Deviations, on purpose:
 * - Model settings 2..n run the judge at temperature `rolloutTemperature` (default 1.0);
 *   MLflow's integration never passes it to the judge call. Set it to null for MLflow's
 *   behaviour. There are no rollout ids: Gavel has no response cache to defeat.
 * - Judge calls within a phase run concurrently (bounded); all random draws are made up front,
 *   in DSPy's order, and results are read back by index, so concurrency cannot change a result.
 * - Step 4 applies the strategies of as many buckets as are still needed concurrently; this
 *   yields exactly the candidates DSPy's sequential loop would (the strategies draw no
 *   random numbers and only an exception makes the loop go on to another bucket).
 * - The OfferFeedback trajectories show each field cut at `feedbackFieldMaxlen` characters.
 */
import { GavelConfigError } from "../errors.js";
import type { Judge } from "../judge.js";
import type { TemplateVariable } from "../template.js";
import { JUDGE_MODULE, offerFeedback, type FeedbackTrajectory } from "./offer-feedback.js";
import { demoFrom, neutraliseTemplate, programJudge, renderField, renderInstructions, type Demo, type Program } from "./program.js";
import { percentile, roundHalfEven, SeededRandom } from "./rng.js";
import { mapLimit, runJudge, type JudgeRun } from "./run.js";
import type { AlignmentOptimizer, LlmUsage, OptimizerContext, OptimizerResult, TrainingExample } from "./types.js";

export interface SIMBAOptions {
  /** Model that writes the rules (OfferFeedback), `provider:/model`. Default: the judge's model. */
  model?: string;
  /** Mini-batch size. Default 10 (MLflow's; DSPy's own default is 32). */
  batchSize?: number;
  /** Model settings per step, and candidates per step minus one. Default 6. */
  numCandidates?: number;
  /** Steps. Default 8. */
  maxSteps?: number;
  /** Demos a program may keep; 0 disables append-a-demo. Default 4. */
  maxDemos?: number;
  /** Softmax temperature when sampling programs for trajectories. Default 0.2. */
  temperatureForSampling?: number;
  /** Softmax temperature when sampling the source program of a candidate. Default 0.2. */
  temperatureForCandidates?: number;
  /** Demo fields longer than this are cut and marked truncated. Default 100000. */
  demoInputFieldMaxlen?: number;
  /** Seed; default the align() seed, else 42 (MLflow's). */
  seed?: number;
  /** Judge temperature for model settings 2..numCandidates; null keeps the judge's own. Default 1.0. */
  rolloutTemperature?: number | null;
  /** Fields longer than this are cut in the OfferFeedback prompt. Default 20000. */
  feedbackFieldMaxlen?: number;
}

export const SIMBA_DEFAULTS = {
  batchSize: 10,
  numCandidates: 6,
  maxSteps: 8,
  maxDemos: 4,
  temperatureForSampling: 0.2,
  temperatureForCandidates: 0.2,
  demoInputFieldMaxlen: 100_000,
  seed: 42,
  rolloutTemperature: 1.0,
  feedbackFieldMaxlen: 20_000,
  minExamples: 10,
} as const;

type Strategy = "append_a_demo" | "append_a_rule";

interface PoolEntry {
  idx: number;
  /** The program it was copied from (-1 for the baseline). */
  source: number;
  program: Program;
  scores: number[];
}

/** One judge run of step 2, as the buckets hold it. */
export interface Trajectory {
  /** Example position in the batch. */
  example: number;
  /** Model setting (0 = the base model). */
  setting: number;
  program: number;
  run: JudgeRun;
  score: number;
}

export interface BucketStats {
  maxToMin: number;
  max: number;
  maxToAvg: number;
}

/** Step 3: one bucket per example, its runs sorted by score (stable), buckets by (max−min, max, max−avg) descending (stable). */
export function sortBuckets<T extends { score: number }>(runs: readonly T[], batchLength: number): { runs: T[]; stats: BucketStats; example: number }[] {
  const buckets = [];
  for (let e = 0; e < batchLength; e++) {
    const bucket: T[] = [];
    for (let i = e; i < runs.length; i += batchLength) bucket.push(runs[i]!);
    bucket.sort((a, b) => b.score - a.score);
    const max = bucket[0]!.score;
    const min = bucket[bucket.length - 1]!.score;
    const avg = bucket.reduce((s, r) => s + r.score, 0) / bucket.length;
    buckets.push({ runs: bucket, stats: { maxToMin: max - min, max, maxToAvg: max - avg }, example: e });
  }
  buckets.sort((a, b) => b.stats.maxToMin - a.stats.maxToMin || b.stats.max - a.stats.max || b.stats.maxToAvg - a.stats.maxToAvg);
  return buckets;
}

/** Programs sorted by average score, first k; the baseline (0) takes the last slot if missing; no duplicates. */
export function topKPlusBaseline(pool: readonly { idx: number; scores: readonly number[] }[], k: number): number[] {
  const sorted = [...pool].sort((a, b) => average(b.scores) - average(a.scores));
  const top = sorted.slice(0, k).map((p) => p.idx);
  if (top.length > 0 && !top.includes(0)) top[top.length - 1] = 0;
  return [...new Set(top)];
}

/** Softmax sample of a program index by average score at `temperature`; uniform when the weights sum to 0. */
export function softmaxSample(rng: SeededRandom, idxs: readonly number[], averageOf: (idx: number) => number, temperature: number): number {
  if (idxs.length === 0) throw new Error("softmaxSample: no programs to sample from");
  const weights = idxs.map((i) => Math.exp(averageOf(i) / temperature));
  const sum = weights.reduce((s, w) => s + w, 0);
  if (!(sum > 0) || !Number.isFinite(sum)) return rng.choice(idxs);
  return rng.weightedChoice(idxs, weights);
}

/** The final selection: indices round(i·M/(N−1)) into `winning`, Python rounding, no duplicates. */
export function finalSelectionIndices(winningCount: number, numCandidates: number): number[] {
  const M = winningCount - 1;
  const N = numCandidates + 1;
  if (M < 1) return [0];
  const idxs: number[] = [];
  for (let i = 0; i < N; i++) idxs.push(roundHalfEven((i * M) / (N - 1)));
  return [...new Set(idxs)];
}

/** How many demos to drop, and which (indices drawn with replacement, as DSPy does). */
export function demosToDrop(rng: SeededRandom, rngPoisson: SeededRandom, numDemos: number, maxDemos: number): Set<number> {
  const maxDemosTmp = maxDemos > 0 ? maxDemos : 3;
  let drop = Math.max(rngPoisson.poisson(numDemos / maxDemosTmp), numDemos >= maxDemosTmp ? 1 : 0);
  drop = Math.min(drop, numDemos);
  const out = new Set<number>();
  for (let i = 0; i < drop; i++) out.add(rng.randrange(numDemos));
  return out;
}

function average(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** What step 4 did with one bucket (kept in the result's details, and what the tests check). */
export interface CandidateLog {
  /** Trace id of the bucket's example. */
  traceId: string;
  bucket: BucketStats;
  source: number;
  droppedDemos: number;
  strategy: Strategy;
  outcome: "demo" | "rule" | "skipped" | "error";
  reason?: string;
  /** The candidate's pool index and mini-batch score, when it was kept. */
  program?: number;
  score?: number;
}

export interface StepLog {
  step: number;
  batch: string[];
  p10: number;
  p90: number;
  /** The trace ids of the buckets in processing order. */
  bucketOrder: string[];
  candidates: CandidateLog[];
  /** Pool index of the candidate that joined `winning` (none when every strategy failed). */
  winner?: number;
}

export interface SIMBADetails {
  seed: number;
  steps: StepLog[];
  /** Pool indices of `winning`, in order (0 is the baseline). */
  winning: number[];
  /** Every program in the pool: where it came from, what it has, its mini-batch score. */
  programs: { program: number; source: number; rules: number; demos: number; score: number }[];
  finalists: { winning: number; program: number; score: number }[];
  chosen: { program: number; score: number; rules: number; demos: number };
  rolloutTemperature: number | null;
}

export class SIMBAAlignmentOptimizer implements AlignmentOptimizer {
  readonly name = "SIMBA";
  readonly minExamples = SIMBA_DEFAULTS.minExamples;
  readonly options: Readonly<SIMBAOptions>;

  constructor(options: SIMBAOptions = {}) {
    const positiveInt = (k: keyof SIMBAOptions, min: number) => {
      const v = options[k];
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < min)) {
        throw new GavelConfigError(`SIMBAAlignmentOptimizer: "${k}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}.`);
      }
    };
    positiveInt("batchSize", 1);
    positiveInt("numCandidates", 1);
    positiveInt("maxSteps", 0);
    positiveInt("maxDemos", 0);
    for (const k of ["temperatureForSampling", "temperatureForCandidates"] as const) {
      const v = options[k];
      if (v !== undefined && !(typeof v === "number" && v > 0)) throw new GavelConfigError(`SIMBAAlignmentOptimizer: "${k}" must be a positive number.`);
    }
    this.options = Object.freeze({ ...options });
  }

  get seed(): number | undefined {
    return this.options.seed;
  }

  describe(): Record<string, unknown> {
    const o = this.options;
    return {
      ...(o.model !== undefined ? { model: o.model } : {}),
      batchSize: o.batchSize ?? SIMBA_DEFAULTS.batchSize,
      numCandidates: o.numCandidates ?? SIMBA_DEFAULTS.numCandidates,
      maxSteps: o.maxSteps ?? SIMBA_DEFAULTS.maxSteps,
      maxDemos: o.maxDemos ?? SIMBA_DEFAULTS.maxDemos,
      temperatureForSampling: o.temperatureForSampling ?? SIMBA_DEFAULTS.temperatureForSampling,
      temperatureForCandidates: o.temperatureForCandidates ?? SIMBA_DEFAULTS.temperatureForCandidates,
      rolloutTemperature: o.rolloutTemperature === undefined ? SIMBA_DEFAULTS.rolloutTemperature : o.rolloutTemperature,
    };
  }

  async align(judge: Judge, trainset: readonly TrainingExample[], ctx: OptimizerContext): Promise<OptimizerResult> {
    const o = this.options;
    const bsize = o.batchSize ?? SIMBA_DEFAULTS.batchSize;
    const numCandidates = o.numCandidates ?? SIMBA_DEFAULTS.numCandidates;
    const maxSteps = o.maxSteps ?? SIMBA_DEFAULTS.maxSteps;
    const maxDemos = o.maxDemos ?? SIMBA_DEFAULTS.maxDemos;
    const tSampling = o.temperatureForSampling ?? SIMBA_DEFAULTS.temperatureForSampling;
    const tCandidates = o.temperatureForCandidates ?? SIMBA_DEFAULTS.temperatureForCandidates;
    const demoMaxlen = o.demoInputFieldMaxlen ?? SIMBA_DEFAULTS.demoInputFieldMaxlen;
    const feedbackMaxlen = o.feedbackFieldMaxlen ?? SIMBA_DEFAULTS.feedbackFieldMaxlen;
    const rolloutTemperature = o.rolloutTemperature === undefined ? SIMBA_DEFAULTS.rolloutTemperature : o.rolloutTemperature;
    const optimizerModel = o.model ?? judge.model;
    const seed = o.seed ?? ctx.seed;
    if (trainset.length < this.minExamples) {
      throw new GavelConfigError(`Need at least ${this.minExamples} traces (have ${trainset.length}) to align "${judge.name}" with SIMBA.`);
    }
    const strategies: Strategy[] = maxDemos > 0 ? ["append_a_demo", "append_a_rule"] : ["append_a_rule"];
    const rng = new SeededRandom(seed);
    // numpy's generator in DSPy: a separate stream, so Poisson draws never shift the others.
    const rngPoisson = new SeededRandom(seed).fork("poisson");
    const record = (u: Partial<LlmUsage>) => ctx.record(u);
    const signal = ctx.signal;

    const pool: PoolEntry[] = [{ idx: 0, source: -1, program: { instructions: judge.instructions, rules: [], demos: [] }, scores: [] }];
    const avgOf = (idx: number) => average(pool[idx]!.scores);
    const winning: number[] = [0];
    const judges = new Map<string, Judge>();
    const judgeFor = (idx: number, setting: number): Judge => {
      const key = `${idx}:${setting}`;
      let j = judges.get(key);
      if (!j) {
        const params = setting > 0 && rolloutTemperature !== null ? { ...(judge.inferenceParams ?? {}), temperature: rolloutTemperature } : undefined;
        j = idx === 0 && params === undefined ? judge : programJudge(judge, pool[idx]!.program, params);
        judges.set(key, j);
      }
      return j;
    };
    const fieldsText = (ex: TrainingExample): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(ex.fields) as [TemplateVariable, unknown][]) out[k] = renderField(k, v, feedbackMaxlen).text;
      return out;
    };

    const n = trainset.length;
    const dataIndices = rng.shuffle([...Array(n).keys()]);
    let instanceIdx = 0;
    const steps: StepLog[] = [];

    for (let step = 0; step < maxSteps; step++) {
      signal?.throwIfAborted();
      // 1. Mini-batch.
      if (instanceIdx + bsize > n) {
        rng.shuffle(dataIndices);
        instanceIdx = 0;
      }
      const batch = dataIndices.slice(instanceIdx, instanceIdx + bsize).map((i) => trainset[i]!);
      instanceIdx += bsize;
      const B = batch.length;
      ctx.progress({ message: `SIMBA step ${step + 1}/${maxSteps}: sampling ${numCandidates * B} trajectories`, step: step + 1, totalSteps: maxSteps });

      // 2. Trajectories: draw every program first (DSPy's order: settings outer, examples inner).
      const top = topKPlusBaseline(pool, numCandidates);
      const plan: { setting: number; example: number; program: number }[] = [];
      for (let s = 0; s < numCandidates; s++) {
        for (let e = 0; e < B; e++) plan.push({ setting: s, example: e, program: softmaxSample(rng, top, avgOf, tSampling) });
      }
      const runs = await mapLimit(plan, ctx.concurrency, (p) => runJudge(judgeFor(p.program, p.setting), batch[p.example]!, record, signal), signal);
      const trajectories: Trajectory[] = plan.map((p, i) => ({ ...p, run: runs[i]!, score: runs[i]!.score }));

      // 3. Buckets.
      const allScores = trajectories.map((t) => t.score);
      const p10 = percentile(allScores, 10);
      const p90 = percentile(allScores, 90);
      const buckets = sortBuckets(trajectories, B);
      const log: StepLog = { step: step + 1, batch: batch.map((x) => x.traceId), p10, p90, bucketOrder: buckets.map((b) => batch[b.example]!.traceId), candidates: [] };

      // 4. New candidates.
      const candidates: { program: Program; log: CandidateLog }[] = [];
      let next = 0;
      while (candidates.length < numCandidates + 1 && next < buckets.length) {
        const wave = buckets.slice(next, next + numCandidates + 1 - candidates.length);
        next += wave.length;
        const prepared = wave.map((bucket) => {
          const source = softmaxSample(rng, topKPlusBaseline(pool, numCandidates), avgOf, tCandidates);
          const src = pool[source]!.program;
          const drop = demosToDrop(rng, rngPoisson, src.demos.length, maxDemos);
          const copy: Program = { instructions: src.instructions, rules: [...src.rules], demos: src.demos.filter((_, i) => !drop.has(i)) };
          const strategy = rng.choice(strategies);
          const entry: CandidateLog = {
            traceId: batch[bucket.example]!.traceId,
            bucket: bucket.stats,
            source,
            droppedDemos: src.demos.length - copy.demos.length,
            strategy,
            outcome: "skipped",
          };
          return { bucket, copy, strategy, entry };
        });
        const applied = await Promise.all(
          prepared.map(async ({ bucket, copy, strategy, entry }) => {
            try {
              const example = batch[bucket.example]!;
              if (strategy === "append_a_demo") {
                const r = appendADemo(bucket.runs, example, p10, demoMaxlen);
                if (r.demo) {
                  copy.demos = [...copy.demos, r.demo];
                  entry.outcome = "demo";
                } else entry.reason = r.reason;
              } else {
                const r = await this.appendARule(bucket.runs, example, copy, { judge, p10, p90, optimizerModel, fieldsText, record, signal });
                if (r.rule !== undefined) {
                  copy.instructions = `${copy.instructions}\n\n${r.rule}`;
                  copy.rules = [...copy.rules, r.rule];
                  entry.outcome = "rule";
                } else entry.reason = r.reason;
              }
              return true;
            } catch (err) {
              if (signal?.aborted) throw err;
              entry.outcome = "error";
              entry.reason = err instanceof Error ? err.message : String(err);
              return false;
            }
          }),
        );
        prepared.forEach((p, i) => {
          log.candidates.push(p.entry);
          if (applied[i]) candidates.push({ program: p.copy, log: p.entry });
        });
      }

      // 5. Score the candidates on the same mini-batch.
      if (candidates.length > 0) {
        ctx.progress({ message: `SIMBA step ${step + 1}/${maxSteps}: scoring ${candidates.length} candidates`, step: step + 1, totalSteps: maxSteps });
        const firstIdx = pool.length;
        // Register first so judgeFor can build them; scores are filled in below.
        candidates.forEach((c, k) => pool.push({ idx: firstIdx + k, source: c.log.source, program: c.program, scores: [] }));
        const pairs = candidates.flatMap((_, k) => batch.map((ex) => ({ idx: firstIdx + k, ex })));
        const evals = await mapLimit(pairs, ctx.concurrency, (p) => runJudge(judgeFor(p.idx, 0), p.ex, record, signal), signal);
        const candScores = candidates.map((_, k) => evals.slice(k * B, (k + 1) * B).map((r) => r.score));
        const avgs = candScores.map(average);
        const best = avgs.indexOf(Math.max(...avgs));
        winning.push(firstIdx + best);
        log.winner = firstIdx + best;
        candidates.forEach((c, k) => {
          pool[firstIdx + k]!.scores = candScores[k]!;
          c.log.program = firstIdx + k;
          c.log.score = avgs[k]!;
        });
      }
      steps.push(log);
    }

    // Final choice on the whole trainset.
    const picks = finalSelectionIndices(winning.length, numCandidates);
    const finalPrograms = picks.map((w) => winning[w]!);
    ctx.progress({ message: `SIMBA: scoring ${finalPrograms.length} finalists on the ${n} training examples`, step: maxSteps, totalSteps: maxSteps });
    const pairs = finalPrograms.flatMap((idx) => trainset.map((ex) => ({ idx, ex })));
    const evals = await mapLimit(pairs, ctx.concurrency, (p) => runJudge(judgeFor(p.idx, 0), p.ex, record, signal), signal);
    const finalScores = finalPrograms.map((_, k) => average(evals.slice(k * n, (k + 1) * n).map((r) => r.score)));
    const bestK = finalScores.indexOf(Math.max(...finalScores));
    const chosenIdx = finalPrograms[bestK]!;
    const chosen = pool[chosenIdx]!.program;

    const details: SIMBADetails = {
      seed,
      steps,
      winning,
      programs: pool.map((p) => ({ program: p.idx, source: p.source, rules: p.program.rules.length, demos: p.program.demos.length, score: average(p.scores) })),
      finalists: finalPrograms.map((program, k) => ({ winning: picks[k]!, program, score: finalScores[k]! })),
      chosen: { program: chosenIdx, score: finalScores[bestK]!, rules: chosen.rules.length, demos: chosen.demos.length },
      rolloutTemperature,
    };
    const instructions = renderInstructions(chosen, judge.templateVariables, judge.name);
    const aligned = judge.clone({ instructions });
    // The chosen program (rules and demos as data), for debugging; not serialised.
    Object.defineProperty(aligned, "simbaProgram", { value: { instructions: chosen.instructions, rules: chosen.rules, demos: chosen.demos }, enumerable: false, configurable: true });
    return {
      judge: aligned,
      details: details as unknown as Record<string, unknown>,
      ...(chosenIdx === 0 ? { note: "SIMBA kept the original instructions: no candidate beat them on the training set." } : {}),
    };
  }

  private async appendARule(
    runs: readonly Trajectory[],
    example: TrainingExample,
    candidate: Program,
    env: {
      judge: Judge;
      p10: number;
      p90: number;
      optimizerModel: string;
      fieldsText: (ex: TrainingExample) => Record<string, string>;
      record: (u: Partial<LlmUsage>) => void;
      signal: AbortSignal | undefined;
    },
  ): Promise<{ rule?: string; reason?: string }> {
    const good = runs[0]!;
    const bad = runs[runs.length - 1]!;
    if (good.score <= env.p10 || bad.score >= env.p90) {
      return { reason: `best ${good.score} ≤ p10 ${env.p10} or worst ${bad.score} ≥ p90 ${env.p90}` };
    }
    const inputs = env.fieldsText(example);
    const toTrajectory = (t: Trajectory): FeedbackTrajectory => ({
      inputs,
      outputs: t.run.error ? null : { rationale: t.run.rationale, result: t.run.prediction },
      score: t.score,
    });
    let better = toTrajectory(good);
    let worse = toTrajectory(bad);
    const blank = (t: FeedbackTrajectory): FeedbackTrajectory => ({ inputs: t.inputs, outputs: null, score: null });
    if (good.score <= bad.score) {
      if (good.score > env.p90) worse = blank(worse);
      else better = blank(better);
    }
    const moduleInstructions = renderInstructions(candidate, env.judge.templateVariables, env.judge.name);
    try {
      const r = await offerFeedback(
        env.optimizerModel,
        { judge: env.judge, moduleInstructions, example, better, worse },
        {
          ...(env.judge.options.providers ? { providers: env.judge.options.providers } : {}),
          ...(env.judge.options.retry ? { retry: env.judge.options.retry } : {}),
          ...(env.signal ? { signal: env.signal } : {}),
        },
      );
      env.record(r.usage);
      const rule = neutraliseTemplate(r.advice).trim();
      return rule === "" ? { reason: `the optimizer model gave no advice for "${JUDGE_MODULE}"` } : { rule };
    } catch (err) {
      const usage = (err as { usage?: LlmUsage }).usage;
      env.record(usage ?? { calls: 1 });
      throw err;
    }
  }
}

function appendADemo(runs: readonly Trajectory[], example: TrainingExample, p10: number, maxLen: number): { demo?: Demo; reason?: string } {
  const good = runs[0]!;
  if (good.score <= p10) return { reason: `best score ${good.score} ≤ p10 ${p10}` };
  if (good.run.error) return { reason: "the best run failed" };
  return { demo: demoFrom(example, good.run.prediction, good.run.rationale, maxLen) };
}
