import { envNumber } from "./env.js";
import { GavelConfigError, LLMError } from "./errors.js";

export interface RetryOptions {
  /** Retries after the first attempt. Default: env GAVEL_LLM_MAX_RETRIES, else 4. */
  maxRetries?: number;
  /** Per-attempt timeout. Default: env GAVEL_LLM_TIMEOUT_MS, else 60000. */
  timeoutMs?: number;
  /** Backoff base: attempt n waits up to baseDelayMs * 2^(n-1). Default 500. */
  baseDelayMs?: number;
  /** Backoff cap. Default 20000. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails as RATE_LIMITED. Default 120000. */
  maxRetryAfterMs?: number;
  /** Injected in tests to make backoff instant and observable. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected in tests; [0, 1). Default Math.random. */
  random?: () => number;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  /** The attempt that failed, 1-based. */
  attempt: number;
  delayMs: number;
  error: LLMError;
}

export interface ResolvedRetryOptions {
  maxRetries: number;
  timeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  random: () => number;
  onRetry: ((info: RetryInfo) => void) | undefined;
}

export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function resolveRetryOptions(o: RetryOptions = {}): ResolvedRetryOptions {
  return {
    maxRetries: Math.floor(o.maxRetries ?? envNumber("GAVEL_LLM_MAX_RETRIES")),
    timeoutMs: o.timeoutMs ?? envNumber("GAVEL_LLM_TIMEOUT_MS"),
    baseDelayMs: o.baseDelayMs ?? 500,
    maxDelayMs: o.maxDelayMs ?? 20_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 120_000,
    sleep: o.sleep ?? defaultSleep,
    random: o.random ?? Math.random,
    onRetry: o.onRetry,
  };
}

/** Full jitter (AWS architecture blog): spreads retries of many clients hit by the same outage. */
export function backoffDelay(attempt: number, o: Pick<ResolvedRetryOptions, "baseDelayMs" | "maxDelayMs" | "random">): number {
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(o.random() * ceiling);
}

/** Parses `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: unknown, now = Date.now()): number | undefined {
  const get = (name: string): string | null | undefined => {
    if (!headers || typeof headers !== "object") return undefined;
    const h = headers as { get?: (n: string) => string | null } & Record<string, unknown>;
    if (typeof h.get === "function") return h.get(name);
    const v = h[name];
    return typeof v === "string" ? v : undefined;
  };
  const ms = get("retry-after-ms");
  if (ms != null && ms.trim() !== "" && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get("retry-after");
  if (ra == null || ra.trim() === "") return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export interface AttemptSignal {
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error occurs, or retries run out. Each
 * attempt gets its own AbortSignal that fires after `timeoutMs` (our own timer, because the
 * SDK's timeout stops at the response headers and a stalled body would otherwise hang).
 * `classify` turns whatever the attempt threw into an LLMError; GavelConfigErrors pass through.
 */
export async function withRetry<T>(
  attempt: (ctx: AttemptSignal, n: number) => Promise<T>,
  classify: (err: unknown, timedOut: boolean) => LLMError,
  options: ResolvedRetryOptions,
  userSignal?: AbortSignal,
): Promise<{ value: T; attempts: number }> {
  for (let n = 1; ; n++) {
    if (userSignal?.aborted) throw new LLMError("ABORTED", "The call was aborted by the caller.", { attempts: n - 1 });
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort(new Error(`timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onUserAbort = () => ac.abort(userSignal!.reason);
    userSignal?.addEventListener("abort", onUserAbort, { once: true });
    let error: LLMError;
    try {
      const value = await attempt({ signal: ac.signal, timeoutMs: options.timeoutMs }, n);
      return { value, attempts: n };
    } catch (err) {
      if (err instanceof GavelConfigError) throw err;
      error =
        userSignal?.aborted && !timedOut
          ? new LLMError("ABORTED", "The call was aborted by the caller.", { cause: err })
          : classify(err, timedOut);
    } finally {
      clearTimeout(timer);
      userSignal?.removeEventListener("abort", onUserAbort);
    }
    error.attempts = n;
    if (!error.retryable || n > options.maxRetries) throw error;
    let delay: number;
    if (error.retryAfterMs !== undefined) {
      if (error.retryAfterMs > options.maxRetryAfterMs) {
        error.message += ` (the provider asked to wait ${Math.round(error.retryAfterMs)} ms, more than the ${options.maxRetryAfterMs} ms allowed)`;
        throw error;
      }
      delay = error.retryAfterMs;
    } else {
      delay = backoffDelay(n, options);
    }
    options.onRetry?.({ attempt: n, delayMs: delay, error });
    try {
      await options.sleep(delay, userSignal);
    } catch (err) {
      throw new LLMError("ABORTED", "The call was aborted by the caller.", { cause: err, attempts: n });
    }
  }
}
