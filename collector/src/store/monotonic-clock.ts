let lastNs = 0n;

/**
 * Strictly increasing nanosecond clock, for the version columns of ReplacingMergeTree tables
 * (assessments, scorers, alignment runs): versions written in the same millisecond still order.
 */
export function monotonicNowNs(): bigint {
  const now = BigInt(Date.now()) * 1_000_000n;
  lastNs = now > lastNs ? now : lastNs + 1n;
  return lastNs;
}
