/**
 * One-line auto-instrumentation of a user's OpenAI or Anthropic client:
 *
 *   const openai = instrumentOpenAI(new OpenAI());
 *   const anthropic = instrumentAnthropic(new Anthropic());
 *
 * Each call becomes a GenAI semantic-convention CLIENT span (chat / embeddings), a child of
 * the active span (the caller's `trace()` span). Patched on the instance, so the SDKs' own
 * helpers that route through it (`chat.completions.stream/parse`, `messages.stream`) are covered.
 * The SDK's APIPromise is returned untouched, so `.withResponse()` keeps working; streamed
 * responses are wrapped at the Stream's iterator so the span ends when the stream is consumed,
 * closed early, or fails.
 *
 * Streaming with OpenAI only reports token usage when the request sets
 * `stream_options: { include_usage: true }`; it is not added behind the user's back because it
 * changes the chunks the app sees.
 */
import { context as otelContext, type Attributes } from "@opentelemetry/api";
import {
  GenAISpan,
  paramsFromBody,
  serverOf,
  type GenAIMessage,
  type GenAIPart,
  type GenAIResult,
} from "./genai.js";

export interface InstrumentOptions {
  /** Override OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT (default: capture). */
  captureContent?: boolean;
  /** Extra attributes on every span. */
  attributes?: Attributes;
}

export interface InstrumentAnthropicOptions extends InstrumentOptions {
  /**
   * @anthropic-ai/sdk emits its own `anthropic.messages.create` spans. They are switched off on
   * the instrumented client so each call is one span (ours carries input tokens and messages).
   * Set true to keep both.
   */
  keepSdkSpans?: boolean;
}

const INSTRUMENTED = Symbol.for("gavel.instrumented");

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;
type Obj = Record<string | symbol, any>;

// ---------- shared plumbing ----------

/**
 * Replaces `resource[method]` on the instance. `start` builds the span from the request body,
 * `onResult` records a non-streamed result, `onStream` handles a streamed one.
 */
function patch(
  resource: Obj | undefined,
  method: string,
  start: (body: Obj) => GenAISpan,
  onResult: (span: GenAISpan, result: Obj) => void,
  onStream: ((span: GenAISpan, body: Obj) => StreamAccumulator) | undefined,
): void {
  if (!resource || typeof resource[method] !== "function") return;
  const original = resource[method] as AnyFn;
  resource[method] = function instrumented(this: unknown, body: unknown, ...rest: unknown[]) {
    if (!body || typeof body !== "object") return original.call(this, body, ...rest);
    const b = body as Obj;
    let span: GenAISpan;
    try {
      span = start(b);
    } catch {
      return original.call(this, body, ...rest); // telemetry must never break the call
    }
    let result: unknown;
    try {
      result = otelContext.with(span.context, () => original.call(this, body, ...rest));
    } catch (err) {
      span.fail(err);
      throw err;
    }
    if (result && typeof (result as Promise<unknown>).then === "function") {
      // Registered before the caller's own then(), so a stream is wrapped before the app reads it.
      (result as Promise<unknown>).then(
        (value) => {
          try {
            if (b["stream"] === true && onStream && isStream(value)) {
              wrapStream(value as Obj, onStream(span, b), span);
            } else {
              onResult(span, (value ?? {}) as Obj);
              span.end();
            }
          } catch {
            span.end();
          }
        },
        (err: unknown) => span.fail(err),
      );
    } else {
      span.end();
    }
    return result;
  };
}

function isStream(v: unknown): boolean {
  return !!v && typeof v === "object" && typeof (v as Obj)["iterator"] === "function";
}

interface StreamAccumulator {
  add(item: Obj): void;
  result(): GenAIResult;
}

/**
 * Both SDKs' Stream keeps a `iterator` factory that [Symbol.asyncIterator], tee() and
 * toReadableStream() all go through; wrapping it observes every consumer.
 */
