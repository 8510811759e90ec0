/**
 * Training-set extraction: one example per trace
 * with a valid HUMAN label of the judge's name, the judge's template fields taken from the
 * trace. This is the one implementation of the vote, used by client-side alignment and by the
 * collector's server-side job (collector/src/alignment/training-set.ts only finds the labels):
 * each reviewer's newest label counts once, the majority wins, a tie goes to the newest. Labels
 * are normalised here only (`String(value).toLowerCase().trim()`, Unicode-aware).
 */
import type { Judge } from "../judge.js";
import type { TemplateVariable } from "../template.js";
import { traceInputsOutputs, type JudgeTrace } from "../trace-format.js";
import type { AlignmentExample, LabelledAssessment, PlainLabelledTrace, SdkLikeTrace, TrainingExample, TrainingSet } from "./types.js";

/** The metric's normalisation: `String(value).toLowerCase().trim()` (objects as JSON). */
export function normalizeLabel(value: unknown): string {
  if (value !== null && typeof value === "object") {
    try {
      return JSON.stringify(value).toLowerCase().trim();
    } catch {
      return String(value).toLowerCase().trim();
    }
  }
  return String(value).toLowerCase().trim();
}

const normName = (s: unknown): string => (typeof s === "string" ? s.trim().toLowerCase() : "");

function isSdkTrace(t: AlignmentExample): t is SdkLikeTrace {
  return typeof (t as SdkLikeTrace).searchAssessments === "function" && typeof (t as SdkLikeTrace).info === "object";
}

export function traceIdOf(t: AlignmentExample | string): string | undefined {
  if (typeof t === "string") return t;
  if (!t || typeof t !== "object") return undefined;
  if (isSdkTrace(t)) return t.info?.traceId;
  const p = t as PlainLabelledTrace & { info?: { traceId?: string } };
  return p.traceId ?? p.info?.traceId;
}

function assessmentsOf(t: AlignmentExample): readonly LabelledAssessment[] {
  if (isSdkTrace(t)) return t.searchAssessments({ all: true }) ?? [];
  const list = (t as PlainLabelledTrace).assessments;
  return Array.isArray(list) ? list : [];
}

const isValid = (a: LabelledAssessment): boolean => a.valid !== false && (a.error === undefined || a.error === null);
const timeOf = (a: LabelledAssessment): number => (typeof a.createTimeMs === "number" && Number.isFinite(a.createTimeMs) ? a.createTimeMs : 0);

export interface HumanLabel {
  label: string;
  rationale?: string;
  votes: number;
  reviewers: number;
}

/** The winning human label of `judgeName` on one trace, or undefined when it has none. */
export function humanLabelOf(assessments: readonly LabelledAssessment[], judgeName: string): HumanLabel | undefined {
  const want = normName(judgeName);
  // Newest label per reviewer; later entries win ties on time, as a later write would.
  const perReviewer = new Map<string, { label: string; rationale: string | undefined; at: number; order: number }>();
  assessments.forEach((a, order) => {
    if (!a || typeof a !== "object") return;
    if (normName(a.name) !== want || !isValid(a) || (a.kind ?? "feedback") === "expectation") return;
    if (String(a.source?.sourceType ?? "").trim().toUpperCase() !== "HUMAN") return;
    if (a.value === null || a.value === undefined) return;
    const label = normalizeLabel(a.value);
    if (label === "") return;
    const reviewer = a.source?.sourceId ?? "";
    const at = timeOf(a);
    const prev = perReviewer.get(reviewer);
    if (!prev || at > prev.at || (at === prev.at && order > prev.order)) {
      perReviewer.set(reviewer, { label, rationale: typeof a.rationale === "string" && a.rationale !== "" ? a.rationale : undefined, at, order });
    }
  });
  if (perReviewer.size === 0) return undefined;
  const tally = new Map<string, { n: number; newest: number; order: number; rationale: string | undefined }>();
  for (const r of perReviewer.values()) {
    const t = tally.get(r.label);
    if (!t) tally.set(r.label, { n: 1, newest: r.at, order: r.order, rationale: r.rationale });
    else {
      t.n += 1;
      if (r.at > t.newest || (r.at === t.newest && r.order > t.order)) {
        t.newest = r.at;
        t.order = r.order;
        t.rationale = r.rationale;
      }
    }
  }
  let best: [string, { n: number; newest: number; order: number; rationale: string | undefined }] | undefined;
  for (const entry of tally) {
    const [, t] = entry;
    if (!best || t.n > best[1].n || (t.n === best[1].n && (t.newest > best[1].newest || (t.newest === best[1].newest && t.order > best[1].order)))) best = entry;
  }
  const [label, t] = best!;
  return { label, ...(t.rationale !== undefined ? { rationale: t.rationale } : {}), votes: t.n, reviewers: perReviewer.size };
}

