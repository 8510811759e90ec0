import { checkJudgeEnv, GavelConfigError } from "@gavel/judges";
import { ConfigError } from "../config/config.js";
import { parseDuration } from "./duration.js";
import { ALL_TRACES, parseShard, type Shard } from "./shard.js";

/** A limit with per-model exceptions: `32` or `32,openai:/gpt-4o=8,anthropic:/claude-opus-4-1=4`. */
export interface PerModel {
  default: number;
  byModel: ReadonlyMap<string, number>;
}

export const perModel = (p: PerModel, model: string): number => p.byModel.get(model) ?? p.default;

export interface WorkerSettings {
  /** GAVEL_WORKER: `auto` runs the online worker inside the collector when ClickHouse is embedded. */
  mode: "auto" | "on" | "off";
  /** GAVEL_SETTLE_MS: a trace is complete when no span arrived for this long (and its root has). */
  settleMs: number;
  /**
   * GAVEL_SESSION_SETTLE_MS: a session is complete when none of its traces received a span for
   * this long; then its `{{ conversation }}` judges run.
   */
  sessionSettleMs: number;
  /** GAVEL_WORKER_POLL_MS: how often the worker looks for complete traces. */
  pollMs: number;
  /** GAVEL_WORKER_LOOKBACK: traces whose root started longer ago are left to `gavel backfill`. */
  lookbackMs: number;
  /** GAVEL_WORKER_CONCURRENCY: judge calls in flight per model. */
  concurrency: PerModel;
  /** GAVEL_WORKER_RPM: judge calls started per minute per model; 0 = no limit. */
  rpm: PerModel;
  /** GAVEL_WORKER_SHARD: `i/N`, for a collector that runs one of several workers. */
  shard: Shard;
  /** GAVEL_WORKER_BATCH: most candidates one poll takes per judge. */
  batch: number;
  /** GAVEL_WORKER_DRAIN_MS: on shutdown, how long judge calls in flight may finish before they are abandoned. */
  drainMs: number;
  /** GAVEL_WORKER_WRITE_MS: how long a judgement waits for others to share its insert. */
  writeWindowMs: number;
}

export const DEFAULT_WORKER_SETTINGS: WorkerSettings = Object.freeze({
  mode: "auto",
  settleMs: 5000,
  sessionSettleMs: 300_000,
  pollMs: 500,
  lookbackMs: 24 * 3_600_000,
  concurrency: { default: 32, byModel: new Map() },
  rpm: { default: 0, byModel: new Map() },
  shard: ALL_TRACES,
  batch: 1000,
  drainMs: 5000,
  writeWindowMs: 500,
});

function whole(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`Invalid configuration: ${name} must be a whole number from ${min} to ${max} (got "${raw}"). Fix or unset it.`);
  }
  return Number(raw);
}

export function parsePerModel(name: string, raw: string, min: number): PerModel {
  let def: number | undefined;
  const byModel = new Map<string, number>();
  for (const part of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf("=");
    const [model, value] = eq < 0 ? [undefined, part] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new ConfigError(
        `Invalid configuration: ${name}="${raw}": "${value}" is not a whole number >= ${min}. ` +
          `Write a default and per-model values, e.g. ${name}=32,openai:/gpt-4o-mini=64.`,
      );
    }
    if (model === undefined || model === "*") def = Number(value);
    else if (model === "") throw new ConfigError(`Invalid configuration: ${name}="${raw}": a model is missing before "=".`);
    else byModel.set(model, Number(value));
  }
  return { default: def ?? NaN, byModel };
}

/** Worker settings from the environment; every invalid value names its variable. */
export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const d = DEFAULT_WORKER_SETTINGS;
  // The judges read GAVEL_LLM_* / GAVEL_JUDGE_* themselves; refuse a bad one now, not at the first call.
  try {
    checkJudgeEnv(env);
  } catch (err) {
    if (err instanceof GavelConfigError) throw new ConfigError(err.message);
    throw err;
  }
  const modeRaw = env.GAVEL_WORKER?.trim().toLowerCase() || "auto";
  const mode = ({ auto: "auto", on: "on", true: "on", "1": "on", off: "off", false: "off", "0": "off" } as const)[modeRaw as "auto"];
  if (!mode) throw new ConfigError(`Invalid configuration: GAVEL_WORKER must be auto, on or off (got "${env.GAVEL_WORKER}").`);
  let lookbackMs = d.lookbackMs;
  if (env.GAVEL_WORKER_LOOKBACK?.trim()) {
    const ms = parseDuration(env.GAVEL_WORKER_LOOKBACK);
    if (ms === undefined || ms < 60_000) {
      throw new ConfigError(`Invalid configuration: GAVEL_WORKER_LOOKBACK must be a duration of at least 1m, such as 24h or 7d (got "${env.GAVEL_WORKER_LOOKBACK}").`);
    }
    lookbackMs = ms;
  }
  let shard = d.shard;
  if (env.GAVEL_WORKER_SHARD?.trim()) {
    try {
      shard = parseShard(env.GAVEL_WORKER_SHARD);
    } catch (err) {
      throw new ConfigError(`Invalid configuration: GAVEL_WORKER_SHARD: ${(err as Error).message}`);
    }
  }
  const concurrency = env.GAVEL_WORKER_CONCURRENCY?.trim() ? parsePerModel("GAVEL_WORKER_CONCURRENCY", env.GAVEL_WORKER_CONCURRENCY, 1) : d.concurrency;
  const rpm = env.GAVEL_WORKER_RPM?.trim() ? parsePerModel("GAVEL_WORKER_RPM", env.GAVEL_WORKER_RPM, 0) : d.rpm;
  return {
    mode,
    settleMs: whole(env, "GAVEL_SETTLE_MS", 0, 3_600_000) ?? d.settleMs,
    sessionSettleMs: whole(env, "GAVEL_SESSION_SETTLE_MS", 0, 86_400_000) ?? d.sessionSettleMs,
    pollMs: whole(env, "GAVEL_WORKER_POLL_MS", 10, 600_000) ?? d.pollMs,
    lookbackMs,
    concurrency: { default: Number.isNaN(concurrency.default) ? d.concurrency.default : concurrency.default, byModel: concurrency.byModel },
    rpm: { default: Number.isNaN(rpm.default) ? d.rpm.default : rpm.default, byModel: rpm.byModel },
    shard,
    batch: whole(env, "GAVEL_WORKER_BATCH", 1, 100_000) ?? d.batch,
    drainMs: whole(env, "GAVEL_WORKER_DRAIN_MS", 0, 600_000) ?? d.drainMs,
    writeWindowMs: whole(env, "GAVEL_WORKER_WRITE_MS", 0, 10_000) ?? d.writeWindowMs,
  };
}
