import type { FeedbackValue } from "./assessment.js";
import { GavelConfigError } from "./errors.js";

/** A list of categories, or a primitive type. */
export type FeedbackValueType = "string" | "boolean" | "number" | readonly string[];

/**
 * Categories from a line such as "Rate as one of: excellent, good, needs_improvement, poor"
 * (also "Answer with one of …", "Classify it as one of …"; separators , / | "or"; quotes and
 * a trailing period are stripped).
 */
export function categoriesFromInstructions(instructions: string): string[] | undefined {
  const re = /\b(?:rate|answer|respond|classify|grade|label|score|judge|reply)\b[^\n:]{0,40}?\b(?:as|with)\s+one\s+of\b\s*:?\s*([^\n]+)/i;
  const m = re.exec(instructions);
  if (!m) return undefined;
  let list = m[1]!.trim();
  // Stop at the end of the sentence, but not at a period inside a category like "v1.0".
  list = list.replace(/\.\s*$/, "").replace(/\.\s+[A-Z].*$/, "");
  const cats = list
    .split(/\s*(?:,|\||\/|;|\bor\b)\s*/i)
    .map((c) => c.trim().replace(/^and\s+/i, "").replace(/^["'`“‘]+|["'`”’.]+$/g, "").trim())
    .filter((c) => c.length > 0);
  const unique = [...new Set(cats)];
  return unique.length >= 2 ? unique : undefined;
}

/** Validates an explicit type, or derives one from the instructions; default "string". */
export function resolveFeedbackValueType(explicit: unknown, instructions: string, judgeName = "judge"): FeedbackValueType {
  if (explicit === undefined || explicit === null) {
    return categoriesFromInstructions(instructions) ?? "string";
  }
  if (explicit === "string" || explicit === "boolean" || explicit === "number") return explicit;
  if (explicit === "bool") return "boolean";
  if (explicit === "int" || explicit === "float" || explicit === "integer") return "number";
  if (Array.isArray(explicit)) {
    const cats = explicit.map((c) => (typeof c === "string" ? c.trim() : c));
    if (cats.length < 2 || cats.some((c) => typeof c !== "string" || c === "")) {
      throw new GavelConfigError(
        `Judge "${judgeName}": feedbackValueType as categories needs at least two non-empty strings, got ${JSON.stringify(explicit)}.`,
      );
    }
    if (new Set(cats).size !== cats.length) {
      throw new GavelConfigError(`Judge "${judgeName}": feedbackValueType has duplicate categories: ${JSON.stringify(explicit)}.`);
    }
    return Object.freeze([...(cats as string[])]);
  }
  throw new GavelConfigError(
    `Judge "${judgeName}": feedbackValueType must be "string", "boolean", "number" or a list of categories, got ${JSON.stringify(explicit)}.`,
  );
}

export function isCategories(t: FeedbackValueType): t is readonly string[] {
  return Array.isArray(t);
}

/** JSON schema of the `result` field (OpenAI strict-mode compatible). */
export function resultSchema(t: FeedbackValueType): Record<string, unknown> {
  if (isCategories(t)) return { type: "string", enum: [...t] };
  if (t === "boolean") return { type: "boolean" };
  if (t === "number") return { type: "number" };
  return { type: "string" };
}

/** The whole answer's schema. `rationale` comes first so the model reasons before deciding. */
export function answerSchema(t: FeedbackValueType): Record<string, unknown> {
  return {
    type: "object",
    properties: {
      rationale: { type: "string", description: "Step-by-step reasoning that leads to the result." },
      result: { ...resultSchema(t), description: describeValueType(t) },
    },
    required: ["rationale", "result"],
    additionalProperties: false,
  };
}

export function describeValueType(t: FeedbackValueType): string {
  if (isCategories(t)) return `exactly one of ${t.map((c) => JSON.stringify(c)).join(", ")}`;
  if (t === "boolean") return "a JSON boolean, true or false";
  if (t === "number") return "a JSON number";
  return "a string";
}

export type ValidationResult = { ok: true; value: FeedbackValue } | { ok: false; reason: string };

/**
 * Checks the model's `result` against the type. Unambiguous spellings are accepted (a category
 * in another case, "true"/"yes" for a boolean, "4" for a number) because models without
 * structured output produce them; anything else is rejected so the judge can ask again.
 */
export function validateValue(t: FeedbackValueType, raw: unknown): ValidationResult {
  if (raw === undefined) return { ok: false, reason: 'the answer has no "result" field' };
  if (isCategories(t)) {
    if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") {
      const s = String(raw).trim();
      if (t.includes(s)) return { ok: true, value: s };
      const norm = (x: string) => x.toLowerCase().replace(/[\s-]+/g, "_");
      const hit = t.find((c) => norm(c) === norm(s));
      if (hit !== undefined) return { ok: true, value: hit };
    }
    return { ok: false, reason: `"result" was ${JSON.stringify(raw)}, which is not one of ${t.map((c) => JSON.stringify(c)).join(", ")}` };
  }
  if (t === "boolean") {
    if (typeof raw === "boolean") return { ok: true, value: raw };
    if (typeof raw === "string") {
      const s = raw.trim().toLowerCase();
      if (["true", "yes", "pass"].includes(s)) return { ok: true, value: true };
      if (["false", "no", "fail"].includes(s)) return { ok: true, value: false };
    }
    return { ok: false, reason: `"result" was ${JSON.stringify(raw)}, not a boolean (true or false)` };
  }
  if (t === "number") {
    if (typeof raw === "number" && Number.isFinite(raw)) return { ok: true, value: raw };
    if (typeof raw === "string" && raw.trim() !== "" && Number.isFinite(Number(raw))) return { ok: true, value: Number(raw) };
    return { ok: false, reason: `"result" was ${JSON.stringify(raw)}, not a number` };
  }
  if (typeof raw === "string") return { ok: true, value: raw };
  if (typeof raw === "number" || typeof raw === "boolean") return { ok: true, value: String(raw) };
  return { ok: false, reason: `"result" was ${JSON.stringify(raw)}, not a string` };
}
