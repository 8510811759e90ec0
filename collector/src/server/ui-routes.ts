import express, { type Request, type Response, type Router } from "express";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sendError } from "../api/errors.js";
import { route, strictRouter } from "./routes.js";

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

/**
 * The UI's own pages (collector/ui/src/App.tsx): only these answer index.html, so every other
 * path (an API typo, `/API/v1/sql`) stays a JSON 404 and never the app's HTML.
 */
export const UI_PAGES = ["/", "/sql", "/experiments/:id", "/experiments/:id/:tab", "/experiments/:id/traces/:traceId", "/traces/:traceId"] as const;

/**
 * Serves the UI at `/`: hashed assets (Vite names them by content) are cached for a
 * year; index.html is revalidated on every load so a new build shows up at once, and it
 * answers every client-side route (`/experiments/…`) so reloads and shared links work.
 */
export function uiRouter(dir: string = DEFAULT_UI_DIR): Router {
  const r = strictRouter();
  const indexPath = join(dir, "index.html");
  // Re-read when the file changes, so a `npm run build` next to a running collector is
  // served at once instead of an index.html that names assets the build deleted.
  let cached: { mtimeMs: number; html: string } | null = null;
  const loadIndex = (): string | null => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(indexPath).mtimeMs;
    } catch {
      return null;
    }
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, html: readFileSync(indexPath, "utf8") };
    return cached.html;
  };

  r.use(
    "/assets",
    express.static(join(dir, "assets"), {
      index: false,
      immutable: true,
      maxAge: "365d",
      setHeaders: (res) => uiHeaders(res),
    }),
  );
  // A missing asset (an old tab asking for a chunk a new build replaced) must not get index.html as JavaScript.
  route(r, "GET", "/assets/*file", "open", (_req, res) => {
    sendError(res, 404, "NOT_FOUND", "This UI asset is not in the current build. Reload the page.");
  });
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
  const page = (_req: Request, res: Response) => {
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
  };
  for (const path of UI_PAGES) route(r, "GET", path, "open", page);
  return r;
}
