// Both decoders against requests encoded by the OpenTelemetry JS exporters'
// own serializers, field by field, and against each other.
import { describe, expect, it } from "vitest";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { TraceState } from "@opentelemetry/core";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type HrTime } from "@opentelemetry/api";
import { decodeTraceRequestProtobuf as decodeReference, type DecodeOptions } from "./decode-protobuf.js";
import { transcoderAgreement } from "../../../test/support/transcoder-agreement.js";

/**
 * The decoder, with every SDK-serialised body here also given to the ingest fast path
 * (protobuf-to-rowbinary.ts): it must write exactly the decoder's rows or leave the body to it.
 */
function decodeTraceRequestProtobuf(body: Uint8Array, opts?: DecodeOptions): ReturnType<typeof decodeReference> {
  expect(transcoderAgreement(body, opts?.maxAnyValueDepth).problem).toBeUndefined();
  return decodeReference(body, opts);
}
import { decodeTraceRequestJson } from "./decode-json.js";
import type { SpanRow } from "../store/span-row.js";

const resA = resourceFromAttributes({ "service.name": "svc-a", "k8s.pod.name": "pod-1", "process.pid": 77 });
const resB = resourceFromAttributes({ "host.name": "h2" }); // no service.name
const scopeA = { name: "lib-a", version: "1.0.0" };
const scopeB = { name: "lib-b" };

const T1 = "0af7651916cd43dd8448eb211c80319c";
const T2 = "4bf92f3577b34da6a3ce929d0e0e4736";
const S1 = "b7ad6b7169203331";
const S2 = "00f067aa0ba902b7";
const S3 = "53995c3f42cd8ad8";

interface SpanInit {
  name: string;
  traceId: string;
  spanId: string;
  parent?: { spanId: string; isRemote?: boolean };
  kind: SpanKind;
  start: HrTime;
  end: HrTime;
  status: { code: SpanStatusCode; message?: string };
  attributes?: Record<string, unknown>;
  events?: ReadableSpan["events"];
  links?: ReadableSpan["links"];
  traceState?: string;
  resource: ReadableSpan["resource"];
  scope: { name: string; version?: string };
}

