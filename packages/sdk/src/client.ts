import { apiKey, collectorUrl } from "./state.js";

/** A non-2xx answer of the Gavel REST API, with the server's code and message. */
export class GavelApiError extends Error {
  override readonly name = "GavelApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The collector could not be reached at all (refused, DNS, reset, timeout). */
export class GavelConnectionError extends Error {
  override readonly name = "GavelConnectionError";
  constructor(
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`Gavel collector not reachable at ${url} — start it with \`npm start\` or set GAVEL_URL`, options);
  }
}

const TIMEOUT_MS = 30_000;

/**
 * Call the Gavel REST API. Resolves to the parsed JSON answer; throws GavelApiError with the
 * server's message on a 4xx/5xx and GavelConnectionError when nothing answers.
 */
export async function request<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const base = collectorUrl();
  const headers: Record<string, string> = { accept: "application/json" };
  const key = apiKey();
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new GavelConnectionError(base, { cause: err });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
    const code = typeof e?.code === "string" ? e.code : `HTTP_${res.status}`;
    const msg = typeof e?.message === "string" ? e.message : text.slice(0, 500) || res.statusText;
    throw new GavelApiError(
      res.status,
      code,
      `Gavel API ${method} ${path} failed with ${res.status} ${code}: ${msg}`,
      typeof e?.field === "string" ? e.field : undefined,
    );
  }
  if (json === undefined) {
    throw new GavelApiError(res.status, "INVALID_RESPONSE", `Gavel API ${method} ${path} answered ${res.status} without a JSON body.`);
  }
  return json as T;
}

/** Percent-encode one path segment (experiment names may contain slashes and spaces). */
export const seg = (s: string): string => encodeURIComponent(s);
