/**
 * Where each tracing client puts a span's inputs, outputs, type, model and token counts.
 *
 * This list is the only place that names them: the collector's SQL (sql.ts: materialized
 * columns, the trace summaries, search) and the judges' trace formatter (read.ts) are both
 * made from it, so they cannot disagree. For each field, the sources are tried in the order
 * of this list, convention by convention, and the first non-empty one wins. Adding a
 * convention is one entry here and one row in conventions.test.ts; docs/conventions.md
 * describes the result for users.
 */
import { ATTR_INPUTS, ATTR_OUTPUTS, ATTR_SPAN_TYPE } from "./gavel-attributes.js";

/** How one value is found on a span. */
export type Source =
  /** A span attribute, as its string. `values` maps known values (matched lower-case) to Gavel's; others are upper-cased when `upper`. */
  | { kind: "attr"; key: string; unquote?: boolean; upper?: boolean; values?: Readonly<Record<string, string>> }
  /**
   * Chat messages flattened into indexed attributes, `<prefix><N>.<role>` and
   * `<prefix><N>.<content>` for N = 0, 1, …: read as the JSON array `[{"role","content"}, …]`.
   */
  | { kind: "messages"; prefix: string; role: string; content: string }
  /** An attribute of the first span event with this name (the older GenAI prompt/completion events). */
  | { kind: "event"; event: string; key: string }
  /** A number inside a JSON object attribute (e.g. Langfuse's usage_details `{"input": 12}`). */
  | { kind: "jsonNumber"; key: string; field: string };

/** A condition on a span: its attribute `key` (absent reads as '') matches the regular expression `pattern` (RE2 and JavaScript syntax alike). */
export interface SpanCondition {
  key: string;
  pattern: string;
}

export type Field = "inputs" | "outputs" | "spanType" | "model" | "inputTokens" | "outputTokens" | "totalTokens";
export const FIELDS: readonly Field[] = ["inputs", "outputs", "spanType", "model", "inputTokens", "outputTokens", "totalTokens"];

export interface Convention {
  /** Short id, e.g. "openinference". */
  id: string;
  /** Who writes it, for docs and error messages. */
  client: string;
  sources: Partial<Record<Field, readonly Source[]>>;
}

const attr = (key: string, opts: Omit<Extract<Source, { kind: "attr" }>, "kind" | "key"> = {}): Source => ({ kind: "attr", key, ...opts });
const messages = (prefix: string, role: string, content: string): Source => ({ kind: "messages", prefix, role, content });

/**
 * Token counts are read only on the spans that meet this condition, whatever convention their
 * attributes follow, so a trace's token sum counts each LLM call once (docs/conventions.md,
 * "Token counts: each LLM call once"). The Vercel AI SDK writes a call's usage on the provider
 * call's span (`ai.generateText.doGenerate`, `ai.streamText.doStream`, `ai.embed.doEmbed`, …) and
 * again, summed over the steps, on the function's span around it (`ai.generateText`, …); a span
 * processor that translates its spans translates both (Traceloop's SDK writes `gen_ai.usage.*`
 * on each). So a span with an `ai.operationId` counts tokens only when it is a provider call,
 * whatever names its token attributes have; spans of every other client (no `ai.operationId`)
 * always do.
 */
export const TOKEN_SPAN_CONDITION: SpanCondition = { key: "ai.operationId", pattern: "^$|^ai\\.[A-Za-z]+\\.do(Generate|Stream|Embed)$" };

/** Span kinds other clients use, mapped to Gavel's span types. */
const LLM_KINDS = { chat: "LLM", completion: "LLM", text_completion: "LLM", generate_content: "LLM", generation: "LLM", llm: "LLM" };

