/**
 * OpenTelemetry GenAI semantic-convention spans, shared by the judge's own LLM calls and by
 * `instrumentOpenAI` / `instrumentAnthropic`. Only `@opentelemetry/api` is used: spans go to
 * whatever tracer provider the application (or @gavel/sdk's `init`) registered globally.
 *
 * Message content (`gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.system_instructions`) is captured unless
 * OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false. Gavel's default is "on", unlike
 * the OTel default, because judging a trace needs its inputs and outputs; a `captureContent`
 * option overrides the variable per client or per judge.
 */
import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { envFlag, envNumber } from "./env.js";

export const TRACER_NAME = "@gavel/judges";
export const TRACER_VERSION = "0.1.0";

/** Attribute that marks Gavel's own LLM/judge spans so online scoring never judges them. */
export const GAVEL_JUDGE_ATTR = "gavel.judge";
export const GAVEL_SPAN_TYPE_ATTR = "gavel.span_type";

let judgeTracerProvider: TracerProvider | undefined;

/**
 * Send the judges' own spans to this provider instead of the global one. The collector uses it
 * to store the spans of the judges it runs (online scoring, alignment) in its own ClickHouse
 * without registering a global provider that would capture an embedding app's spans too.
 */
export function setJudgeTracerProvider(provider: TracerProvider | undefined): void {
  judgeTracerProvider = provider;
}

export function getTracer(): Tracer {
  return (judgeTracerProvider ?? trace).getTracer(TRACER_NAME, TRACER_VERSION);
}

export function captureMessageContent(override?: boolean): boolean {
  return override ?? envFlag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
}

export type GenAIPart =
  | { type: "text"; content: string }
  | { type: "tool_call"; id?: string; name: string; arguments?: unknown }
  | { type: "tool_call_response"; id?: string; response: unknown }
  | { type: string; [key: string]: unknown };

export interface GenAIMessage {
  role: string;
  parts: GenAIPart[];
  finish_reason?: string;
  name?: string;
}

export interface GenAIRequestParams {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  topK?: number;
  stopSequences?: string[];
  seed?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  choiceCount?: number;
  encodingFormats?: string[];
}

export interface GenAISpanStart {
  operation: "chat" | "embeddings" | "text_completion" | "generate_content";
  /** `gen_ai.provider.name`: "openai", "anthropic", … */
  provider: string;
  model: string;
  serverAddress?: string;
  serverPort?: number;
  params?: GenAIRequestParams;
  stream?: boolean;
  /** "json" when a structured answer was requested. */
  outputType?: string;
  systemInstructions?: GenAIPart[];
  inputMessages?: GenAIMessage[];
  /** Marks the span as Gavel's own (judge/optimizer) call. */
  judge?: boolean;
  captureContent?: boolean;
  attributes?: Attributes;
}

export interface GenAIResult {
  responseModel?: string;
  responseId?: string;
  finishReasons?: string[];
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  outputMessages?: GenAIMessage[];
  embeddingDimensions?: number;
}

/** Largest JSON written to one message attribute, like gavel.inputs (GAVEL_MAX_PAYLOAD_BYTES). */
function maxPayloadChars(): number {
  return envNumber("GAVEL_MAX_PAYLOAD_BYTES");
}

function truncateText(s: string, max: number): string {
  if (s.length <= max) return s;
  const keep = Math.max(0, max - 40);
  return `${s.slice(0, keep)}…[${s.length - keep} chars truncated]`;
}

function shrinkParts<T>(value: T, max: number): T {
  if (typeof value === "string") return truncateText(value, max) as T;
  if (Array.isArray(value)) return value.map((v) => shrinkParts(v, max)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = shrinkParts(v, max);
    return out as T;
  }
  return value;
}

/**
 * JSON of `value` no longer than the payload cap, shrinking long strings inside it rather than
 * cutting the JSON (which would leave unparseable attributes for ingest to read).
 */
