import type { NextFunction, Request, Response } from "express";
import type { ZodType } from "zod";
import { compileTraceFilter, ParamBag } from "../search/filter-compiler.js";
import { SearchRequestError } from "../search/errors.js";

/** An error the API reports to the caller as-is: status, stable code, and what to do next. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function sendError(res: Response, status: number, code: string, message: string, field?: string): void {
  res.status(status).json({ error: { code, message, ...(field ? { field } : {}) } });
}

/** Validate a JSON body or query against a strict schema; the 400 names the first bad field. */
export function parseInput<T>(schema: ZodType<T>, input: unknown, where = "body"): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  let path = issue.path.join(".");
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    const keys = (issue as unknown as { keys: string[] }).keys;
    path = [...issue.path, keys[0]].join(".");
    message = `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}; remove ${keys.length > 1 ? "them" : "it"} (see docs/rest-api.md)`;
  }
  throw new ApiError(400, "INVALID_REQUEST", `Invalid ${where}${path ? ` at "${path}"` : ""}: ${message}.`, path || undefined);
}

/** Last middleware: turns thrown errors into JSON answers without leaking internals. */
export function errorMiddleware(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  if (err instanceof ApiError) return sendError(res, err.status, err.code, err.message, err.field);
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === "entity.parse.failed") {
    return sendError(res, 400, "INVALID_JSON", `The request body is not valid JSON (${e.message}). Send a JSON object with Content-Type: application/json.`);
  }
  if (e.type === "entity.too.large") {
    return sendError(res, 413, "BODY_TOO_LARGE", "The request body is too large. Send less data per request.");
  }
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    return sendError(res, e.status, "BAD_REQUEST", e.message ?? "Bad request.");
  }
  console.error("[gavel] internal error:", err);
  sendError(res, 500, "INTERNAL", "Internal error in the Gavel collector; see its log. Retry, and report it if it persists.");
}

/** Compiles a filter a caller wants stored (sampling, backfill) so a bad one is a 400 now, not a failing job later. */
export function assertValidFilter(filter: string | null | undefined): void {
  if (!filter) return;
  try {
    compileTraceFilter(filter, new ParamBag());
  } catch (err) {
    if (err instanceof SearchRequestError) throw new ApiError(400, err.code, err.message, "filter");
    throw err;
  }
}
