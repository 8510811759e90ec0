import { describe, expect, it } from "vitest";
import { parseApiKeys } from "../../collector/src/auth/api-keys.js";
import { loadConfig } from "../../collector/src/config/config.js";
import { useGavel } from "../support/use-gavel.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";

const KEYS = { ingest: "ingest-key-0123456789", read: "read-key-0123456789ab", write: "write-key-0123456789a", admin: "admin-key-0123456789a" };
const gavelOf = useGavel({
  apiKeys: parseApiKeys(`${KEYS.ingest}:ingest,${KEYS.read}:read,${KEYS.write}:write,${KEYS.admin}:admin`),
});

function call(method: string, path: string, auth?: string, body?: unknown, contentType = "application/json") {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers["content-type"] = contentType;
  return fetch(`${gavelOf().url}${path}`, { method, headers, body: body === undefined ? undefined : body instanceof Buffer ? body : JSON.stringify(body) });
}
const bearer = (k: string) => `Bearer ${k}`;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("API keys and roles", () => {
  it("asks for a key, naming the role, and rejects unknown keys", async () => {
    const none = await call("GET", "/api/v1/experiments");
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.message).toMatch(/"read" role/);
    const wrong = await call("GET", "/api/v1/experiments", bearer("not-a-configured-key-at-all"));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.code).toBe("INVALID_API_KEY");
    expect((await call("GET", "/healthz")).status).toBe(200);
  });

  it("lets an ingest key send OTLP, with Bearer or Basic auth, and nothing else", async () => {
    const body = protobufBody(makeSpans(2));
    expect((await call("POST", "/v1/traces", bearer(KEYS.ingest), body, "application/x-protobuf")).status).toBe(200);
    expect((await call("POST", "/v1/traces", basic("otel", KEYS.ingest), body, "application/x-protobuf")).status).toBe(200);
    expect((await call("POST", "/v1/traces", undefined, body, "application/x-protobuf")).status).toBe(401);
    const read = await call("GET", "/api/v1/experiments", bearer(KEYS.ingest));
    expect(read.status).toBe(403);
    expect(((await read.json()) as any).error.message).toMatch(/needs the "read" role; this key \(key #1\) has ingest/);
  });

  it("gives read, write and admin what each may do", async () => {
    expect((await call("POST", "/api/v1/sql", bearer(KEYS.read), { query: "SELECT 1 AS x" })).status).toBe(200);
    expect((await call("POST", "/api/v1/traces/search", bearer(KEYS.read), {})).status).toBe(200);
    expect((await call("POST", "/v1/traces", bearer(KEYS.read), protobufBody(makeSpans(1)), "application/x-protobuf")).status).toBe(403);
    const traceId = "c".repeat(32);
    const label = { name: "q", value: "good", source: { sourceType: "HUMAN", sourceId: "ann" } };
    const denied = await call("POST", `/api/v1/traces/${traceId}/assessments`, bearer(KEYS.read), label);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as any).error.message).toMatch(/"write" role/);
    const written = await call("POST", `/api/v1/traces/${traceId}/assessments`, bearer(KEYS.write), label);
    expect(written.status).toBe(200);
    const id = ((await written.json()) as any).assessmentId;
    expect((await call("GET", `/api/v1/traces/${traceId}/assessments`, bearer(KEYS.write))).status).toBe(200);
    expect((await call("POST", "/api/v1/experiments", bearer(KEYS.write), { name: "x" })).status).toBe(403);
    expect((await call("DELETE", `/api/v1/traces/${traceId}/assessments/${id}`, bearer(KEYS.write))).status).toBe(403);
    expect((await call("POST", "/api/v1/experiments", bearer(KEYS.admin), { name: "x" })).status).toBe(200);
    expect((await call("DELETE", `/api/v1/traces/${traceId}/assessments/${id}`, bearer(KEYS.admin))).status).toBe(200);
    expect((await call("POST", "/v1/traces", bearer(KEYS.admin), protobufBody(makeSpans(1)), "application/x-protobuf")).status).toBe(200);
  });

  it("refuses a malformed Authorization header, key or not (RFC 6750 / 7617)", async () => {
    for (const header of [
      `Bearer ${KEYS.admin} garbage`,
      `Bearer ${KEYS.admin},x`,
      `Bearer ${KEYS.admin}\tx`,
      `Bearer`,
      `Token ${KEYS.admin}`,
      `${KEYS.admin}`,
      `Basic ${Buffer.from(`otel:${KEYS.admin}`).toString("base64")} garbage`,
      `Basic ${Buffer.from(KEYS.admin).toString("base64")}`,
      `Basic ${Buffer.from(`otel:${KEYS.admin}`).toString("base64").replace(/=+$/, "")}!`,
    ]) {
      const r = await call("GET", "/api/v1/experiments", header);
      expect(r.status, header).toBe(401);
      const body = (await r.json()) as any;
      expect(body.error.code, header).toBe("MALFORMED_AUTHORIZATION");
      expect(body.error.message, header).toMatch(/Authorization header is malformed/);
    }
    // The spellings the RFCs allow still work: any case of the scheme, several spaces, Basic
    // with the key as password, or as user with an empty password.
    for (const header of [`bearer ${KEYS.read}`, `BEARER  ${KEYS.read}`, basic("otel", KEYS.read), basic(KEYS.read, "")]) {
      expect((await call("GET", "/api/v1/experiments", header)).status, header).toBe(200);
    }
  });

  it("reads no request body before the key checks out", async () => {
    const none = await call("POST", "/api/v1/sql", undefined, Buffer.from("{not json"), "application/json");
    expect(none.status).toBe(401);
    const keyed = await call("POST", "/api/v1/sql", bearer(KEYS.read), Buffer.from("{not json"), "application/json");
    expect([keyed.status, ((await keyed.json()) as any).error.code]).toEqual([400, "INVALID_JSON"]);
  });

  it("serves any Host when keys are configured: the key is the check", async () => {
    const { request } = await import("node:http");
    const url = new URL(gavelOf().url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: "/api/v1/experiments", headers: { host: "gavel.example.com", authorization: bearer(KEYS.read) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(200);
  });

  it("tells a client what its key may do", async () => {
    const who = await call("GET", "/api/v1/auth/whoami", bearer(KEYS.write));
    expect(await who.json()).toEqual({ authRequired: true, roles: ["read", "write"] });
    expect(await (await call("GET", "/api/v1/auth/whoami")).json()).toEqual({ authRequired: true, roles: null });
  });

  it("rejects bad GAVEL_API_KEYS with what to fix", () => {
    expect(() => loadConfig({ GAVEL_API_KEYS: "short:admin" })).toThrow(/shorter than 16 characters/);
    expect(() => loadConfig({ GAVEL_API_KEYS: "a-long-enough-key-123:root" })).toThrow(/unknown role "root"/);
    expect(() => loadConfig({ GAVEL_API_KEYS: "no-roles-here-at-all" })).toThrow(/<key>:<roles>/);
    // A key must fit in a Bearer header (RFC 6750 b64token).
    expect(() => loadConfig({ GAVEL_API_KEYS: "a long enough key 123:read" })).toThrow(/characters a bearer token cannot carry/);
    expect(() => loadConfig({ GAVEL_API_KEYS: "a-long-enough-key-12!:read" })).toThrow(/characters a bearer token cannot carry/);
    expect(loadConfig({ GAVEL_API_KEYS: "a-long-enough-key-123:read+write" }).apiKeys[0]!.roles).toEqual(new Set(["read", "write"]));
  });
});
