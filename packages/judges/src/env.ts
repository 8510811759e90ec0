/** Reads a non-negative number from the environment, falling back when unset or invalid. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export function envString(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
}

/** `true` unless the variable says false/0/no/off. */
export function envFlag(name: string, fallback: boolean): boolean {
  const raw = envString(name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["false", "0", "no", "off"].includes(raw)) return false;
  if (["true", "1", "yes", "on"].includes(raw)) return true;
  return fallback;
}
