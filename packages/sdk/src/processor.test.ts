import { afterEach, expect, test, vi } from "vitest";
import { createGavelExporter } from "./processor.js";

// The OTLP exporter keeps its resolved settings deep inside; reading them is the only way to
// check the precedence without sending spans to a server.
async function settings(e: unknown): Promise<{ url: string; headers: Record<string, string> }> {
  const p = (e as { _delegate: { _transport: { _transport: { _parameters: { url: string; headers: () => Promise<Record<string, string>> } } } } })
    ._delegate._transport._transport._parameters;
  return { url: p.url, headers: await p.headers() };
}

const OTEL_VARS = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
  "GAVEL_URL",
  "GAVEL_API_KEY",
];
afterEach(() => vi.unstubAllEnvs());
const clean = () => {
  for (const v of OTEL_VARS) vi.stubEnv(v, "");
};

test("spans go to <Gavel URL>/v1/traces: option, else GAVEL_URL, else 127.0.0.1:4318", async () => {
  clean();
  expect((await settings(createGavelExporter())).url).toBe("http://127.0.0.1:4318/v1/traces");
  vi.stubEnv("GAVEL_URL", "http://gavel.internal:9000/");
  expect((await settings(createGavelExporter())).url).toBe("http://gavel.internal:9000/v1/traces");
  expect((await settings(createGavelExporter({ url: "http://other:1" }))).url).toBe("http://other:1/v1/traces");
});

test("OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT override the Gavel URL for spans", async () => {
  clean();
  vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318");
  expect((await settings(createGavelExporter({ url: "http://gavel:1" }))).url).toBe("http://otel-collector:4318/v1/traces");
  vi.stubEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://otel-collector:4318/custom/traces");
  expect((await settings(createGavelExporter())).url).toBe("http://otel-collector:4318/custom/traces");
});

test("GAVEL_API_KEY is sent as a bearer token unless OTLP headers set Authorization", async () => {
  clean();
  expect((await settings(createGavelExporter())).headers.Authorization).toBeUndefined();
  vi.stubEnv("GAVEL_API_KEY", "k-123");
  expect((await settings(createGavelExporter())).headers.Authorization).toBe("Bearer k-123");
  expect((await settings(createGavelExporter({ apiKey: "k-opt" }))).headers.Authorization).toBe("Bearer k-opt");
  vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=a,Authorization=Basic%20abc");
  const h = (await settings(createGavelExporter())).headers;
  expect(h.Authorization ?? h.authorization).toBe("Basic abc");
  expect(h["x-tenant"]).toBe("a");
});
