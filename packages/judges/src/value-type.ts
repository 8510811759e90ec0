import type { FeedbackValue } from "./assessment.js";
import { GavelConfigError } from "./errors.js";

export type PrimitiveValueType = "string" | "boolean" | "number";

/** A list of values of one primitive type (MLflow's `list[str]` …). */
export interface ListValueType {
  readonly type: "list";
  readonly items: PrimitiveValueType;
}

/** An object of values of one primitive type, by string key (MLflow's `dict[str, int]` …). */
export interface DictValueType {
  readonly type: "dict";
  readonly values: PrimitiveValueType;
}

/** A list of categories, a primitive type, or a list or dict of a primitive type. */
export type FeedbackValueType = PrimitiveValueType | readonly string[] | ListValueType | DictValueType;

const PRIMITIVE_ALIASES: Record<string, PrimitiveValueType> = {
  string: "string",
  str: "string",
  boolean: "boolean",
  bool: "boolean",
  number: "number",
  int: "number",
  integer: "number",
  float: "number",
};

export function isList(t: FeedbackValueType): t is ListValueType {
  return typeof t === "object" && !Array.isArray(t) && (t as ListValueType).type === "list";
}

export function isDict(t: FeedbackValueType): t is DictValueType {
  return typeof t === "object" && !Array.isArray(t) && (t as DictValueType).type === "dict";
}

/** MLflow's annotations written as strings: "list[str]", "dict[str, int]", "List[bool]", "dict[str,float]". */
function parseContainerType(raw: string): ListValueType | DictValueType | undefined {
  const list = /^\s*list\s*\[\s*(\w+)\s*\]\s*$/i.exec(raw);
  if (list) {
    const items = PRIMITIVE_ALIASES[list[1]!.toLowerCase()];
    return items ? Object.freeze({ type: "list", items }) : undefined;
  }
  const dict = /^\s*dict\s*\[\s*str(?:ing)?\s*,\s*(\w+)\s*\]\s*$/i.exec(raw);
  if (dict) {
    const values = PRIMITIVE_ALIASES[dict[1]!.toLowerCase()];
    return values ? Object.freeze({ type: "dict", values }) : undefined;
  }
  return undefined;
}

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
  if (typeof explicit === "string" && PRIMITIVE_ALIASES[explicit] !== undefined) return PRIMITIVE_ALIASES[explicit]!;
  if (typeof explicit === "string") {
    const container = parseContainerType(explicit);
    if (container) return container;
  }
  if (explicit && typeof explicit === "object" && !Array.isArray(explicit)) {
    const o = explicit as { type?: unknown; items?: unknown; values?: unknown };
    const prim = (x: unknown) => (typeof x === "string" ? PRIMITIVE_ALIASES[x] : undefined);
    if (o.type === "list" && prim(o.items)) return Object.freeze({ type: "list", items: prim(o.items)! });
    if (o.type === "dict" && prim(o.values)) return Object.freeze({ type: "dict", values: prim(o.values)! });
  }
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
    `Judge "${judgeName}": feedbackValueType must be "string", "boolean", "number", a list of categories, ` +
      `"list[str]" (or { type: "list", items: "string" }), "dict[str, int]" (or { type: "dict", values: "number" }), got ${JSON.stringify(explicit)}.`,
  );
}

export function isCategories(t: FeedbackValueType): t is readonly string[] {
  return Array.isArray(t);
}

/**
 * JSON schema of the `result` field (OpenAI strict-mode compatible). Strict mode allows no
 * free-form object keys, so a dict is asked for as a list of { key, value } pairs and turned
 * back into an object by validateValue.
 */
export function resultSchema(t: FeedbackValueType): Record<string, unknown> {
  if (isCategories(t)) return { type: "string", enum: [...t] };
  if (isList(t)) return { type: "array", items: { type: t.items } };
  if (isDict(t)) {
    return {
      type: "array",
      items: {
        type: "object",
        properties: { key: { type: "string" }, value: { type: t.values } },
        required: ["key", "value"],
        additionalProperties: false,
      },
    };
  }
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

const PRIMITIVE_DESCRIPTION: Record<PrimitiveValueType, string> = { string: "strings", boolean: "JSON booleans", number: "JSON numbers" };

export function describeValueType(t: FeedbackValueType): string {
  if (isCategories(t)) return `exactly one of ${t.map((c) => JSON.stringify(c)).join(", ")}`;
  if (isList(t)) return `a JSON array of ${PRIMITIVE_DESCRIPTION[t.items]}`;
  if (isDict(t)) return `a JSON array of {"key": <string>, "value": <${t.values}>} pairs, one per entry (keys unique)`;
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
  if (isList(t)) {
    if (!Array.isArray(raw)) return { ok: false, reason: `"result" was ${JSON.stringify(raw)}, not a JSON array` };
    const items: FeedbackValue[] = [];
    for (const x of raw) {
      const v = validateValue(t.items, x);
      if (!v.ok) return { ok: false, reason: `an item of "result": ${v.reason}` };
      items.push(v.value);
    }
    return { ok: true, value: items };
  }
  if (isDict(t)) {
    // The pairs the schema asks for, or a plain object from a model without structured output.
    const entries: [unknown, unknown][] = Array.isArray(raw)
      ? raw.map((p) => (p && typeof p === "object" ? [(p as { key?: unknown }).key, (p as { value?: unknown }).value] : [undefined, undefined]))
      : raw && typeof raw === "object"
        ? Object.entries(raw as Record<string, unknown>)
        : [];
    if (!Array.isArray(raw) && (!raw || typeof raw !== "object")) return { ok: false, reason: `"result" was ${JSON.stringify(raw)}, not key/value pairs` };
    const out: Record<string, FeedbackValue> = {};
    for (const [k, x] of entries) {
      if (typeof k !== "string" || k === "") return { ok: false, reason: `"result" has an entry without a string "key"` };
      if (k in out) return { ok: false, reason: `"result" has the key ${JSON.stringify(k)} twice` };
      const v = validateValue(t.values, x);
      if (!v.ok) return { ok: false, reason: `the value of ${JSON.stringify(k)}: ${v.reason}` };
      out[k] = v.value;
    }
    return { ok: true, value: out };
  }
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
