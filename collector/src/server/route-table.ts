import type { Express } from "express";
import { accessOf, type Access } from "../auth/access-control.js";

/** One route the app serves, with the access it declared (null: none, which is refused). */
export interface RouteEntry {
  method: string;
  path: string;
  access: Access | null;
}

/** A middleware (not a route) the app runs for every request under `path`. */
export interface MiddlewareEntry {
  path: string;
  name: string;
}

// Express 5's router (the `router` package, 2.x): the fields read here.
interface Layer {
  name: string;
  rawPath?: string | RegExp | (string | RegExp)[];
  handle: unknown;
  method?: string;
  route?: { path: string | RegExp; methods: Record<string, boolean>; stack: Layer[] };
}

const joinPath = (prefix: string, path: string) => (path === "/" && prefix !== "" ? prefix : `${prefix}${path}`);

/**
 * Every route and middleware the app registers, from Express's own router stack, in order.
 * A route's access is the guard that `route()` put first in its handlers for that method.
 */
export function routeTable(app: Express): { routes: RouteEntry[]; middleware: MiddlewareEntry[]; inexactRouters: string[] } {
  const routes: RouteEntry[] = [];
  const middleware: MiddlewareEntry[] = [];
  // Routers that would match other letter case or a trailing slash (not created by strictRouter()).
  const inexactRouters: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const raw = layer.rawPath;
      const path = typeof raw === "string" ? raw : String(raw);
      if (layer.route) {
        const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m]);
        for (const m of methods) {
          const first = layer.route.stack.find((l) => l.method === m || l.method === undefined);
          routes.push({ method: m === "_all" ? "ALL" : m.toUpperCase(), path: joinPath(prefix, String(layer.route.path)), access: accessOf(first?.handle) ?? null });
        }
        continue;
      }
      const router = layer.handle as { stack?: Layer[]; caseSensitive?: boolean; strict?: boolean };
      if (Array.isArray(router.stack)) {
        const at = joinPath(prefix, path === "/" ? "" : path);
        if (router.caseSensitive !== true || router.strict !== true) inexactRouters.push(at || "/");
        walk(router.stack, at);
      }
      else middleware.push({ path: joinPath(prefix, path), name: layer.name });
    }
  };
  const root = (app as unknown as { router: { stack: Layer[]; caseSensitive?: boolean; strict?: boolean } }).router;
  if (root.caseSensitive !== true || root.strict !== true) inexactRouters.push("(the app)");
  walk(root.stack, "");
  return { routes, middleware, inexactRouters };
}

/** Refuses to build an app that has a route without a declared access (such a route is never served) or an inexact router. */
export function assertEveryRouteDeclared(app: Express): void {
  const table = routeTable(app);
  if (table.inexactRouters.length > 0) {
    throw new Error(`Routers that ignore letter case or trailing slashes at ${table.inexactRouters.join(", ")}: create them with strictRouter() / strictApp() from collector/src/server/routes.ts.`);
  }
  const bare = table.routes.filter((r) => r.access === null);
  if (bare.length > 0) {
    throw new Error(
      `Routes without a declared role: ${bare.map((r) => `${r.method} ${r.path}`).join(", ")}. ` +
        `Declare each with route(router, method, path, role, handler) from collector/src/server/routes.ts.`,
    );
  }
}
