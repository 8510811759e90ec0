// OTLP trace decode throughput: Gavel's purpose-built protobuf decoder against
// protobufjs reflection (decode + mapping to the same rows) and OTLP/JSON
// (JSON.parse + Gavel's JSON decoder), on one realistic 512-span request of
// LLM-app spans. Needs the built collector: `npx tsc -b` first.
//
//   node bench/otlp-decode.bench.mjs [--rounds N] [--round-ms MS]
//
// Prints a markdown table on stdout; runs in ~20 s on the 2-core VM.

import { parseArgs } from "node:util";
import protobuf from "protobufjs";
import { ProtobufTraceSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { assertFourSpanTraces, buildSpans } from "./lib/llm-spans.mjs";
import { decodeTraceRequestProtobuf } from "../collector/dist/otlp/decode-protobuf.js";
import { decodeTraceRequestJson } from "../collector/dist/otlp/decode-json.js";
import { transcodeTraceRequestProtobuf } from "../collector/dist/otlp/protobuf-to-rowbinary.js";
import { RowBinaryWriter, encodeSpansRowBinary } from "../collector/dist/store/rowbinary.js";
import { RequestDedup } from "../collector/dist/store/request-dedup.js";
import {
  goFloatString,
  goJsonArray,
  goJsonFloat,
  goJsonObject,
  goJsonString,
  spanKindName,
  statusCodeName,
} from "../collector/dist/otlp/any-value.js";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "round-ms": { type: "string", default: "1000" },
    spans: { type: "string", default: "512" },
  },
});
const ROUNDS = Number(args.rounds);
const ROUND_MS = Number(args["round-ms"]);
const SPANS = Number(args.spans);

// ---------------------------------------------------------------- the request

// The request: bench/lib/llm-spans.mjs (shared with the ingest bench).

// ------------------------------------------- (b) protobufjs reflection + map

const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
  string name = 5; SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
  repeated Event events = 11; uint32 dropped_events_count = 12;
  repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15; fixed32 flags = 16;
  enum SpanKind { SPAN_KIND_UNSPECIFIED = 0; SPAN_KIND_INTERNAL = 1; SPAN_KIND_SERVER = 2; SPAN_KIND_CLIENT = 3; SPAN_KIND_PRODUCER = 4; SPAN_KIND_CONSUMER = 5; }
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
}
message Status { reserved 1; string message = 2; StatusCode code = 3;
  enum StatusCode { STATUS_CODE_UNSET = 0; STATUS_CODE_OK = 1; STATUS_CODE_ERROR = 2; } }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