export const CONVENTIONS: readonly Convention[] = [
  {
    id: "gavel",
    client: "Gavel SDK (@gavel/sdk, @gavel/judges)",
    sources: {
      inputs: [attr(ATTR_INPUTS)],
      outputs: [attr(ATTR_OUTPUTS)],
      spanType: [attr(ATTR_SPAN_TYPE)],
    },
  },
  {
    id: "mlflow",
    client: "MLflow tracing",
    sources: {
      inputs: [attr("mlflow.spanInputs")],
      outputs: [attr("mlflow.spanOutputs")],
      // JSON-encoded: "\"LLM\"".
      spanType: [attr("mlflow.spanType", { unquote: true })],
    },
  },
  {
    id: "openinference",
    client: "OpenInference (Arize Phoenix instrumentations)",
    sources: {
      // The messages first: on LLM spans input.value is the whole request body.
      inputs: [messages("llm.input_messages.", "message.role", "message.content"), attr("input.value")],
      outputs: [messages("llm.output_messages.", "message.role", "message.content"), attr("output.value")],
      spanType: [attr("openinference.span.kind", { upper: true })],
      model: [attr("llm.model_name")],
      inputTokens: [attr("llm.token_count.prompt")],
      outputTokens: [attr("llm.token_count.completion")],
      totalTokens: [attr("llm.token_count.total")],
    },
  },
  {
    id: "genai",
    client: "OpenTelemetry GenAI semantic conventions",
    sources: {
      inputs: [attr("gen_ai.input.messages"), { kind: "event", event: "gen_ai.content.prompt", key: "gen_ai.prompt" }],
      outputs: [attr("gen_ai.output.messages"), { kind: "event", event: "gen_ai.content.completion", key: "gen_ai.completion" }],
      spanType: [
        attr("gen_ai.operation.name", {
          upper: true,
          values: { ...LLM_KINDS, embeddings: "EMBEDDING", execute_tool: "TOOL", invoke_agent: "AGENT", create_agent: "AGENT" },
        }),
      ],
      model: [attr("gen_ai.request.model"), attr("gen_ai.response.model")],
      // The older names (prompt/completion) are still written by many instrumentations.
      inputTokens: [attr("gen_ai.usage.input_tokens"), attr("gen_ai.usage.prompt_tokens")],
      outputTokens: [attr("gen_ai.usage.output_tokens"), attr("gen_ai.usage.completion_tokens")],
      totalTokens: [attr("gen_ai.usage.total_tokens")],
    },
  },
  {
    id: "openllmetry",
    client: "OpenLLMetry (Traceloop)",
    sources: {
      inputs: [attr("traceloop.entity.input"), messages("gen_ai.prompt.", "role", "content")],
      outputs: [attr("traceloop.entity.output"), messages("gen_ai.completion.", "role", "content")],
      spanType: [
        attr("traceloop.span.kind", { upper: true, values: { workflow: "CHAIN", task: "CHAIN", agent: "AGENT", tool: "TOOL" } }),
        attr("llm.request.type", { upper: true, values: { ...LLM_KINDS, embedding: "EMBEDDING", rerank: "RERANKER" } }),
      ],
      totalTokens: [attr("llm.usage.total_tokens")],
    },
  },
  {
    id: "vercel-ai",
    client: "Vercel AI SDK (experimental_telemetry)",
    sources: {
      inputs: [attr("ai.prompt.messages"), attr("ai.prompt")],
      outputs: [attr("ai.response.text"), attr("ai.response.object"), attr("ai.result.text"), attr("ai.result.object")],
      spanType: [
        attr("ai.operationId", {
          upper: true,
          values: {
            "ai.generatetext.dogenerate": "LLM",
            "ai.streamtext.dostream": "LLM",
            "ai.generateobject.dogenerate": "LLM",
            "ai.streamobject.dostream": "LLM",
            "ai.generatetext": "CHAIN",
            "ai.streamtext": "CHAIN",
            "ai.generateobject": "CHAIN",
            "ai.streamobject": "CHAIN",
            "ai.toolcall": "TOOL",
            "ai.embed": "EMBEDDING",
            "ai.embed.doembed": "EMBEDDING",
            "ai.embedmany": "EMBEDDING",
            "ai.embedmany.doembed": "EMBEDDING",
          },
        }),
      ],
      model: [attr("ai.model.id")],
      // Read on provider-call spans only (TOKEN_SPAN_CONDITION). Embeddings record `ai.usage.tokens` (their input).
      inputTokens: [attr("ai.usage.inputTokens"), attr("ai.usage.promptTokens"), attr("ai.usage.tokens")],
      outputTokens: [attr("ai.usage.outputTokens"), attr("ai.usage.completionTokens")],
      totalTokens: [attr("ai.usage.totalTokens")],
    },
  },
  {
    id: "langfuse",
    client: "Langfuse SDK (@langfuse/tracing, @langfuse/otel)",
    sources: {
      inputs: [attr("langfuse.observation.input"), attr("langfuse.trace.input")],
      outputs: [attr("langfuse.observation.output"), attr("langfuse.trace.output")],
      spanType: [
        attr("langfuse.observation.type", {
          upper: true,
          values: { generation: "LLM", span: "CHAIN", chain: "CHAIN", agent: "AGENT", tool: "TOOL", retriever: "RETRIEVER", embedding: "EMBEDDING", evaluator: "EVALUATOR" },
        }),
      ],
      model: [attr("langfuse.observation.model.name")],
      inputTokens: [{ kind: "jsonNumber", key: "langfuse.observation.usage_details", field: "input" }],
      outputTokens: [{ kind: "jsonNumber", key: "langfuse.observation.usage_details", field: "output" }],
      totalTokens: [{ kind: "jsonNumber", key: "langfuse.observation.usage_details", field: "total" }],
    },
  },
];

/** Every source of one field, in reading order. */
export function sourcesOf(field: Field, conventions: readonly Convention[] = CONVENTIONS): Source[] {
  return conventions.flatMap((c) => c.sources[field] ?? []);
}

/** A human-readable name of a source, for error messages ("where Gavel looked"). */
export function describeSource(s: Source): string {
  switch (s.kind) {
    case "attr":
      return s.key;
    case "messages":
      return `${s.prefix}N.${s.content}`;
    case "event":
      return `event ${s.event}[${s.key}]`;
    case "jsonNumber":
      return `${s.key}.${s.field}`;
  }
}
