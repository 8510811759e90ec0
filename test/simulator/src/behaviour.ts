/**
 * Deterministic "model" behaviour used when a test has not scripted a reply.
 *
 * Rules for a value the request's JSON schema asks for (a judge's `result`), first match wins:
 *  1. Keyword rule in the system prompt: a line that starts with "If" (optionally after a bullet
 *     or number), names one or more quoted keywords and then a category, e.g.
 *     `- If the issue mentions "billing" or "refund", rate as poor.` When the user text contains
 *     one of the keywords (case-insensitive), that category is the answer. Booleans understand
 *     yes/no/true/false/pass/fail as categories.
 *  2. Category mention: the category (underscores read as spaces too) that appears earliest, as a
 *     whole word, in the user text. Not applied to booleans (too many incidental "no"s).
 *  3. Hash: FNV-1a of system + user text picks a category, a boolean, or an integer in the
 *     schema's [minimum, maximum] range (default 1..5).
 * So the same prompt always gets the same answer, and changed instructions can change it.
 */

export type JsonSchema = Record<string, unknown>;

export interface DecisionContext {
  systemText: string;
  /** The data being judged: the first user message. */
  userText: string;
  model: string;
  /** Explanations collected while synthesising, used for the rationale. */
  notes: string[];
}

export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

