import { describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { hostOf, isLoopbackHost } from "../../collector/src/server/host-check.js";
import { checkListenAddress } from "../../collector/src/server/gavel-server.js";
import { loadConfig } from "../../collector/src/config/config.js";
import { useGavel } from "../support/use-gavel.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";

// Issue 11 item 6: without API keys, a page that rebinds its DNS name to 127.0.0.1 must not get
// answers: only loopback Host headers (and GAVEL_ALLOWED_HOSTS) are served.
const gavelOf = useGavel({ allowedHosts: ["gavel.internal"] });

interface Answer {
  status: number;
  text: string;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** A request with exactly this Host header (or none), sent to the collector's loopback address. */
function send(method: string, path: string, host: string | null, body?: { bytes: Buffer; type: string }, extra: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(gavelOf().url);
  const headers: Record<string, string> = { ...extra };
  if (body) {
    headers["content-type"] = body.type;
    headers["content-length"] = String(body.bytes.length);
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = {};
        try {
          json = JSON.parse(text);
        } catch {
          /* the assertions say so */
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    if (host !== null) req.setHeader("host", host);
    req.on("error", reject);
    req.end(body?.bytes);
  });
}

const json = (v: unknown) => ({ bytes: Buffer.from(JSON.stringify(v)), type: "application/json" });

describe("without API keys, only loopback Host headers are served", () => {
  it("refuses a rebound name with 421 JSON on every kind of route, reading nothing", async () => {
    const port = new URL(gavelOf().url).port;
    const sql = await send("POST", "/api/v1/sql", `evil.example:${port}`, json({ query: "SELECT 4242 AS leaked" }));
    expect(sql.status).toBe(421);
    expect(sql.json.error?.code).toBe("MISDIRECTED_REQUEST");
    expect(sql.json.error?.message).toMatch(/loopback.*GAVEL_API_KEYS/);
    expect(sql.text).not.toContain("4242");
    for (const [method, path] of [["GET", "/api/v1/experiments"], ["GET", "/healthz"], ["GET", "/"], ["GET", "/metrics"], ["GET", "/api/v1/auth/whoami"]] as const) {
      for (const host of ["evil.example", `evil.example:${port}`, "127.0.0.1.evil.example", "localhost.evil.example", "10.0.0.7:4318", "[::2]", "0.0.0.0", "127.0.0.1@evil.example", "evil.example:80:80"]) {
        const a = await send(method, path, host);
        expect([a.status, a.json.error?.code], `${method} ${path} Host: ${host}`).toEqual([421, "MISDIRECTED_REQUEST"]);
      }
    }
    // A rebound page posting spans stores nothing.
    const spans = makeSpans(1);
    const otlp = await send("POST", "/v1/traces", `evil.example:${port}`, { bytes: protobufBody(spans), type: "application/x-protobuf" });
    expect(otlp.status).toBe(421);
    const count = await send("POST", "/api/v1/sql", `127.0.0.1:${port}`, json({ query: "SELECT count() AS n FROM otel_traces WHERE TraceId = {t:String}", params: { t: spans[0]!.spanContext().traceId } }));
    expect(count.status).toBe(200);
    expect((count.json.rows as { n: unknown }[])[0]!.n).toBe("0");
  });

  it("refuses an HTTP/1.0 request with no Host header", async () => {
    const url = new URL(gavelOf().url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end("GET /api/v1/experiments HTTP/1.0\r\n\r\n"));
      let text = "";
      socket.on("data", (c: Buffer) => (text += c.toString("utf8")));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 421 /);
    expect(answer).toContain('"MISDIRECTED_REQUEST"');
    expect(answer).toContain("missing");
  });

  it("serves localhost, 127.0.0.0/8 and [::1] with any port, and GAVEL_ALLOWED_HOSTS", async () => {
    const port = new URL(gavelOf().url).port;
    for (const host of ["localhost", `localhost:${port}`, "LOCALHOST:1", "127.0.0.1", `127.0.0.1:${port}`, "127.1.2.3:9", "[::1]", `[::1]:${port}`, "[0:0:0:0:0:0:0:1]:80", "gavel.internal", "Gavel.Internal:443"]) {
      const a = await send("POST", "/api/v1/sql", host, json({ query: "SELECT 7 AS seven" }));
      expect(a.status, `Host: ${host}: ${a.text.slice(0, 200)}`).toBe(200);
      expect((a.json.rows as { seven: number }[])[0]!.seven).toBe(7);
    }
  });

  it("a cross-origin form or text/plain POST (no CORS preflight) is refused before it does anything", async () => {
    const port = new URL(gavelOf().url).port;
    const origin = { origin: "http://evil.example" };
    const form = await send("POST", "/api/v1/experiments", `127.0.0.1:${port}`, { bytes: Buffer.from("name=csrf-made"), type: "application/x-www-form-urlencoded" }, origin);
    expect(form.status).toBe(415);
    const text = await send("POST", "/api/v1/experiments", `127.0.0.1:${port}`, { bytes: Buffer.from('{"name":"csrf-made"}'), type: "text/plain" }, origin);
    expect(text.status).toBe(415);
    const otlp = await send("POST", "/v1/traces", `127.0.0.1:${port}`, { bytes: protobufBody(makeSpans(1)), type: "text/plain" }, origin);
    expect(otlp.status).toBe(415);
    const preflight = await send("OPTIONS", "/api/v1/experiments", `127.0.0.1:${port}`, undefined, { ...origin, "access-control-request-method": "POST" });
    expect(preflight.status).toBe(405);
    expect(preflight.text).not.toMatch(/access-control/i);
    const list = await send("GET", "/api/v1/experiments", `127.0.0.1:${port}`);
    expect(list.text).not.toContain("csrf-made");
  });

  it("keeps binding to loopback only without keys", () => {
    const noKeys = loadConfig({});
    expect(noKeys.host).toBe("127.0.0.1");
    expect(() => checkListenAddress({ ...noKeys, host: "0.0.0.0" }, false)).toThrow(/without API keys/);
    expect(() => checkListenAddress({ ...noKeys, host: "0.0.0.0" }, true)).not.toThrow();
  });
});

describe("Host header parsing", () => {
  it("reads the host name, and knows loopback from look-alikes", () => {
    expect(hostOf("LocalHost:4318")).toBe("localhost");
    expect(hostOf("[::1]:4318")).toBe("::1");
    expect(hostOf("[::1")).toBeNull();
    expect(hostOf("a b")).toBeNull();
    expect(hostOf("user@localhost")).toBeNull();
    expect(hostOf(undefined)).toBeNull();
    for (const h of ["localhost", "127.0.0.1", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["localhost.", "127.0.0.1.nip.io", "128.0.0.1", "0.0.0.0", "::", "::2", "127.1", "0x7f.0.0.1", "2130706433", "localhost.evil.example"]) expect(isLoopbackHost(h), h).toBe(false);
  });

  it("GAVEL_ALLOWED_HOSTS takes host names only", () => {
    expect(loadConfig({ GAVEL_ALLOWED_HOSTS: "Gavel.internal, 10.0.0.5" }).allowedHosts).toEqual(["gavel.internal", "10.0.0.5"]);
    expect(() => loadConfig({ GAVEL_ALLOWED_HOSTS: "gavel.internal:4318" })).toThrow(/GAVEL_ALLOWED_HOSTS.*without ports/);
  });
});
