/**
 * Code scorers: plain functions that score a row, as MLflow's `@scorer`. Like a Judge, a code
 * scorer is callable and answers a Feedback, so evaluate() treats both alike.
 */
import { AssessmentSourceType, type Feedback, type FeedbackValue } from "@gavel/judges";
import type { Trace } from "./trace-object.js";

export interface CodeScorerArgs {
  inputs: unknown;
  outputs: unknown;
  /** The row's expectations, or the trace's expectation assessments by name. */
  expectations: Record<string, unknown> | undefined;
  /**
   * The row's trace, to look at spans such as tool calls: its own, the one evaluate() made, or
   * predictFn's read back from the collector (undefined if it was not readable within 10 s).
   */
  trace: Trace | undefined;
}

/** What a code scorer's function may return. */
export type CodeScorerResult =
  | FeedbackValue
  | { value: FeedbackValue; rationale?: string; metadata?: Record<string, unknown>; error?: { code: string; message: string } };

export interface CodeScorerConfig {
  /** The assessment name, and the `<name>/…` prefix of evaluate()'s metrics and columns. */
  name: string;
  fn: (args: CodeScorerArgs) => CodeScorerResult | Promise<CodeScorerResult>;
  description?: string;
}

export interface CodeScorer {
  (args: Partial<CodeScorerArgs>): Promise<Feedback>;
  readonly name: string;
  readonly description: string | undefined;
  readonly fn: CodeScorerConfig["fn"];
}

const CODE_SCORER = Symbol.for("gavel.codeScorer");

export function isCodeScorer(x: unknown): x is CodeScorer {
  return typeof x === "function" && (x as unknown as Record<symbol, unknown>)[CODE_SCORER] === true;
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined (did the function forget to return?)";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `an object without "value" (${JSON.stringify(Object.keys(v as object)).slice(0, 80)})`;
  return `a ${typeof v}`;
}

function isValue(v: unknown): v is FeedbackValue {
  return v === null || typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/**
 * The Feedback for what a code scorer returned: a value, or `{ value, rationale?, metadata? }`
 * (a Feedback fits too). Anything else is an error Feedback that says what to return.
 */
export function feedbackFromResult(name: string, result: unknown): Feedback {
  const source = { sourceType: AssessmentSourceType.CODE, sourceId: name };
  if (isValue(result)) return { name, value: result, source, metadata: {} };
  if (result !== null && typeof result === "object" && !Array.isArray(result) && "value" in result) {
    const r = result as { value: unknown; rationale?: unknown; metadata?: unknown; error?: unknown };
    const rationale = typeof r.rationale === "string" && r.rationale !== "" ? r.rationale : undefined;
    const metadata = r.metadata !== null && typeof r.metadata === "object" && !Array.isArray(r.metadata) ? (r.metadata as Record<string, unknown>) : {};
    const e = r.error as { code?: unknown; message?: unknown } | undefined;
    if (e && typeof e === "object" && typeof e.message === "string") {
      return { name, value: null, source, metadata, ...(rationale ? { rationale } : {}), error: { code: typeof e.code === "string" ? e.code : "SCORER_ERROR", message: e.message } };
    }
    if (isValue(r.value)) return { name, value: r.value, source, metadata, ...(rationale ? { rationale } : {}) };
    return invalid(name, source, `"value" is ${describe(r.value)}`);
  }
  return invalid(name, source, `it returned ${describe(result)}`);
}

function invalid(name: string, source: Feedback["source"], why: string): Feedback {
  return {
    name,
    value: null,
    source,
    metadata: {},
    error: {
      code: "INVALID_VALUE",
      message: `Scorer "${name}" gave no usable value: ${why}. Return a number, boolean, string or null, or { value, rationale? }.`,
    },
  };
}

/** The Feedback for an error thrown by a scorer, so it is recorded on its row. */
export function feedbackFromError(name: string, err: unknown, sourceType: Feedback["source"]["sourceType"] = AssessmentSourceType.CODE, sourceId = name): Feedback {
  const message = err instanceof Error ? `${err.name === "Error" ? "" : `${err.name}: `}${err.message}` : String(err);
  return { name, value: null, source: { sourceType, sourceId }, metadata: {}, error: { code: "SCORER_ERROR", message } };
}

/**
 * A code scorer: `scorer({ name: "has_next_steps", fn: ({ outputs }) => String(outputs).includes("next") })`.
 * The function gets `{ inputs, outputs, expectations, trace }` and returns a number, boolean,
 * string, or `{ value, rationale? }`; may be async. Calling the scorer never throws for the
 * function's own errors: they come back as a Feedback with `error`, as a judge's do.
 */
export function scorer(config: CodeScorerConfig): CodeScorer {
  if (!config || typeof config !== "object") throw new Error('scorer() needs { name, fn }, e.g. scorer({ name: "exact_match", fn: ({ outputs, expectations }) => … }).');
  const name = typeof config.name === "string" ? config.name.trim() : "";
  if (name === "") throw new Error('scorer(): "name" is required (a non-empty string, e.g. "exact_match"); it names the assessment and the metrics.');
  if (typeof config.fn !== "function") throw new Error(`scorer "${name}": "fn" must be a function ({ inputs, outputs, expectations, trace }) => value.`);
  const fn = config.fn;
  const self = async function codeScorer(args: Partial<CodeScorerArgs>): Promise<Feedback> {
    let result: unknown;
    try {
      result = await fn({ inputs: args?.inputs, outputs: args?.outputs, expectations: args?.expectations, trace: args?.trace });
    } catch (err) {
      return feedbackFromError(name, err);
    }
    return feedbackFromResult(name, result);
  };
  Object.defineProperties(self, {
    name: { value: name, configurable: true },
    description: { value: config.description, enumerable: true },
    fn: { value: fn, enumerable: true },
    [CODE_SCORER]: { value: true },
  });
  return self as unknown as CodeScorer;
}
