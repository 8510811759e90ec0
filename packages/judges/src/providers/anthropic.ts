import Anthropic from "@anthropic-ai/sdk";
import { envNumber, envString } from "../env.js";
import { GavelConfigError, type LLMError } from "../errors.js";
import { serverOf } from "../genai.js";
import type { AttemptSignal } from "../retry.js";
import { classifySdkError } from "./classify.js";
import { normalizeParams, parseJsonAnswer } from "./params.js";
import type { ChatRequest, ChatResult, ModelProvider } from "./types.js";

/**
 * "tool" (default): a forced tool whose input_schema is the answer schema; works on every
 * Claude model. "output_format": `output_config.format` JSON-schema outputs (newer models).
 */
export type AnthropicStructuredOutput = "tool" | "output_format" | "none";

export interface AnthropicProviderOptions {
  /** Default: env ANTHROPIC_API_KEY. */
  apiKey?: string;
  /** Default: env ANTHROPIC_BASE_URL. */
  baseURL?: string;
  client?: Anthropic;
  /** Default: env GAVEL_ANTHROPIC_STRUCTURED_OUTPUT, else "tool". */
  structuredOutput?: AnthropicStructuredOutput;
  /** max_tokens when inferenceParams do not set it (the API requires one). Default: env GAVEL_ANTHROPIC_MAX_TOKENS, else 1024. */
  defaultMaxTokens?: number;
}

export class AnthropicProvider implements ModelProvider {
  readonly name = "anthropic";
  readonly client: Anthropic;
  readonly serverAddress: string | undefined;
  readonly serverPort: number | undefined;
  private readonly structuredOutput: AnthropicStructuredOutput;
  private readonly defaultMaxTokens: number;

  constructor(options: AnthropicProviderOptions = {}) {
    if (options.client) {
      this.client = options.client;
    } else {
      const apiKey = options.apiKey ?? envString("ANTHROPIC_API_KEY");
      if (!apiKey) {
        throw new GavelConfigError(
          "No Anthropic API key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy or gateway), " +
            "or pass providers.anthropic.apiKey.",
        );
      }
      const baseURL = options.baseURL ?? envString("ANTHROPIC_BASE_URL");
      this.client = new Anthropic({
        apiKey,
        ...(baseURL ? { baseURL } : {}),
        maxRetries: 0,
        // The SDK's built-in call spans would duplicate ours and lack the gavel.judge mark, so
        // online scoring would pick the judge's own calls up as app traffic.
        openTelemetry: false,
      });
    }
    const s = serverOf(this.client.baseURL);
    this.serverAddress = s.serverAddress;
    this.serverPort = s.serverPort;
    const mode = options.structuredOutput ?? envString("GAVEL_ANTHROPIC_STRUCTURED_OUTPUT");
    if (mode !== undefined && mode !== "tool" && mode !== "output_format" && mode !== "none") {
      throw new GavelConfigError(
        `GAVEL_ANTHROPIC_STRUCTURED_OUTPUT must be tool, output_format or none (got "${mode}").`,
      );
    }
    this.structuredOutput = mode ?? "tool";
    this.defaultMaxTokens = options.defaultMaxTokens ?? envNumber("GAVEL_ANTHROPIC_MAX_TOKENS");
  }

  async chat(req: ChatRequest, attempt: AttemptSignal): Promise<ChatResult> {
    const params = normalizeParams(req.params);
    if (typeof params["stop"] === "string") params["stop"] = [params["stop"]];
    if (params["stop"] !== undefined) {
      params["stop_sequences"] = params["stop"];
      delete params["stop"];
    }
    const system = req.messages.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
    const body: Record<string, unknown> = {
      ...params,
      model: req.model,
      max_tokens: typeof params["max_tokens"] === "number" ? params["max_tokens"] : this.defaultMaxTokens,
      messages: req.messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role, content: m.content })),
    };
    if (system) body["system"] = system;
    const toolName = req.jsonSchema?.name;
    if (req.jsonSchema && this.structuredOutput === "tool") {
      body["tools"] = [
        {
          name: req.jsonSchema.name,
          description: req.jsonSchema.description ?? "Record the answer.",
          input_schema: req.jsonSchema.schema,
        },
      ];
      body["tool_choice"] = { type: "tool", name: req.jsonSchema.name };
    } else if (req.jsonSchema && this.structuredOutput === "output_format") {
      body["output_config"] = { format: { type: "json_schema", schema: req.jsonSchema.schema } };
    }
    const res = (await this.client.messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming, {
      signal: attempt.signal,
      timeout: attempt.timeoutMs,
      maxRetries: 0,
    })) as Anthropic.Message;
    const blocks = res.content ?? [];
    const tool = blocks.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use" && b.name === toolName);
    const text = tool
      ? JSON.stringify(tool.input)
      : blocks.map((b) => (b.type === "text" ? b.text : "")).join("");
    const u = res.usage;
    const out: ChatResult = {
      text,
      usage: {
        // Semconv counts cached prompt tokens as input tokens too.
        inputTokens: (u?.input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0),
        outputTokens: u?.output_tokens ?? 0,
      },
      model: res.model ?? req.model,
      responseId: res.id,
      ...(res.stop_reason ? { finishReason: res.stop_reason } : {}),
    };
    if (tool) out.parsed = tool.input;
    else if (req.jsonSchema) {
      const parsed = parseJsonAnswer(text);
      if (parsed !== undefined) out.parsed = parsed;
    }
    return out;
  }

  classifyError(err: unknown, timedOut: boolean): LLMError {
    return classifySdkError("anthropic", err, timedOut);
  }
}