/** A ReadableSpan by hand, so that every field (and odd attribute types) is under test control. */
function span(init: SpanInit): ReadableSpan {
  const ctx = {
    traceId: init.traceId,
    spanId: init.spanId,
    traceFlags: 1,
    ...(init.traceState ? { traceState: new TraceState(init.traceState) } : {}),
  };
  return {
    name: init.name,
    kind: init.kind,
    spanContext: () => ctx,
    parentSpanContext: init.parent
      ? { traceId: init.traceId, spanId: init.parent.spanId, traceFlags: 1, isRemote: init.parent.isRemote ?? false }
      : undefined,
    startTime: init.start,
    endTime: init.end,
    status: init.status,
    // Nested objects and Uint8Array are not API attribute types, but the
    // serializers encode them as kvlist and bytes, which is what we need.
    attributes: (init.attributes ?? {}) as ReadableSpan["attributes"],
    links: init.links ?? [],
    events: init.events ?? [],
    duration: [0, 0],
    ended: true,
    resource: init.resource,
    instrumentationScope: init.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

const richAttributes = {
  str: "hello",
  blank: "a\n\nb",
  unicode: "héllo 🌍 <&>",
  int: 42,
  neg: -7,
  big: 2 ** 60,
  min: -(2 ** 63),
  dbl: 1.5,
  tiny: 1.5e-7,
  t: true,
  f: false,
  arr: ["x", 1, 2.5, true],
  nested: { b: 1, a: ["<&>", "q\"uote"], c: { d: [] } },
  bytes: new Uint8Array([0, 1, 2, 250]),
  bytesInArr: [new Uint8Array([255, 254])],
  lineSep: ["line\u2028sep"],
};

// What pdata's Value.AsString() gives for each of the above.
const richExpected: Array<[string, string]> = [
  ["str", "hello"],
  ["blank", "a\n\nb"],
  ["unicode", "héllo 🌍 <&>"],
  ["int", "42"],
  ["neg", "-7"],
  ["big", "1152921504606846976"],
  ["min", "-9223372036854775808"],
  ["dbl", "1.5"],
  ["tiny", "1.5e-7"],
  ["t", "true"],
  ["f", "false"],
  ["arr", '["x",1,2.5,true]'],
  ["nested", '{"a":["<&>","q\\"uote"],"b":1,"c":{"d":[]}}'],
  ["bytes", "AAEC+g=="],
  ["bytesInArr", '["//4="]'],
  ["lineSep", '["line\\u2028sep"]'],
];

const spans: ReadableSpan[] = [
  span({
    name: "root",
    traceId: T1,
    spanId: S1,
    kind: SpanKind.SERVER,
    start: [1_700_000_000, 123_456_789],
    end: [1_700_000_001, 23_456_789],
    status: { code: SpanStatusCode.OK },
    attributes: richAttributes,
    traceState: "vendor=abc,other=1",
    events: [
      { name: "gen_ai.evaluation.result", time: [1_700_000_000, 500], attributes: { "gen_ai.evaluation.score.value": 0.75 } },
      { name: "no-attrs", time: [1_700_000_000, 600] },
    ],
    links: [
      {
        context: { traceId: T2, spanId: S3, traceFlags: 1, traceState: new TraceState("l=1") },
        attributes: { "link.kind": "follows" },
      },
    ],
    resource: resA,
    scope: scopeA,
  }),
  span({
    name: "child",
    traceId: T1,
    spanId: S2,
    parent: { spanId: S1 },
    kind: SpanKind.CLIENT,
    start: [1_700_000_000, 200_000_000],
    end: [1_700_000_000, 300_000_000],
    status: { code: SpanStatusCode.ERROR, message: "boom\n\nDROP TABLE x" },
    resource: resA,
    scope: scopeA,
  }),
  span({
    name: "other-scope",
    traceId: T1,
    spanId: "1111111111111111",
    parent: { spanId: S1, isRemote: true },
    kind: SpanKind.INTERNAL,
    start: [1_700_000_000, 0],
    end: [1_700_000_000, 0],
    status: { code: SpanStatusCode.UNSET },
    attributes: { "gen_ai.request.model": "gpt-4o" },
    resource: resA,
    scope: scopeB,
  }),
  span({
    name: "consumer-ends-before-start",
    traceId: T2,
    spanId: S3,
    parent: { spanId: "2222222222222222", isRemote: true },
    kind: SpanKind.CONSUMER,
    start: [1_700_000_005, 0],
    end: [1_700_000_004, 999_999_999],
    status: { code: SpanStatusCode.UNSET },
    resource: resB,
    scope: scopeB,
  }),
  span({
    name: "producer",
    traceId: T2,
    spanId: "3333333333333333",
    kind: SpanKind.PRODUCER,
    start: [1_700_000_006, 1],
    end: [1_700_000_006, 2],
    status: { code: SpanStatusCode.UNSET },
    resource: resB,
    scope: scopeB,
  }),
];

const resAPairs: Array<[string, string]> = [
  ["service.name", "svc-a"],
  ["k8s.pod.name", "pod-1"],
  ["process.pid", "77"],
];

function row(r: Partial<SpanRow>): SpanRow {
  return {
    timestamp: 0n,
    traceId: "",
    spanId: "",
    parentSpanId: "",
    traceState: "",
    spanName: "",
    spanKind: "",
    serviceName: "",
    resourceAttributes: [],
    scopeName: "",
    scopeVersion: "",
    spanAttributes: [],
    duration: 0n,
    statusCode: "Unset",
    statusMessage: "",
    events: [],
    links: [],
    ...r,
  };
}

const expectedRows: SpanRow[] = [
  row({
    timestamp: 1_700_000_000_123_456_789n,
    traceId: T1,
    spanId: S1,
    traceState: "vendor=abc,other=1",
    spanName: "root",
    spanKind: "Server",
    serviceName: "svc-a",
    resourceAttributes: resAPairs,
    scopeName: "lib-a",
    scopeVersion: "1.0.0",
    spanAttributes: richExpected,
    duration: 900_000_000n,
    statusCode: "Ok",
    events: [
      { timeUnixNano: 1_700_000_000_000_000_500n, name: "gen_ai.evaluation.result", attributes: [["gen_ai.evaluation.score.value", "0.75"]] },
      { timeUnixNano: 1_700_000_000_000_000_600n, name: "no-attrs", attributes: [] },
    ],
    links: [{ traceId: T2, spanId: S3, traceState: "l=1", attributes: [["link.kind", "follows"]] }],
  }),
  row({
    timestamp: 1_700_000_000_200_000_000n,
    traceId: T1,
    spanId: S2,
    parentSpanId: S1,
    spanName: "child",
    spanKind: "Client",
    serviceName: "svc-a",
    resourceAttributes: resAPairs,
    scopeName: "lib-a",
    scopeVersion: "1.0.0",
    duration: 100_000_000n,
    statusCode: "Error",
    statusMessage: "boom\n\nDROP TABLE x",
  }),
  row({
    timestamp: 1_700_000_000_000_000_000n,
    traceId: T1,
    spanId: "1111111111111111",
    parentSpanId: S1,
    spanName: "other-scope",
    spanKind: "Internal",
    serviceName: "svc-a",
    resourceAttributes: resAPairs,
    scopeName: "lib-b",
    spanAttributes: [["gen_ai.request.model", "gpt-4o"]],
  }),
  row({
    timestamp: 1_700_000_005_000_000_000n,
    traceId: T2,
    spanId: S3,
    parentSpanId: "2222222222222222",
    spanName: "consumer-ends-before-start",
    spanKind: "Consumer",
    resourceAttributes: [["host.name", "h2"]],
    scopeName: "lib-b",
  }),
  row({
    timestamp: 1_700_000_006_000_000_001n,
    traceId: T2,
    spanId: "3333333333333333",
    spanName: "producer",
    spanKind: "Producer",
    resourceAttributes: [["host.name", "h2"]],
    scopeName: "lib-b",
    duration: 1n,
  }),
];

const pbBody = ProtobufTraceSerializer.serializeRequest(spans)!;
const jsonBody = (): unknown => JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString("utf8"));

describe("decoding requests from the OpenTelemetry JS serializers", () => {
  it("protobuf: every row field is mapped like the clickhouseexporter", () => {
    const out = decodeTraceRequestProtobuf(pbBody);
    expect(out.rejected).toBe(0);
    expect(out.rejectReason).toBeUndefined();
    expect(out.rows).toEqual(expectedRows);
  });

  it("JSON: every row field is mapped like the clickhouseexporter", () => {
    const out = decodeTraceRequestJson(jsonBody());
    expect(out.rejected).toBe(0);
    expect(out.rows).toEqual(expectedRows);
  });

  it("protobuf and JSON give identical rows for the same spans", () => {
    const a = decodeTraceRequestProtobuf(pbBody);
    const b = decodeTraceRequestJson(jsonBody());
    expect(b).toEqual(a);
  });

  it("attribute values with blank lines come through byte for byte", () => {
    const rows = decodeTraceRequestProtobuf(pbBody).rows;
    const blank = rows[0]!.spanAttributes.find(([k]) => k === "blank")![1];
    expect(Buffer.from(blank)).toEqual(Buffer.from([0x61, 0x0a, 0x0a, 0x62]));
    expect(rows[1]!.statusMessage).toBe("boom\n\nDROP TABLE x");
  });

  // otel_traces_trace_id_ts keeps seconds in a 32-bit DateTime (span-time.ts): a later span
  // would be stored but its trace could never be opened, so both decoders refuse it.
  it("refuses spans that start after 2106-02-07T06:28:14Z, in protobuf and JSON alike", () => {
    const at = (spanId: string, start: [number, number]) => span({ ...baseInit(), spanId, start, end: [start[0] + 1, start[1]] });
    const sent = [
      at("0000000000000001", [0, 0]), // unset start: stored (dated 1970-01-01), as the exporter does
      at("0000000000000002", [4294967294, 999999999]), // the last nanosecond stored
      at("0000000000000003", [4294967295, 0]),
      at("0000000000000004", [10_000_000_000, 0]), // 2286: past DateTime64(9) too
    ];
    const pb = decodeTraceRequestProtobuf(ProtobufTraceSerializer.serializeRequest(sent)!);
    const js = decodeTraceRequestJson(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(sent)!).toString("utf8")));
    expect(pb.rows.map((r) => [r.spanId, r.timestamp])).toEqual([
      ["0000000000000001", 0n],
      ["0000000000000002", 4_294_967_294_999_999_999n],
    ]);
    expect(pb.rejected).toBe(2);
    expect(pb.rejectReason).toBe(
      "resourceSpans[0].scopeSpans[0].spans[2]: start_time_unix_nano 4294967295000000000 is after 2106-02-07T06:28:14Z, the latest start time Gavel can store; send nanoseconds since 1970-01-01 (about 1.7e18 today); " +
        "resourceSpans[0].scopeSpans[0].spans[3]: start_time_unix_nano 10000000000000000000 is after 2106-02-07T06:28:14Z, the latest start time Gavel can store; send nanoseconds since 1970-01-01 (about 1.7e18 today)",
    );
    expect(js.rows).toEqual(pb.rows);
    expect(js.rejected).toBe(2);
    expect(js.rejectReason).toBe(pb.rejectReason!.replaceAll("start_time_unix_nano", "startTimeUnixNano"));
  });

  // The JSON serializer cannot carry these (NaN becomes null, integral
  // numbers >= 2^63 become out-of-range intValues), so protobuf only.
  it("protobuf: large and non-finite doubles are formatted like pdata", () => {
    const body = ProtobufTraceSerializer.serializeRequest([
      span({
        ...baseInit(),
        attributes: { huge: 1e21, plain: 1e20, nan: NaN, inf: -Infinity, arrNaN: [1, NaN], kvNaN: { x: NaN } },
      }),
    ])!;
    expect(decodeTraceRequestProtobuf(body).rows[0]!.spanAttributes).toEqual([
      ["huge", "1e+21"],
      ["plain", "100000000000000000000"],
      ["nan", "json: unsupported value: NaN"],
      ["inf", "json: unsupported value: -Inf"],
      // json.Marshal fails on NaN anywhere inside, and pdata returns ''.
      ["arrNaN", ""],
      ["kvNaN", ""],
    ]);
  });

  it("decodes spans recorded by the real SDK", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "sdk-test" }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer("gavel-test", "9.9.9");
    const parent = tracer.startSpan("parent", { kind: SpanKind.SERVER });
    const child = tracer.startSpan(
      "child",
      { kind: SpanKind.CLIENT, attributes: { "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 12 } },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.addEvent("step", { n: 1 });
    child.setStatus({ code: SpanStatusCode.ERROR, message: "bad" });
    child.end();
    parent.end();
    const finished = exporter.getFinishedSpans();
    const nanos = (t: HrTime) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

    for (const out of [
      decodeTraceRequestProtobuf(ProtobufTraceSerializer.serializeRequest(finished)!),
      decodeTraceRequestJson(JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(finished)!).toString())),
    ]) {
      expect(out.rows).toHaveLength(2);
      const c = out.rows.find((r) => r.spanName === "child")!;
      const p = out.rows.find((r) => r.spanName === "parent")!;
      const fc = finished.find((s) => s.name === "child")!;
      expect(c.traceId).toBe(parent.spanContext().traceId);
      expect(c.spanId).toBe(child.spanContext().spanId);
      expect(c.parentSpanId).toBe(parent.spanContext().spanId);
      expect(p.parentSpanId).toBe("");
      expect(c.timestamp).toBe(nanos(fc.startTime));
      expect(c.duration).toBe(nanos(fc.endTime) - nanos(fc.startTime));
      expect(c.spanKind).toBe("Client");
      expect(p.spanKind).toBe("Server");
      expect(c.statusCode).toBe("Error");
      expect(c.statusMessage).toBe("bad");
      expect(c.serviceName).toBe("sdk-test");
      expect(c.scopeName).toBe("gavel-test");
      expect(c.scopeVersion).toBe("9.9.9");
      expect(c.spanAttributes).toEqual([
        ["gen_ai.request.model", "m"],
        ["gen_ai.usage.input_tokens", "12"],
      ]);
      expect(c.events).toEqual([{ timeUnixNano: nanos(fc.events[0]!.time), name: "step", attributes: [["n", "1"]] }]);
    }
  });
});

function baseInit(): SpanInit {
  return {
    name: "s",
    traceId: T1,
    spanId: S1,
    kind: SpanKind.INTERNAL,
    start: [1, 0],
    end: [2, 0],
    status: { code: SpanStatusCode.UNSET },
    resource: resA,
    scope: scopeA,
  };
}
