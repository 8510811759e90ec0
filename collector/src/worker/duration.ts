const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `500ms`, `30s`, `15m`, `24h`, `7d`, `2w` → milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/**
 * A point in time given as an ISO time (`2025-01-31`, `2025-01-31T12:00:00Z`) or as a
 * duration back from `now` (`24h`, `7d`); unix milliseconds, or undefined when unreadable.
 */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  // Date.parse reads many informal formats; only ISO-looking text is accepted, so "5" or
  // "yesterday" is an error rather than a surprise.
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const t = Date.parse(text.trim());
  return Number.isFinite(t) ? t : undefined;
}
