/**
 * A SIMBA "program" for a judge: its instructions (the original plus accumulated rules) and
 * its demos. Rendering it back into judge instructions keeps the judge's template variables
 * exactly as they were: text that came from a model or from trace data has its `{{ … }}`
 * markers neutralised, and a variable that went missing is restored.
 */
import type { Judge } from "../judge.js";
import { formatValue, parseTemplateVariables, type TemplateVariable } from "../template.js";
import { renderTraceForJudge, type JudgeTrace } from "../trace-format.js";
import type { TrainingExample } from "./types.js";

export interface Demo {
  traceId: string;
  /** The example's judge fields, rendered as text (cut at demoInputFieldMaxlen). */
  fields: Partial<Record<TemplateVariable, string>>;
  /** The judge's answer on that example. */
  result: string;
  rationale: string;
  truncated: boolean;
}

export interface Program {
  /** The original instructions followed by the rules, each after a blank line. */
  instructions: string;
  /** The rules appended so far, oldest first. */
  rules: string[];
  /** Trace id of the example each rule was written from (same order as `rules`). */
  ruleSources?: string[];
  demos: Demo[];
}

export const DEMOS_HEADER = "Here are some examples of good assessments:";
export const TRUNCATED_MARK = "\n… <TRUNCATED FIELD>";

/** `{{ inputs }}` → `inputs`, so text written by a model or taken from data can never add or drop a variable. */
export function neutraliseTemplate(text: string): string {
  return text.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, "$1").replace(/\{\{/g, "{ {").replace(/\}\}/g, "} }");
}

export function renderField(v: TemplateVariable, value: unknown, maxLen: number): { text: string; truncated: boolean } {
  const full = v === "trace" ? renderTraceForJudge(value as JudgeTrace, { maxChars: Math.max(500, maxLen) }) : formatValue(value);
  if (full.length <= maxLen) return { text: full, truncated: false };
  return { text: full.slice(0, maxLen) + TRUNCATED_MARK, truncated: true };
}

export function demoFrom(example: TrainingExample, result: unknown, rationale: string, maxLen: number): Demo {
  const fields: Partial<Record<TemplateVariable, string>> = {};
  let truncated = false;
  for (const [k, value] of Object.entries(example.fields) as [TemplateVariable, unknown][]) {
    const r = renderField(k, value, maxLen);
    fields[k] = r.text;
    truncated ||= r.truncated;
  }
  return { traceId: example.traceId, fields, result: formatValue(result), rationale, truncated };
}

export function renderDemos(demos: readonly Demo[]): string {
  if (demos.length === 0) return "";
  const blocks = demos.map((d, i) => {
    const lines = [`Example ${i + 1}:`];
    for (const [k, text] of Object.entries(d.fields)) lines.push(`${k}: ${text}`);
    lines.push(`result: ${d.result}`);
    if (d.rationale) lines.push(`rationale: ${d.rationale}`);
    return neutraliseTemplate(lines.join("\n"));
  });
  return [DEMOS_HEADER, "", blocks.join("\n\n")].join("\n");
}

/** Restores template variables the text lost (never happens when rules are appended, but a custom optimizer may rewrite). */
export function ensureVariables(text: string, variables: readonly TemplateVariable[], judgeName: string): string {
  let found: TemplateVariable[] = [];
  try {
    found = parseTemplateVariables(text, judgeName);
  } catch {
    found = [];
  }
  const missing = variables.filter((v) => !found.includes(v));
  if (missing.length === 0) return text;
  return `${text.trimEnd()}\n\nInputs for assessment: ${variables.map((v) => `{{ ${v} }}`).join(", ")}`;
}

/** The judge instructions for a program: demos first, then the instructions with their rules. */
export function renderInstructions(program: Program, variables: readonly TemplateVariable[], judgeName: string): string {
  const demos = renderDemos(program.demos);
  const text = demos ? `${demos}\n\n${program.instructions}` : program.instructions;
  return ensureVariables(text, variables, judgeName);
}

/** A judge running `program`, with the same class, options and template variables as `base`. */
export function programJudge(base: Judge, program: Program, inferenceParams?: Record<string, unknown>): Judge {
  const instructions = renderInstructions(program, base.templateVariables, base.name);
  if (instructions === base.instructions && inferenceParams === undefined) return base;
  return base.clone({ instructions, ...(inferenceParams !== undefined ? { inferenceParams } : {}) });
}
