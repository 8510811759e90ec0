/**
 * MemAlign's memory: semantic (guidelines with the traces they came from) and episodic (the
 * labelled examples), plus retrieval over the episodic part: cosine top-k over embeddings, or
 * BM25 when no embedding model is available. Only text and ids are serialised; vectors are a
 * cache rebuilt lazily from the example texts.
 */
import { embed, type CallOptions } from "../complete.js";
import { GavelConfigError } from "../errors.js";
import { formatValue, TEMPLATE_VARIABLES, type TemplateVariable } from "../template.js";
import { renderTraceForJudge, type JudgeTrace } from "../trace-format.js";
import type { LlmUsage } from "./types.js";

export const DEFAULT_EMBEDDING_MODEL = "openai:/text-embedding-3-small";
export const DEFAULT_EMBEDDING_DIMENSIONS = 512;
export const DEFAULT_RETRIEVAL_K = 5;
/** Characters of an example's key text that are embedded / indexed. */
const KEY_TEXT_MAX = 8000;
/** Characters per field when an example is shown to a model. */
export const FIELD_TEXT_MAX = 2000;
const EMBED_BATCH = 256;

export interface Guideline {
  text: string;
  /** Trace ids of the examples it was distilled from; empty for user-written guidelines. */
  sourceTraceIds: string[];
  /** Written by a person: kept by unalign() whatever happens to the examples. */
  userWritten?: boolean;
}

export interface MemoryExample {
  traceId: string;
  label: string;
  rationale?: string;
  /** The judge's fields, rendered and cut to FIELD_TEXT_MAX. */
  fields: Partial<Record<TemplateVariable, string>>;
  /** The retrieval key: the first present of inputs, outputs, expectations, trace. */
  text: string;
  /** False when its distillation batch failed, so the next align() retries it. */
  distilled?: boolean;
}

export interface MemAlignMemory {
  guidelines: Guideline[];
  examples: MemoryExample[];
  /** null: lexical retrieval. */
  embeddingModel: string | null;
  /** null: the model's default size. */
  embeddingDimensions: number | null;
  retrievalK: number;
}

export interface SerializedMemAlign extends MemAlignMemory {
  schemaVersion: 1;
}

export function emptyMemory(settings: Partial<Pick<MemAlignMemory, "embeddingModel" | "embeddingDimensions" | "retrievalK">> = {}): MemAlignMemory {
  return {
    guidelines: [],
    examples: [],
    embeddingModel: settings.embeddingModel === undefined ? DEFAULT_EMBEDDING_MODEL : settings.embeddingModel,
    embeddingDimensions: settings.embeddingDimensions === undefined ? DEFAULT_EMBEDDING_DIMENSIONS : settings.embeddingDimensions,
    retrievalK: settings.retrievalK ?? DEFAULT_RETRIEVAL_K,
  };
}

export function serializeMemory(m: MemAlignMemory): SerializedMemAlign {
  return {
    schemaVersion: 1,
    guidelines: m.guidelines.map((g) => ({ text: g.text, sourceTraceIds: [...g.sourceTraceIds], ...(g.userWritten ? { userWritten: true } : {}) })),
    examples: m.examples.map((e) => ({
      traceId: e.traceId,
      label: e.label,
      ...(e.rationale !== undefined ? { rationale: e.rationale } : {}),
      fields: { ...e.fields },
      text: e.text,
      ...(e.distilled === false ? { distilled: false } : {}),
    })),
    embeddingModel: m.embeddingModel,
    embeddingDimensions: m.embeddingDimensions,
    retrievalK: m.retrievalK,
  };
}

/** Validates stored memory (from a registry record); throws GavelConfigError naming the problem. */
export function parseMemory(raw: unknown): MemAlignMemory {
  if (!raw || typeof raw !== "object") throw new GavelConfigError("MemAlign memory: expected an object.");
  const o = raw as Record<string, unknown>;
  if (o["schemaVersion"] !== undefined && o["schemaVersion"] !== 1) {
    throw new GavelConfigError(`MemAlign memory: schemaVersion ${String(o["schemaVersion"])} is not supported (expected 1).`);
  }
  const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const guidelines: Guideline[] = (Array.isArray(o["guidelines"]) ? o["guidelines"] : []).flatMap((g: unknown) => {
    const x = g as Record<string, unknown>;
    if (!x || typeof x["text"] !== "string" || x["text"].trim() === "") return [];
    return [{ text: x["text"], sourceTraceIds: strs(x["sourceTraceIds"]), ...(x["userWritten"] === true ? { userWritten: true } : {}) }];
  });
  const examples: MemoryExample[] = (Array.isArray(o["examples"]) ? o["examples"] : []).flatMap((e: unknown) => {
    const x = e as Record<string, unknown>;
    if (!x || typeof x["traceId"] !== "string" || typeof x["label"] !== "string") return [];
    const fields: Partial<Record<TemplateVariable, string>> = {};
    const f = (x["fields"] ?? {}) as Record<string, unknown>;
    for (const v of TEMPLATE_VARIABLES) if (typeof f[v] === "string") fields[v] = f[v] as string;
    const text = typeof x["text"] === "string" ? x["text"] : keyText(fields);
    return [{
      traceId: x["traceId"],
      label: x["label"],
      ...(typeof x["rationale"] === "string" ? { rationale: x["rationale"] } : {}),
      fields,
      text,
      ...(x["distilled"] === false ? { distilled: false } : {}),
    }];
  });
  const model = o["embeddingModel"];
  const dims = o["embeddingDimensions"];
  const k = o["retrievalK"];
  return {
    guidelines,
    examples,
    embeddingModel: typeof model === "string" ? model : null,
    embeddingDimensions: typeof dims === "number" && dims > 0 ? dims : null,
    retrievalK: typeof k === "number" && k >= 1 ? Math.floor(k) : DEFAULT_RETRIEVAL_K,
  };
}

