/**
 * Aggregate metrics of an evaluation, per scorer:
 *
 * - numbers and booleans (true = 1, false = 0): `<name>/mean`, `/min`, `/max`, `/p50`, `/p90`;
 * - strings (categories): `<name>/<category>/share`, the share of the rows with a category that
 *   got this one;
 * - always: `<name>/count` (rows with a value) and `<name>/error_count` (rows where the scorer
 *   failed). Failed rows and null values are left out of every mean and share.
 */
import type { FeedbackValue } from "@gavel/judges";

export interface ScorerOutcomes {
  name: string;
  /** One entry per row: the value, or an error. */
  outcomes: readonly ({ value: FeedbackValue | undefined; error?: undefined } | { error: unknown; value?: unknown })[];
  /** Categories to report even when no row got them (a judge's list), with share 0. */
  categories?: readonly string[];
}

/**
 * The q-th percentile (0–100) of ascending `sorted`, interpolating linearly between the two
 * nearest ranks as numpy's default does, so numbers match what MLflow users are used to.
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error("percentile of an empty list");
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return lo === hi ? a : a + (b - a) * (pos - lo);
}

export function scorerMetrics(s: ScorerOutcomes): Record<string, number> {
  const numbers: number[] = [];
  const labels = new Map<string, number>();
  for (const c of s.categories ?? []) labels.set(c, 0);
  let errors = 0;
  let valued = 0;
  for (const o of s.outcomes) {
    if (o.error !== undefined) {
      errors++;
      continue;
    }
    const v = o.value;
    if (typeof v === "number" && Number.isFinite(v)) numbers.push(v);
    else if (typeof v === "boolean") numbers.push(v ? 1 : 0);
    else if (typeof v === "string") labels.set(v, (labels.get(v) ?? 0) + 1);
    else continue;
    valued++;
  }
  const m: Record<string, number> = {};
  const key = (suffix: string) => `${s.name}/${suffix}`;
  if (numbers.length > 0) {
    numbers.sort((a, b) => a - b);
    m[key("mean")] = numbers.reduce((a, b) => a + b, 0) / numbers.length;
    m[key("min")] = numbers[0]!;
    m[key("max")] = numbers[numbers.length - 1]!;
    m[key("p50")] = percentile(numbers, 50);
    m[key("p90")] = percentile(numbers, 90);
  }
  const labelled = [...labels.values()].reduce((a, b) => a + b, 0);
  if (labelled > 0) {
    for (const [label, n] of labels) m[key(`${label}/share`)] = labelled === 0 ? 0 : n / labelled;
  }
  m[key("count")] = valued;
  m[key("error_count")] = errors;
  return m;
}

export function evaluationMetrics(scorers: readonly ScorerOutcomes[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const s of scorers) Object.assign(m, scorerMetrics(s));
  return m;
}
