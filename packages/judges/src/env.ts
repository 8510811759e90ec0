import { GavelConfigError } from "./errors.js";

/** The numeric and boolean variables the judges read, with their defaults: the one place they are listed. */
const NUMBERS = {
  GAVEL_LLM_MAX_RETRIES: 4,
  GAVEL_LLM_TIMEOUT_MS: 60_000,
  GAVEL_JUDGE_MAX_OUTPUT_ATTEMPTS: 3,
  GAVEL_JUDGE_TRACE_MAX_CHARS: 100_000,
  GAVEL_MAX_PAYLOAD_BYTES: 64 * 1024,
  GAVEL_ANTHROPIC_MAX_TOKENS: 1024,
} as const;
const FLAGS = { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: true } as const;
export type JudgeNumberVariable = keyof typeof NUMBERS;
export type JudgeFlagVariable = keyof typeof FLAGS;

type Parsed<T> = { value: T } | { error: string };

function parseNumber(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): Parsed<number> {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return { value: fallback };
  const n = Number(raw.trim());
  if (Number.isFinite(n) && n >= 0) return { value: n };
  return { error: `Invalid configuration: ${name} must be a number >= 0 (got "${raw}"). Fix or unset it; the default is ${fallback}.` };
}

function parseFlag(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): Parsed<boolean> {
  const raw = env[name]?.trim().toLowerCase() || undefined;
  if (raw === undefined) return { value: fallback };
  if (["false", "0", "no", "off"].includes(raw)) return { value: false };
  if (["true", "1", "yes", "on"].includes(raw)) return { value: true };
  return { error: `Invalid configuration: ${name} must be true or false (got "${env[name]}"). Fix or unset it; the default is ${fallback}.` };
}

const warned = new Set<string>();

/**
 * Inside an app (instrumentation, a judge call) a bad value must not break the call: like the
 * OpenTelemetry SDKs, warn once and use the default. Processes that start up check strictly
 * first (`checkJudgeEnv`), so a server refuses the value instead.
 */
function valueOrWarn<T>(name: string, p: Parsed<T>, fallback: T): T {
  if ("value" in p) return p.value;
  if (!warned.has(name)) {
    warned.add(name);
    process.emitWarning(p.error, { code: "GAVEL_CONFIG" });
  }
  return fallback;
}

/** A non-negative number from the environment; unset or blank gives its default, a bad value warns once and gives it too. */
export function envNumber(name: JudgeNumberVariable): number {
  return valueOrWarn(name, parseNumber(name, NUMBERS[name]), NUMBERS[name]);
}

export function envString(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
}

/** true/1/yes/on or false/0/no/off; unset gives its default, a bad value warns once and gives it too. */
export function envFlag(name: JudgeFlagVariable): boolean {
  return valueOrWarn(name, parseFlag(name, FLAGS[name]), FLAGS[name]);
}

/**
 * Checks every variable the judges read, strictly: the collector, `gavel worker`, `gavel align`
 * and `gavel eval` call it when they start, so a typo is refused with its name instead of
 * quietly meaning the default. Throws GavelConfigError naming the first bad variable.
 */
export function checkJudgeEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, fallback] of Object.entries(NUMBERS)) {
    const p = parseNumber(name, fallback, env);
    if ("error" in p) throw new GavelConfigError(p.error);
  }
  for (const [name, fallback] of Object.entries(FLAGS)) {
    const p = parseFlag(name, fallback, env);
    if ("error" in p) throw new GavelConfigError(p.error);
  }
}