/** Text of one judge field: strings verbatim, traces rendered for the judge, the rest as JSON. */
export function fieldText(v: TemplateVariable, value: unknown, max: number): string {
  const full = v === "trace" ? renderTraceForJudge(value as JudgeTrace, { maxChars: Math.max(500, max) }) : formatValue(value);
  return full.length <= max ? full : `${full.slice(0, max)} …[cut]`;
}

export function renderFields(values: Partial<Record<TemplateVariable, unknown>>, variables: readonly TemplateVariable[], max = FIELD_TEXT_MAX): Partial<Record<TemplateVariable, string>> {
  const out: Partial<Record<TemplateVariable, string>> = {};
  for (const v of TEMPLATE_VARIABLES) {
    if (!variables.includes(v) || values[v] === undefined || values[v] === null) continue;
    out[v] = fieldText(v, values[v], max);
  }
  return out;
}

/** The retrieval key of a call or an example: its first present field among inputs, outputs, expectations, trace. */
export function keyTextOf(values: Partial<Record<TemplateVariable, unknown>>, variables: readonly TemplateVariable[]): string {
  for (const v of TEMPLATE_VARIABLES) {
    if (!variables.includes(v)) continue;
    const value = values[v];
    if (value !== undefined && value !== null) return fieldText(v, value, KEY_TEXT_MAX);
  }
  return "";
}

function keyText(fields: Partial<Record<TemplateVariable, string>>): string {
  for (const v of TEMPLATE_VARIABLES) if (fields[v] !== undefined) return fields[v]!.slice(0, KEY_TEXT_MAX);
  return "";
}

// ---------- retrieval ----------

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Okapi BM25 (k1 1.2, b 0.75): the lexical fallback. Scores in example order. */
export function bm25Scores(query: string, docs: readonly string[]): number[] {
  const k1 = 1.2;
  const b = 0.75;
  const toks = docs.map(tokenize);
  const avgLen = toks.reduce((s, t) => s + t.length, 0) / Math.max(1, toks.length) || 1;
  const df = new Map<string, number>();
  for (const t of toks) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1);
  const q = [...new Set(tokenize(query))];
  const N = docs.length;
  return toks.map((t) => {
    const tf = new Map<string, number>();
    for (const w of t) tf.set(w, (tf.get(w) ?? 0) + 1);
    let score = 0;
    for (const w of q) {
      const f = tf.get(w);
      if (!f) continue;
      const n = df.get(w) ?? 0;
      const idf = Math.log(1 + (N - n + 0.5) / (n + 0.5));
      score += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * t.length) / avgLen));
    }
    return score;
  });
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Indices of the k best scores, best first; ties keep example order. */
export function topK(scores: readonly number[], k: number, minScore = Number.NEGATIVE_INFINITY): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .filter((x) => x.s > minScore)
    .sort((x, y) => y.s - x.s || x.i - y.i)
    .slice(0, Math.max(0, k))
    .map((x) => x.i);
}

/** Vectors by example text, shared between a MemAlign judge and its clones. */
export type VectorCache = Map<string, number[]>;

export interface EmbedSettings {
  model: string;
  dimensions: number | null;
  callOptions: CallOptions;
}

/** Embeds `texts` in batches; returns vectors in order and the usage. Throws what embed() throws. */
export async function embedAll(texts: readonly string[], s: EmbedSettings): Promise<{ vectors: number[][]; usage: LlmUsage }> {
  const vectors: number[][] = [];
  const usage: LlmUsage = { calls: 0, inputTokens: 0, outputTokens: 0 };
  for (let i = 0; i < texts.length; i += EMBED_BATCH) {
    const chunk = texts.slice(i, i + EMBED_BATCH).map((t) => (t === "" ? " " : t));
    const res = await embed(s.model, chunk, { ...s.callOptions, ...(s.dimensions !== null ? { dimensions: s.dimensions } : {}) });
    usage.calls += 1;
    usage.inputTokens += res.usage.inputTokens;
    if (res.embeddings.length !== chunk.length) {
      throw new Error(`embedding model ${s.model} returned ${res.embeddings.length} vectors for ${chunk.length} texts`);
    }
    vectors.push(...res.embeddings);
  }
  return { vectors, usage };
}

/** One-line reason for a failed embedding call, for the report's note. */
export function embeddingFailure(model: string, err: unknown): string {
  const e = err as { code?: unknown; status?: unknown; message?: unknown };
  const what = typeof e?.message === "string" ? e.message : String(err);
  return `embedding model ${model} is unavailable (${typeof e?.code === "string" ? `${e.code}: ` : ""}${what.slice(0, 200)})`;
}
