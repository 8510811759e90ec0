import { afterAll, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { uiRouter } from "../../collector/src/server/ui-routes.js";

// The static serving alone, against a fake build: no store, no browser.
const built = mkdtempSync(join(tmpdir(), "gavel-ui-"));
const empty = mkdtempSync(join(tmpdir(), "gavel-ui-empty-"));
let server: Server;
let url = "";

beforeAll(async () => {
  mkdirSync(join(built, "assets"));
  writeFileSync(join(built, "index.html"), '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(built, "assets", "index-abc123.js"), "console.log(1)");
  const app = express();
  app.use("/api/v1", (_req, res) => res.status(404).json({ error: { code: "NOT_FOUND", message: "no route" } }));
  app.use("/empty", uiRouter(empty));
  app.use(uiRouter(built));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(built, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe("UI static serving", () => {
  it("serves index.html for / and for client-side routes, revalidated on every load, with a strict CSP", async () => {
    for (const path of ["/", "/experiments/abc/traces", "/sql"]) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
      expect(await res.text()).toContain('<div id="root">');
    }
  });

  it("caches hashed assets for a year and 404s missing ones instead of answering HTML", async () => {
    const res = await fetch(`${url}/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/max-age=31536000.*immutable/);
    const missing = await fetch(`${url}/assets/nope-123.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type") ?? "").not.toMatch(/html/);
  });

  it("leaves API paths alone", async () => {
    const res = await fetch(`${url}/api/v1/nothing`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });

  it("says to run npm run build when the UI is not built", async () => {
    const res = await fetch(`${url}/empty/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build/);
  });
});
