/**
 * `makeJudge` and the callable `Judge`.
 *
 * A Judge is a function object: `await judge({ inputs, outputs })` scores, and it also has
 * properties (`name`, `model`, …) and methods (`toJSON`, `clone`, …). The constructor builds a
 * plain function and re-points its prototype at `new.target.prototype`, and Judge.prototype
 * itself inherits from Function.prototype, so:
 *
 * - `judge instanceof Judge` and `typeof judge === "function"` both hold;
 * - methods added to Judge.prototype are visible on every judge, existing ones included;
 * - subclasses work: `class RegisteredJudge extends Judge { version = 1 }` — `new
 *   RegisteredJudge(cfg)` is callable and its fields land on the callable.
 *
 * Everything a judge can do is declared and implemented in this class: scoring, cloning and
 * serialising here; `align` (alignment/align.ts) and the registry methods (`register`, `start`,
 * `update`, `stop`, through the client the SDK installs, see registry-client.ts) are loaded
 * lazily, so this module stays the ground floor of the package. Serialised subclasses (MemAlign)
 * register a codec with `registerJudgeCodec`, so `Judge.fromJSON` can rebuild them.
 *
 * Do not name a method `call`, `apply`, `bind`, `name` or `length`: they belong to Function.
 * Private `#fields` of Judge itself cannot be used (they would land on the discarded `this`);
 * subclasses may use them.
 */
import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
} from "@opentelemetry/api";
import { AssessmentSourceType, type Feedback, type FeedbackUsage, type FeedbackValue } from "./assessment.js";
import { complete, type CallOptions } from "./complete.js";
import { envNumber } from "./env.js";
import { GavelConfigError, LLMError, type LLMErrorCode } from "./errors.js";
import { boundedJson, captureMessageContent, GAVEL_JUDGE_ATTR, GAVEL_SPAN_TYPE_ATTR, getTracer } from "./genai.js";
import { parseModelUri } from "./model-uri.js";
import { parseJsonAnswer } from "./providers/params.js";
import { isKnownProvider, knownProviders } from "./providers/registry.js";
import type { ChatMessage, JsonSchemaSpec } from "./providers/types.js";
import type { AlignmentExample, AlignmentOptimizer, AlignmentReport, AlignOptions } from "./alignment/types.js";
import { judgeRegistryClient, type JudgeRegistryRecord, type JudgeSampling } from "./registry-client.js";
import {
  assertArguments,
  formatValue,
  parseTemplateVariables,
  TEMPLATE_VARIABLES,
  type TemplateVariable,
} from "./template.js";
import { renderTraceForJudge, traceInputsOutputs, type JudgeTrace } from "./trace-format.js";
import { describeSource, sourcesOf } from "@gavel/conventions";

/** No content to judge: absent, null, blank text, or an empty list or object. */
function isEmptyContent(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === "string") return v.trim() === "";
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/** A trace counts as content when it has spans, or an info with inputs or outputs. */
function traceContent(t: unknown): unknown {
  if (!t || typeof t !== "object") return t;
  const j = t as JudgeTrace;
  const spans = j.data?.spans ?? j.spans ?? [];
  if (spans.length > 0) return spans;
  return isEmptyContent(j.info?.inputs) && isEmptyContent(j.info?.outputs) ? undefined : j.info;
}
import { humanExpectations, looksLikeJudgeTrace, type TraceWithAssessments } from "./trace-expectations.js";
import { conversationOf, sessionExpectations, validateSession } from "./session.js";
import {
  answerSchema,
  describeValueType,
  isCategories,
  resolveFeedbackValueType,
  validateValue,
  type FeedbackValueType,
} from "./value-type.js";

export interface JudgeConfig {
  name: string;
  /** Must use at least one of {{ inputs }}, {{ outputs }}, {{ expectations }}, {{ trace }}. */
  instructions: string;
  /**
   * `provider:/model`, e.g. "openai:/gpt-4o-mini", "anthropic:/claude-sonnet-4-5". Default:
   * GAVEL_JUDGE_MODEL, else DEFAULT_JUDGE_MODEL (MLflow's default judge model).
   */
  model?: string;
  /** Categories, "boolean", "number" or "string". Default: categories from "Rate as one of: …", else "string". */
  feedbackValueType?: FeedbackValueType;
  description?: string;
  /** Provider request parameters: temperature, max_tokens, top_p, … */
  inferenceParams?: Record<string, unknown>;
  /**
   * Trace ids whose human labels shaped this judge (set by align(); kept by clone() and the
   * registry). A later align() never holds these out: they would make "after" look better.
   */
  alignedOn?: readonly string[];
}

