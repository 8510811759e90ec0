/**
 * Running a judge over training examples: bounded concurrency, usage accounting, and the
 * agreement metric. Results are always returned in input order, so concurrency never changes
 * what the optimizers see (seeded determinism).
 */
import type { Feedback, FeedbackValue } from "../assessment.js";
import { GavelConfigError } from "../errors.js";
import type { Judge, JudgeCallArgs } from "../judge.js";
import { agreementScore } from "./metrics.js";
import type { LlmUsage, TrainingExample } from "./types.js";

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

/** LLM usage of one judge call, from its Feedback metadata (MemAlign adds its embedding calls). */
export function usageOfFeedback(fb: Feedback): LlmUsage {
  const m = fb.metadata ?? {};
  return {
    calls: num(m["llmCalls"]) + num(m["embeddingCalls"]),
    inputTokens: num(m["inputTokens"]) + num(m["embeddingTokens"]),
    outputTokens: num(m["outputTokens"]),
  };
}

export interface JudgeRun {
  /** The judge's value; null when the call failed. */
  prediction: FeedbackValue;
  rationale: string;
  /** Agreement with the human label: 1 or 0 (a failure scores 0). */
  score: number;
  error?: { code: string; message: string };
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return (signal?.aborted ?? false) || (err instanceof Error && (err.name === "AbortError" || (err as { code?: unknown }).code === "ABORTED"));
}

/**
 * One judge call scored against the example's label. A failure scores 0 (SIMBA's rule), except
 * an abort and a configuration error (missing key, bad model URI): those would score every
 * call 0 and produce a meaningless alignment, so they stop it.
 */
export async function runJudge(
  judge: Judge,
  example: TrainingExample,
  record: (u: Partial<LlmUsage>) => void,
  signal?: AbortSignal,
): Promise<JudgeRun> {
  try {
    const fb = await judge(judgeArgs(example), signal ? { signal } : {});
    record(usageOfFeedback(fb));
    if (fb.error) return { prediction: null, rationale: "", score: 0, error: fb.error };
    return { prediction: fb.value, rationale: fb.rationale ?? "", score: agreementScore(fb.value, example.label) };
  } catch (err) {
    if (isAbort(err, signal) || err instanceof GavelConfigError) throw err;
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
