/**
 * Agreement metrics between human labels and judge results: the per-example metric the
 * optimizers maximise, and the report's agreement, Cohen's kappa and confusion matrix.
 */
import type { FeedbackValue } from "../assessment.js";
import type { AgreementStats, ConfusionMatrix } from "./types.js";
import { normalizeLabel } from "./training-set.js";

/** Column for judge calls that produced no value. */
export const ERROR_LABEL = "(error)";

/** The judge's result as a label; null (a failed call) stays null. */
export function predictionLabel(value: FeedbackValue | undefined): string | null {
  return value === null || value === undefined ? null : normalizeLabel(value);
}

/** SIMBA's metric: 1 when the judge's result equals the human label (same normalisation), else 0. */
export function agreementScore(prediction: FeedbackValue | string | undefined, label: string): number {
  if (prediction === null || prediction === undefined) return 0;
  return normalizeLabel(prediction) === label ? 1 : 0;
}

/** Labels in a stable order: the judge's categories first (as given), then the rest sorted. */
export function orderLabels(seen: Iterable<string>, categories?: readonly string[]): string[] {
  const all = new Set(seen);
  const out: string[] = [];
  for (const c of categories ?? []) {
    const n = normalizeLabel(c);
    if (!out.includes(n)) out.push(n);
  }
  const rest = [...all].filter((l) => !out.includes(l) && l !== ERROR_LABEL).sort();
  out.push(...rest);
  if (all.has(ERROR_LABEL)) out.push(ERROR_LABEL);
  return out;
}

export function confusionMatrix(human: readonly string[], judge: readonly (string | null)[], categories?: readonly string[]): ConfusionMatrix {
  const j = judge.map((x) => x ?? ERROR_LABEL);
  const labels = orderLabels([...human, ...j], categories);
  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  human.forEach((h, i) => {
    matrix[index.get(h)!]![index.get(j[i]!)!]! += 1;
  });
  return { labels, matrix };
}

/**
 * Cohen's kappa, (p_o − p_e) / (1 − p_e). Failed judge calls are their own category, so they
 * count against agreement like any other mismatch. Null when p_e = 1 (both raters used one and
 * the same class): kappa is undefined there, and 0 or 1 would both mislead.
 */
export function cohenKappa(human: readonly string[], judge: readonly (string | null)[]): number | null {
  const n = human.length;
  if (n === 0) return null;
  const j = judge.map((x) => x ?? ERROR_LABEL);
  let agree = 0;
  const ch = new Map<string, number>();
  const cj = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (human[i] === j[i]) agree++;
    ch.set(human[i]!, (ch.get(human[i]!) ?? 0) + 1);
    cj.set(j[i]!, (cj.get(j[i]!) ?? 0) + 1);
  }
  const po = agree / n;
  let pe = 0;
  for (const [label, c] of ch) pe += (c / n) * ((cj.get(label) ?? 0) / n);
  if (Math.abs(1 - pe) < 1e-12) return null;
  return (po - pe) / (1 - pe);
}

export function agreementStats(human: readonly string[], judge: readonly (string | null)[], categories?: readonly string[]): AgreementStats {
  const n = human.length;
  let agree = 0;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    if (judge[i] === null) errors++;
    else if (judge[i] === human[i]) agree++;
  }
  return {
    n,
    agreement: n === 0 ? 0 : agree / n,
    kappa: cohenKappa(human, judge),
    confusion: confusionMatrix(human, judge, categories),
    errors,
  };
}