function wrapStream(stream: Obj, acc: StreamAccumulator, span: GenAISpan): void {
  const factory = stream["iterator"] as () => AsyncIterator<unknown>;
  stream["iterator"] = function wrappedIterator(this: unknown) {
    const it = factory.call(this);
    const done = () => {
      try {
        span.end(acc.result());
      } catch {
        span.end();
      }
    };
    const wrapped: AsyncIterator<unknown> & AsyncIterable<unknown> = {
      async next() {
        try {
          const r = await it.next();
          if (r.done) done();
          else {
            try {
              acc.add(r.value as Obj);
            } catch {
              // a malformed chunk must not break the app's stream
            }
          }
          return r;
        } catch (err) {
          span.fail(err);
          throw err;
        }
      },
      async return(value?: unknown) {
        done();
        return it.return ? it.return(value) : { done: true, value };
      },
      async throw(err?: unknown) {
        span.fail(err);
        if (it.throw) return it.throw(err);
        throw err;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return wrapped;
  };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (typeof p === "string" ? p : p && typeof p === "object" && typeof p.text === "string" ? p.text : ""))
      .join("");
  }
  return "";
}

function safeJsonParse(s: unknown): unknown {
  if (typeof s !== "string") return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

// ---------- OpenAI ----------

function openaiContentParts(content: unknown): GenAIPart[] {
  if (typeof content === "string") return [{ type: "text", content }];
  if (!Array.isArray(content)) return [];
  return content.map((p: Obj): GenAIPart => {
    if (p?.type === "text" || p?.type === "input_text" || p?.type === "output_text") return { type: "text", content: String(p.text ?? "") };
    if (p?.type === "image_url" || p?.type === "input_image") return { type: "uri", modality: "image", uri: typeof p.image_url === "string" ? p.image_url : String(p.image_url?.url ?? "") };
    return { type: String(p?.type ?? "unknown") };
  });
}

function openaiInputMessages(messages: unknown): GenAIMessage[] {
  if (!Array.isArray(messages)) return [];
  return messages.map((m: Obj): GenAIMessage => {
    const parts = openaiContentParts(m?.content);
    for (const tc of Array.isArray(m?.tool_calls) ? m.tool_calls : []) {
      parts.push({ type: "tool_call", id: tc.id, name: String(tc.function?.name ?? ""), arguments: safeJsonParse(tc.function?.arguments) });
    }
    if (m?.role === "tool") return { role: "tool", parts: [{ type: "tool_call_response", id: m.tool_call_id, response: textOf(m.content) }] };
    const msg: GenAIMessage = { role: String(m?.role ?? "user"), parts };
    if (typeof m?.name === "string") msg.name = m.name;
    return msg;
  });
}

function openaiChoiceMessage(message: Obj | undefined, finish: string | undefined): GenAIMessage {
  const parts: GenAIPart[] = [];
  const text = textOf(message?.content);
  if (text) parts.push({ type: "text", content: text });
  if (typeof message?.refusal === "string" && message.refusal) parts.push({ type: "refusal", content: message.refusal });
  for (const tc of Array.isArray(message?.tool_calls) ? message.tool_calls : []) {
    parts.push({ type: "tool_call", id: tc.id, name: String(tc.function?.name ?? ""), arguments: safeJsonParse(tc.function?.arguments) });
  }
  return { role: "assistant", parts, ...(finish ? { finish_reason: finish } : {}) };
}

export function instrumentOpenAI<T extends object>(client: T, options: InstrumentOptions = {}): T {
  const c = client as Obj;
  if (c[INSTRUMENTED]) return client;
  Object.defineProperty(c, INSTRUMENTED, { value: true, enumerable: false });
  const server = serverOf(typeof c["baseURL"] === "string" ? c["baseURL"] : undefined);
  const common = (operation: "chat" | "embeddings", b: Obj, extra: Partial<ConstructorParameters<typeof GenAISpan>[0]> = {}) =>
    new GenAISpan(
      {
        operation,
        provider: "openai",
        model: String(b["model"] ?? "unknown"),
        ...server,
        params: paramsFromBody(b),
        stream: b["stream"] === true,
        ...(options.captureContent !== undefined ? { captureContent: options.captureContent } : {}),
        ...(options.attributes ? { attributes: options.attributes } : {}),
        ...extra,
      },
      otelContext.active(),
    );

  // chat.completions.create
  patch(
    c["chat"]?.["completions"],
    "create",
    (b) => {
      const rf = b["response_format"] as Obj | undefined;
      return common("chat", b, {
        inputMessages: openaiInputMessages(b["messages"]),
        ...(rf?.["type"] === "json_schema" || rf?.["type"] === "json_object" ? { outputType: "json" } : {}),
      });
    },
    (span, r) => {
      const choices: Obj[] = Array.isArray(r["choices"]) ? r["choices"] : [];
      span.record({
        ...(r["model"] ? { responseModel: String(r["model"]) } : {}),
        ...(r["id"] ? { responseId: String(r["id"]) } : {}),
        finishReasons: choices.map((ch) => String(ch["finish_reason"] ?? "")).filter(Boolean),
        ...(r["usage"] ? { inputTokens: r["usage"]["prompt_tokens"], outputTokens: r["usage"]["completion_tokens"] } : {}),
        outputMessages: choices.map((ch) => openaiChoiceMessage(ch["message"], ch["finish_reason"] ?? undefined)),
      });
    },
    () => openaiChatAccumulator(),
  );

  // responses.create
  patch(
    c["responses"],
    "create",
    (b) => {
      const input = b["input"];
      const msgs: GenAIMessage[] =
        typeof input === "string"
          ? [{ role: "user", parts: [{ type: "text", content: input }] }]
          : Array.isArray(input)
            ? input.map((m: Obj): GenAIMessage =>
                m?.type === "function_call_output"
                  ? { role: "tool", parts: [{ type: "tool_call_response", id: m.call_id, response: m.output }] }
                  : { role: String(m?.role ?? "user"), parts: openaiContentParts(m?.content) })
            : [];
      const fmt = (b["text"] as Obj | undefined)?.["format"] as Obj | undefined;
      return common("chat", b, {
        inputMessages: msgs,
        ...(typeof b["instructions"] === "string" ? { systemInstructions: [{ type: "text", content: b["instructions"] }] } : {}),
        ...(fmt?.["type"] === "json_schema" || fmt?.["type"] === "json_object" ? { outputType: "json" } : {}),
      });
    },
    (span, r) => span.record(openaiResponseResult(r)),
    () => {
      let final: Obj | undefined;
      let text = "";
      return {
        add(ev) {
          if (ev["type"] === "response.output_text.delta") text += String(ev["delta"] ?? "");
          if (ev["type"] === "response.completed" || ev["type"] === "response.incomplete" || ev["type"] === "response.failed") final = ev["response"];
        },
        result() {
          if (final) return openaiResponseResult(final);
          return text ? { outputMessages: [{ role: "assistant", parts: [{ type: "text", content: text }] }] } : {};
        },
      };
    },
  );

  // embeddings.create
  patch(
    c["embeddings"],
    "create",
    (b) =>
      common("embeddings", b, {
        captureContent: false,
        params: b["encoding_format"] ? { encodingFormats: [String(b["encoding_format"])] } : {},
      }),
    (span, r) => {
      const first = Array.isArray(r["data"]) ? r["data"][0] : undefined;
      span.record({
        ...(r["model"] ? { responseModel: String(r["model"]) } : {}),
        ...(r["usage"] ? { inputTokens: r["usage"]["prompt_tokens"] } : {}),
        ...(Array.isArray(first?.embedding) ? { embeddingDimensions: first.embedding.length } : {}),
      });
    },
    undefined,
  );
  return client;
}

function openaiResponseResult(r: Obj): GenAIResult {
  const out: GenAIMessage[] = [];
  for (const item of Array.isArray(r["output"]) ? r["output"] : []) {
    if (item?.type === "message") {
      out.push({ role: "assistant", parts: openaiContentParts(item.content), ...(item.status ? { finish_reason: item.status === "completed" ? "stop" : String(item.status) } : {}) });
    } else if (item?.type === "function_call") {
      out.push({ role: "assistant", parts: [{ type: "tool_call", id: item.call_id, name: String(item.name ?? ""), arguments: safeJsonParse(item.arguments) }], finish_reason: "tool_call" });
    }
  }
  const u = r["usage"] as Obj | undefined;
  return {
    ...(r["model"] ? { responseModel: String(r["model"]) } : {}),
    ...(r["id"] ? { responseId: String(r["id"]) } : {}),
    ...(r["status"] ? { finishReasons: [r["status"] === "completed" ? "stop" : String(r["status"])] } : {}),
    ...(u ? { inputTokens: u["input_tokens"], outputTokens: u["output_tokens"] } : {}),
    outputMessages: out,
  };
}

function openaiChatAccumulator(): StreamAccumulator {
  let model: string | undefined;
  let id: string | undefined;
  let usage: Obj | undefined;
  const choices = new Map<number, { text: string; finish?: string; tools: Map<number, { id?: string; name: string; args: string }> }>();
  return {
    add(chunk) {
      if (chunk["model"]) model = String(chunk["model"]);
      if (chunk["id"]) id = String(chunk["id"]);
      if (chunk["usage"]) usage = chunk["usage"];
      for (const ch of Array.isArray(chunk["choices"]) ? chunk["choices"] : []) {
        const idx = Number(ch.index ?? 0);
        let acc = choices.get(idx);
        if (!acc) {
          acc = { text: "", tools: new Map() };
          choices.set(idx, acc);
        }
        const d = ch.delta ?? {};
        if (typeof d.content === "string") acc.text += d.content;
        for (const tc of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
          const ti = Number(tc.index ?? 0);
          const t = acc.tools.get(ti) ?? { name: "", args: "" };
          if (tc.id) t.id = tc.id;
          if (tc.function?.name) t.name += tc.function.name;
          if (tc.function?.arguments) t.args += tc.function.arguments;
          acc.tools.set(ti, t);
        }
        if (ch.finish_reason) acc.finish = ch.finish_reason;
      }
    },
    result() {
      const sorted = [...choices.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
      return {
        ...(model ? { responseModel: model } : {}),
        ...(id ? { responseId: id } : {}),
        finishReasons: sorted.map((c) => c.finish ?? "").filter(Boolean),
        ...(usage ? { inputTokens: usage["prompt_tokens"], outputTokens: usage["completion_tokens"] } : {}),
        outputMessages: sorted.map((c): GenAIMessage => {
          const parts: GenAIPart[] = c.text ? [{ type: "text", content: c.text }] : [];
          for (const t of c.tools.values()) parts.push({ type: "tool_call", ...(t.id ? { id: t.id } : {}), name: t.name, arguments: safeJsonParse(t.args) });
          return { role: "assistant", parts, ...(c.finish ? { finish_reason: c.finish } : {}) };
        }),
      };
    },
  };
}

// ---------- Anthropic ----------

function anthropicParts(content: unknown): GenAIPart[] {
  if (typeof content === "string") return [{ type: "text", content }];
  if (!Array.isArray(content)) return [];
  return content.map((b: Obj): GenAIPart => {
    switch (b?.type) {
      case "text":
        return { type: "text", content: String(b.text ?? "") };
      case "tool_use":
        return { type: "tool_call", id: b.id, name: String(b.name ?? ""), arguments: b.input };
      case "tool_result":
        return { type: "tool_call_response", id: b.tool_use_id, response: typeof b.content === "string" ? b.content : textOf(b.content) };
      case "thinking":
        return { type: "reasoning", content: String(b.thinking ?? "") };
      default:
        return { type: String(b?.type ?? "unknown") };
    }
  });
}

function anthropicUsage(u: Obj | undefined): Pick<GenAIResult, "inputTokens" | "outputTokens" | "cacheReadInputTokens" | "cacheCreationInputTokens"> {
  if (!u) return {};
  const input = Number(u["input_tokens"] ?? 0);
  const read = Number(u["cache_read_input_tokens"] ?? 0);
  const write = Number(u["cache_creation_input_tokens"] ?? 0);
  return {
    inputTokens: input + read + write,
    ...(u["output_tokens"] !== undefined ? { outputTokens: Number(u["output_tokens"]) } : {}),
    ...(read ? { cacheReadInputTokens: read } : {}),
    ...(write ? { cacheCreationInputTokens: write } : {}),
  };
}

export function instrumentAnthropic<T extends object>(client: T, options: InstrumentAnthropicOptions = {}): T {
  const c = client as Obj;
  if (c[INSTRUMENTED]) return client;
  Object.defineProperty(c, INSTRUMENTED, { value: true, enumerable: false });
  if (!options.keepSdkSpans && "_tracer" in c) {
    try {
      c["_tracer"] = undefined;
    } catch {
      // a frozen client keeps its spans; ours are still produced
    }
  }
  const server = serverOf(typeof c["baseURL"] === "string" ? c["baseURL"] : undefined);
  patch(
    c["messages"],
    "create",
    (b) => {
      const system = b["system"];
      const systemParts: GenAIPart[] =
        typeof system === "string" ? [{ type: "text", content: system }] : Array.isArray(system) ? anthropicParts(system) : [];
      const fmt = (b["output_config"] as Obj | undefined)?.["format"] as Obj | undefined;
      return new GenAISpan(
        {
          operation: "chat",
          provider: "anthropic",
          model: String(b["model"] ?? "unknown"),
          ...server,
          params: paramsFromBody(b),
          stream: b["stream"] === true,
          ...(fmt?.["type"] === "json_schema" ? { outputType: "json" } : {}),
          systemInstructions: systemParts,
          inputMessages: Array.isArray(b["messages"])
            ? (b["messages"] as Obj[]).map((m): GenAIMessage => ({ role: String(m?.["role"] ?? "user"), parts: anthropicParts(m?.["content"]) }))
            : [],
          ...(options.captureContent !== undefined ? { captureContent: options.captureContent } : {}),
          ...(options.attributes ? { attributes: options.attributes } : {}),
        },
        otelContext.active(),
      );
    },
    (span, r) =>
      span.record({
        ...(r["model"] ? { responseModel: String(r["model"]) } : {}),
        ...(r["id"] ? { responseId: String(r["id"]) } : {}),
        ...(r["stop_reason"] ? { finishReasons: [String(r["stop_reason"])] } : {}),
        ...anthropicUsage(r["usage"]),
        outputMessages: [{ role: "assistant", parts: anthropicParts(r["content"]), ...(r["stop_reason"] ? { finish_reason: String(r["stop_reason"]) } : {}) }],
      }),
    () => anthropicAccumulator(),
  );
  return client;
}

function anthropicAccumulator(): StreamAccumulator {
  let message: Obj | undefined;
  let usage: Obj = {};
  let stop: string | undefined;
  const blocks = new Map<number, { type: string; text: string; id?: string; name?: string; json: string; input?: unknown }>();
  return {
    add(ev) {
      switch (ev["type"]) {
        case "message_start":
          message = ev["message"];
          usage = { ...(message?.["usage"] ?? {}) };
          break;
        case "content_block_start": {
          const cb = ev["content_block"] ?? {};
          blocks.set(Number(ev["index"] ?? 0), {
            type: String(cb.type ?? "text"),
            text: typeof cb.text === "string" ? cb.text : typeof cb.thinking === "string" ? cb.thinking : "",
            ...(cb.id ? { id: cb.id } : {}),
            ...(cb.name ? { name: cb.name } : {}),
            json: "",
            ...(cb.input && Object.keys(cb.input).length > 0 ? { input: cb.input } : {}),
          });
          break;
        }
        case "content_block_delta": {
          const b = blocks.get(Number(ev["index"] ?? 0));
          const d = ev["delta"] ?? {};
          if (!b) break;
          if (d.type === "text_delta") b.text += String(d.text ?? "");
          else if (d.type === "thinking_delta") b.text += String(d.thinking ?? "");
          else if (d.type === "input_json_delta") b.json += String(d.partial_json ?? "");
          break;
        }
        case "message_delta":
          if (ev["delta"]?.["stop_reason"]) stop = String(ev["delta"]["stop_reason"]);
          for (const [k, v] of Object.entries(ev["usage"] ?? {})) if (v !== null && v !== undefined) usage[k] = v;
          break;
        default:
          break;
      }
    },
    result() {
      const parts: GenAIPart[] = [...blocks.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, b]): GenAIPart => {
          if (b.type === "tool_use") return { type: "tool_call", ...(b.id ? { id: b.id } : {}), name: b.name ?? "", arguments: b.json ? safeJsonParse(b.json) : (b.input ?? {}) };
          if (b.type === "thinking") return { type: "reasoning", content: b.text };
          return { type: "text", content: b.text };
        });
      return {
        ...(message?.["model"] ? { responseModel: String(message["model"]) } : {}),
        ...(message?.["id"] ? { responseId: String(message["id"]) } : {}),
        ...(stop ? { finishReasons: [stop] } : {}),
        ...anthropicUsage(usage),
        outputMessages: [{ role: "assistant", parts, ...(stop ? { finish_reason: stop } : {}) }],
      };
    },
  };
}
