/**
 * Two kinds of failure, handled differently on purpose:
 * - `GavelConfigError`: the caller must change something (set an env variable, fix a model URI,
 *   pass a template argument). Always thrown, never turned into a Feedback.
 * - `LLMError`: the provider or the model failed after retries. A judge turns it into a
 *   Feedback with `error`, so one bad call never crashes a batch or the online worker.
 */
export class GavelConfigError extends Error {
  override name = "GavelConfigError";
}

export type LLMErrorCode =
  | "RATE_LIMITED" // 429 after all retries, or a Retry-After longer than allowed
  | "TIMEOUT" // per-call timeout (or 408) after all retries
  | "PROVIDER_ERROR" // 5xx, connection failure or an unreadable body, after all retries
  | "BAD_REQUEST" // other 4xx: not retried, carries the provider's message
  | "AUTH" // 401/403: not retried
  | "MALFORMED_OUTPUT" // the model's answer stayed invalid after the re-asks
  | "ABORTED"; // the caller's AbortSignal fired

export interface LLMErrorDetails {
  provider?: string;
  status?: number;
  retryable?: boolean;
  /** From Retry-After / retry-after-ms, when the provider sent one. */
  retryAfterMs?: number;
  attempts?: number;
  cause?: unknown;
}

export class LLMError extends Error {
  override name = "LLMError";
  readonly code: LLMErrorCode;
  readonly provider: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  attempts: number;

  constructor(code: LLMErrorCode, message: string, details: LLMErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.provider = details.provider;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts ?? 1;
  }
}

export function isGavelConfigError(err: unknown): err is GavelConfigError {
  return err instanceof GavelConfigError;
}
