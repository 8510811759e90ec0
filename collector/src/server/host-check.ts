import { isIPv4, isIPv6 } from "node:net";
import type { NextFunction, Request, Response } from "express";
import { sendError } from "../api/errors.js";

// host [":" port], the host a name, an IPv4 address or a bracketed IPv6 address (RFC 7230 5.4).
const HOST_HEADER = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/;

/** The host name of a Host header, lower-cased without port or brackets; null if it is not a host. */
export function hostOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = HOST_HEADER.exec(header);
  if (!m) return null;
  if (m[1] !== undefined) return isIPv6(m[1]) ? m[1].toLowerCase() : null;
  return m[2]!.toLowerCase();
}

/** localhost, 127.0.0.0/8 and ::1: names and addresses only this machine can be reached at. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIPv4(host)) return host.split(".")[0] === "127";
  if (isIPv6(host)) {
    // ::1 in any spelling (0:0:0:0:0:0:0:1, ::0001): the URL parser writes it canonically.
    return new URL(`http://[${host}]/`).hostname === "[::1]";
  }
  return false;
}

/**
 * Without API keys nothing checks who is calling, so a web page that rebinds its own DNS name
 * to 127.0.0.1 could make a browser on this machine call Gavel for it. The browser then sends
 * the page's name as Host: only loopback names and addresses (and GAVEL_ALLOWED_HOSTS) are
 * served. With keys, every Host is served: the key is the check.
 */
export function hostCheck(hasApiKeys: boolean, allowedHosts: readonly string[] = []) {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return function loopbackHostOnly(req: Request, res: Response, next: NextFunction): void {
    if (hasApiKeys) return next();
    const host = hostOf(req.headers.host);
    if (host !== null && (isLoopbackHost(host) || allowed.has(host))) return next();
    sendError(
      res,
      421,
      "MISDIRECTED_REQUEST",
      `This Gavel has no API keys, so it serves only requests addressed to this machine's loopback (localhost, 127.0.0.1 or [::1]); ` +
        `the Host header was ${req.headers.host === undefined ? "missing" : `"${req.headers.host}"`}. ` +
        `Use http://127.0.0.1:<port>, or configure GAVEL_API_KEYS (docs/production.md#security), or list this host name in GAVEL_ALLOWED_HOSTS.`,
    );
  };
}
