import { context as otelContext, type Attributes, type Context } from "@opentelemetry/api";
import { GavelConfigError, LLMError } from "./errors.js";
import { GenAISpan, paramsFromBody, textMessage, type GenAIPart } from "./genai.js";
import { parseModelUri } from "./model-uri.js";
import { normalizeParams } from "./providers/params.js";
import { getModelProvider, type ProviderOptions } from "./providers/registry.js";
import type { ChatMessage, ChatResponse, EmbeddingResponse, JsonSchemaSpec } from "./providers/types.js";
import { resolveRetryOptions, withRetry, type RetryOptions } from "./retry.js";

export interface CallOptions {
  /** Explicit provider settings (API keys, base URLs, ready clients); env variables otherwise. */
  providers?: ProviderOptions;
  /** Retries, timeouts and (in tests) the clock. */
  retry?: RetryOptions;
  signal?: AbortSignal;
  /** Parent for the LLM span; default the active context. */
  parentContext?: Context;
  /** Override OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT for these spans. */
  captureContent?: boolean;
  /** Extra attributes on the LLM span. */
  spanAttributes?: Attributes;
  /**
   * Mark the span `gavel.judge=true`. Default true: everything that goes through complete()
   * is Gavel's own traffic (judges, alignment optimizers) and must never be judged itself.
   */
  markAsJudge?: boolean;
}

export interface CompletionRequest {
  messages: ChatMessage[];
  jsonSchema?: JsonSchemaSpec;
  params?: Record<string, unknown>;
}

/**
 * One chat completion against `provider:/model`, with retries (429/5xx/timeouts, honouring
 * Retry-After), a per-attempt timeout and a GenAI span. Throws LLMError when the provider
 * fails for good, GavelConfigError for configuration problems (bad URI, missing key).
 */
export async function complete(model: string, request: CompletionRequest, options: CallOptions = {}): Promise<ChatResponse> {
  const uri = parseModelUri(model);
  const provider = getModelProvider(uri.provider, options.providers);
  const retry = resolveRetryOptions(options.retry);
  const system = request.messages.filter((m) => m.role === "system");
  const span = new GenAISpan(
    {
      operation: "chat",
      provider: provider.name,
      model: uri.model,
      ...(provider.serverAddress ? { serverAddress: provider.serverAddress } : {}),
      ...(provider.serverPort !== undefined ? { serverPort: provider.serverPort } : {}),
      params: paramsFromBody(normalizeParams(request.params)),
      outputType: request.jsonSchema ? "json" : "text",
      systemInstructions: system.map((m): GenAIPart => ({ type: "text", content: m.content })),
      inputMessages: request.messages.filter((m) => m.role !== "system").map((m) => textMessage(m.role, m.content)),
      judge: options.markAsJudge !== false,
      ...(options.captureContent !== undefined ? { captureContent: options.captureContent } : {}),
      ...(options.spanAttributes ? { attributes: options.spanAttributes } : {}),
    },
    options.parentContext ?? otelContext.active(),
  );
  const started = performance.now();
  try {
    const { value, attempts } = await otelContext.with(span.context, () =>
      withRetry(
        (attempt) => provider.chat({ model: uri.model, ...request }, attempt),
        (err, timedOut) => provider.classifyError(err, timedOut),
        {
          ...retry,
          onRetry: (info) => {
            span.event("gavel.llm.retry", {
              "gavel.retry.attempt": info.attempt,
              "gavel.retry.delay_ms": info.delayMs,
              "error.type": info.error.code,
              ...(info.error.status !== undefined ? { "http.response.status_code": info.error.status } : {}),
            });
            retry.onRetry?.(info);
          },
        },
        options.signal,
      ),
    );
    span.end({
      responseModel: value.model,
      ...(value.responseId ? { responseId: value.responseId } : {}),
      ...(value.finishReason ? { finishReasons: [value.finishReason] } : {}),
      inputTokens: value.usage.inputTokens,
      outputTokens: value.usage.outputTokens,
      outputMessages: [textMessage("assistant", value.text, value.finishReason)],
    });
    if (attempts > 1) span.span.setAttribute("http.request.resend_count", attempts - 1);
    return {
      ...value,
      provider: provider.name,
      modelUri: uri.uri,
      latencyMs: Math.round(performance.now() - started),
      attempts,
    };
  } catch (err) {
    span.fail(err, err instanceof LLMError ? err.code : undefined);
    throw err;
  }
}

/** Embeddings for `provider:/model` (e.g. "openai:/text-embedding-3-small"), with the same retries and tracing. */
export async function embed(
  model: string,
  input: string | string[],
  options: CallOptions & { dimensions?: number } = {},
): Promise<EmbeddingResponse> {
  const uri = parseModelUri(model);
  const provider = getModelProvider(uri.provider, options.providers);
  if (!provider.embed) {
    throw new GavelConfigError(
      `Provider "${provider.name}" has no embeddings API; use an embeddings model such as "openai:/text-embedding-3-small".`,
    );
  }
  const embedFn = provider.embed.bind(provider);
  const texts = Array.isArray(input) ? input : [input];
  const retry = resolveRetryOptions(options.retry);
  const span = new GenAISpan(
    {
      operation: "embeddings",
      provider: provider.name,
      model: uri.model,
      ...(provider.serverAddress ? { serverAddress: provider.serverAddress } : {}),
      ...(provider.serverPort !== undefined ? { serverPort: provider.serverPort } : {}),
      judge: options.markAsJudge !== false,
      // Embedding inputs are not messages; semconv has no content attribute for them.
      captureContent: false,
      ...(options.spanAttributes ? { attributes: options.spanAttributes } : {}),
    },
    options.parentContext ?? otelContext.active(),
  );
  const started = performance.now();
  try {
    const { value, attempts } = await otelContext.with(span.context, () =>
      withRetry(
        (attempt) =>
          embedFn({ model: uri.model, input: texts, ...(options.dimensions !== undefined ? { dimensions: options.dimensions } : {}) }, attempt),
        (err, timedOut) => provider.classifyError(err, timedOut),
        retry,
        options.signal,
      ),
    );
    span.end({
      responseModel: value.model,
      inputTokens: value.usage.inputTokens,
      ...(value.embeddings[0] ? { embeddingDimensions: value.embeddings[0].length } : {}),
    });
    return { ...value, provider: provider.name, modelUri: uri.uri, latencyMs: Math.round(performance.now() - started), attempts };
  } catch (err) {
    span.fail(err, err instanceof LLMError ? err.code : undefined);
    throw err;
  }
}
