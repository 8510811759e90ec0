import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";

/** Real spans from the OpenTelemetry SDK (not hand-written fixtures), serialised by its own OTLP serialisers. */
export function makeSpans(n: number, attrs: Record<string, string> = {}): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "otlp-test" }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("otlp-test");
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan(`span-${i}`, { attributes: { ...attrs, "test.index": String(i) } });
    span.end();
  }
  return exporter.getFinishedSpans();
}

export const protobufBody = (spans: ReadableSpan[]): Buffer => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
export const jsonBody = (spans: ReadableSpan[]): Buffer => Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
