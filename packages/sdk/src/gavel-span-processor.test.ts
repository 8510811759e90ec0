// The app wires gavelSpanProcessor() into its own NodeSDK and calls init() too: no duplicate.
import { trace as otelTrace } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, expect, test } from "vitest";
import { setExperiment } from "./experiments.js";
import { flush, init } from "./init.js";
import { gavelSpanProcessor } from "./processor.js";
import { trace } from "./trace.js";

const exporter = new InMemorySpanExporter();
const sdk = new NodeSDK({
  spanProcessors: [gavelSpanProcessor({ exporter })],
  metricReaders: [],
  logRecordProcessors: [],
  autoDetectResources: false,
});
sdk.start();
afterAll(() => sdk.shutdown());

test("gavelSpanProcessor() in NodeSDK stamps ids and exports; init() afterwards adds nothing", async () => {
  setExperiment({ experimentId: "e1" });
  trace(function beforeInit() {})();
  expect(init().mode).toBe("attached");
  trace(function afterInit() {
    otelTrace.getTracer("x").startSpan("inner").end();
  })();
  await flush(); // flush() reaches processors made by gavelSpanProcessor()
  const spans = exporter.getFinishedSpans();
  expect(spans.map((s) => s.name).sort()).toEqual(["afterInit", "beforeInit", "inner"]);
  for (const s of spans) expect(s.attributes["gavel.experiment_id"]).toBe("e1");
});
