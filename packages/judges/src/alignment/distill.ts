/**
 * MemAlign's semantic memory: the reflection model reads labelled examples (at most 50 per
 * call, within a character budget) with the judge's instructions and the guidelines already
 * known, and writes short guidelines that model the labeller's perspective, each citing the
 * examples it came from by their number in the batch (1, 2, …; a model copies small integers
 * reliably, 32-hex trace ids not), which are mapped back to trace ids here. Empty, duplicate and
 * unsourced guidelines (no valid example number) are dropped; a duplicate's
 * sources are merged into the guideline it repeats, so unalign() removes a guideline only when
 * every trace behind it is gone.
 */
import { complete, type CallOptions } from "../complete.js";
import type { Judge } from "../judge.js";
import { parseJsonAnswer } from "../providers/params.js";
import type { JsonSchemaSpec } from "../providers/types.js";
import { formatValue } from "../template.js";
import { describeValueType } from "../value-type.js";
import type { Guideline, MemoryExample } from "./memory.js";
import { mapLimit } from "./run.js";
import type { LlmUsage } from "./types.js";

export const DISTILL_BATCH_SIZE = 50;
/** Rough character budget per distillation call (about 25k tokens), well inside current context windows. */
export const DISTILL_BATCH_CHARS = 100_000;
export const DEFAULT_DISTILL_PARALLELISM = 8;
const MAX_GUIDELINE_CHARS = 600;

export const DISTILL_SCHEMA: JsonSchemaSpec = {
  name: "memalign_guidelines",
  description: "Guidelines distilled from a human labeller's judgements.",
  schema: {
    type: "object",
    properties: {
      guidelines: {
        type: "array",
        items: {
          type: "object",
          properties: {
            guideline_text: { type: "string", description: "One short sentence." },
            source_examples: { type: "array", items: { type: "integer" }, description: "Numbers of the examples it comes from (their \"example\" field)." },
          },
          required: ["guideline_text", "source_examples"],
          additionalProperties: false,
        },
      },
    },
    required: ["guidelines"],
    additionalProperties: false,
  },
};

const SYSTEM = [
  "You study how a human expert labels data for an LLM judge, and write down the expert's perspective as guidelines the judge can follow.",
  "",
  "Each guideline is one short sentence about the expert's preferences, factual beliefs or background knowledge, as shown by the examples: what they reward, what they penalise, and where they disagree with a literal reading of the judge's instructions.",
  "Prefer concrete, checkable guidelines (e.g. If the response promises a refund without checking the order, rate it as poor.) over vague ones.",
  "Do not repeat a known guideline or another guideline in your answer. Write nothing that is specific to one example only; generalise.",
  'Cite, in source_examples, the numbers (the "example" field) of the examples each guideline comes from.',
  'Answer with a JSON object {"guidelines": [{"guideline_text": "...", "source_examples": [1, 4]}]}; an empty list is fine when the examples teach nothing new.',
].join("\n");

export function distillMessages(judge: Judge, known: readonly Guideline[], batch: readonly MemoryExample[]): { role: "system" | "user"; content: string }[] {
  const examples = batch.map((e, i) => ({
    example: i + 1,
    ...e.fields,
    human_label: e.label,
    ...(e.rationale ? { human_rationale: e.rationale } : {}),
  }));
  const user = [
    `<judge_instructions>\n${judge.instructions.trim()}\n</judge_instructions>`,
    `<judge_result_type>\n${describeValueType(judge.feedbackValueType)}\n</judge_result_type>`,
    `<known_guidelines>\n${known.length === 0 ? "(none yet)" : known.map((g) => `- ${g.text}`).join("\n")}\n</known_guidelines>`,
    `<examples>\n${formatValue(examples)}\n</examples>`,
  ].join("\n\n");
  return [
    { role: "system", content: SYSTEM },
    { role: "user", content: user },
  ];
}

