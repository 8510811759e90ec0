import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { SpanBatcher } from "../store/span-batcher.js";
import { encodeSpansRowBinary } from "../store/rowbinary.js";
import type { AttrPairs, SpanRow } from "../store/span-row.js";
import { goFloatString, spanKindName, statusCodeName } from "../otlp/any-value.js";

const ns = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

function valueString(v: AttributeValue | undefined): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : goFloatString(v);
  return JSON.stringify(v);
}

function pairs(attrs: Attributes | undefined): AttrPairs {
  const out: AttrPairs = [];
  if (attrs) for (const k of Object.keys(attrs)) out.push([k, valueString(attrs[k])]);
  return out;
}

/** The same row an OTLP export of this span would have produced (see otlp/decode-*.ts). */
export function spanRowOf(span: ReadableSpan): SpanRow {
  const ctx = span.spanContext();
  const resource = pairs(span.resource.attributes);
  const start = ns(span.startTime);
  const end = ns(span.endTime);
  return {
    timestamp: start,
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    traceState: ctx.traceState?.serialize() ?? "",
    spanName: span.name,
    // The API's SpanKind starts at INTERNAL = 0; OTLP's at UNSPECIFIED = 0.
    spanKind: spanKindName(span.kind + 1),
    serviceName: valueString(span.resource.attributes["service.name"]),
    resourceAttributes: resource,
    scopeName: span.instrumentationScope.name,
    scopeVersion: span.instrumentationScope.version ?? "",
    spanAttributes: pairs(span.attributes),
    duration: end > start ? end - start : 0n,
    statusCode: statusCodeName(span.status.code),
    statusMessage: span.status.message ?? "",
    events: span.events.map((e) => ({ timeUnixNano: ns(e.time), name: e.name, attributes: pairs(e.attributes) })),
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, traceState: l.context.traceState?.serialize() ?? "", attributes: pairs(l.attributes) })),
  };
}

/**
 * Writes the collector's own spans — the judges' LLM calls made by the online worker and the
 * alignment job — straight into otel_traces through the span batcher, without a network hop.
 * They carry `gavel.judge`, so online scoring never judges them.
 */
export class StoreSpanExporter implements SpanExporter {
  constructor(private readonly batcher: SpanBatcher) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (spans.length === 0) return done({ code: ExportResultCode.SUCCESS });
    this.batcher.submit(encodeSpansRowBinary(spans.map(spanRowOf)), spans.length).then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  async shutdown(): Promise<void> {}
}
