import OpenAI from "openai";
import { envString } from "../env.js";
import { GavelConfigError, type LLMError } from "../errors.js";
import { serverOf } from "../genai.js";
import type { AttemptSignal } from "../retry.js";
import { classifySdkError } from "./classify.js";
import { normalizeParams, parseJsonAnswer } from "./params.js";
import type { ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult, ModelProvider } from "./types.js";

export type OpenAIStructuredOutput = "json_schema" | "json_object" | "none";

export interface OpenAIProviderOptions {
  /** Default: env OPENAI_API_KEY. */
  apiKey?: string;
  /** Default: env OPENAI_BASE_URL (any OpenAI-compatible server: vLLM, Ollama, LM Studio). */
  baseURL?: string;
  /** Use this client as is (its own retries are bypassed per request). */
  client?: OpenAI;
  /**
   * How to ask for a JSON answer. Default: env GAVEL_OPENAI_STRUCTURED_OUTPUT, else
   * "json_schema" (strict). "json_object" or "none" for compatible servers without schemas.
   */
  structuredOutput?: OpenAIStructuredOutput;
}

export class OpenAIProvider implements ModelProvider {
  readonly name = "openai";
  readonly client: OpenAI;
  readonly serverAddress: string | undefined;
  readonly serverPort: number | undefined;
  private readonly structuredOutput: OpenAIStructuredOutput;

  constructor(options: OpenAIProviderOptions = {}) {
    if (options.client) {
      this.client = options.client;
    } else {
      const apiKey = options.apiKey ?? envString("OPENAI_API_KEY");
      if (!apiKey) {
        throw new GavelConfigError(
          "No OpenAI API key: set OPENAI_API_KEY (for an OpenAI-compatible server such as vLLM or Ollama, " +
            "set OPENAI_BASE_URL too and any non-empty OPENAI_API_KEY), or pass providers.openai.apiKey.",
        );
      }
      const baseURL = options.baseURL ?? envString("OPENAI_BASE_URL");
      // maxRetries 0: complete() owns retries, so Retry-After and backoff are applied once.
      this.client = new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0 });
    }
    const s = serverOf(this.client.baseURL);
    this.serverAddress = s.serverAddress;
    this.serverPort = s.serverPort;
    const mode = options.structuredOutput ?? envString("GAVEL_OPENAI_STRUCTURED_OUTPUT");
    if (mode !== undefined && mode !== "json_schema" && mode !== "json_object" && mode !== "none") {
      throw new GavelConfigError(
        `GAVEL_OPENAI_STRUCTURED_OUTPUT must be json_schema, json_object or none (got "${mode}").`,
      );
    }
    this.structuredOutput = mode ?? "json_schema";
  }

  async chat(req: ChatRequest, attempt: AttemptSignal): Promise<ChatResult> {
    const body: Record<string, unknown> = {
      ...normalizeParams(req.params),
      model: req.model,
      messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    if (req.jsonSchema && this.structuredOutput === "json_schema") {
      body["response_format"] = {
        type: "json_schema",
        json_schema: {
          name: req.jsonSchema.name,
          ...(req.jsonSchema.description ? { description: req.jsonSchema.description } : {}),
          schema: req.jsonSchema.schema,
          strict: true,
        },
      };
    } else if (req.jsonSchema && this.structuredOutput === "json_object") {
      body["response_format"] = { type: "json_object" };
    }
    const res = (await this.client.chat.completions.create(
      body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming,
      { signal: attempt.signal, timeout: attempt.timeoutMs, maxRetries: 0 },
    )) as OpenAI.ChatCompletion;
    const choice = res.choices?.[0];
    const msg = choice?.message;
    const text = msg?.content ?? msg?.refusal ?? "";
    const out: ChatResult = {
      text,
      usage: { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0 },
      model: res.model ?? req.model,
      responseId: res.id,
      ...(choice?.finish_reason ? { finishReason: choice.finish_reason } : {}),
    };
    if (req.jsonSchema) {
      const parsed = parseJsonAnswer(text);
      if (parsed !== undefined) out.parsed = parsed;
    }
    return out;
  }

  async embed(req: EmbeddingRequest, attempt: AttemptSignal): Promise<EmbeddingResult> {
    const res = await this.client.embeddings.create(
      {
        model: req.model,
        input: req.input,
        ...(req.dimensions !== undefined ? { dimensions: req.dimensions } : {}),
      },
      { signal: attempt.signal, timeout: attempt.timeoutMs, maxRetries: 0 },
    );
    const data = [...res.data].sort((a, b) => a.index - b.index);
    return {
      embeddings: data.map((d) => d.embedding as number[]),
      usage: { inputTokens: res.usage?.prompt_tokens ?? 0 },
      model: res.model ?? req.model,
    };
  }

  classifyError(err: unknown, timedOut: boolean): LLMError {
    return classifySdkError("openai", err, timedOut);
  }
}