export function boundedJson(value: unknown, max = maxPayloadChars()): { json: string; truncated: boolean } {
  let json = JSON.stringify(value);
  if (json === undefined) return { json: "null", truncated: false };
  if (json.length <= max) return { json, truncated: false };
  for (let limit = Math.floor(max / 2); limit >= 16; limit = Math.floor(limit / 2)) {
    json = JSON.stringify(shrinkParts(value, limit));
    if (json.length <= max) return { json, truncated: true };
  }
  return { json: JSON.stringify(truncateText(json, max)), truncated: true };
}

export function textMessage(role: string, content: string, finishReason?: string): GenAIMessage {
  const m: GenAIMessage = { role, parts: [{ type: "text", content }] };
  if (finishReason !== undefined) m.finish_reason = finishReason;
  return m;
}

/**
 * A GenAI client span with the bookkeeping the callers share: content capture decided once,
 * results recorded once, ended exactly once (streams can end, error and be closed early).
 */
export class GenAISpan {
  readonly span: Span;
  readonly context: Context;
  readonly captureContent: boolean;
  private ended = false;

  constructor(start: GenAISpanStart, parent: Context = otelContext.active(), tracer: Tracer = getTracer()) {
    this.captureContent = captureMessageContent(start.captureContent);
    const a: Attributes = {
      "gen_ai.operation.name": start.operation,
      "gen_ai.provider.name": start.provider,
      // Older GenAI consumers (and some vendors' UIs) still read the deprecated name.
      "gen_ai.system": start.provider,
      "gen_ai.request.model": start.model,
      [GAVEL_SPAN_TYPE_ATTR]: start.operation === "embeddings" ? "EMBEDDING" : "LLM",
    };
    if (start.serverAddress) a["server.address"] = start.serverAddress;
    if (start.serverPort !== undefined) a["server.port"] = start.serverPort;
    if (start.outputType) a["gen_ai.output.type"] = start.outputType;
    if (start.stream) a["gen_ai.request.stream"] = true;
    const p = start.params ?? {};
    if (p.temperature !== undefined) a["gen_ai.request.temperature"] = p.temperature;
    if (p.maxTokens !== undefined) a["gen_ai.request.max_tokens"] = p.maxTokens;
    if (p.topP !== undefined) a["gen_ai.request.top_p"] = p.topP;
    if (p.topK !== undefined) a["gen_ai.request.top_k"] = p.topK;
    if (p.stopSequences !== undefined) a["gen_ai.request.stop_sequences"] = p.stopSequences;
    if (p.seed !== undefined) a["gen_ai.request.seed"] = p.seed;
    if (p.frequencyPenalty !== undefined) a["gen_ai.request.frequency_penalty"] = p.frequencyPenalty;
    if (p.presencePenalty !== undefined) a["gen_ai.request.presence_penalty"] = p.presencePenalty;
    if (p.choiceCount !== undefined && p.choiceCount !== 1) a["gen_ai.request.choice.count"] = p.choiceCount;
    if (p.encodingFormats !== undefined) a["gen_ai.request.encoding_formats"] = p.encodingFormats;
    if (start.judge) a[GAVEL_JUDGE_ATTR] = "true";
    if (this.captureContent) {
      if (start.systemInstructions && start.systemInstructions.length > 0) {
        a["gen_ai.system_instructions"] = boundedJson(start.systemInstructions).json;
      }
      if (start.inputMessages && start.inputMessages.length > 0) {
        const b = boundedJson(start.inputMessages);
        a["gen_ai.input.messages"] = b.json;
        if (b.truncated) a["gavel.genai.truncated"] = "input";
      }
    }
    Object.assign(a, start.attributes);
    this.span = tracer.startSpan(`${start.operation} ${start.model}`, { kind: SpanKind.CLIENT, attributes: a }, parent);
    this.context = trace.setSpan(parent, this.span);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Records response attributes; safe to call more than once (later values win). */
  record(r: GenAIResult): void {
    if (this.ended) return;
    const s = this.span;
    if (r.responseModel) s.setAttribute("gen_ai.response.model", r.responseModel);
    if (r.responseId) s.setAttribute("gen_ai.response.id", r.responseId);
    if (r.finishReasons && r.finishReasons.length > 0) s.setAttribute("gen_ai.response.finish_reasons", r.finishReasons);
    if (r.inputTokens !== undefined) s.setAttribute("gen_ai.usage.input_tokens", r.inputTokens);
    if (r.outputTokens !== undefined) s.setAttribute("gen_ai.usage.output_tokens", r.outputTokens);
    if (r.cacheReadInputTokens) s.setAttribute("gen_ai.usage.cache_read.input_tokens", r.cacheReadInputTokens);
    if (r.cacheCreationInputTokens) s.setAttribute("gen_ai.usage.cache_creation.input_tokens", r.cacheCreationInputTokens);
    if (r.embeddingDimensions !== undefined) s.setAttribute("gen_ai.embeddings.dimension.count", r.embeddingDimensions);
    if (this.captureContent && r.outputMessages && r.outputMessages.length > 0) {
      const b = boundedJson(r.outputMessages);
      s.setAttribute("gen_ai.output.messages", b.json);
      if (b.truncated) s.setAttribute("gavel.genai.truncated", "output");
    }
  }

  event(name: string, attributes?: Attributes): void {
    if (!this.ended) this.span.addEvent(name, attributes);
  }

  end(r?: GenAIResult): void {
    if (this.ended) return;
    if (r) this.record(r);
    this.ended = true;
    this.span.end();
  }

  fail(err: unknown, errorType?: string): void {
    if (this.ended) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.span.recordException(e);
    this.span.setAttribute("error.type", errorType ?? errorTypeOf(err));
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
    this.ended = true;
    this.span.end();
  }
}

/** `error.type` per OTel: the HTTP status when there is one, else the error's class name. */
export function errorTypeOf(err: unknown): string {
  if (err && typeof err === "object") {
    const o = err as { code?: unknown; status?: unknown; constructor?: { name?: string }; name?: string };
    if (typeof o.code === "string" && /^[A-Z_]+$/.test(o.code)) return o.code;
    if (typeof o.status === "number") return String(o.status);
    if (o.constructor?.name && o.constructor.name !== "Object") return o.constructor.name;
    if (typeof o.name === "string") return o.name;
  }
  return "_OTHER";
}

export function serverOf(baseURL: string | undefined): { serverAddress?: string; serverPort?: number } {
  if (!baseURL) return {};
  try {
    const u = new URL(baseURL);
    const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
    return { serverAddress: u.hostname, serverPort: port };
  } catch {
    return {};
  }
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Request parameters in the naming of OpenAI/Anthropic request bodies. */
export function paramsFromBody(body: Record<string, unknown>): GenAIRequestParams {
  const p: GenAIRequestParams = {};
  const t = num(body["temperature"]);
  if (t !== undefined) p.temperature = t;
  const mt = num(body["max_tokens"]) ?? num(body["max_completion_tokens"]) ?? num(body["max_output_tokens"]);
  if (mt !== undefined) p.maxTokens = mt;
  const tp = num(body["top_p"]);
  if (tp !== undefined) p.topP = tp;
  const tk = num(body["top_k"]);
  if (tk !== undefined) p.topK = tk;
  const stop = body["stop"] ?? body["stop_sequences"];
  if (typeof stop === "string") p.stopSequences = [stop];
  else if (Array.isArray(stop)) p.stopSequences = stop.filter((s): s is string => typeof s === "string");
  const seed = num(body["seed"]);
  if (seed !== undefined) p.seed = seed;
  const fp = num(body["frequency_penalty"]);
  if (fp !== undefined) p.frequencyPenalty = fp;
  const pp = num(body["presence_penalty"]);
  if (pp !== undefined) p.presencePenalty = pp;
  const n = num(body["n"]);
  if (n !== undefined) p.choiceCount = n;
  return p;
}
