import type { Express, NextFunction, Request, RequestHandler, Response } from "express";
import { findKey, readAuthorization, type ApiKey, type Role } from "./api-keys.js";

/** What a route needs: a role, or "open" (health, whoami, the UI's pages and files). */
export type Access = Role | "open";

const ACCESS = Symbol("gavel.access");
const KEYS = "gavelApiKeys";

/** The per-route check that `route()` puts first on every route (collector/src/server/routes.ts). */
export interface AccessGuard extends RequestHandler {
  readonly [ACCESS]: Access;
}

/** The access a route handler declares, if it is an access guard. */
export function accessOf(handler: unknown): Access | undefined {
  return typeof handler === "function" ? (handler as Partial<AccessGuard>)[ACCESS] : undefined;
}

/** Gives the app's guards the configured keys; with none, every declared route is served (loopback only). */
export function installApiKeys(app: Express, keys: ApiKey[]): void {
  app.locals[KEYS] = keys;
}

export function rolesOf(keys: ApiKey[], req: Request): Set<Role> | null {
  const auth = readAuthorization(req.headers.authorization);
  if (auth.kind !== "key") return null;
  return findKey(keys, auth.key)?.roles ?? null;
}

/**
 * The authorization check of one route, run after routing matched it: the key presented must
 * have `access`. Without configured keys every route is served (the server is then loopback
 * only, see host-check.ts). An app that never installed its keys is refused (fail closed).
 */
export function requireAccess(access: Access): AccessGuard {
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    if (access === "open") return next();
    const keys = req.app.locals[KEYS] as ApiKey[] | undefined;
    if (!Array.isArray(keys)) {
      console.error("[gavel] a route needs a role but the app has no API key configuration (installApiKeys was not called)");
      res.status(500).json({ error: { code: "INTERNAL", message: "Access control is not configured in this server; see its log." } });
      return;
    }
    if (keys.length === 0) return next();
    const where = `${req.method} ${req.baseUrl}${req.path}`;
    const auth = readAuthorization(req.headers.authorization);
    const key = auth.kind === "key" ? findKey(keys, auth.key) : undefined;
    if (!key) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="gavel", Basic realm="gavel"');
      const how = `send "Authorization: Bearer <key>" (OTLP exporters may use Basic auth with the key as password).`;
      const code = auth.kind === "none" ? "UNAUTHENTICATED" : auth.kind === "malformed" ? "MALFORMED_AUTHORIZATION" : "INVALID_API_KEY";
      const why = auth.kind === "malformed" ? ` The Authorization header is malformed: ${auth.reason}.` : auth.kind === "key" ? " The key sent is not one of GAVEL_API_KEYS." : "";
      res.status(401).json({ error: { code, message: `${where} needs an API key with the "${access}" role: ${how}${why}` } });
      return;
    }
    if (!key.roles.has(access)) {
      res.status(403).json({
        error: {
          code: "FORBIDDEN",
          message: `${where} needs the "${access}" role; this key (${key.label}) has ${[...key.roles].sort().join(", ")}. Use a key with "${access}" or ask an admin to grant it.`,
        },
      });
      return;
    }
    next();
  };
  Object.defineProperty(guard, ACCESS, { value: access, enumerable: false });
  Object.defineProperty(guard, "name", { value: `require_${access}` });
  return guard as AccessGuard;
}
