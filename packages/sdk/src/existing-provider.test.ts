// The app already runs its own OpenTelemetry NodeSDK: init() must join it, not replace it.
// A file of its own because OTel's global registrations outlive a test.
import { trace as otelTrace, type ProxyTracerProvider } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { setExperiment } from "./experiments.js";
import { flush, init, shutdown } from "./init.js";
import { trace } from "./trace.js";

const userExporter = new InMemorySpanExporter();
const gavelExporter = new InMemorySpanExporter();
let sdk: NodeSDK;

beforeAll(() => {
  sdk = new NodeSDK({
    serviceName: "users-app",
    spanProcessors: [new SimpleSpanProcessor(userExporter)],
    metricReaders: [],
    logRecordProcessors: [],
    autoDetectResources: false,
  });
  sdk.start();
});
afterAll(async () => {
  await sdk.shutdown();
});

const globalDelegate = () => (otelTrace.getTracerProvider() as ProxyTracerProvider).getDelegate();

test("init() adds Gavel's processor to the app's provider; both exporters get every span", async () => {
  const before = globalDelegate();
  const warn = vi.spyOn(console, "warn");
  const r = init({ exporter: gavelExporter });
  expect(r.mode).toBe("attached");
  expect(warn).not.toHaveBeenCalled();
  expect(globalDelegate()).toBe(before); // the app's provider is still the global one
  expect(r.tracerProvider).toBe(before);

  setExperiment({ experimentId: "exp-9" });
  const app = trace(async function app(q: string) {
    otelTrace.getTracer("http-lib").startActiveSpan("GET /x", (s) => s.end());
    return q.toUpperCase();
  });
  expect(await app("hi")).toBe("HI");
  await flush();

  const mine = gavelExporter.getFinishedSpans();
  const theirs = userExporter.getFinishedSpans();
  expect(mine.map((s) => s.name).sort()).toEqual(["GET /x", "app"]);
  expect(theirs.map((s) => s.name).sort()).toEqual(["GET /x", "app"]);
  // The user's resource is kept, and Gavel's ids reach the user's exporter as well.
  for (const s of [...mine, ...theirs]) {
    expect(s.resource.attributes["service.name"]).toBe("users-app");
    expect(s.attributes["gavel.experiment_id"]).toBe("exp-9");
  }
  expect(theirs.find((s) => s.name === "app")!.attributes["gavel.outputs"]).toBe('"HI"');
});

test("shutdown() takes Gavel out again and leaves the app's tracing running", async () => {
  await shutdown();
  userExporter.reset();
  gavelExporter.reset();
  trace(function later() {})();
  expect(userExporter.getFinishedSpans().map((s) => s.name)).toEqual(["later"]);
  expect(gavelExporter.getFinishedSpans()).toEqual([]);
});
