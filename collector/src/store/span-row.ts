/**
 * One row of `otel_traces`, in the column order and types of the OpenTelemetry
 * Collector clickhouseexporter. The OTLP decoders produce these and the span
 * writer encodes them; nothing in between copies them.
 *
 * Maps are arrays of [key, value] pairs because that is how RowBinary wants
 * them and it avoids building objects on the hot path.
 */
export type AttrPairs = Array<[string, string]>;

export interface SpanEventRow {
  /** Unix time in nanoseconds. */
  timeUnixNano: bigint;
  name: string;
  attributes: AttrPairs;
}

export interface SpanLinkRow {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: AttrPairs;
}

export interface SpanRow {
  /** Span start, unix nanoseconds (DateTime64(9)). */
  timestamp: bigint;
  /** 32 lower-case hex chars. */
  traceId: string;
  /** 16 lower-case hex chars. */
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  spanName: string;
  /** 'Unspecified' | 'Internal' | 'Server' | 'Client' | 'Producer' | 'Consumer' (clickhouseexporter's strings). */
  spanKind: string;
  /** Resource attribute service.name, '' when absent. */
  serviceName: string;
  resourceAttributes: AttrPairs;
  scopeName: string;
  scopeVersion: string;
  spanAttributes: AttrPairs;
  /** end - start in nanoseconds, 0 if end < start. */
  duration: bigint;
  /** 'Unset' | 'Ok' | 'Error'. */
  statusCode: string;
  statusMessage: string;
  events: SpanEventRow[];
  links: SpanLinkRow[];
}

/** The result of decoding one OTLP export request. */
export interface DecodedSpans {
  rows: SpanRow[];
  /** Spans dropped because they were invalid (bad ids...), for partial_success. */
  rejected: number;
  /** Human-readable reason for the first rejections, for partial_success.error_message. */
  rejectReason?: string;
}
