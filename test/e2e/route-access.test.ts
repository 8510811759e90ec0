import { describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";
import express, { Router } from "express";
import { createApp } from "../../collector/src/server/app.js";
import { createWorkerApp } from "../../collector/src/server/worker-app.js";
import { assertEveryRouteDeclared, routeTable, type RouteEntry } from "../../collector/src/server/route-table.js";
import { route, strictApp, strictRouter } from "../../collector/src/server/routes.js";
import { parseApiKeys, type Role } from "../../collector/src/auth/api-keys.js";
import { useGavel } from "../support/use-gavel.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";

// Issue 11 item 1: the role is a property of the route that matched; routing is exact; a route
// without a declared role is never served. Every request here goes out byte for byte through
// node:http (fetch would resolve `/./` and could normalise the path before sending it).

const KEYS = { ingest: "ingest-key-0123456789", read: "read-key-0123456789ab", write: "write-key-0123456789a", admin: "admin-key-0123456789a" };
const gavelOf = useGavel({
  apiKeys: parseApiKeys(`${KEYS.ingest}:ingest,${KEYS.read}:read,${KEYS.write}:write,${KEYS.admin}:admin`),
});

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

function raw(method: string, path: string, opts: { key?: string; body?: Buffer | string; contentType?: string; host?: string } = {}): Promise<Answer> {
  const url = new URL(gavelOf().url);
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.host) headers.host = opts.host;
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  if (body) {
    headers["content-type"] = opts.contentType ?? "application/json";
    headers["content-length"] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = {};
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON: the assertions say so */
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

const TRACE = "ab".repeat(16);
/** A concrete path for a route pattern: params get plausible values. */
function concrete(path: string): string {
  return path
    .replace(":traceId", TRACE)
    .replace(/:experimentId|:id\b/, "0")
    .replace(/:(\w+)/g, "x1")
    .replace(/\*\w+/g, "x1");
}

/** The spelling variants an attacker would try on a route pattern; each must match no route at all. */
function variants(pattern: string): [string, string][] {
  const segs = pattern.split("/");
  // Static segments (not parameters): where a typo or a trick would go.
  const staticIdx = segs.map((s, i) => [s, i] as const).filter(([s]) => /^[a-z]/.test(s)).map(([, i]) => i);
  const last = staticIdx[staticIdx.length - 1]!;
  const first = staticIdx[0]!;
  const withSeg = (i: number, s: string) => segs.map((x, j) => (j === i ? s : x)).join("/");
  const seg = segs[last]!;
  const out: [string, string][] = [
    ["upper case", segs.map((s, i) => (staticIdx.includes(i) ? s.toUpperCase() : s)).join("/")],
    ["one capital", withSeg(last, seg[0]!.toUpperCase() + seg.slice(1))],
    ["first segment capitalised", withSeg(first, segs[first]!.toUpperCase())],
    ["trailing slash", `${pattern}/`],
    ["leading //", `/${pattern}`],
    ["inner //", withSeg(last, `/${seg}`)],
    ["/./", withSeg(last, `./${seg}`)],
    ["percent-encoded letter", withSeg(last, `%${seg.charCodeAt(0).toString(16)}${seg.slice(1)}`)],
    ["percent-encoded upper hex", withSeg(last, `%${seg.charCodeAt(0).toString(16).toUpperCase()}${seg.slice(1)}`)],
  ];
  if (staticIdx.length > 1) out.push(["dot-dot detour", `${segs.slice(0, last).join("/")}/zz/../${segs.slice(last).join("/")}`]);
  return out.map(([how, p]) => [how, concrete(p)]);
}

/** A key that lacks the role (ingest has no read, read has no write, write has no admin, read has no ingest). */
const WRONG_KEY: Record<Role, string> = { read: KEYS.ingest, write: KEYS.read, admin: KEYS.write, ingest: KEYS.read };

const appRoutes = () => routeTable(createApp(gavelOf().store, gavelOf().config, gavelOf().worker));

describe("the route table", () => {
  it("every route the app registers declares its access, and only known middleware runs outside routes", () => {
    const { routes, middleware, inexactRouters } = appRoutes();
    expect(routes.length).toBeGreaterThan(30);
    expect(inexactRouters).toEqual([]);
    const undeclared = routes.filter((r) => r.access === null).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
    // Middleware runs for every path under its mount point, before any role check: each one
    // here is reviewed never to answer with data (a new one makes this test fail until it is).
    const known = new Set([
      "/ loopbackHostOnly",
      "/ declaredMethodsOnly",
      "/api/v1 inputOfKeyHolders",
      // Only waits (at most 10 s, and only while spans acknowledged once logged are not stored yet), never answers.
      "/api/v1 acknowledgedSpansFirst",
      "/api/v1 apiNotFound",
      "/assets serveStatic",
      "/ serveStatic",
      "/ notFound",
      "/ errorMiddleware",
    ]);
    expect(middleware.map((m) => `${m.path} ${m.name}`).filter((m) => !known.has(m))).toEqual([]);
    // What the issue names, as declared.
    const access = (m: string, p: string) => routes.find((r) => r.method === m && r.path === p)?.access;
    expect(access("POST", "/v1/traces")).toBe("ingest");
    expect(access("GET", "/metrics")).toBe("read");
    expect(access("GET", "/healthz")).toBe("open");
    expect(access("GET", "/api/v1/auth/whoami")).toBe("open");
    expect(access("POST", "/api/v1/sql")).toBe("read");
    expect(access("POST", "/api/v1/experiments")).toBe("admin");
    expect(access("POST", "/api/v1/traces/:traceId/assessments")).toBe("write");
    expect(access("POST", "/api/v1/runs/:runId/traces")).toBe("write");
    expect(access("DELETE", "/api/v1/experiments/:experimentId/scorers/:name")).toBe("admin");
    // Open routes are the health check, whoami and the UI's pages and files: nothing else.
    expect(routes.filter((r) => r.access === "open").every((r) => r.method === "GET" && (["/healthz", "/api/v1/auth/whoami"].includes(r.path) || !/^\/(api|v1|metrics)\b/.test(r.path)))).toBe(true);
  });

  it("the worker's app (`gavel worker`) declares its routes too", () => {
    const { routes, middleware } = routeTable(createWorkerApp(gavelOf().worker, gavelOf().config));
    expect(routes.map((r) => `${r.method} ${r.path} ${r.access}`)).toEqual(["GET /healthz open", "GET /metrics read"]);
    expect(middleware.map((m) => m.name)).toEqual(["loopbackHostOnly", "declaredMethodsOnly", "notFound", "errorMiddleware"]);
  });

  it("fails for a route added without a role, and the app refuses to start with one", () => {
    const app = strictApp();
    const r = strictRouter();
    route(r, "GET", "/declared", "read", (_req, res) => void res.json({}));
    r.get("/forgotten", (_req, res) => void res.json({ secret: true }));
    r.route("/half").post((_req, res) => void res.json({}));
    app.use("/api", r);
    const table = routeTable(app).routes.map((e: RouteEntry) => `${e.method} ${e.path} ${e.access}`);
    expect(table).toEqual(["GET /api/declared read", "GET /api/forgotten null", "POST /api/half null"]);
    expect(() => assertEveryRouteDeclared(app)).toThrow(/GET \/api\/forgotten, POST \/api\/half.*route\(router, method, path, role, handler\)/);
    // A router that ignores case or trailing slashes is refused too.
    const loose = strictApp();
    const plain = Router();
    route(plain, "GET", "/x", "read", (_req, res) => void res.json({}));
    loose.use("/loose", plain);
    expect(routeTable(loose).inexactRouters).toEqual(["/loose"]);
    expect(() => assertEveryRouteDeclared(loose)).toThrow(/ignore letter case or trailing slashes at \/loose.*strictRouter/);
    const looseApp = express();
    route(looseApp, "GET", "/x", "read", (_req, res) => void res.json({}));
    expect(() => assertEveryRouteDeclared(looseApp)).toThrow(/\(the app\)/);
  });

  it("docs/production.md lists every route with the role it declares", () => {
    const doc = readFileSync(new URL("../../docs/production.md", import.meta.url), "utf8");
    const section = doc.slice(doc.indexOf("<!-- route-table:start -->"), doc.indexOf("<!-- route-table:end -->"));
    const documented = [...section.matchAll(/^\| `(GET|POST|DELETE|PUT|PATCH) ([^`]+)` \| (\w+) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort();
    const declared = appRoutes().routes.map((r) => `${r.method} ${r.path} ${r.access}`).sort();
    expect(documented).toEqual(declared);
  });
});

describe("spelling a route differently reaches no handler", () => {
  it("case, trailing slash, //, /./, .. and percent-encoding are 404 JSON for every route, with no key and with a wrong-role key", async () => {
    const { routes } = appRoutes();
    let tried = 0;
    for (const r of routes) {
      if (r.path === "/") continue; // "/" has no letters to respell; "//" is tried on every other route
      for (const [how, variant] of variants(r.path)) {
        const keys = r.access === "open" ? [undefined] : [undefined, WRONG_KEY[r.access!]];
        for (const key of keys) {
          const body = r.method === "GET" || r.method === "DELETE" ? undefined : "{}";
          const a = await raw(r.method, variant, { key, body });
          tried++;
          const label = `${r.method} ${variant} (${how} of ${r.path}, ${key ? "wrong-role key" : "no key"}) → ${a.status} ${a.text.slice(0, 120)}`;
          expect(a.status, label).toBe(404);
          expect(a.contentType, label).toMatch(/application\/json/);
          expect(a.json.error?.code, label).toBe("NOT_FOUND");
        }
      }
    }
    expect(tried).toBeGreaterThan(500);
  });

  it("the exact spelling with no key or a wrong-role key is 401 or 403, naming the role", async () => {
    for (const r of appRoutes().routes) {
      if (r.access === "open") continue;
      const path = concrete(r.path);
      const body = r.method === "GET" || r.method === "DELETE" ? undefined : "{}";
      const none = await raw(r.method, path, { body });
      expect([none.status, none.json.error?.code], `${r.method} ${path}`).toEqual([401, "UNAUTHENTICATED"]);
      expect(none.json.error?.message).toContain(`needs an API key with the "${r.access}" role`);
      const wrong = await raw(r.method, path, { key: WRONG_KEY[r.access!], body });
      expect([wrong.status, wrong.json.error?.code], `${r.method} ${path}`).toEqual([403, "FORBIDDEN"]);
      expect(wrong.json.error?.message).toContain(`needs the "${r.access}" role`);
    }
  });

  it("a method the route does not declare is refused as JSON, even with an admin key", async () => {
    const declared = new Set(appRoutes().routes.map((x) => `${x.method} ${x.path}`));
    for (const r of appRoutes().routes) {
      const path = concrete(r.path);
      for (const method of ["OPTIONS", "PUT", "PATCH", "TRACE", ...(r.method === "DELETE" ? ["POST"] : ["DELETE"])]) {
        // Another route of the same path declares this method (GET and DELETE of one assessment):
        // it is served, not refused — and MLflow's delete answers success for an unknown id.
        if (declared.has(`${method} ${r.path}`)) continue;
        const a = await raw(method, path, { key: KEYS.admin });
        const label = `${method} ${path}: ${a.status} ${a.text.slice(0, 100)}`;
        expect([404, 405], label).toContain(a.status);
        expect(a.contentType, label).toMatch(/application\/json/);
        expect(a.json.error?.code, label).toMatch(/^(NOT_FOUND|METHOD_NOT_ALLOWED)$/);
      }
    }
    const options = await raw("OPTIONS", "/api/v1/sql");
    expect([options.status, options.json.error?.code]).toEqual([405, "METHOD_NOT_ALLOWED"]);
  });
});

describe("the attacks of issue 11, with no key", () => {
  it("POST /API/v1/sql and POST /API/v1/experiments reach nothing", async () => {
    const sql = await raw("POST", "/API/v1/sql", { body: JSON.stringify({ query: "SELECT 42 AS answer" }) });
    expect(sql.status).toBe(404);
    expect(sql.text).not.toContain("42");
    const made = await raw("POST", "/API/v1/experiments", { body: JSON.stringify({ name: "pwned-by-case" }) });
    expect(made.status).toBe(404);
    for (const p of ["/api/v1/experiments/", "/api//v1/experiments", "/api/v1/./experiments", "/api/v1/%65xperiments"]) {
      expect((await raw("POST", p, { body: JSON.stringify({ name: "pwned-by-case" }) })).status, p).toBe(404);
    }
    const list = await raw("GET", "/api/v1/experiments", { key: KEYS.read });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).not.toContain("pwned");
  });

  it("DELETE /API/v1/experiments/<id>/scorers/<n> leaves the judge registered", async () => {
    const judge = { name: "kept", instructions: "Rate {{ outputs }}", model: "openai:/gpt-4o-mini" };
    expect((await raw("POST", "/api/v1/experiments/0/scorers", { key: KEYS.admin, body: JSON.stringify({ judge }) })).status).toBe(200);
    for (const p of ["/API/v1/experiments/0/scorers/kept", "/api/v1/Experiments/0/scorers/kept", "/api/v1/experiments/0/scorers/kept/", "/api/v1/experiments/0/%73corers/kept"]) {
      expect((await raw("DELETE", p)).status, p).toBe(404);
    }
    expect((await raw("GET", "/api/v1/experiments/0/scorers/kept", { key: KEYS.read })).status).toBe(200);
  });

  it("POST /API/v1/traces/<id>/assessments stores no assessment", async () => {
    const label = JSON.stringify({ name: "forged", value: "yes", source: { sourceType: "HUMAN", sourceId: "attacker" } });
    for (const p of [`/API/v1/traces/${TRACE}/assessments`, `/api/v1/traces/${TRACE}/assessments/`, `/api/v1/traces/${TRACE}/Assessments`]) {
      expect((await raw("POST", p, { body: label })).status, p).toBe(404);
    }
    const stored = await raw("GET", `/api/v1/traces/${TRACE}/assessments`, { key: KEYS.read });
    expect(stored.json).toEqual({ assessments: [] });
  });

  it("POST /V1/TRACES and /v1/traces/ store no span; GET /METRICS and /metrics/ answer nothing", async () => {
    const spans = makeSpans(3);
    const body = protobufBody(spans);
    for (const p of ["/V1/TRACES", "/v1/traces/", "/v1/Traces", "//v1/traces", "/v1/./traces", "/v1/%74races"]) {
      const a = await raw("POST", p, { body, contentType: "application/x-protobuf" });
      expect([a.status, a.json.error?.code], p).toEqual([404, "NOT_FOUND"]);
    }
    const traceId = spans[0]!.spanContext().traceId;
    const count = await raw("POST", "/api/v1/sql", { key: KEYS.read, body: JSON.stringify({ query: "SELECT count() AS n FROM otel_traces WHERE TraceId = {t:String}", params: { t: traceId } }) });
    expect(count.status).toBe(200);
    expect(JSON.stringify(count.json)).toMatch(/"n":"?0"?/);
    for (const p of ["/METRICS", "/metrics/", "/Metrics", "/%6detrics"]) {
      const a = await raw("GET", p);
      expect(a.status, p).toBe(404);
      expect(a.text, p).not.toMatch(/gavel_/);
    }
    // The exact spellings still ask for a key.
    expect((await raw("GET", "/metrics")).status).toBe(401);
    expect((await raw("POST", "/v1/traces", { body, contentType: "application/x-protobuf" })).status).toBe(401);
  });
});
