import { LLMError } from "../errors.js";
import { retryAfterMs } from "../retry.js";

/**
 * Maps errors of the Stainless-generated SDKs (openai, @anthropic-ai/sdk share the shape:
 * `status`, `headers`, `error` body, class names) to LLMErrors. Duck-typed so it does not
 * depend on which copy of an SDK threw.
 */
export function classifySdkError(provider: string, err: unknown, timedOut: boolean): LLMError {
  const e = (err ?? {}) as {
    status?: unknown;
    headers?: unknown;
    error?: unknown;
    message?: unknown;
    name?: unknown;
    constructor?: { name?: string };
    cause?: unknown;
  };
  const cls = e.constructor?.name ?? (typeof e.name === "string" ? e.name : "");
  if (timedOut || cls === "APIConnectionTimeoutError") {
    return new LLMError("TIMEOUT", `${provider} did not answer in time (${String(e.message ?? "timeout")})`, {
      provider, retryable: true, cause: err,
    });
  }
  if (typeof e.status === "number") {
    const status = e.status;
    const message = `${provider} ${status}: ${providerMessage(e.error, e.message)}`;
    const ra = retryAfterMs(e.headers);
    const base = { provider, status, cause: err, ...(ra !== undefined ? { retryAfterMs: ra } : {}) };
    if (status === 429) return new LLMError("RATE_LIMITED", message, { ...base, retryable: true });
    if (status === 408) return new LLMError("TIMEOUT", message, { ...base, retryable: true });
    if (status === 409 || status >= 500) return new LLMError("PROVIDER_ERROR", message, { ...base, retryable: true });
    if (status === 401 || status === 403) return new LLMError("AUTH", message, { ...base, retryable: false });
    return new LLMError("BAD_REQUEST", message, { ...base, retryable: false });
  }
  if (cls === "APIConnectionError") {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
    return new LLMError("PROVIDER_ERROR", `could not reach ${provider}${cause}`, { provider, retryable: true, cause: err });
  }
  if (err instanceof SyntaxError) {
    return new LLMError("PROVIDER_ERROR", `${provider} sent an unreadable response: ${err.message}`, {
      provider, retryable: true, cause: err,
    });
  }
  if (cls === "APIUserAbortError" || (err instanceof Error && err.name === "AbortError")) {
    return new LLMError("ABORTED", `${provider} call aborted`, { provider, retryable: false, cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new LLMError("PROVIDER_ERROR", `${provider}: ${msg}`, { provider, retryable: false, cause: err });
}

/** The provider's own message, unwrapped from OpenAI's `{error:{message}}` or Anthropic's `{type, error:{type,message}}`. */
function providerMessage(body: unknown, fallback: unknown): string {
  const b = body as { message?: unknown; error?: { message?: unknown; type?: unknown }; type?: unknown } | undefined;
  if (b && typeof b === "object") {
    if (b.error && typeof b.error === "object" && typeof b.error.message === "string") {
      return typeof b.error.type === "string" ? `${b.error.type}: ${b.error.message}` : b.error.message;
    }
    if (typeof b.message === "string") return b.message;
  }
  const f = typeof fallback === "string" ? fallback : "unknown error";
  // The SDKs prefix their message with the status, which ours already carries.
  return f.replace(/^\d{3}\s+/, "");
}
