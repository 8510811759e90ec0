import {
  estimateTokens,
  freeTextReply,
  synthesizeFromSchema,
  type DecisionContext,
  type JsonSchema,
} from "./behaviour.js";
import type { RecordedRequest, ScriptedReply } from "./types.js";

/** What the simulated model says, before it is put into a provider's wire format. */
export type Answer =
  | { kind: "text"; text: string }
  | { kind: "tool"; name: string; input: unknown };

export interface Structured {
  mode: "json_schema" | "json_object" | "tool";
  schema: JsonSchema;
  name: string;
}

const GENERIC_JUDGE_SCHEMA: JsonSchema = {
  type: "object",
  properties: { rationale: { type: "string" }, result: { type: "string" } },
};

/** Text of a message content in any of the shapes the three APIs accept. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => {
        if (typeof p === "string") return p;
        if (p && typeof p === "object") {
          const o = p as Record<string, unknown>;
          if (typeof o["text"] === "string") return o["text"];
          if (o["type"] === "tool_result") return contentText(o["content"]);
          if (o["type"] === "tool_use") return JSON.stringify(o["input"] ?? {});
        }
        return "";
      })
      .join("\n");
  }
  return "";
}

export interface PromptParts {
  systemText: string;
  firstUserText: string;
  lastUserText: string;
  allText: string;
}

export function promptParts(req: RecordedRequest): PromptParts {
  const b = req.body ?? {};
  const system: string[] = [];
  const users: string[] = [];
  const all: string[] = [];
  const push = (role: string, text: string) => {
    all.push(text);
    if (role === "system" || role === "developer") system.push(text);
    else if (role === "user") users.push(text);
  };
  if (req.api === "anthropic.messages") {
    if (b.system !== undefined) push("system", contentText(b.system));
    for (const m of Array.isArray(b.messages) ? b.messages : []) push(String(m?.role), contentText(m?.content));
  } else if (req.api === "openai.responses") {
    if (typeof b.instructions === "string") push("system", b.instructions);
    if (typeof b.input === "string") push("user", b.input);
    else for (const m of Array.isArray(b.input) ? b.input : []) push(String(m?.role ?? "user"), contentText(m?.content));
  } else {
    for (const m of Array.isArray(b.messages) ? b.messages : []) push(String(m?.role), contentText(m?.content));
  }
  return {
    systemText: system.join("\n"),
    firstUserText: users[0] ?? "",
    lastUserText: users[users.length - 1] ?? "",
    allText: all.join("\n"),
  };
}

export function structuredOf(req: RecordedRequest): Structured | undefined {
  const b = req.body ?? {};
  if (req.api === "openai.chat") {
    const rf = b.response_format;
    if (rf?.type === "json_schema" && rf.json_schema?.schema) {
      return { mode: "json_schema", schema: rf.json_schema.schema, name: String(rf.json_schema.name ?? "response") };
    }
    if (rf?.type === "json_object") return { mode: "json_object", schema: GENERIC_JUDGE_SCHEMA, name: "response" };
    const tools: any[] = Array.isArray(b.tools) ? b.tools : [];
    const tc = b.tool_choice;
    const forced =
      tc?.type === "function" ? tools.find((t) => t?.function?.name === tc.function?.name)
      : tc === "required" ? tools[0]
      : undefined;
    if (forced) return { mode: "tool", schema: forced.function.parameters ?? {}, name: String(forced.function.name) };
  } else if (req.api === "anthropic.messages") {
    const fmt = b.output_config?.format ?? b.output_format;
    if (fmt?.type === "json_schema" && fmt.schema) return { mode: "json_schema", schema: fmt.schema, name: "output" };
    const tools: any[] = Array.isArray(b.tools) ? b.tools : [];
    const tc = b.tool_choice;
    const forced =
      tc?.type === "tool" ? tools.find((t) => t?.name === tc.name)
      : tc?.type === "any" ? tools[0]
      : undefined;
    if (forced) return { mode: "tool", schema: forced.input_schema ?? {}, name: String(forced.name) };
  } else if (req.api === "openai.responses") {
    const fmt = b.text?.format;
    if (fmt?.type === "json_schema" && fmt.schema) return { mode: "json_schema", schema: fmt.schema, name: String(fmt.name ?? "response") };
    if (fmt?.type === "json_object") return { mode: "json_object", schema: GENERIC_JUDGE_SCHEMA, name: "response" };
  }
  return undefined;
}

export const MALFORMED_OUTPUT = '{"rationale": "The answer was cut off mid-way", "result": ';

export function decideAnswer(
  req: RecordedRequest,
  reply: ScriptedReply | undefined,
  malformed: boolean,
): Answer {
  const structured = structuredOf(req);
  if (malformed) return { kind: "text", text: MALFORMED_OUTPUT };
  if (reply && reply.content !== undefined) {
    const c = reply.content;
    if (structured?.mode === "tool") {
      if (typeof c !== "string") return { kind: "tool", name: structured.name, input: c };
      try {
        const parsed: unknown = JSON.parse(c);
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
          return { kind: "tool", name: structured.name, input: parsed };
        }
      } catch {
        // Not JSON: the model answered in prose instead of calling the tool.
      }
      return { kind: "text", text: c };
    }
    return { kind: "text", text: typeof c === "string" ? c : JSON.stringify(c) };
  }
  const parts = promptParts(req);
  const ctx: DecisionContext = {
    systemText: parts.systemText,
    userText: parts.firstUserText,
    model: String(req.model ?? "model"),
    notes: [],
  };
  if (structured) {
    const value = synthesizeFromSchema(structured.schema, ctx);
    if (structured.mode === "tool") return { kind: "tool", name: structured.name, input: value };
    return { kind: "text", text: JSON.stringify(value) };
  }
  return { kind: "text", text: freeTextReply(ctx, parts.lastUserText) };
}

export function answerText(a: Answer): string {
  return a.kind === "text" ? a.text : JSON.stringify(a.input);
}

export function usageOf(req: RecordedRequest, reply: ScriptedReply | undefined, outputText: string) {
  return {
    input: reply?.usage?.inputTokens ?? Math.max(1, estimateTokens(promptParts(req).allText)),
    output: reply?.usage?.outputTokens ?? Math.max(1, estimateTokens(outputText)),
  };
}

/** Splits text into stream deltas of a few characters, always at least one. */
export function pieces(text: string, size = 12): string[] {
  if (text.length === 0) return [""];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * OpenAI rejects strict schemas whose objects do not close `additionalProperties` or leave a
 * property out of `required`. Mirroring that catches request-building bugs in tests.
 */
export function strictSchemaProblem(schema: unknown, path: string[] = []): string | undefined {
  if (!schema || typeof schema !== "object") return undefined;
  const s = schema as Record<string, unknown>;
  const where = `context=(${path.map((p) => `'${p}'`).join(", ")})`;
  if (s["type"] === "object") {
    if (s["additionalProperties"] !== false) {
      return `In ${where}, 'additionalProperties' is required to be supplied and to be false.`;
    }
    const props = (s["properties"] ?? {}) as Record<string, unknown>;
    const required = Array.isArray(s["required"]) ? (s["required"] as string[]) : [];
    const missing = Object.keys(props).filter((k) => !required.includes(k));
    if (missing.length > 0) {
      return `In ${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    }
    for (const [k, v] of Object.entries(props)) {
      const p = strictSchemaProblem(v, [...path, "properties", k]);
      if (p) return p;
    }
  }
  if (s["type"] === "array") return strictSchemaProblem(s["items"], [...path, "items"]);
  return undefined;
}