function expectationsFrom(assessments: readonly LabelledAssessment[]): Record<string, unknown> | undefined {
  const newest = new Map<string, { value: unknown; at: number }>();
  for (const a of assessments) {
    if (!a || a.kind !== "expectation" || !isValid(a) || typeof a.name !== "string") continue;
    const prev = newest.get(a.name);
    if (!prev || timeOf(a) >= prev.at) newest.set(a.name, { value: a.value, at: timeOf(a) });
  }
  if (newest.size === 0) return undefined;
  return Object.fromEntries([...newest].map(([k, v]) => [k, v.value]));
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

/** The judge's template fields for a trace; a field the trace lacks is undefined. */
export function judgeFieldsOf(t: AlignmentExample, variables: readonly TemplateVariable[]): Partial<Record<TemplateVariable, unknown>> {
  const out: Partial<Record<TemplateVariable, unknown>> = {};
  const assessments = assessmentsOf(t);
  let io: { inputs?: unknown; outputs?: unknown } | undefined;
  let trace: JudgeTrace | undefined;
  let inputs: unknown;
  let outputs: unknown;
  let expectations: unknown;
  if (isSdkTrace(t)) {
    trace = t as unknown as JudgeTrace;
    io = traceInputsOutputs(trace);
    inputs = io.inputs;
    outputs = io.outputs;
    expectations = expectationsFrom(assessments);
  } else {
    const p = t as PlainLabelledTrace;
    trace = p.trace;
    inputs = p.inputs;
    outputs = p.outputs;
    if (trace && (!present(inputs) || !present(outputs))) {
      io = traceInputsOutputs(trace);
      if (!present(inputs)) inputs = io.inputs;
      if (!present(outputs)) outputs = io.outputs;
    }
    expectations = present(p.expectations) ? p.expectations : expectationsFrom(assessments);
  }
  for (const v of variables) {
    const value = v === "inputs" ? inputs : v === "outputs" ? outputs : v === "expectations" ? expectations : trace;
    if (present(value)) out[v] = value;
  }
  return out;
}

/** Extracts the usable examples and counts what was skipped and why. */
export function extractTrainingSet(judge: Pick<Judge, "name" | "templateVariables">, traces: readonly AlignmentExample[]): TrainingSet {
  const examples: TrainingExample[] = [];
  const skipped = { missingField: 0, noLabel: 0, duplicate: 0 };
  const missingByField: Partial<Record<TemplateVariable, number>> = {};
  const seen = new Set<string>();
  traces.forEach((t, i) => {
    if (!t || typeof t !== "object") {
      skipped.noLabel += 1;
      return;
    }
    // A trace without an id still trains; it just cannot be unaligned by id later.
    const traceId = traceIdOf(t) ?? `#${i}`;
    if (seen.has(traceId)) {
      skipped.duplicate += 1;
      return;
    }
    seen.add(traceId);
    const human = humanLabelOf(assessmentsOf(t), judge.name);
    if (!human) {
      skipped.noLabel += 1;
      return;
    }
    const fields = judgeFieldsOf(t, judge.templateVariables);
    const missing = judge.templateVariables.filter((v) => fields[v] === undefined);
    if (missing.length > 0) {
      skipped.missingField += 1;
      for (const v of missing) missingByField[v] = (missingByField[v] ?? 0) + 1;
      return;
    }
    examples.push({
      traceId,
      fields,
      label: human.label,
      ...(human.rationale !== undefined ? { rationale: human.rationale } : {}),
      votes: human.votes,
      reviewers: human.reviewers,
    });
  });
  return { examples, total: traces.length, skipped, missingByField };
}

/** "3 without a human label, 2 missing {{ expectations }}", for error messages and notes. */
export function describeSkips(set: TrainingSet, judgeName: string): string {
  const parts: string[] = [];
  if (set.skipped.noLabel) parts.push(`${set.skipped.noLabel} without a valid human "${judgeName}" label`);
  if (set.skipped.missingField) {
    const by = Object.entries(set.missingByField).map(([v, n]) => `${n} missing {{ ${v} }}`);
    parts.push(`${set.skipped.missingField} missing a field the judge needs (${by.join(", ")})`);
  }
  if (set.skipped.duplicate) parts.push(`${set.skipped.duplicate} duplicate trace id${set.skipped.duplicate === 1 ? "" : "s"}`);
  return parts.join("; ");
}
