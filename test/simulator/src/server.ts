import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { defaultEmbeddingDimensions, embedText, estimateTokens } from "./behaviour.js";
import {
  answerText,
  decideAnswer,
  pieces,
  promptParts,
  strictSchemaProblem,
  structuredOf,
  usageOf,
  type Answer,
} from "./wire.js";
import {
  matchesApi,
  type ApiFilter,
  type ApiKind,
  type Fault,
  type RecordedRequest,
  type ScriptedReply,
  type ScriptHandler,
} from "./types.js";

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Added before every answer. */
  latencyMs?: number;
}

export interface ProviderSimulator {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** For `new OpenAI({ baseURL })` / OPENAI_BASE_URL: `${url}/v1`. */
  openaiBaseUrl: string;
  /** For `new Anthropic({ baseURL })` / ANTHROPIC_BASE_URL: `${url}` (the SDK adds /v1/messages). */
  anthropicBaseUrl: string;
  /** Every request received, in order. `reset()` empties it in place. */
  requests: RecordedRequest[];
  /**
   * Scripts replies. An array queues replies (a string is a reply's `content`), consumed one per
   * matching request; a function answers every matching request not answered by the queue
   * (returning undefined falls back to the default behaviour).
   */
  script(replies: ScriptHandler | Array<ScriptedReply | string>, opts?: { api?: ApiFilter }): void;
  /** Injects faults; each applies to its next `times` matching requests (default 1; latency: forever). */
  inject(...faults: Fault[]): void;
  /** Clears requests, scripts and faults. */
  reset(): void;
  /** Requests of one API (or all), optionally only the last one. */
  requestsFor(api?: ApiFilter): RecordedRequest[];
  lastRequest(api?: ApiFilter): RecordedRequest | undefined;
  /** Environment variables that point the official SDKs at this simulator. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

interface QueuedReply {
  reply: ScriptedReply;
  api: ApiFilter | undefined;
}

interface ActiveFault {
  fault: Fault;
  remaining: number;
}

const ROUTES: Record<string, ApiKind> = {
  "/v1/chat/completions": "openai.chat",
  "/chat/completions": "openai.chat",
  "/v1/embeddings": "openai.embeddings",
  "/embeddings": "openai.embeddings",
  "/v1/responses": "openai.responses",
  "/responses": "openai.responses",
  "/v1/messages": "anthropic.messages",
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function errorBody(api: ApiKind, status: number, message: string, type?: string): unknown {
  if (api === "anthropic.messages") {
    const t =
      type ??
      (status === 429 ? "rate_limit_error"
      : status === 401 ? "authentication_error"
      : status === 403 ? "permission_error"
      : status === 404 ? "not_found_error"
      : status === 529 ? "overloaded_error"
      : status >= 500 ? "api_error"
      : "invalid_request_error");
    return { type: "error", error: { type: t, message } };
  }
  const t =
    type ??
    (status === 429 ? "rate_limit_exceeded"
    : status === 401 ? "invalid_api_key"
    : status >= 500 ? "server_error"
    : "invalid_request_error");
  return { error: { message, type: t, param: null, code: null } };
}

export async function startProviderSimulator(options: SimulatorOptions = {}): Promise<ProviderSimulator> {
  const requests: RecordedRequest[] = [];
  const queue: QueuedReply[] = [];
  const handlers: { fn: ScriptHandler; api: ApiFilter | undefined }[] = [];
  let faults: ActiveFault[] = [];
  let seq = 0;
  const baseLatency = options.latencyMs ?? 0;

  function takeFault(api: ApiKind, pred: (f: Fault) => boolean): Fault | undefined {
    for (const af of faults) {
      if (af.remaining > 0 && pred(af.fault) && matchesApi(af.fault.api, api)) {
        af.remaining -= 1;
        return af.fault;
      }
    }
    return undefined;
  }

  async function scriptedReply(rec: RecordedRequest): Promise<ScriptedReply | undefined> {
    const i = queue.findIndex((q) => matchesApi(q.api, rec.api));
    if (i >= 0) return queue.splice(i, 1)[0]!.reply;
    for (let h = handlers.length - 1; h >= 0; h--) {
      const { fn, api } = handlers[h]!;
      if (!matchesApi(api, rec.api)) continue;
      const r = await fn(rec);
      if (r !== undefined) return typeof r === "string" ? { content: r } : r;
    }
    return undefined;
  }

  function sendJson(res: ServerResponse, rec: RecordedRequest | undefined, status: number, body: unknown, headers: Record<string, string> = {}) {
    if (rec) rec.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(text)),
      "x-request-id": `req_sim_${rec?.seq ?? 0}`,
      "request-id": `req_sim_${rec?.seq ?? 0}`,
      ...headers,
    });
    res.end(text);
  }

  function sendError(res: ServerResponse, rec: RecordedRequest, status: number, message: string, type?: string, headers?: Record<string, string>) {
    sendJson(res, rec, status, errorBody(rec.api, status, message, type), headers);
  }

  function startSse(res: ServerResponse, rec: RecordedRequest) {
    rec.status = 200;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-request-id": `req_sim_${rec.seq}` });
  }

  function validate(rec: RecordedRequest): string | undefined {
    const b = rec.body;
    if (!b || typeof b !== "object") return "The request body must be a JSON object.";
    if (typeof b.model !== "string" || b.model === "") return "model: Field required";
    if (rec.api === "openai.chat") {
      if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages: must be a non-empty array";
      const rf = b.response_format;
      if (rf?.type === "json_schema") {
        if (!rf.json_schema?.name) return "response_format.json_schema.name: Field required";
        if (rf.json_schema.strict === true) {
          const p = strictSchemaProblem(rf.json_schema.schema);
          if (p) return `Invalid schema for response_format '${rf.json_schema.name}': ${p}`;
        }
      }
    } else if (rec.api === "anthropic.messages") {
      if (typeof b.max_tokens !== "number") return "max_tokens: Field required";
      if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages: Field required";
      for (const t of Array.isArray(b.tools) ? b.tools : []) {
        if (t?.input_schema && t.input_schema.type !== "object") return `tools.${t.name}.input_schema.type: Input should be 'object'`;
      }
    } else if (rec.api === "openai.embeddings") {
      if (b.input === undefined) return "input: Field required";
    } else if (rec.api === "openai.responses") {
      if (b.input === undefined) return "input: Field required";
    }
    return undefined;
  }

  // ---------- OpenAI chat completions ----------
  function openaiChat(res: ServerResponse, rec: RecordedRequest, reply: ScriptedReply | undefined, answer: Answer) {
    const model = reply?.model ?? rec.model!;
    const id = `chatcmpl-sim-${rec.seq}`;
    const created = Math.floor(Date.now() / 1000);
    const text = answerText(answer);
    const u = usageOf(rec, reply, text);
    const usage = { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
    const callId = `call_sim_${rec.seq}`;
    const finish = reply?.finishReason ?? (answer.kind === "tool" ? "tool_calls" : "stop");
    if (!rec.stream) {
      const message =
        answer.kind === "tool"
          ? { role: "assistant", content: null, refusal: null, tool_calls: [{ id: callId, type: "function", function: { name: answer.name, arguments: text } }] }
          : { role: "assistant", content: text, refusal: null };
      sendJson(res, rec, 200, {
        id, object: "chat.completion", created, model, system_fingerprint: "fp_sim",
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
        usage,
      });
      return;
    }
    startSse(res, rec);
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_sim", choices, ...extra })}\n\n`);
    if (answer.kind === "tool") {
      chunk([{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 0, id: callId, type: "function", function: { name: answer.name, arguments: "" } }] }, logprobs: null, finish_reason: null }]);
      for (const p of pieces(text)) chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: p } }] }, logprobs: null, finish_reason: null }]);
    } else {
      chunk([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]);
      for (const p of pieces(text)) chunk([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]);
    }
    chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }]);
    if (rec.body.stream_options?.include_usage === true) chunk([], { usage });
    res.end("data: [DONE]\n\n");
  }

  // ---------- OpenAI embeddings ----------
  function openaiEmbeddings(res: ServerResponse, rec: RecordedRequest, reply: ScriptedReply | undefined) {
    const b = rec.body;
    const inputs: string[] =
      typeof b.input === "string" ? [b.input]
      : Array.isArray(b.input) ? b.input.map((x: unknown) => (typeof x === "string" ? x : JSON.stringify(x)))
      : [String(b.input)];
    const dims = typeof b.dimensions === "number" ? b.dimensions : defaultEmbeddingDimensions(rec.model!);
    const vectors = reply?.embeddings ?? inputs.map((t) => embedText(t, dims));
    const base64 = b.encoding_format === "base64";
    const tokens = reply?.usage?.inputTokens ?? inputs.reduce((s, t) => s + Math.max(1, estimateTokens(t)), 0);
    sendJson(res, rec, 200, {
      object: "list",
      model: reply?.model ?? rec.model,
      data: vectors.map((v, index) => ({
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v,
      })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  // ---------- OpenAI responses ----------
  function openaiResponses(res: ServerResponse, rec: RecordedRequest, reply: ScriptedReply | undefined, answer: Answer) {
    const model = reply?.model ?? rec.model!;
    const text = answerText(answer);
    const u = usageOf(rec, reply, text);
    const id = `resp_sim_${rec.seq}`;
    const msgId = `msg_sim_${rec.seq}`;
    const created_at = Math.floor(Date.now() / 1000);
    const outputItem = (t: string, status: string) => ({
      type: "message", id: msgId, status, role: "assistant",
      content: [{ type: "output_text", text: t, annotations: [] }],
    });
    const responseObj = (status: string, output: unknown[], usage: unknown) => ({
      id, object: "response", created_at, status, model, output, usage,
      error: null, incomplete_details: null, instructions: rec.body.instructions ?? null,
      metadata: {}, parallel_tool_calls: true, temperature: rec.body.temperature ?? 1, top_p: 1,
      tool_choice: "auto", tools: [], text: rec.body.text ?? { format: { type: "text" } },
    });
    const usage = {
      input_tokens: u.input, output_tokens: u.output, total_tokens: u.input + u.output,
      input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 },
    };
    if (!rec.stream) {
      sendJson(res, rec, 200, responseObj("completed", [outputItem(text, "completed")], usage));
      return;
    }
    startSse(res, rec);
    let n = 0;
    const ev = (type: string, data: Record<string, unknown>) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...data })}\n\n`);
    ev("response.created", { response: responseObj("in_progress", [], null) });
    ev("response.output_item.added", { output_index: 0, item: { ...outputItem("", "in_progress"), content: [] } });
    ev("response.content_part.added", { item_id: msgId, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
    for (const p of pieces(text)) ev("response.output_text.delta", { item_id: msgId, output_index: 0, content_index: 0, delta: p, logprobs: [] });
    ev("response.output_text.done", { item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] });
    ev("response.content_part.done", { item_id: msgId, output_index: 0, content_index: 0, part: { type: "output_text", text, annotations: [] } });
    ev("response.output_item.done", { output_index: 0, item: outputItem(text, "completed") });
    ev("response.completed", { response: responseObj("completed", [outputItem(text, "completed")], usage) });
    res.end();
  }

  // ---------- Anthropic messages ----------
  function anthropicMessages(res: ServerResponse, rec: RecordedRequest, reply: ScriptedReply | undefined, answer: Answer) {
    const model = reply?.model ?? rec.model!;
    const id = `msg_sim_${rec.seq}`;
    const text = answerText(answer);
    const u = usageOf(rec, reply, text);
    const stop = reply?.finishReason ?? (answer.kind === "tool" ? "tool_use" : "end_turn");
    const toolId = `toolu_sim_${rec.seq}`;
    const usage = (output: number) => ({
      input_tokens: u.input, output_tokens: output,
      cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: "standard",
    });
    if (!rec.stream) {
      const content =
        answer.kind === "tool"
          ? [{ type: "tool_use", id: toolId, name: answer.name, input: answer.input }]
          : [{ type: "text", text, citations: null }];
      sendJson(res, rec, 200, {
        id, type: "message", role: "assistant", model, content,
        stop_reason: stop, stop_sequence: null, usage: usage(u.output),
      });
      return;
    }
    startSse(res, rec);
    const ev = (type: string, data: Record<string, unknown>) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    ev("message_start", {
      message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: usage(1) },
    });
    if (answer.kind === "tool") {
      ev("content_block_start", { index: 0, content_block: { type: "tool_use", id: toolId, name: answer.name, input: {} } });
      ev("ping", {});
      for (const p of pieces(text)) ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: p } });
    } else {
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "", citations: null } });
      ev("ping", {});
      for (const p of pieces(text)) ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: p } });
    }
    ev("content_block_stop", { index: 0 });
    ev("message_delta", { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: u.output } });
    ev("message_stop", {});
    res.end();
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, api: ApiKind, raw: string) {
    let body: any;
    try {
      body = raw === "" ? {} : JSON.parse(raw);
    } catch {
      const text = JSON.stringify(errorBody(api, 400, "We could not parse the JSON body of your request."));
      res.writeHead(400, { "content-type": "application/json" });
      res.end(text);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
    const rec: RecordedRequest = {
      seq: ++seq,
      api,
      method: req.method ?? "POST",
      path: req.url ?? "",
      model: typeof body?.model === "string" ? body.model : undefined,
      stream: body?.stream === true,
      body,
      headers,
      receivedAt: Date.now(),
    };
    requests.push(rec);

    let delay = baseLatency;
    const latency = takeFault(api, (f) => f.kind === "latency");
    if (latency?.kind === "latency") delay += latency.ms;
    if (delay > 0) await sleep(delay);

    const fault = takeFault(api, (f) => f.kind !== "latency");
    if (fault) rec.fault = fault.kind;
    switch (fault?.kind) {
      case "rate_limit": {
        const h: Record<string, string> = {};
        if (fault.retryAfterMs !== undefined) h["retry-after-ms"] = String(fault.retryAfterMs);
        h["retry-after"] = String(fault.retryAfterSeconds ?? Math.max(1, Math.ceil((fault.retryAfterMs ?? 1000) / 1000)));
        sendError(res, rec, 429, "Rate limit reached for requests (simulated). Please try again later.", undefined, h);
        return;
      }
      case "server_error":
        sendError(res, rec, fault.status ?? 500, fault.message ?? "The server had an error while processing your request (simulated).");
        return;
      case "hang":
      case "timeout":
        return; // close() tears the socket down
      case "malformed_body":
        rec.status = 200;
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"id": "broken", "choices": [{"index": 0, "message": ');
        return;
      default:
        break;
    }

    const problem = validate(rec);
    if (problem) {
      sendError(res, rec, 400, problem);
      return;
    }

    const reply = await scriptedReply(rec);
    if (reply?.delayMs) await sleep(reply.delayMs);
    if (reply?.hang) return;
    if (reply?.rawBody !== undefined) {
      rec.status = reply.status ?? 200;
      res.writeHead(rec.status, { "content-type": "application/json", ...reply.headers });
      res.end(reply.rawBody);
      return;
    }
    if (reply?.status !== undefined && reply.status >= 400) {
      sendError(res, rec, reply.status, reply.errorMessage ?? `Simulated error ${reply.status}`, reply.errorType, reply.headers);
      return;
    }
    if (api === "openai.embeddings") {
      openaiEmbeddings(res, rec, reply);
      return;
    }
    const answer = decideAnswer(rec, reply, fault?.kind === "malformed_json");
    if (api === "openai.chat") openaiChat(res, rec, reply, answer);
    else if (api === "openai.responses") openaiResponses(res, rec, reply, answer);
    else anthropicMessages(res, rec, reply, answer);
  }

  // A small control API so a simulator running as its own process (npm run demo, e2e tests)
  // can be scripted the same way as one started in-process.
  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string, raw: string) {
    const body = raw ? JSON.parse(raw) : {};
    if (path === "/_sim/reset" && req.method === "POST") {
      handle.reset();
      sendJson(res, undefined, 200, { ok: true });
    } else if (path === "/_sim/inject" && req.method === "POST") {
      handle.inject(...(Array.isArray(body) ? body : [body]));
      sendJson(res, undefined, 200, { ok: true });
    } else if (path === "/_sim/script" && req.method === "POST") {
      handle.script(body.replies ?? [], { api: body.api });
      sendJson(res, undefined, 200, { ok: true });
    } else if (path === "/_sim/requests" && req.method === "GET") {
      sendJson(res, undefined, 200, { requests });
    } else {
      sendJson(res, undefined, 404, { error: { message: `unknown control path ${path}` } });
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0]!;
      const raw = await readBody(req);
      if (path === "/healthz") return sendJson(res, undefined, 200, { status: "ok" });
      if (path.startsWith("/_sim/")) return handleControl(req, res, path, raw);
      if (path === "/v1/models" || path === "/models") {
        return sendJson(res, undefined, 200, { object: "list", data: [{ id: "sim-model", object: "model", created: 0, owned_by: "gavel-simulator" }] });
      }
      const api = req.method === "POST" ? ROUTES[path] : undefined;
      if (!api) {
        return sendJson(res, undefined, 404, { error: { message: `Unknown path ${req.method} ${path}`, type: "invalid_request_error" } });
      }
      await handleApi(req, res, api, raw);
    })().catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `simulator failure: ${String(err)}`, type: "server_error" } }));
      }
    });
  });
  // Above undici's 2 s keepAliveTimeoutThreshold: fetch subtracts it from the server's
  // "Keep-Alive: timeout" hint, so 1 s made every request open a new connection (unlike a real
  // provider). close() ends idle keep-alive sockets itself.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;

  const handle: ProviderSimulator = {
    url,
    port: addr.port,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    requests,
    script(replies, opts) {
      if (typeof replies === "function") handlers.push({ fn: replies, api: opts?.api });
      else for (const r of replies) queue.push({ reply: typeof r === "string" ? { content: r } : r, api: opts?.api });
    },
    inject(...fs) {
      for (const f of fs) {
        const times = f.times ?? (f.kind === "latency" ? Number.POSITIVE_INFINITY : 1);
        faults.push({ fault: f, remaining: times });
      }
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      handlers.length = 0;
      faults = [];
    },
    requestsFor(api) {
      return requests.filter((r) => matchesApi(api, r.api));
    },
    lastRequest(api) {
      const list = requests.filter((r) => matchesApi(api, r.api));
      return list[list.length - 1];
    },
    env() {
      return {
        OPENAI_BASE_URL: `${url}/v1`,
        OPENAI_API_KEY: "sk-simulator",
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_API_KEY: "sk-ant-simulator",
      };
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return handle;
}

// Re-exported helpers for assertions on recorded requests.
export { promptParts, structuredOf };
