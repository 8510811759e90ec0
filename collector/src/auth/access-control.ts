import type { NextFunction, Request, Response } from "express";
import { findKey, presentedKey, type ApiKey, type Role } from "./api-keys.js";

/** The role a request needs, from its method and path; null = open (health, UI assets). */
export function requiredRole(method: string, path: string): Role | null {
  if (path === "/healthz") return null;
  // OTLP, and its alias for Langfuse's SDKs (ingest/otlp-receiver.ts OTLP_TRACES_PATHS).
  if (path === "/v1/traces" || path === "/api/public/otel/v1/traces") return "ingest";
  if (path === "/metrics") return "read";
  if (!path.startsWith("/api/")) return null; // the UI's static files; its API calls need a key
  if (path === "/api/v1/auth/whoami") return null;
  const m = method.toUpperCase();
  if (m === "GET" || m === "HEAD") return "read";
  if (path === "/api/v1/traces/search" || path === "/api/v1/sql") return "read";
  if (m === "DELETE") return "admin";
  if (/^\/api\/v1\/traces\/[^/]+\/assessments(\/|$)/.test(path)) return "write";
  if (path === "/api/v1/runs" || /^\/api\/v1\/runs\/[^/]+\/end$/.test(path)) return "write";
  // Experiments, judges (registry, sampling), alignment and backfill jobs.
  return "admin";
}

export function rolesOf(keys: ApiKey[], req: Request): Set<Role> | null {
  const presented = presentedKey(req.headers.authorization);
  if (presented === undefined) return null;
  return findKey(keys, presented)?.roles ?? null;
}

/**
 * With no keys configured every request passes (the server is then bound to loopback).
 * Otherwise each request needs a key whose roles cover the route; the answer says which role.
 */
export function accessControl(keys: ApiKey[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (keys.length === 0) return next();
    const role = requiredRole(req.method, req.path);
    if (role === null) return next();
    const presented = presentedKey(req.headers.authorization);
    const key = presented === undefined ? undefined : findKey(keys, presented);
    if (!key) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="gavel", Basic realm="gavel"');
      res.status(401).json({
        error: {
          code: presented === undefined ? "UNAUTHENTICATED" : "INVALID_API_KEY",
          message: `${req.method} ${req.path} needs an API key with the "${role}" role: send "Authorization: Bearer <key>" (OTLP exporters may use Basic auth with the key as password).${presented === undefined ? "" : " The key sent is not one of GAVEL_API_KEYS."}`,
        },
      });
      return;
    }
    if (!key.roles.has(role)) {
      res.status(403).json({
        error: {
          code: "FORBIDDEN",
          message: `${req.method} ${req.path} needs the "${role}" role; this key (${key.label}) has ${[...key.roles].sort().join(", ")}. Use a key with "${role}" or ask an admin to grant it.`,
        },
      });
      return;
    }
    next();
  };
}
