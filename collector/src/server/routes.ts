import express, { Router, type Express, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { RouteParameters } from "express-serve-static-core";
import { requireAccess, type Access } from "../auth/access-control.js";
import { sendError } from "../api/errors.js";
import { routeTable } from "./route-table.js";

/**
 * Routing is exact: `/api/v1/sql` matches only itself, not `/API/v1/sql` nor `/api/v1/sql/`.
 * Every Router and the app use these options, so a path matches one route or none.
 */
export const ROUTING = { caseSensitive: true, strict: true } as const;

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A Router with Gavel's exact routing. */
export function strictRouter(): Router {
  return Router(ROUTING);
}

/** An Express app with Gavel's exact routing and no framework banner. */
export function strictApp(): Express {
  const app = express();
  // Set before the first route: Express creates its router with these settings.
  app.set("case sensitive routing", ROUTING.caseSensitive);
  app.set("strict routing", ROUTING.strict);
  app.disable("x-powered-by");
  app.set("etag", false);
  return app;
}

/**
 * Declares a route and the access it needs, in one line, where the route is declared:
 *
 *   route(r, "POST", "/sql", "read", handler);
 *
 * The access check runs after routing matched this route, before its handlers. A route
 * registered any other way (`r.get(...)`) has no declared access, and createApp refuses to
 * start with it (route-table.ts).
 */
export function route<P extends string>(
  router: Router | Express,
  method: Method,
  path: P,
  access: Access,
  ...handlers: RequestHandler<RouteParameters<P>>[]
): void {
  const register = (router as unknown as Record<string, (path: string, ...h: RequestHandler<RouteParameters<P>>[]) => unknown>)[method.toLowerCase()]!;
  register.call(router, path, requireAccess(access) as unknown as RequestHandler<RouteParameters<P>>, ...handlers);
}

/** The answer for a path no route matched: Gavel's JSON error, never Express's HTML page. */
export function notFound(req: Request, res: Response): void {
  sendError(
    res,
    404,
    "NOT_FOUND",
    `No route ${req.method} ${req.path}. Paths are case-sensitive and have no trailing slash: the REST API is under /api/v1 (docs/rest-api.md), OTLP is POST /v1/traces.`,
  );
}

/**
 * Refuses methods no route declares (OPTIONS, PUT, TRACE…) before routing: Express would
 * otherwise answer OPTIONS itself, with no route and no role involved. Gavel serves no
 * cross-origin requests, so there is no CORS preflight to answer.
 */
export function declaredMethodsOnly(app: Express) {
  let methods: Set<string> | null = null;
  return function declaredMethodsOnly(req: Request, res: Response, next: NextFunction): void {
    methods ??= new Set(routeTable(app).routes.flatMap((r) => (r.method === "GET" ? ["GET", "HEAD"] : [r.method])));
    if (methods.has(req.method)) return next();
    const allowed = [...methods].sort().join(", ");
    res.setHeader("Allow", allowed);
    sendError(res, 405, "METHOD_NOT_ALLOWED", `No Gavel route takes ${req.method}; routes take ${allowed} (see docs/rest-api.md). Gavel answers no cross-origin (CORS) requests.`);
  };
}
