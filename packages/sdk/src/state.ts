/**
 * Process-wide SDK state. One mutable object, so the hot path in trace() reads a
 * property instead of calling a getter, and init() can reconfigure everything.
 */
export const DEFAULT_URL = "http://127.0.0.1:4318";
export const DEFAULT_MAX_PAYLOAD_BYTES = 65_536;

function envPayloadCap(): number {
  const raw = process.env.GAVEL_MAX_PAYLOAD_BYTES;
  if (raw === undefined || raw.trim() === "") return DEFAULT_MAX_PAYLOAD_BYTES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.warn(`[gavel] GAVEL_MAX_PAYLOAD_BYTES="${raw}" is not a positive integer; using ${DEFAULT_MAX_PAYLOAD_BYTES}.`);
    return DEFAULT_MAX_PAYLOAD_BYTES;
  }
  return n;
}

export interface SdkState {
  /** Explicit collector URL from init(); otherwise GAVEL_URL is read at call time. */
  url: string | undefined;
  /** Explicit API key from init(); otherwise GAVEL_API_KEY is read at call time. */
  apiKey: string | undefined;
  /** Experiment set by setExperiment() (or GAVEL_EXPERIMENT_ID); runs override it in context. */
  experimentId: string | undefined;
  lastTraceId: string | undefined;
  maxPayloadBytes: number;
  /**
   * Strings of at most this many UTF-16 units fit the byte cap whatever they contain
   * (a unit is at most 3 UTF-8 bytes), so most payloads skip measuring their bytes.
   */
  safeChars: number;
}

const cap = envPayloadCap();
export const state: SdkState = {
  url: undefined,
  apiKey: undefined,
  experimentId: process.env.GAVEL_EXPERIMENT_ID?.trim() || undefined,
  lastTraceId: undefined,
  maxPayloadBytes: cap,
  safeChars: Math.floor(cap / 3),
};

export function setMaxPayloadBytes(n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`maxPayloadBytes must be a positive integer, got ${n}.`);
  state.maxPayloadBytes = n;
  state.safeChars = Math.floor(n / 3);
}

/** Collector base URL without a trailing slash: init({ url }), else GAVEL_URL, else the default. */
export function collectorUrl(): string {
  const u = state.url ?? (process.env.GAVEL_URL?.trim() || DEFAULT_URL);
  return u.replace(/\/+$/, "");
}

export function apiKey(): string | undefined {
  return state.apiKey ?? (process.env.GAVEL_API_KEY?.trim() || undefined);
}
