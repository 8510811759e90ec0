/**
 * Running a judge over training examples: bounded concurrency, usage accounting, and the
 * agreement metric. Results are always returned in input order, so concurrency never changes
 * what the optimizers see (seeded determinism).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Feedback, FeedbackValue } from "../assessment.js";
import { GavelConfigError, LLMError } from "../errors.js";
import type { Judge, JudgeCallArgs } from "../judge.js";
import { agreementScore } from "./metrics.js";
import type { LlmUsage, RetrievalCounts, TrainingExample } from "./types.js";

/**
 * The trace an alignment is judging right now. A judge that retrieves labelled examples
 * (MemAlign) must never retrieve this one: its label is the answer being measured.
 */
const judging = new AsyncLocalStorage<string>();

/** The trace id of the example an alignment is judging in this async context, if any. */
export function exampleBeingJudged(): string | undefined {
  return judging.getStore();
}

export const DEFAULT_CONCURRENCY = 16;

/** `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const width = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out;
}

export function judgeArgs(example: TrainingExample): JudgeCallArgs {
  const f = example.fields;
  return {
    ...(f.inputs !== undefined ? { inputs: f.inputs } : {}),
    ...(f.outputs !== undefined ? { outputs: f.outputs } : {}),
    ...(f.expectations !== undefined ? { expectations: f.expectations } : {}),
    ...(f.trace !== undefined ? { trace: f.trace as JudgeCallArgs["trace"] } : {}),
  };
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** LLM usage of one judge call, from its Feedback's usage (MemAlign adds its embedding calls). */
export function usageOfFeedback(fb: Feedback): LlmUsage {
  const u = fb.usage;
  if (!u) return { calls: 0, inputTokens: 0, outputTokens: 0 };
  return {
    calls: num(u.llmCalls) + num(u.embeddingCalls),
    inputTokens: num(u.inputTokens) + num(u.embeddingTokens),
    outputTokens: num(u.outputTokens),
  };
}

export interface JudgeRun {
  /** The judge's value; null when the call failed. */
  prediction: FeedbackValue;
  rationale: string;
  /** Agreement with the human label: 1 or 0 (a failure scores 0). */
  score: number;
  error?: { code: string; message: string };
  /** How a MemAlign judge retrieved its examples for this call. */
  retrieval?: "embedding" | "lexical";
}

/** Runs by retrieval mode, e.g. { embedding: 38, lexical: 2 }; {} when no run retrieved. */
export function retrievalCounts(runs: readonly JudgeRun[]): RetrievalCounts {
  const out: RetrievalCounts = {};
  for (const r of runs) if (r.retrieval) out[r.retrieval] = (out[r.retrieval] ?? 0) + 1;
  return out;
}

/**
 * Errors that would make every judge call of an alignment fail the same way (a missing key, an
 * unknown provider, a refused API key): they stop the alignment instead of scoring 0.
 */
export function isFatalAlignmentError(err: unknown): boolean {
  return err instanceof GavelConfigError || (err instanceof LLMError && err.code === "AUTH");
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return (signal?.aborted ?? false) || (err instanceof Error && (err.name === "AbortError" || (err as { code?: unknown }).code === "ABORTED"));
}

/**
 * One judge call scored against the example's label. A failure scores 0 (SIMBA's rule), except
 * an abort, a configuration error (missing key, bad model URI) and an authentication error
 * (401/403): those would score every call 0 and produce a meaningless alignment, so they stop it.
 * The example's own trace is never retrieved as a precedent (see exampleBeingJudged).
 */
export async function runJudge(
  judge: Judge,
  example: TrainingExample,
  record: (u: Partial<LlmUsage>) => void,
  signal?: AbortSignal,
): Promise<JudgeRun> {
  try {
    const fb = await judging.run(example.traceId, () => judge(judgeArgs(example), signal ? { signal } : {}));
    record(usageOfFeedback(fb));
    const retrieval = fb.usage?.retrieval ? { retrieval: fb.usage.retrieval } : {};
    if (fb.error) {
      if (fb.error.code === "AUTH") throw new LLMError("AUTH", `Judge "${judge.name}" (${judge.model}): ${fb.error.message}`);
      return { prediction: null, rationale: "", score: 0, error: fb.error, ...retrieval };
    }
    return { prediction: fb.value, rationale: fb.rationale ?? "", score: agreementScore(fb.value, example.label), ...retrieval };
  } catch (err) {
    if (isAbort(err, signal) || isFatalAlignmentError(err)) throw err;
    return { prediction: null, rationale: "", score: 0, error: { code: "EXCEPTION", message: err instanceof Error ? err.message : String(err) } };
  }
}

export class UsageMeter implements LlmUsage {
  calls = 0;
  inputTokens = 0;
  outputTokens = 0;

  add(u: Partial<LlmUsage>): void {
    this.calls += u.calls ?? 0;
    this.inputTokens += u.inputTokens ?? 0;
    this.outputTokens += u.outputTokens ?? 0;
  }

  toJSON(): LlmUsage {
    return { calls: this.calls, inputTokens: this.inputTokens, outputTokens: this.outputTokens };
  }
}