const RULE_LINE = /^\s*(?:[-*•]|\d+[.)])?\s*if\b/i;
const QUOTED = /["'“‘`]([^"'“”‘’`\n]{1,80})["'”’`]/g;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function wordRegex(word: string): RegExp {
  const spaced = escapeRegExp(word).replace(/_/g, "[_ ]");
  return new RegExp(`(?:^|[^\\p{L}\\p{N}_])${spaced}(?![\\p{L}\\p{N}_])`, "iu");
}

/** Rule 1: keyword rules written in the instructions. */
function keywordRule(categories: readonly string[], ctx: DecisionContext): string | undefined {
  const user = ctx.userText.toLowerCase();
  for (const line of ctx.systemText.split("\n")) {
    if (!RULE_LINE.test(line)) continue;
    const keywords: { text: string; end: number }[] = [];
    for (const m of line.matchAll(QUOTED)) keywords.push({ text: m[1]!, end: (m.index ?? 0) + m[0].length });
    if (keywords.length === 0) continue;
    const lastKeywordEnd = keywords[keywords.length - 1]!.end;
    const tail = line.slice(lastKeywordEnd);
    let chosen: { cat: string; pos: number } | undefined;
    for (const cat of categories) {
      const m = wordRegex(cat).exec(tail);
      if (m && (chosen === undefined || m.index < chosen.pos)) chosen = { cat, pos: m.index };
    }
    if (!chosen) continue;
    const hit = keywords.find((k) => user.includes(k.text.toLowerCase()));
    if (hit) {
      ctx.notes.push(`the data mentions "${hit.text}", and the instructions say that means ${chosen.cat}`);
      return chosen.cat;
    }
  }
  return undefined;
}

function mentionRule(categories: readonly string[], ctx: DecisionContext): string | undefined {
  let best: { cat: string; pos: number } | undefined;
  for (const cat of categories) {
    const m = wordRegex(cat).exec(ctx.userText);
    if (m && (best === undefined || m.index < best.pos)) best = { cat, pos: m.index };
  }
  if (best) ctx.notes.push(`the data itself reads as "${best.cat}"`);
  return best?.cat;
}

function hashOf(ctx: DecisionContext, salt = ""): number {
  return fnv1a(`${salt}\n${ctx.systemText}\n${ctx.userText}`);
}

export function pickCategory(categories: readonly string[], ctx: DecisionContext): string {
  if (categories.length === 0) return "";
  const byRule = keywordRule(categories, ctx) ?? mentionRule(categories, ctx);
  if (byRule !== undefined) return byRule;
  const cat = categories[hashOf(ctx) % categories.length]!;
  ctx.notes.push(`on balance the answer is ${cat}`);
  return cat;
}

export function pickBoolean(ctx: DecisionContext): boolean {
  const words = ["yes", "no", "true", "false", "pass", "fail"];
  const w = keywordRule(words, ctx);
  if (w !== undefined) return w === "yes" || w === "true" || w === "pass";
  const v = hashOf(ctx) % 2 === 0;
  ctx.notes.push(`on balance the answer is ${v ? "yes" : "no"}`);
  return v;
}

export function pickNumber(schema: JsonSchema, ctx: DecisionContext): number {
  const min = typeof schema["minimum"] === "number" ? Math.ceil(schema["minimum"]) : 1;
  let max = typeof schema["maximum"] === "number" ? Math.floor(schema["maximum"]) : min + 4;
  if (max < min) max = min;
  const v = min + (hashOf(ctx) % (max - min + 1));
  ctx.notes.push(`the score is ${v} on a ${min}-${max} scale`);
  return v;
}

const RATIONALE_KEYS = new Set(["rationale", "reasoning", "explanation", "reason", "justification"]);

function schemaType(schema: JsonSchema): string | undefined {
  const t = schema["type"];
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.find((x) => x !== "null") as string | undefined;
  return undefined;
}

/** Builds a value that satisfies `schema` (the subset of JSON Schema that judges use). */
export function synthesizeFromSchema(schema: JsonSchema, ctx: DecisionContext, key = ""): unknown {
  const enumValues = schema["enum"];
  if (Array.isArray(enumValues)) {
    const strings = enumValues.map((v) => String(v));
    const picked = pickCategory(strings, ctx);
    return enumValues[strings.indexOf(picked)];
  }
  if ("const" in schema) return schema["const"];
  const anyOf = (schema["anyOf"] ?? schema["oneOf"]) as JsonSchema[] | undefined;
  if (Array.isArray(anyOf) && anyOf.length > 0) return synthesizeFromSchema(anyOf[0]!, ctx, key);
  switch (schemaType(schema)) {
    case "object": {
      const props = (schema["properties"] ?? {}) as Record<string, JsonSchema>;
      const out: Record<string, unknown> = {};
      // Decide first, explain afterwards, so the rationale can say why.
      for (const [k, s] of Object.entries(props)) {
        if (!RATIONALE_KEYS.has(k)) out[k] = synthesizeFromSchema(s, ctx, k);
      }
      const ordered: Record<string, unknown> = {};
      for (const [k, s] of Object.entries(props)) {
        ordered[k] = RATIONALE_KEYS.has(k) && schemaType(s) === "string" ? rationale(ctx) : (out[k] ?? synthesizeFromSchema(s, ctx, k));
      }
      return ordered;
    }
    case "array": {
      const items = schema["items"];
      const min = typeof schema["minItems"] === "number" ? schema["minItems"] : 0;
      if (items && typeof items === "object") {
        const n = Math.max(min, 1);
        return Array.from({ length: n }, () => synthesizeFromSchema(items as JsonSchema, ctx, key));
      }
      return [];
    }
    case "boolean":
      return pickBoolean(ctx);
    case "integer":
    case "number":
      return pickNumber(schema, ctx);
    case "null":
      return null;
    case "string":
      if (RATIONALE_KEYS.has(key)) return rationale(ctx);
      if (key === "result" || key === "value" || key === "answer") {
        const v = `verdict-${(hashOf(ctx) % 0xffffff).toString(16)}`;
        ctx.notes.push(`the verdict is ${v}`);
        return v;
      }
      return `simulated ${key || "text"}`;
    default:
      return null;
  }
}

export function rationale(ctx: DecisionContext): string {
  const why = ctx.notes.length > 0 ? ctx.notes.join("; ") : "the data was reviewed against the instructions";
  return `Simulated judgment by ${ctx.model}: ${why}.`;
}

export function freeTextReply(ctx: DecisionContext, lastUserText: string): string {
  const snippet = lastUserText.replace(/\s+/g, " ").trim().slice(0, 160);
  return `Simulated reply from ${ctx.model} (${fnv1a(ctx.systemText + lastUserText).toString(16)}): ${snippet}`;
}

/**
 * Hashing-trick bag of words: each lower-cased word adds ±1 to one dimension, then the vector
 * is L2-normalised. Texts sharing words get a positive cosine similarity.
 */
export function embedText(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const w of words) {
    const h = fnv1a(w);
    v[h % dimensions]! += (h >>> 31) === 1 ? 1 : -1;
    // A second, independent slot keeps collisions from cancelling a word out entirely.
    const h2 = fnv1a(`#${w}`);
    v[h2 % dimensions]! += (h2 >>> 31) === 1 ? 0.5 : -0.5;
  }
  let norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (norm === 0) {
    v[0] = 1;
    norm = 1;
  }
  return v.map((x) => x / norm);
}

export function defaultEmbeddingDimensions(model: string): number {
  if (model.includes("3-large")) return 3072;
  return 1536;
}