/** Runtime settings; never serialised. */
export interface JudgeOptions extends Pick<CallOptions, "providers" | "retry" | "captureContent"> {
  /** Answers asked for before giving up with MALFORMED_OUTPUT (first ask + re-asks). Default env GAVEL_JUDGE_MAX_OUTPUT_ATTEMPTS, else 3. */
  maxOutputAttempts?: number;
  /** Character budget for {{ trace }}. Default env GAVEL_JUDGE_TRACE_MAX_CHARS, else 100000. */
  traceMaxChars?: number;
}

export interface JudgeCallArgs {
  inputs?: unknown;
  outputs?: unknown;
  /** Ground truth by name, e.g. `{ expected_response: "…" }`; anything but an object is refused, as in MLflow. */
  expectations?: unknown;
  /**
   * The trace to judge. Also supplies `inputs`/`outputs` (its root span's) and `expectations`
   * (its valid HUMAN expectation assessments) when they are not passed.
   */
  trace?: JudgeTrace | TraceWithAssessments | null;
  /**
   * The traces of one session, for a `{{ conversation }}` judge: their inputs and outputs become
   * the conversation, oldest first; `{{ expectations }}` defaults to the session's HUMAN
   * expectations (those whose metadata names the session).
   */
  session?: readonly (JudgeTrace | TraceWithAssessments)[];
}

export interface JudgeCallOptions {
  signal?: AbortSignal;
  /** Parent of the judge span; default the active context. */
  parentContext?: Context;
}

/** The registry's JSON form of a judge. */
export interface SerializedJudge {
  type: "gavel.judge";
  schemaVersion: 1;
  name: string;
  instructions: string;
  model: string;
  feedbackValueType: "string" | "boolean" | "number" | string[] | { type: "list"; items: string } | { type: "dict"; values: string };
  description?: string;
  inferenceParams?: Record<string, unknown>;
  alignedOn?: string[];
}

/** The judge model when neither `model` nor GAVEL_JUDGE_MODEL is given (MLflow's default). */
export const DEFAULT_JUDGE_MODEL = "openai:/gpt-4.1-mini";

/** `model`, else GAVEL_JUDGE_MODEL, else DEFAULT_JUDGE_MODEL. */
export function resolveJudgeModel(model: string | undefined): string {
  if (model !== undefined && !(typeof model === "string" && model.trim() === "")) return model;
  return process.env.GAVEL_JUDGE_MODEL?.trim() || DEFAULT_JUDGE_MODEL;
}

export type JudgeConstructor<J extends Judge = Judge> = new (config: JudgeConfig, options?: JudgeOptions) => J;

const ANSWER_SCHEMA_NAME = "judge_result";

// The call signature, merged into the class's instance type.
export interface Judge {
  (args: JudgeCallArgs, options?: JudgeCallOptions): Promise<Feedback>;
}

/** Rebuilds a serialised Judge subclass: chosen by Judge.fromJSON when `key` is present in the JSON. */
export interface JudgeCodec {
  /** The top-level key of the serialised form that marks this kind of judge, e.g. "memalign". */
  key: string;
  fromJSON(json: Record<string, unknown>, options?: JudgeOptions): Judge;
}

const codecs = new Map<string, JudgeCodec>();

/** Registers (or replaces) the codec for serialised judges carrying `codec.key`. */
export function registerJudgeCodec(codec: JudgeCodec): void {
  codecs.set(codec.key, codec);
}

/** Facts attached to a judge object, never serialised and never cloned. */
interface Attached {
  report?: AlignmentReport;
  registration?: { experimentId: string; version: number; sampling: JudgeSampling; report: Record<string, unknown> | null };
}
const attached = new WeakMap<object, Attached>();

/** Sets the report of the alignment that produced `judge` (alignment/align.ts). */
export function attachAlignmentReport(judge: Judge, report: AlignmentReport): void {
  attached.set(judge, { ...attached.get(judge), report });
}