`;

const RequestType = protobuf.parse(OTLP_PROTO).root.lookupType("otlp.ExportTraceServiceRequest");

const hexOf = (b) => (b && b.length ? Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex") : "");
const nanos = (l) => (l == null ? 0n : typeof l === "number" ? BigInt(l) : (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0));
const isZero = (s) => /^0*$/.test(s);
const int64Str = (l) => (typeof l === "number" ? String(l) : BigInt.asIntN(64, (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0)).toString());
const b64 = (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("base64");

function anyJson(v) {
  if (!v) return "null";
  switch (v.value) {
    case "stringValue": return goJsonString(v.stringValue);
    case "boolValue": return v.boolValue ? "true" : "false";
    case "intValue": return int64Str(v.intValue);
    case "doubleValue": return goJsonFloat(v.doubleValue);
    case "arrayValue": return goJsonArray((v.arrayValue.values ?? []).map(anyJson));
    case "kvlistValue": {
      const kvs = v.kvlistValue.values ?? [];
      return goJsonObject(kvs.map((kv) => kv.key), kvs.map((kv) => anyJson(kv.value)));
    }
    case "bytesValue": return '"' + b64(v.bytesValue) + '"';
    default: return "null";
  }
}

function anyString(v) {
  if (!v) return "";
  switch (v.value) {
    case "stringValue": return v.stringValue;
    case "boolValue": return v.boolValue ? "true" : "false";
    case "intValue": return int64Str(v.intValue);
    case "doubleValue": return goFloatString(v.doubleValue);
    case "arrayValue":
    case "kvlistValue": return anyJson(v) ?? "";
    case "bytesValue": return b64(v.bytesValue);
    default: return "";
  }
}

const attrPairs = (kvs) => (kvs ?? []).map((kv) => [kv.key, anyString(kv.value)]);

function decodeReflection(buf) {
  const req = RequestType.decode(buf);
  const rows = [];
  let rejected = 0;
  for (const rs of req.resourceSpans) {
    const resAttrs = attrPairs(rs.resource?.attributes);
    const serviceName = resAttrs.find((kv) => kv[0] === "service.name")?.[1] ?? "";
    for (const ss of rs.scopeSpans) {
      const scopeName = ss.scope?.name ?? "";
      const scopeVersion = ss.scope?.version ?? "";
      for (const s of ss.spans) {
        const traceId = hexOf(s.traceId);
        const spanId = hexOf(s.spanId);
        const parent = hexOf(s.parentSpanId);
        if (traceId.length !== 32 || isZero(traceId) || spanId.length !== 16 || isZero(spanId) || (parent !== "" && parent.length !== 16)) {
          rejected++;
          continue;
        }
        const start = nanos(s.startTimeUnixNano);
        const end = nanos(s.endTimeUnixNano);
        rows.push({
          timestamp: start,
          traceId,
          spanId,
          parentSpanId: isZero(parent) ? "" : parent,
          traceState: s.traceState,
          spanName: s.name,
          spanKind: spanKindName(s.kind),
          serviceName,
          resourceAttributes: resAttrs,
          scopeName,
          scopeVersion,
          spanAttributes: attrPairs(s.attributes),
          duration: end > start ? end - start : 0n,
          statusCode: statusCodeName(s.status?.code ?? 0),
          statusMessage: s.status?.message ?? "",
          events: s.events.map((e) => ({ timeUnixNano: nanos(e.timeUnixNano), name: e.name, attributes: attrPairs(e.attributes) })),
          links: s.links.map((l) => ({
            traceId: isZero(hexOf(l.traceId)) ? "" : hexOf(l.traceId),
            spanId: isZero(hexOf(l.spanId)) ? "" : hexOf(l.spanId),
            traceState: l.traceState,
            attributes: attrPairs(l.attributes),
          })),
        });
      }
    }
  }
  return { rows, rejected };
}

// ---------------------------------------------------------------- measuring

function measure(fn, input) {
  const spansPerCall = SPANS;
  // Warm-up long enough for the optimising compiler to settle.
  const warmEnd = performance.now() + Math.min(ROUND_MS, 1000);
  while (performance.now() < warmEnd) fn(input);
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < ROUND_MS) {
      fn(input);
      calls++;
      t1 = performance.now();
    }
    rates.push((calls * spansPerCall) / ((t1 - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { median: rates[Math.floor(rates.length / 2)], best: rates[rates.length - 1], usPerSpan: 1e6 / rates[Math.floor(rates.length / 2)] };
}

const spans = buildSpans(SPANS, 42, 1_760_000_000);
assertFourSpanTraces(spans);
const pbBody = ProtobufTraceSerializer.serializeRequest(spans);
const jsonText = Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString("utf8");

// The three paths must agree before their speed means anything.
const ours = decodeTraceRequestProtobuf(pbBody);
const theirs = decodeReflection(pbBody);
const viaJson = decodeTraceRequestJson(JSON.parse(jsonText));
const canon = (d) => JSON.stringify(d.rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
if (ours.rows.length !== SPANS || canon(ours) !== canon(theirs) || canon(ours) !== canon(viaJson)) {
  console.error("decoders disagree; refusing to benchmark");
  process.exit(1);
}

// What the collector stores: RowBinary. The transcoder (its hot path) writes it straight from
// the protobuf body into a reused buffer, as the batcher's arena does.
const arena = new RowBinaryWriter(pbBody.length * 2);
const transcode = (b) => {
  arena.pos = 0;
  if (transcodeTraceRequestProtobuf(b, arena) === undefined) throw new Error("the transcoder left the body to the decoder");
  return arena.bytes();
};
if (Buffer.compare(transcode(pbBody), encodeSpansRowBinary(ours.rows)) !== 0) {
  console.error("the transcoder's RowBinary differs from the decoder's; refusing to benchmark");
  process.exit(1);
}
const toRowBinary = [
  ["(d) Gavel transcoder: protobuf → RowBinary (the collector's path)", measure(transcode, pbBody)],
  ["(e) Gavel decoder → rows → RowBinary encoder", measure((b) => encodeSpansRowBinary(decodeTraceRequestProtobuf(b).rows), pbBody)],
  ["(f) protobufjs reflection + map → rows → RowBinary encoder", measure((b) => encodeSpansRowBinary(decodeReflection(b).rows), pbBody)],
  // What the collector adds per request to recognise an exporter's resend (store/request-dedup.ts).
  ["(g) request key for resends: SHA-256 of the body", measure((b) => RequestDedup.keyOf("protobuf", b), pbBody)],
];

const results = [
  ["(a) Gavel protobuf decoder → rows", measure((b) => decodeTraceRequestProtobuf(b), pbBody)],
  ["(b) protobufjs reflection decode + map → rows", measure((b) => decodeReflection(b), pbBody)],
  ["(c) OTLP/JSON: JSON.parse + Gavel JSON decoder → rows", measure((t) => decodeTraceRequestJson(JSON.parse(t)), jsonText)],
];

const fmt = (n) => Math.round(n).toLocaleString("en-US");
console.log(`### OTLP trace decode, ${SPANS}-span request (${(pbBody.length / SPANS).toFixed(0)} B/span protobuf, ${(jsonText.length / SPANS).toFixed(0)} B/span JSON), node ${process.version}`);
console.log("");
console.log("| path | spans/s (median) | spans/s (best) | µs/span |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, r] of results) console.log(`| ${name} | ${fmt(r.median)} | ${fmt(r.best)} | ${r.usPerSpan.toFixed(2)} |`);
console.log("");
console.log(`(a)/(b) = ${(results[0][1].median / results[1][1].median).toFixed(2)}×; (a)/(c) = ${(results[0][1].median / results[2][1].median).toFixed(2)}×; ${ROUNDS} rounds of ${ROUND_MS} ms after warm-up.`);
console.log("");
console.log("To RowBinary, what the collector inserts:");
console.log("");
console.log("| path | spans/s (median) | spans/s (best) | µs/span |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, r] of toRowBinary) console.log(`| ${name} | ${fmt(r.median)} | ${fmt(r.best)} | ${r.usPerSpan.toFixed(2)} |`);
console.log("");
console.log(`(d)/(e) = ${(toRowBinary[0][1].median / toRowBinary[1][1].median).toFixed(2)}×; (d)/(f) = ${(toRowBinary[0][1].median / toRowBinary[2][1].median).toFixed(2)}×; ` +
  `the resend key (g) costs ${((toRowBinary[3][1].usPerSpan / toRowBinary[0][1].usPerSpan) * 100).toFixed(1)} % of the transcoder's time (d).`);
