import express, { Router, type Response } from "express";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The web UI: static files that Vite built into collector/dist/ui. Two levels up from
 * this module is collector/ in both layouts (src/server when tests run the sources,
 * dist/server when the built collector runs), so one path serves both.
 */
export const DEFAULT_UI_DIR = fileURLToPath(new URL("../../dist/ui/", import.meta.url));

// Trace content is untrusted: the UI renders it as text, and this policy makes sure a
// payload that somehow reached the DOM as markup still cannot run script or load from elsewhere.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function uiHeaders(res: Response): void {
  res.setHeader("Content-Security-Policy", CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
}

// Paths that belong to the API and OTLP receiver: a typo there must stay a JSON 404, never the app's HTML.
const NOT_UI = /^\/(api|v1|healthz)(\/|$)/;

/**
 * Serves the UI at `/`: hashed assets (Vite names them by content) are cached for a
 * year; index.html is revalidated on every load so a new build shows up at once, and it
 * answers every client-side route (`/experiments/…`) so reloads and shared links work.
 */
export function uiRouter(dir: string = DEFAULT_UI_DIR): Router {
  const r = Router();
  const indexPath = join(dir, "index.html");
  // Read per request only while missing, so `npm run build` during a running dev server is picked up.
  let indexHtml: string | null = null;
  const loadIndex = (): string | null => {
    if (indexHtml !== null) return indexHtml;
    if (!existsSync(indexPath)) return null;
    indexHtml = readFileSync(indexPath, "utf8");
    return indexHtml;
  };

  r.use(
    "/assets",
    express.static(join(dir, "assets"), {
      index: false,
      fallthrough: false,
      immutable: true,
      maxAge: "365d",
      setHeaders: (res) => uiHeaders(res),
    }),
  );
  r.use(
    express.static(dir, {
      index: false,
      maxAge: 0,
      setHeaders: (res) => {
        uiHeaders(res);
        res.setHeader("Cache-Control", "no-cache");
      },
    }),
  );
  r.get(/.*/, (req, res, next) => {
    if (NOT_UI.test(req.path)) return next();
    const html = loadIndex();
    uiHeaders(res);
    res.setHeader("Cache-Control", "no-cache");
    if (html === null) {
      res
        .status(503)
        .type("text/plain")
        .send("The Gavel web UI is not built yet. Run `npm run build` (or `npm start`, which builds it) and reload this page.\n");
      return;
    }
    res.type("html").send(html);
  });
  return r;
}