export interface RegisterOptions {
  /** Default: the current experiment (the SDK's setExperiment()). */
  experimentId?: string;
  /** Default: the judge's name. */
  name?: string;
  /** Stored with the version; default the judge's alignmentReport. */
  report?: Record<string, unknown> | null;
  alignmentRunId?: string;
}

export interface SamplingConfig {
  /** Share of new traces to score, 0–1; sampling is deterministic per trace and judge. */
  sampleRate: number;
  /** searchTraces filter the traces must match, e.g. "span.type = 'LLM'". */
  filter?: string | null;
}

export class Judge {
  declare readonly name: string;
  declare readonly instructions: string;
  declare readonly model: string;
  declare readonly feedbackValueType: FeedbackValueType;
  declare readonly description: string | undefined;
  declare readonly inferenceParams: Readonly<Record<string, unknown>> | undefined;
  /** Trace ids whose human labels shaped this judge (see JudgeConfig.alignedOn). */
  declare readonly alignedOn: readonly string[] | undefined;
  /** True for a `{{ conversation }}` judge, called with judge({ session }) (MLflow's is_session_level_scorer). */
  get isSessionLevel(): boolean {
    return this.templateVariables.includes("conversation");
  }

  /** The variables the instructions use, in order of first use. */
  declare readonly templateVariables: readonly TemplateVariable[];
  /** Runtime options (non-enumerable: may hold clients and keys). */
  declare readonly options: JudgeOptions;

  constructor(config: JudgeConfig, options: JudgeOptions = {}) {
    if (!config || typeof config !== "object") {
      throw new GavelConfigError("makeJudge needs { name, instructions, model }.");
    }
    const name = typeof config.name === "string" ? config.name.trim() : "";
    if (!name) throw new GavelConfigError('makeJudge: "name" is required (a non-empty string, e.g. "support_quality").');
    if (typeof config.instructions !== "string" || config.instructions.trim() === "") {
      throw new GavelConfigError(`Judge "${name}": "instructions" is required (a non-empty string).`);
    }
    const templateVariables = Object.freeze(parseTemplateVariables(config.instructions, name));
    const uri = parseModelUri(resolveJudgeModel(config.model));
    if (!isKnownProvider(uri.provider)) {
      throw new GavelConfigError(
        `Judge "${name}": unknown model provider "${uri.provider}" in "${config.model}". ` +
          `Use ${knownProviders().map((p) => `"${p}:/<model>"`).join(" or ")}${config.model === undefined ? " (the model came from GAVEL_JUDGE_MODEL)" : ""}.`,
      );
    }
    if (config.description !== undefined && typeof config.description !== "string") {
      throw new GavelConfigError(`Judge "${name}": "description" must be a string.`);
    }
    const ip = config.inferenceParams;
    if (ip !== undefined && (ip === null || typeof ip !== "object" || Array.isArray(ip))) {
      throw new GavelConfigError(`Judge "${name}": "inferenceParams" must be an object such as { temperature: 0 }.`);
    }
    const alignedOn = config.alignedOn;
    if (alignedOn !== undefined && !(Array.isArray(alignedOn) && alignedOn.every((id) => typeof id === "string"))) {
      throw new GavelConfigError(`Judge "${name}": "alignedOn" must be an array of trace ids.`);
    }
    const resolved = resolveFeedbackValueType(config.feedbackValueType, config.instructions, name);
    const feedbackValueType: FeedbackValueType = isCategories(resolved) ? Object.freeze([...resolved]) : resolved;

    const self = function judge(this: unknown, args: JudgeCallArgs, callOptions?: JudgeCallOptions) {
      return (self as Judge).evaluate(args, callOptions);
    } as unknown as Judge;
    Object.setPrototypeOf(self, new.target.prototype);
    const ro = (value: unknown, enumerable = true): PropertyDescriptor => ({ value, enumerable, writable: false, configurable: true });
    Object.defineProperties(self, {
      name: ro(name),
      instructions: ro(config.instructions),
      model: ro(uri.uri),
      feedbackValueType: ro(feedbackValueType),
      description: ro(config.description),
      inferenceParams: ro(ip ? Object.freeze({ ...ip }) : undefined),
      alignedOn: ro(alignedOn && alignedOn.length > 0 ? Object.freeze([...new Set(alignedOn)].sort()) : undefined, false),
      templateVariables: ro(templateVariables),
      options: ro(Object.freeze({ ...options }), false),
    });
    return self;
  }

