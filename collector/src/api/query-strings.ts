import type { NextFunction, Request, Response } from "express";
import { sendError } from "./errors.js";

/** The routes that take a query string; each checks its own parameters with a strict schema. */
const TAKES_QUERY: ReadonlyArray<readonly [method: string, path: RegExp]> = [
  ["GET", /^\/runs\/?$/],
  ["GET", /^\/experiments\/[^/]+\/review-queue\/?$/],
  ["GET", /^\/experiments\/[^/]+\/scorers\/[^/]+\/?$/],
  ["DELETE", /^\/experiments\/[^/]+\/scorers\/[^/]+\/?$/],
];

/**
 * Every other API route refuses a query string rather than ignoring it: a misspelt or
 * misplaced parameter (`?experimentId=` on a route that takes a JSON body) must not
 * quietly give an answer the caller did not ask for.
 */
export function refuseUnexpectedQuery(req: Request, res: Response, next: NextFunction): void {
  const keys = Object.keys(req.query);
  if (keys.length === 0 || TAKES_QUERY.some(([m, p]) => m === req.method && p.test(req.path))) return next();
  sendError(
    res,
    400,
    "INVALID_REQUEST",
    `${req.method} /api/v1${req.path} takes no query parameters (got ${keys.map((k) => `"${k}"`).join(", ")}); ` +
      "send them in the JSON body if the route takes one, or remove them (see docs/rest-api.md).",
    keys[0],
  );
}