/** Batches of at most `size` examples and about `maxChars` characters (a big example gets a batch of its own). */
export function distillBatches(examples: readonly MemoryExample[], size = DISTILL_BATCH_SIZE, maxChars = DISTILL_BATCH_CHARS): MemoryExample[][] {
  const batches: MemoryExample[][] = [];
  let cur: MemoryExample[] = [];
  let chars = 0;
  for (const e of examples) {
    const c = Object.values(e.fields).reduce((s, t) => s + (t?.length ?? 0), 0) + (e.rationale?.length ?? 0) + 100;
    if (cur.length > 0 && (cur.length >= size || chars + c > maxChars)) {
      batches.push(cur);
      cur = [];
      chars = 0;
    }
    cur.push(e);
    chars += c;
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/** Key for duplicate detection: case, punctuation and spacing do not make a guideline new. */
export function guidelineKey(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/**
 * Adds `proposed` to `into` (in order): drops empty and unsourced ones (sources are filtered to
 * `knownIds`), merges duplicates' sources. Returns how many were added and dropped.
 */
export function mergeGuidelines(
  into: Guideline[],
  proposed: readonly { text: string; sourceTraceIds: readonly string[] }[],
  knownIds: ReadonlySet<string>,
): { added: number; dropped: { empty: number; unsourced: number; duplicate: number } } {
  const dropped = { empty: 0, unsourced: 0, duplicate: 0 };
  let added = 0;
  const byKey = new Map(into.map((g) => [guidelineKey(g.text), g]));
  for (const p of proposed) {
    let text = (p.text ?? "").replace(/\s+/g, " ").trim();
    if (text.length > MAX_GUIDELINE_CHARS) text = `${text.slice(0, MAX_GUIDELINE_CHARS).trimEnd()}…`;
    const key = guidelineKey(text);
    if (key === "") {
      dropped.empty++;
      continue;
    }
    const sources = [...new Set(p.sourceTraceIds.filter((id) => knownIds.has(id)))];
    if (sources.length === 0) {
      dropped.unsourced++;
      continue;
    }
    const existing = byKey.get(key);
    if (existing) {
      dropped.duplicate++;
      if (!existing.userWritten) for (const id of sources) if (!existing.sourceTraceIds.includes(id)) existing.sourceTraceIds.push(id);
      continue;
    }
    const g: Guideline = { text, sourceTraceIds: sources };
    into.push(g);
    byKey.set(key, g);
    added++;
  }
  return { added, dropped };
}

/**
 * The proposals of one answer, their example numbers mapped back to the batch's trace ids
 * (1-based; a number outside the batch maps to nothing, so a guideline citing only such numbers
 * is dropped as unsourced).
 */
export function parseProposals(parsed: unknown, batch: readonly Pick<MemoryExample, "traceId">[]): { text: string; sourceTraceIds: string[] }[] {
  const list = Array.isArray(parsed) ? parsed : parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>)["guidelines"] : undefined;
  if (!Array.isArray(list)) throw new Error('the reflection model\'s answer has no "guidelines" list');
  const idOf = (n: unknown): string[] => {
    const k = typeof n === "number" ? n : typeof n === "string" && /^\s*#?\d+\s*$/.test(n) ? Number(n.replace("#", "")) : NaN;
    return Number.isInteger(k) && k >= 1 && k <= batch.length ? [batch[k - 1]!.traceId] : [];
  };
  return list.flatMap((g: unknown) => {
    if (typeof g === "string") return [{ text: g, sourceTraceIds: [] }];
    if (!g || typeof g !== "object") return [];
    const o = g as Record<string, unknown>;
    const text = typeof o["guideline_text"] === "string" ? o["guideline_text"] : typeof o["text"] === "string" ? o["text"] : "";
    const nums = o["source_examples"];
    return [{ text, sourceTraceIds: Array.isArray(nums) ? nums.flatMap(idOf) : [] }];
  });
}

export interface DistillResult {
  added: number;
  dropped: { empty: number; unsourced: number; duplicate: number };
  calls: number;
  /** Batches whose call failed: their examples stay undistilled (retried by the next align()). */
  failed: { traceIds: string[]; error: string }[];
}

/**
 * Distils guidelines from `examples` into `guidelines` (mutated). Batches run in parallel (each
 * sees the guidelines known before this run) and are merged in batch order, so the result does
 * not depend on which call finishes first.
 */
export async function distillGuidelines(
  judge: Judge,
  model: string,
  guidelines: Guideline[],
  examples: readonly MemoryExample[],
  options: { parallelism?: number; callOptions?: CallOptions; record?: (u: Partial<LlmUsage>) => void; onBatch?: (done: number, total: number) => void },
): Promise<DistillResult> {
  const batches = distillBatches(examples);
  const known = guidelines.map((g) => ({ ...g }));
  let done = 0;
  const answers = await mapLimit(
    batches,
    options.parallelism ?? DEFAULT_DISTILL_PARALLELISM,
    async (batch) => {
      try {
        const res = await complete(model, { messages: distillMessages(judge, known, batch), jsonSchema: DISTILL_SCHEMA }, {
          ...options.callOptions,
          spanAttributes: { "gavel.alignment.step": "memalign_distill", "gavel.judge.name": judge.name },
        });
        options.record?.({ calls: 1, inputTokens: res.usage.inputTokens, outputTokens: res.usage.outputTokens });
        const proposals = parseProposals(res.parsed !== undefined ? res.parsed : parseJsonAnswer(res.text), batch);
        return { ok: true as const, proposals };
      } catch (err) {
        if (options.callOptions?.signal?.aborted) throw err;
        options.record?.({ calls: 1 });
        return { ok: false as const, error: err instanceof Error ? err.message : String(err) };
      } finally {
        options.onBatch?.(++done, batches.length);
      }
    },
    options.callOptions?.signal,
  );
  const result: DistillResult = { added: 0, dropped: { empty: 0, unsourced: 0, duplicate: 0 }, calls: batches.length, failed: [] };
  answers.forEach((a, i) => {
    if (!a.ok) {
      result.failed.push({ traceIds: batches[i]!.map((e) => e.traceId), error: a.error });
      return;
    }
    // Proposals cite examples of their own batch only (mapped from example numbers).
    const r = mergeGuidelines(guidelines, a.proposals, new Set(batches[i]!.map((e) => e.traceId)));
    result.added += r.added;
    result.dropped.empty += r.dropped.empty;
    result.dropped.unsourced += r.dropped.unsourced;
    result.dropped.duplicate += r.dropped.duplicate;
  });
  return result;
}
