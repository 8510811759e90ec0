// The ingest fast path (protobuf → RowBinary without row objects) against the reference
// path (decoder → rows → RowBinary encoder): byte-identical output on what exporters send,
// and every unusual body handed to the decoder. decode-protobuf.test.ts, decode.test.ts and
// the fuzz test run the same agreement check on all of their bodies.
import { describe, expect, it } from "vitest";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { decodeProtobufToRowBinary } from "./protobuf-to-rowbinary.js";
import { decodeTraceRequestProtobuf } from "./decode-protobuf.js";
import { encodeSpansRowBinary } from "../store/rowbinary.js";
import { transcode, transcoderAgreement } from "../../../test/support/transcoder-agreement.js";
import {
  anyArr, anyInt, anyKv, anyStr, fixed32, fixed64, hex, kv, ld, req, rs, ss, str, vint, type Bytes,
} from "../../../test/support/protobuf-bytes.js";

const LONG = "a support answer that is longer than one hundred and twenty-seven bytes, so its length takes two varint bytes ".repeat(3);

/** Spans from the real SDK with every attribute type, serialised by its own OTLP serialiser. */
function sdkSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const spans: ReadableSpan[] = [];
  for (const [service, scope] of [["svc-a", "lib-a"], ["svc-b", "lib-b"]] as const) {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": service, "process.pid": 4242, "host.arch": "amd64", "deployment.weight": 0.5 }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer(scope, "2.0.1");
    tracer.startActiveSpan("agent", { kind: SpanKind.SERVER, attributes: { "gavel.inputs": JSON.stringify({ q: LONG }) } }, (root) => {
      const child = tracer.startSpan("chat gpt-4o-mini", {
        kind: SpanKind.CLIENT,
        attributes: {
          "gen_ai.request.model": "gpt-4o-mini",
          "gen_ai.usage.input_tokens": 338,
          "gen_ai.usage.big": 2 ** 53 + 2,
          "gen_ai.usage.negative": -17,
          "gen_ai.request.temperature": 0.2,
          "gen_ai.request.zero": -0,
          "stream": true,
          "cached": false,
          "gen_ai.response.finish_reasons": ["stop", "length"],
          "numbers": [1, 2.5, -3],
          "flags": [true, false],
          "unicode": "Grüße, 日本語, emoji 🎉",
          "long": LONG,
          "": "empty key",
          "empty": "",
        },
        links: [{ context: root.spanContext(), attributes: { "link.kind": "follows", n: 3 } }],
      }, trace.setSpan(context.active(), root));
      child.addEvent("gen_ai.content.prompt", { "gen_ai.prompt": LONG, tokens: 12 });
      child.addEvent("no attributes");
      child.setStatus({ code: SpanStatusCode.ERROR, message: "rate limited: 429 Too Many Requests" });
      child.recordException(new Error("boom"));
      child.end();
      root.setStatus({ code: SpanStatusCode.OK });
      root.end();
    });
  }
  spans.push(...exporter.getFinishedSpans());
  return spans;
}

const TRACE = "5b8efff798038103d269b633813fc60c";
const SPAN = "eee19b7ec3c1b174";

/** A well-formed request of one span, by hand, with `extra` fields appended to the span. */
function handSpan(extra: Bytes = [], resource: Bytes = ld(1, kv("service.name", anyStr("svc")))): Uint8Array {
  const span = [...ld(1, hex(TRACE)), ...ld(2, hex(SPAN)), ...str(5, "op"), ...fixed64(7, 1_700_000_000_000_000_000n), ...fixed64(8, 1_700_000_000_000_000_250n), ...extra];
  return req(rs(resource, ss(str(1, "scope"), span)));
}

