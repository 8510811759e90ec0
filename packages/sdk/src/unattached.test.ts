// A registered tracer provider that is not the OTel SDK's cannot take Gavel's processor.
import { trace as otelTrace, type TracerProvider } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { expect, test, vi } from "vitest";
import { init } from "./init.js";

test("init() warns once, telling the user to pass gavelSpanProcessor(), and replaces nothing", () => {
  const inner = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
  class VendorProvider implements TracerProvider {
    getTracer(name: string) {
      return inner.getTracer(name);
    }
  }
  const vendor = new VendorProvider();
  otelTrace.setGlobalTracerProvider(vendor);
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  const r = init({ exporter: new InMemorySpanExporter() });
  expect(r.mode).toBe("unattached");
  expect(warn).toHaveBeenCalledTimes(1);
  expect(String(warn.mock.calls[0]![0])).toMatch(/gavelSpanProcessor\(\)/);
  expect(String(warn.mock.calls[0]![0])).toMatch(/VendorProvider/);
  expect((otelTrace.getTracerProvider() as unknown as { getDelegate(): unknown }).getDelegate()).toBe(vendor);
});
