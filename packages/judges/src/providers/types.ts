import type { LLMError } from "../errors.js";
import type { AttemptSignal } from "../retry.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A JSON schema for a structured answer. Keep it inside OpenAI's strict subset. */
export interface JsonSchemaSpec {
  /** Letters, digits, _ and -: used as the OpenAI schema name and the Anthropic tool name. */
  name: string;
  description?: string;
  schema: Record<string, unknown>;
}

export interface ChatRequest {
  /** The provider's model name (without the `provider:/` prefix). */
  model: string;
  messages: ChatMessage[];
  jsonSchema?: JsonSchemaSpec;
  /**
   * Inference parameters in the provider's own names (temperature, max_tokens, top_p, …),
   * passed through to the request body. camelCase maxTokens/topP are accepted too.
   */
  params?: Record<string, unknown>;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/** One attempt's result, as a provider returns it. */
export interface ChatResult {
  /** The answer's text; for a forced-tool answer, the JSON of the tool input. */
  text: string;
  /** The structured answer when a JSON schema was requested and the answer parsed. */
  parsed?: unknown;
  usage: TokenUsage;
  /** The model that answered, as the provider reports it. */
  model: string;
  responseId?: string;
  finishReason?: string;
}

/** What `complete()` returns: the result plus the call's bookkeeping. */
export interface ChatResponse extends ChatResult {
  provider: string;
  /** `provider:/model` as requested. */
  modelUri: string;
  latencyMs: number;
  /** HTTP attempts made (1 + retries). */
  attempts: number;
}

export interface EmbeddingRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface EmbeddingResult {
  embeddings: number[][];
  usage: { inputTokens: number };
  model: string;
}

export interface EmbeddingResponse extends EmbeddingResult {
  provider: string;
  modelUri: string;
  latencyMs: number;
  attempts: number;
}

/**
 * A model provider performs ONE attempt per call; `complete()`/`embed()` own retries, timeouts
 * and tracing, so a custom provider (registerModelProvider) gets them for free.
 */
export interface ModelProvider {
  /** `gen_ai.provider.name`. */
  readonly name: string;
  readonly serverAddress?: string;
  readonly serverPort?: number;
  chat(request: ChatRequest, attempt: AttemptSignal): Promise<ChatResult>;
  embed?(request: EmbeddingRequest, attempt: AttemptSignal): Promise<EmbeddingResult>;
  /** Maps what `chat`/`embed` threw to an LLMError (retryable or not). */
  classifyError(err: unknown, timedOut: boolean): LLMError;
}