  /**
   * The same as calling the judge. Provider failures come back as a Feedback with `error`
   * (value null); configuration errors and the caller's abort are thrown.
   */
  async evaluate(args: JudgeCallArgs, callOptions: JudgeCallOptions = {}): Promise<Feedback> {
    if (!args || typeof args !== "object") {
      throw new GavelConfigError(
        `Judge "${this.name}" must be called with an object, e.g. judge({ ${this.templateVariables.join(", ")} }).`,
      );
    }
    const values = this.argumentValues(args);
    // From a trace, inputs/outputs may be absent: that is the trace's content, not a wrong call.
    // `trace: null` is no trace (MLflow's judge(trace=None)): the variables must then be passed.
    const fromTrace = args.trace !== undefined && args.trace !== null;
    assertArguments(fromTrace ? this.templateVariables.filter((v) => v !== "inputs" && v !== "outputs") : this.templateVariables, values, this.name);
    const nothing = this.missingContent(values, fromTrace);
    if (nothing) return nothing;
    const messages = this.buildMessages(values);
    const jsonSchema: JsonSchemaSpec = {
      name: ANSWER_SCHEMA_NAME,
      description: `The judgment of "${this.name}".`,
      schema: answerSchema(this.feedbackValueType),
    };
    const maxAttempts = Math.max(1, Math.floor(this.options.maxOutputAttempts ?? envNumber("GAVEL_JUDGE_MAX_OUTPUT_ATTEMPTS")));
    const capture = captureMessageContent(this.options.captureContent);

    const parent = callOptions.parentContext ?? otelContext.active();
    const span = getTracer().startSpan(
      `judge ${this.name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [GAVEL_JUDGE_ATTR]: "true",
          [GAVEL_SPAN_TYPE_ATTR]: "EVALUATOR",
          "gavel.judge.name": this.name,
          "gavel.judge.model": this.model,
          // The trace itself is already in the store; a reference keeps the attribute small.
          ...(capture ? { "gavel.inputs": boundedJson({ ...values, trace: values.trace ? traceRef(values.trace as JudgeTrace) : undefined }).json } : {}),
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const started = performance.now();
    let inputTokens = 0;
    let outputTokens = 0;
    let llmCalls = 0;
    let httpAttempts = 0;
    let responseModel: string | undefined;
    let lastText: string | undefined;
    let lastReason = "";

    const finish = (value: FeedbackValue, rationale: string | undefined, error?: { code: LLMErrorCode; message: string }): Feedback => {
      const sc = span.spanContext();
      const usage: FeedbackUsage = {
        llmCalls,
        attempts: httpAttempts,
        inputTokens,
        outputTokens,
        latencyMs: Math.round(performance.now() - started),
      };
      // The stored assessment keeps the usage in its metadata too; code reads `usage`.
      const metadata: Record<string, unknown> = {
        model: this.model,
        ...(responseModel ? { responseModel } : {}),
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        latencyMs: usage.latencyMs,
        llmCalls: usage.llmCalls,
        attempts: usage.attempts,
      };
      if (trace.isSpanContextValid(sc)) {
        metadata["judgeTraceId"] = sc.traceId;
        metadata["judgeSpanId"] = sc.spanId;
      }
      if (error && lastText !== undefined) metadata["lastOutput"] = lastText.slice(0, 2000);
      const fb: Feedback = {
        name: this.name,
        value,
        ...(rationale !== undefined ? { rationale } : {}),
        source: { sourceType: AssessmentSourceType.LLM_JUDGE, sourceId: this.model },
        ...(error ? { error } : {}),
        usage,
        metadata,
      };
      if (error) {
        span.setAttribute("gavel.judge.error_code", error.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      } else {
        span.setAttribute("gavel.judge.value", JSON.stringify(value));
      }
      if (capture) span.setAttribute("gavel.outputs", boundedJson({ value, rationale, error }).json);
      span.end();
      return fb;
    };

    let convo: ChatMessage[] = messages;
    try {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        let res;
        try {
          res = await complete(
            this.model,
            { messages: convo, jsonSchema, ...(this.inferenceParams ? { params: { ...this.inferenceParams } } : {}) },
            {
              ...(this.options.providers ? { providers: this.options.providers } : {}),
              ...(this.options.retry ? { retry: this.options.retry } : {}),
              ...(this.options.captureContent !== undefined ? { captureContent: this.options.captureContent } : {}),
              ...(callOptions.signal ? { signal: callOptions.signal } : {}),
              parentContext: ctx,
              spanAttributes: { "gavel.judge.name": this.name },
            },
          );
        } catch (err) {
          if (err instanceof LLMError && err.code !== "ABORTED") {
            llmCalls += 1;
            httpAttempts += err.attempts;
            return finish(null, undefined, { code: err.code, message: err.message });
          }
          throw err;
        }
        llmCalls += 1;
        httpAttempts += res.attempts;
        inputTokens += res.usage.inputTokens;
        outputTokens += res.usage.outputTokens;
        responseModel = res.model;
        lastText = res.text;
        const check = this.checkAnswer(res.parsed !== undefined ? res.parsed : parseJsonAnswer(res.text));
        if (check.ok) return finish(check.value, check.rationale);
        lastReason = check.reason;
        span.addEvent("gavel.judge.invalid_answer", { "gavel.judge.attempt": attempt, "gavel.judge.reason": check.reason });
        convo = [
          ...convo,
          { role: "assistant", content: res.text.trim() === "" ? "(empty answer)" : res.text },
          { role: "user", content: this.reaskMessage(check.reason) },
        ];
      }
      return finish(null, undefined, {
        code: "MALFORMED_OUTPUT",
        message: `The model gave no valid answer in ${maxAttempts} attempt${maxAttempts === 1 ? "" : "s"}: ${lastReason}.`,
      });
    } catch (err) {
      if (span.isRecording()) {
        span.recordException(err instanceof Error ? err : new Error(String(err)));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      }
      span.end();
      throw err;
    }
  }

  /**
   * A judge never scores content it could not find: when every variable its template uses is
   * empty, the model is not called and the Feedback's error (code MISSING_CONTENT) names the
   * variables and where Gavel looked for them.
   */
  protected missingContent(values: Partial<Record<TemplateVariable, unknown>>, fromTrace: boolean): Feedback | undefined {
    const used = this.templateVariables;
    if (used.length === 0 || !used.every((v) => isEmptyContent(v === "trace" ? traceContent(values.trace) : values[v]))) return undefined;
    const names = used.map((v) => `{{ ${v} }}`).join(" and ");
    const where = used
      .map((v) => {
        if (v === "trace") return "{{ trace }}: the trace has no spans";
        if (v === "expectations") return "{{ expectations }}: the trace's expectation assessments";
        if (v === "conversation") return "{{ conversation }}: the inputs and outputs of the session's traces";
        if (!fromTrace) return `{{ ${v} }}: the call's \`${v}\` argument`;
        const field = v === "inputs" ? "inputs" : "outputs";
        return `{{ ${v} }}: the trace's ${field}, then its root span's, then every span's (outermost first) in ${sourcesOf(field).map(describeSource).join(", ")}`;
      })
      .join("; ");
    return {
      name: this.name,
      value: null,
      source: { sourceType: AssessmentSourceType.LLM_JUDGE, sourceId: this.model },
      error: {
        code: "MISSING_CONTENT",
        message: `Not judged: ${names} ${used.length === 1 ? "is" : "are"} empty, so the model was not called. Gavel looked in ${where} (docs/conventions.md). Record the content under one of these attributes, or pass it to the judge.`,
      },
      metadata: { model: this.model, llmCalls: 0 },
    };
  }

  /** The call's values for each template variable, taking inputs/outputs from the trace when absent. */
  protected argumentValues(args: JudgeCallArgs): Partial<Record<TemplateVariable, unknown>> {
    // MLflow's checks (test_judge_rejects_scalar_expectations, test_judge_rejects_invalid_trace).
    const exp: unknown = args.expectations;
    if (exp !== undefined && exp !== null && (typeof exp !== "object" || Array.isArray(exp))) {
      throw new GavelConfigError(
        `Judge "${this.name}": 'expectations' must be an object of ground truth by name, e.g. { expected_response: "…" }; ` +
          `got ${Array.isArray(exp) ? "an array" : typeof exp}.`,
      );
    }
    const t: unknown = args.trace;
    if (t !== undefined && t !== null && !looksLikeJudgeTrace(t)) {
      throw new GavelConfigError(
        `Judge "${this.name}": 'trace' must be a trace (from getTrace() or searchTraces(), or { info, data: { spans } }); ` +
          `got ${typeof t === "object" ? `an object with ${Object.keys(t as object).slice(0, 5).join(", ") || "no"} fields` : typeof t}.`,
      );
    }
    const trace = (t ?? undefined) as TraceWithAssessments | undefined;
    const v: Partial<Record<TemplateVariable, unknown>> = {
      inputs: args.inputs,
      outputs: args.outputs,
      expectations: exp ?? undefined,
      trace,
    };
    if (trace && (v.inputs === undefined || v.outputs === undefined)) {
      const io = traceInputsOutputs(trace);
      if (v.inputs === undefined) v.inputs = io.inputs;
      if (v.outputs === undefined) v.outputs = io.outputs;
    }
    if (trace && v.expectations === undefined && this.templateVariables.includes("expectations")) v.expectations = humanExpectations(trace);
    if (this.templateVariables.includes("conversation")) {
      const { traces, sessionId } = validateSession(args.session, this.name);
      v.conversation = conversationOf(traces);
      if (v.expectations === undefined && this.templateVariables.includes("expectations")) v.expectations = sessionExpectations(traces, sessionId);
    }
    return v;
  }

  /** The system prompt (instructions + answer format) and the user message (the data). */
  buildMessages(values: Partial<Record<TemplateVariable, unknown>>): ChatMessage[] {
    const vars = this.templateVariables.map((v) => `{{ ${v} }}`).join(", ");
    const system = [
      "You are an impartial expert judge. Assess the data in the user message by following the instructions.",
      "",
      "<instructions>",
      this.instructions.trim(),
      "</instructions>",
      "",
      `The template variables in the instructions (${vars}) refer to the sections of the user message with the same tag name.`,
      "",
      'Answer with a JSON object with two fields: "rationale", your step-by-step reasoning, written first; ' +
        `and "result", ${describeValueType(this.feedbackValueType)}.`,
    ].join("\n");
    const sections: string[] = [];
    for (const v of TEMPLATE_VARIABLES) {
      if (!this.templateVariables.includes(v)) continue;
      const body =
        v === "trace"
          ? renderTraceForJudge(values.trace as JudgeTrace, this.options.traceMaxChars !== undefined ? { maxChars: this.options.traceMaxChars } : {})
          : formatValue(values[v]);
      sections.push(`<${v}>\n${body}\n</${v}>`);
    }
    return [
      { role: "system", content: system },
      { role: "user", content: sections.join("\n\n") },
    ];
  }

  protected reaskMessage(reason: string): string {
    return (
      `Your previous answer could not be used: ${reason}. ` +
      `Answer again with only a JSON object {"rationale": "...", "result": ...} where "result" is ${describeValueType(this.feedbackValueType)}.`
    );
  }

  protected checkAnswer(answer: unknown): { ok: true; value: FeedbackValue; rationale: string } | { ok: false; reason: string } {
    if (answer === undefined) return { ok: false, reason: "the answer was not valid JSON" };
    if (!answer || typeof answer !== "object" || Array.isArray(answer)) {
      return { ok: false, reason: "the answer was not a JSON object" };
    }
    const a = answer as Record<string, unknown>;
    const v = validateValue(this.feedbackValueType, a["result"]);
    if (!v.ok) return v;
    const r = a["rationale"];
    const rationale = typeof r === "string" ? r : r === undefined || r === null ? "" : JSON.stringify(r);
    return { ok: true, value: v.value, rationale };
  }

  /** This judge's configuration (with the resolved feedbackValueType). */
  config(): JudgeConfig & { model: string } {
    return {
      name: this.name,
      instructions: this.instructions,
      model: this.model,
      feedbackValueType: this.feedbackValueType,
      ...(this.description !== undefined ? { description: this.description } : {}),
      ...(this.inferenceParams !== undefined ? { inferenceParams: { ...this.inferenceParams } } : {}),
      ...(this.alignedOn !== undefined ? { alignedOn: [...this.alignedOn] } : {}),
    };
  }

  /**
   * A new judge of the same class with some settings changed, e.g. aligned instructions.
   * The value type stays the resolved one unless overridden.
   */
  clone(overrides: Partial<JudgeConfig> = {}, options?: JudgeOptions): this {
    const Ctor = this.constructor as JudgeConstructor<Judge>;
    return new Ctor({ ...this.config(), ...overrides }, options ?? this.options) as this;
  }

  /** Trace ids whose labels this judge has seen (alignedOn; MemAlign adds its memory). */
  seenTraceIds(): ReadonlySet<string> {
    return new Set(this.alignedOn ?? []);
  }

  /**
   * Aligns the judge with human labels on `traces` (SDK traces or plain labelled traces) and
   * returns a new judge (same template variables) carrying `alignmentReport`. The default
   * optimizer is SIMBA, which needs at least 10 labelled traces. See alignment/align.ts.
   */
  async align(traces: readonly AlignmentExample[], optimizer?: AlignmentOptimizer, options?: AlignOptions): Promise<Judge> {
    const { alignJudge } = await import("./alignment/align.js");
    return alignJudge(this, traces, optimizer, options);
  }

  /**
   * The report of the alignment that produced this judge, or the one stored with its registered
   * version; undefined otherwise. Not in toJSON(), not kept by clone().
   */
  get alignmentReport(): AlignmentReport | undefined {
    const a = attached.get(this);
    return a?.report ?? ((a?.registration?.report ?? undefined) as AlignmentReport | undefined);
  }

  /** Set on judges that came from the registry (register(), the SDK's getScorer()). */
  get registeredVersion(): number | undefined {
    return attached.get(this)?.registration?.version;
  }

  get registeredExperimentId(): string | undefined {
    return attached.get(this)?.registration?.experimentId;
  }

  /** Live sampling of the registered version. */
  get sampling(): JudgeSampling | undefined {
    const s = attached.get(this)?.registration?.sampling;
    return s ? { ...s } : undefined;
  }

  /** A judge built from a registry record, carrying its version, sampling and stored report. */
  static fromRegistryRecord(rec: JudgeRegistryRecord, options?: JudgeOptions): Judge {
    const judge = Judge.fromJSON(rec.judge, options);
    attached.set(judge, {
      registration: { experimentId: rec.experimentId, version: rec.version, sampling: { ...rec.sampling }, report: rec.report ?? null },
    });
    return judge;
  }

  /** Registers this judge as a new version (N+1) in the experiment's registry; returns the registered judge. */
  async register(opts: RegisterOptions = {}): Promise<Judge> {
    const client = judgeRegistryClient(`judge.register() of "${this.name}"`);
    const report = opts.report !== undefined ? opts.report : this.alignmentReport;
    const rec = await client.register({
      experimentId: opts.experimentId,
      name: opts.name ?? this.name,
      judge: this.toJSON() as unknown as Record<string, unknown>,
      // An aligned judge carries the report of the alignment that made it: stored with the version.
      ...(report !== undefined ? { report: report as Record<string, unknown> | null } : {}),
      ...(opts.alignmentRunId ? { alignmentRunId: opts.alignmentRunId } : {}),
    });
    return Judge.fromRegistryRecord(rec, this.options);
  }

  /** Scores live traffic of the experiment with this registered version (the worker picks it up). */
  start(sampling: SamplingConfig): Promise<Judge> {
    return this.setSampling(`judge.start() of "${this.name}"`, { sampleRate: sampling.sampleRate, ...(sampling.filter !== undefined ? { filter: sampling.filter } : {}) });
  }

  update(sampling: Partial<SamplingConfig>): Promise<Judge> {
    return this.setSampling(`judge.update() of "${this.name}"`, {
      sampleRate: sampling.sampleRate ?? this.sampling?.sampleRate ?? 0,
      ...(sampling.filter !== undefined ? { filter: sampling.filter } : {}),
    });
  }

  stop(): Promise<Judge> {
    return this.setSampling(`judge.stop() of "${this.name}"`, { sampleRate: 0 });
  }

  private async setSampling(what: string, body: { sampleRate: number; filter?: string | null }): Promise<Judge> {
    const reg = attached.get(this)?.registration;
    if (!reg) {
      throw new GavelConfigError(
        `Judge "${this.name}" is not registered: call \`const registered = await judge.register({ experimentId })\` and start that, or getScorer({ name, experimentId }).`,
      );
    }
    const rec = await judgeRegistryClient(what).setSampling({ experimentId: reg.experimentId, name: this.name, version: reg.version, ...body });
    reg.sampling = { ...rec.sampling };
    return this;
  }

  toJSON(): SerializedJudge {
    const t = this.feedbackValueType;
    return {
      type: "gavel.judge",
      schemaVersion: 1,
      name: this.name,
      instructions: this.instructions,
      model: this.model,
      feedbackValueType: isCategories(t) ? [...t] : typeof t === "object" ? { ...t } : t,
      ...(this.description !== undefined ? { description: this.description } : {}),
      ...(this.inferenceParams !== undefined ? { inferenceParams: { ...this.inferenceParams } } : {}),
      ...(this.alignedOn !== undefined ? { alignedOn: [...this.alignedOn] } : {}),
    };
  }

  /** Rebuilds a judge from `toJSON()` output (object or JSON string). */
  static fromJSON<J extends Judge>(this: JudgeConstructor<J>, json: string | SerializedJudge | Record<string, unknown>, options?: JudgeOptions): J {
    let o: Record<string, unknown>;
    try {
      o = (typeof json === "string" ? JSON.parse(json) : json) as Record<string, unknown>;
    } catch (err) {
      throw new GavelConfigError(`Judge.fromJSON: not valid JSON (${(err as Error).message}).`);
    }
    if (!o || typeof o !== "object") throw new GavelConfigError("Judge.fromJSON: expected an object from judge.toJSON().");
    // Judge.fromJSON (and judgeFromJSON) rebuild whatever kind of judge the JSON holds;
    // Subclass.fromJSON is the subclass's own.
    if ((this as unknown) === Judge) {
      for (const codec of codecs.values()) if (o[codec.key] !== undefined) return codec.fromJSON(o, options) as J;
    }
    if (o["type"] !== undefined && o["type"] !== "gavel.judge") {
      throw new GavelConfigError(`Judge.fromJSON: type is "${String(o["type"])}", expected "gavel.judge".`);
    }
    for (const k of ["name", "instructions", "model"] as const) {
      if (typeof o[k] !== "string") throw new GavelConfigError(`Judge.fromJSON: "${k}" is missing or not a string.`);
    }
    const config: JudgeConfig = {
      name: o["name"] as string,
      instructions: o["instructions"] as string,
      model: o["model"] as string,
      ...(o["feedbackValueType"] !== undefined ? { feedbackValueType: o["feedbackValueType"] as FeedbackValueType } : {}),
      ...(typeof o["description"] === "string" ? { description: o["description"] } : {}),
      ...(o["inferenceParams"] && typeof o["inferenceParams"] === "object" ? { inferenceParams: o["inferenceParams"] as Record<string, unknown> } : {}),
      ...(Array.isArray(o["alignedOn"]) ? { alignedOn: (o["alignedOn"] as unknown[]).filter((id): id is string => typeof id === "string") } : {}),
    };
    return new this(config, options);
  }

  toString(): string {
    return `Judge(${this.name}, ${this.model})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Judge ${JSON.stringify(this.toJSON(), null, 2)}`;
  }
}

// Judges are functions: keep Function.prototype (call/apply/bind) in their chain.
Object.setPrototypeOf(Judge.prototype, Function.prototype);

function traceRef(t: JudgeTrace): { traceId?: string; spanCount: number } {
  const id = t.info?.traceId ?? t.traceId;
  return { ...(id ? { traceId: id } : {}), spanCount: (t.data?.spans ?? t.spans ?? []).length };
}

export function makeJudge(config: JudgeConfig, options?: JudgeOptions): Judge {
  return new Judge(config, options);
}

export function judgeFromJSON(json: string | SerializedJudge | Record<string, unknown>, options?: JudgeOptions): Judge {
  return Judge.fromJSON(json, options);
}

export function isJudge(x: unknown): x is Judge {
  return x instanceof Judge;
}
