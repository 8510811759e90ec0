/**
 * Deterministic sampling: a trace is in a judge's sample when a hash of its id and the
 * judge's name falls below the rate. The same trace and judge always get the same answer,
 * across workers, restarts and judge versions (a new version scores the same traces), while
 * two judges at 10% pick different traces. Computed in ClickHouse (cityHash64), next to the
 * shard test, so unsampled traces never leave the database.
 */
export const SAMPLE_SCALE = 1_000_000;

/** The rate as a threshold on `hash % SAMPLE_SCALE` (rates finer than 1e-6 round). */
export function sampleThreshold(rate: number): number {
  if (!(rate > 0)) return 0;
  return Math.min(SAMPLE_SCALE, Math.round(rate * SAMPLE_SCALE));
}

/** `traceExpr` is in the sample of the judge named by `nameParam` at `thresholdParam`. */
export function sampledSql(traceExpr: string, nameParam: string, thresholdParam: string): string {
  return `cityHash64(${traceExpr}, ${nameParam}) % ${SAMPLE_SCALE} < ${thresholdParam}`;
}

/** `traceExpr` belongs to shard `indexParam` of `countParam` (docs/online-scoring.md: cityHash64(TraceId) % N). */
export function shardSql(traceExpr: string, countParam: string, indexParam: string): string {
  return `cityHash64(${traceExpr}) % ${countParam} = ${indexParam}`;
}
