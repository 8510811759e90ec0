/** Accepts camelCase aliases for the few parameters people spell both ways. */
export function normalizeParams(params: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const aliases: Record<string, string> = {
    maxTokens: "max_tokens",
    topP: "top_p",
    topK: "top_k",
    stopSequences: "stop",
    frequencyPenalty: "frequency_penalty",
    presencePenalty: "presence_penalty",
    maxCompletionTokens: "max_completion_tokens",
  };
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined) continue;
    out[aliases[k] ?? k] = v;
  }
  return out;
}

/** Parses a model's JSON answer, tolerating code fences and prose around one object. */
export function parseJsonAnswer(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // fall through to the lenient forms below
  }
  const fence = /```(?:json)?\s*([\s\S]*?)```/i.exec(trimmed);
  if (fence) {
    try {
      return JSON.parse(fence[1]!.trim());
    } catch {
      // fall through
    }
  }
  const start = trimmed.indexOf("{");
  const end = trimmed.lastIndexOf("}");
  if (start >= 0 && end > start) {
    try {
      return JSON.parse(trimmed.slice(start, end + 1));
    } catch {
      // give up
    }
  }
  return undefined;
}