describe("protobuf → RowBinary fast path", () => {
  it("writes the decoder's exact bytes for SDK output with every value type, events, links and several resources", () => {
    const body = ProtobufTraceSerializer.serializeRequest(sdkSpans())!;
    const fast = transcode(body);
    expect(fast).toBeDefined();
    const rows = decodeTraceRequestProtobuf(body).rows;
    expect(fast!.rows).toBe(4);
    expect(new Set(rows.map((r) => r.serviceName))).toEqual(new Set(["svc-a", "svc-b"]));
    expect(rows.some((r) => r.links.length === 1 && r.events.length === 3)).toBe(true);
    expect(Buffer.compare(fast!.body, encodeSpansRowBinary(rows))).toBe(0);
  });

  it("keeps arrays, kvlists and bytes values and a span's flags on the fast path", () => {
    const body = handSpan([
      ...ld(9, kv("arr", anyArr(anyInt(1), anyStr("x"), []))),
      ...ld(9, kv("obj", anyKv(kv("b", anyInt(2)), kv("a", anyStr("y"))))),
      ...ld(9, kv("bytes", ld(7, [0, 1, 2, 250]))),
      ...ld(9, kv("no value", [])),
      ...fixed32(16, 0x301),
      ...vint(10, 2),
    ]);
    expect(transcoderAgreement(body)).toEqual({ path: "fast" });
  });

  it("turns invalid UTF-8 into U+FFFD as the decoder does, in short and long strings", () => {
    const bad = (s: string) => [...Buffer.from(s), 0xff, 0xc3];
    const body = handSpan([
      ...ld(9, [...ld(1, bad("key")), ...ld(2, ld(1, bad("v")))]),
      ...ld(9, kv("long", ld(1, bad(LONG)))),
      ...ld(5, bad("name")),
    ]);
    expect(transcoderAgreement(body)).toEqual({ path: "fast" });
    const rows = decodeTraceRequestProtobuf(body).rows;
    expect(rows[0]!.spanName).toBe("name\ufffd\ufffd");
  });

  it("hands unusual bodies to the decoder, which keeps their rejections and errors", () => {
    const cases: [string, Uint8Array][] = [
      ["an invalid span id", req(rs(undefined, ss(undefined, [...ld(1, hex(TRACE)), ...ld(2, [1, 2, 3])])))],
      ["an unknown span field", handSpan(vint(99, 1))],
      ["an AnyValue with two fields", handSpan(ld(9, kv("twice", [...anyStr("a"), ...anyInt(2)])))],
      ["a KeyValue with two keys", handSpan(ld(9, [...str(1, "a"), ...str(1, "b"), ...ld(2, anyStr("v"))]))],
      ["a resource after its spans", req([...ld(2, ss(undefined, [...ld(1, hex(TRACE)), ...ld(2, hex(SPAN))])), ...ld(1, ld(1, kv("service.name", anyStr("late"))))])],
      ["a value nested too deep", handSpan(ld(9, kv("deep", Array.from({ length: 40 }).reduce<Bytes>((v) => anyArr(v), anyStr("x")))))],
      ["a truncated body", handSpan().subarray(0, 30)],
    ];
    for (const [what, body] of cases) {
      expect(transcoderAgreement(body), what).toEqual({ path: "decoder" });
    }
    const rejected = decodeProtobufToRowBinary(cases[0]![1]);
    expect(rejected.rows).toBe(0);
    expect(rejected.rejected).toBe(1);
    expect(rejected.rejectReason).toMatch(/span_id has 3 bytes, want 8/);
    const late = decodeTraceRequestProtobuf(cases[4]![1]).rows;
    expect(late[0]!.serviceName).toBe("late");
  });

  it("leaves a span starting after 2106 to the decoder, which refuses it; keeps the last storable start", () => {
    const startingAt = (start: bigint) =>
      req(rs(ld(1, kv("service.name", anyStr("svc"))), ss(undefined, [...ld(1, hex(TRACE)), ...ld(2, hex(SPAN)), ...fixed64(7, start), ...fixed64(8, BigInt.asUintN(64, start + 5n))])));
    for (const ok of [0n, 1_700_000_000_000_000_000n, 4_294_967_294_999_999_999n]) {
      expect(transcoderAgreement(startingAt(ok)), String(ok)).toEqual({ path: "fast" });
    }
    // Just past the limit, a second later, past DateTime64(9) (2262), the largest uint64.
    for (const late of [4_294_967_295_000_000_000n, 4_294_967_296_000_000_000n, 2n ** 63n, 2n ** 64n - 1n]) {
      expect(transcoderAgreement(startingAt(late)), String(late)).toEqual({ path: "decoder" });
      const out = decodeProtobufToRowBinary(startingAt(late));
      expect([out.rows, out.rejected]).toEqual([0, 1]);
      expect(out.rejectReason).toContain(`start_time_unix_nano ${late} is after 2106-02-07T06:28:14Z`);
    }
  });

  it("3000 damaged SDK bodies: the fast path agrees with the decoder or leaves the body to it", () => {
    let seed = 0x2545f491;
    const rand = () => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed / 4294967296;
    };
    const pick = (n: number) => Math.floor(rand() * n);
    const base = ProtobufTraceSerializer.serializeRequest(sdkSpans())!;
    const paths = { fast: 0, decoder: 0 };
    const problems: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const m = Uint8Array.from(base);
      for (let e = 1 + pick(2); e > 0; e--) {
        const at = pick(m.length);
        // Mostly flip bits in place, so many bodies stay decodable and reach the fast path.
        m[at] = pick(4) === 0 ? pick(256) : m[at]! ^ (1 << pick(8));
      }
      const a = transcoderAgreement(m);
      paths[a.path]++;
      if (a.problem) problems.push(`mutation ${i}: ${a.problem}`);
    }
    expect(problems).toEqual([]);
    expect(paths.fast).toBeGreaterThan(300);
    expect(paths.decoder).toBeGreaterThan(300);
  });
});
