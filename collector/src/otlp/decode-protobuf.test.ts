// Wire-level behaviour of the protobuf decoder on hand-built bodies: what it
// skips, what it rejects per span, and what makes the whole request invalid.
import { describe, expect, it } from "vitest";
import { decodeTraceRequestProtobuf as decodeReference, type DecodeOptions } from "./decode-protobuf.js";
import { transcoderAgreement } from "../../../test/support/transcoder-agreement.js";

/**
 * The decoder, with every hand-built body here also given to the ingest fast path
 * (protobuf-to-rowbinary.ts): it must write exactly the decoder's rows or leave the body to it.
 */
function decodeTraceRequestProtobuf(body: Uint8Array, opts?: DecodeOptions): ReturnType<typeof decodeReference> {
  expect(transcoderAgreement(body, opts?.maxAnyValueDepth).problem).toBeUndefined();
  return decodeReference(body, opts);
}
import { OtlpDecodeError } from "./errors.js";
import {
  anyArr, anyInt, anyKv, anyStr, dbl, fixed32, fixed64, hex, kv, ld, req, rs, ss, str, tag, utf8, varint, vint, type Bytes,
} from "../../../test/support/protobuf-bytes.js";

const TRACE = "5b8efff798038103d269b633813fc60c";
const SPAN = "eee19b7ec3c1b174";
const PARENT = "eee19b7ec3c1b173";

interface SpanOpts {
  traceId?: Bytes;
  spanId?: Bytes;
  parent?: Bytes;
  name?: string;
  extra?: Bytes;
}

function spanMsg(o: SpanOpts = {}): Bytes {
  return [
    ...(o.traceId === undefined ? ld(1, hex(TRACE)) : o.traceId.length ? ld(1, o.traceId) : []),
    ...(o.spanId === undefined ? ld(2, hex(SPAN)) : o.spanId.length ? ld(2, o.spanId) : []),
    ...(o.parent ? ld(4, o.parent) : []),
    ...str(5, o.name ?? "op"),
    ...(o.extra ?? []),
  ];
}

function oneSpan(span: Bytes, resource: Bytes = ld(1, kv("service.name", anyStr("svc")))): Uint8Array {
  return req(rs(resource, ss(str(1, "scope"), span)));
}

/**
 * A request touching every message type, with `j` (unknown fields) appended
 * to each message so that skipping can be compared with a clean decode.
 */
function fullRequest(j: Bytes = []): Uint8Array {
  const attrs = [
    ...ld(9, kv("s", [...anyStr("v"), ...j], j)),
    ...ld(9, kv("arr", [...ld(5, [...ld(1, [...anyInt(1), ...j]), ...ld(1, anyStr("x")), ...j]), ...j])),
    ...ld(9, kv("kv", ld(6, [...ld(1, kv("k", anyInt(2), j)), ...j]))),
  ];
  const span = [
    ...ld(1, hex(TRACE)),
    ...ld(2, hex(SPAN)),
    ...str(3, "ts=1"),
    ...ld(4, hex(PARENT)),
    ...str(5, "op"),
    ...vint(6, 3),
    ...fixed64(7, 1_700_000_000_000_000_000n),
    ...fixed64(8, 1_700_000_000_000_000_250n),
    ...attrs,
    ...vint(10, 1),
    ...ld(11, [...fixed64(1, 1_700_000_000_000_000_100n), ...str(2, "ev"), ...ld(3, kv("e", anyStr("1"))), ...vint(4, 0), ...j]),
    ...vint(12, 0),
    ...ld(13, [...ld(1, hex(TRACE)), ...ld(2, hex(PARENT)), ...str(3, "l=1"), ...ld(4, kv("lk", anyStr("lv"))), ...vint(5, 0), ...fixed32(6, 0x101), ...j]),
    ...vint(14, 0),
    ...ld(15, [...str(2, "msg"), ...vint(3, 2), ...j]),
    ...fixed32(16, 0x301),
    ...j,
  ];
  const resource = [...ld(1, kv("service.name", anyStr("svc"))), ...vint(2, 0), ...j];
  const scope = [...str(1, "sc"), ...str(2, "1.2"), ...ld(3, kv("scope.attr", anyStr("x"))), ...vint(4, 0), ...j];
  const body = [...ld(1, [...ld(1, resource), ...ld(2, [...ld(1, scope), ...ld(2, span), ...str(3, "schema"), ...j]), ...str(3, "schema"), ...j]), ...j];
  return Uint8Array.from(body);
}

// Unknown fields of every wire type, including a (deprecated) nested group.
const JUNK: Bytes = [
  ...vint(99, 12345),
  ...vint(98, -1n), // 10-byte varint
  ...fixed64(97, 7n),
  ...str(96, "unknown"),
  ...fixed32(95, 9),
  ...tag(94, 3),
  ...vint(1, 5),
  ...tag(93, 3),
  ...str(2, "in group"),
  ...tag(93, 4),
  ...tag(94, 4),
];

function decodeError(body: Uint8Array | Bytes): OtlpDecodeError {
  try {
    decodeTraceRequestProtobuf(body instanceof Uint8Array ? body : Uint8Array.from(body));
  } catch (e) {
    expect(e).toBeInstanceOf(OtlpDecodeError);
    return e as OtlpDecodeError;
  }
  throw new Error("expected an OtlpDecodeError");
}

describe("protobuf decoder: request structure", () => {
  it("decodes every field of every message", () => {
    const { rows, rejected } = decodeTraceRequestProtobuf(fullRequest());
    expect(rejected).toBe(0);
    expect(rows).toEqual([
      {
        timestamp: 1_700_000_000_000_000_000n,
        traceId: TRACE,
        spanId: SPAN,
        parentSpanId: PARENT,
        traceState: "ts=1",
        spanName: "op",
        spanKind: "Client",
        serviceName: "svc",
        resourceAttributes: [["service.name", "svc"]],
        scopeName: "sc",
        scopeVersion: "1.2",
        spanAttributes: [
          ["s", "v"],
          ["arr", '[1,"x"]'],
          ["kv", '{"k":2}'],
        ],
        duration: 250n,
        statusCode: "Error",
        statusMessage: "msg",
        events: [{ timeUnixNano: 1_700_000_000_000_000_100n, name: "ev", attributes: [["e", "1"]] }],
        links: [{ traceId: TRACE, spanId: PARENT, traceState: "l=1", attributes: [["lk", "lv"]] }],
      },
    ]);
  });

  it("skips unknown fields of every wire type in every message", () => {
    expect(decodeTraceRequestProtobuf(fullRequest(JUNK))).toEqual(decodeTraceRequestProtobuf(fullRequest()));
  });

  it("an empty body is an empty request", () => {
    expect(decodeTraceRequestProtobuf(new Uint8Array(0))).toEqual({ rows: [], rejected: 0 });
    expect(decodeTraceRequestProtobuf(req(rs(undefined), rs(undefined, ss(undefined))))).toEqual({ rows: [], rejected: 0 });
  });

  it("accepts fields in any order, including scope and resource after the spans", () => {
    const span = [...str(5, "op"), ...ld(2, hex(SPAN)), ...ld(1, hex(TRACE))];
    const body = Uint8Array.from(
      ld(1, [
        ...ld(2, [...ld(2, span), ...ld(1, [...str(2, "v9"), ...str(1, "late-scope")])]),
        ...ld(1, ld(1, kv("service.name", anyStr("late-svc")))),
      ]),
    );
    const [row] = decodeTraceRequestProtobuf(body).rows;
    expect([row!.traceId, row!.spanId, row!.spanName]).toEqual([TRACE, SPAN, "op"]);
    expect(row!.scopeName).toBe("late-scope");
    expect(row!.scopeVersion).toBe("v9");
    expect(row!.serviceName).toBe("late-svc");
    expect(row!.resourceAttributes).toEqual([["service.name", "late-svc"]]);
  });

  it("takes the last field of a oneof and merges a repeated status", () => {
    const span = spanMsg({
      extra: [
        ...ld(9, kv("a", [...anyStr("first"), ...anyInt(7)])),
        ...ld(15, [...str(2, "m1"), ...vint(3, 1)]),
        ...ld(15, vint(3, 2)),
      ],
    });
    const [row] = decodeTraceRequestProtobuf(oneSpan(span)).rows;
    expect(row!.spanAttributes).toEqual([["a", "7"]]);
    expect(row!.statusMessage).toBe("m1");
    expect(row!.statusCode).toBe("Error");
  });

  it("service.name is the first one, converted to a string", () => {
    const resource = [...ld(1, kv("service.name", anyInt(5))), ...ld(1, kv("service.name", anyStr("second")))];
    expect(decodeTraceRequestProtobuf(oneSpan(spanMsg(), resource)).rows[0]!.serviceName).toBe("5");
    expect(decodeTraceRequestProtobuf(oneSpan(spanMsg(), [])).rows[0]!.serviceName).toBe("");
  });
});

describe("protobuf decoder: values", () => {
  const attrsOf = (...attrs: Bytes[]) =>
    decodeTraceRequestProtobuf(oneSpan(spanMsg({ extra: attrs.flatMap((a) => ld(9, a)) }))).rows[0]!.spanAttributes;

  it("converts ints, bools, doubles and bytes like pdata's AsString", () => {
    expect(
      attrsOf(
        kv("neg", anyInt(-1)),
        kv("min", anyInt(-(2n ** 63n))),
        kv("max", anyInt(2n ** 63n - 1n)),
        kv("bool", vint(2, 1)),
        kv("boolWide", [...tag(2, 0), 0x80, 0x01]), // 128: still true
        kv("boolFalse", vint(2, 0)),
        kv("negZero", dbl(4, -0)),
        kv("tiny", dbl(4, 1e-7)),
        kv("bytes", ld(7, [0xfb, 0xff])),
        kv("empty", []),
      ),
    ).toEqual([
      ["neg", "-1"],
      ["min", "-9223372036854775808"],
      ["max", "9223372036854775807"],
      ["bool", "true"],
      ["boolWide", "true"],
      ["boolFalse", "false"],
      ["negZero", "-0"],
      ["tiny", "1e-7"],
      ["bytes", "+/8="],
      ["empty", ""],
    ]);
  });

  it("kvlist is a Go JSON object: keys in UTF-8 byte order, last duplicate wins", () => {
    // UTF-16 order would put the astral key before U+FFFD; UTF-8 order does not.
    const [[, json]] = attrsOf(
      kv(
        "obj",
        anyKv(kv("b", anyInt(1)), kv("😀", anyInt(2)), kv("\ufffd", anyInt(3)), kv("a", []), kv("b", anyStr("<last>"))),
      ),
    ) as [[string, string]];
    expect(json).toBe('{"a":null,"b":"<last>","\ufffd":3,"😀":2}');
  });

  it("arrays hold null for empty values and base64 for bytes", () => {
    expect(attrsOf(kv("a", anyArr([], ld(7, [1, 2, 3]), anyArr(), anyStr("t\tab"))))).toEqual([["a", '[null,"AQID",[],"t\\tab"]']]);
  });

  it("keeps invalid UTF-8 as U+FFFD, short and long strings alike", () => {
    const bad = [0x61, 0xff, 0x62];
    const long = [...utf8("x".repeat(40)), 0xc3, ...utf8("y".repeat(10))]; // truncated 2-byte sequence
    const span = [...ld(1, hex(TRACE)), ...ld(2, hex(SPAN)), ...ld(5, bad), ...ld(9, [...ld(1, bad), ...ld(2, ld(1, long))])];
    const { rows, rejected } = decodeTraceRequestProtobuf(oneSpan(span));
    expect(rejected).toBe(0);
    expect(rows[0]!.spanName).toBe("a\ufffdb");
    expect(rows[0]!.spanAttributes).toEqual([["a\ufffdb", "x".repeat(40) + "\ufffd" + "y".repeat(10)]]);
  });

  it("unknown enum values map to '' as in ptrace", () => {
    const [row] = decodeTraceRequestProtobuf(oneSpan(spanMsg({ extra: [...vint(6, 9), ...ld(15, vint(3, -1))] }))).rows;
    expect(row!.spanKind).toBe("");
    expect(row!.statusCode).toBe("");
    const [plain] = decodeTraceRequestProtobuf(oneSpan(spanMsg())).rows;
    expect(plain!.spanKind).toBe("Unspecified");
    expect(plain!.statusCode).toBe("Unset");
  });

  it("end times are full-range uint64, negative durations are 0, and starts after 2106 are refused", () => {
    const last = 4_294_967_294_999_999_999n; // span-time.ts
    const decode = (start: bigint, end: bigint) => decodeTraceRequestProtobuf(oneSpan(spanMsg({ extra: [...fixed64(7, start), ...fixed64(8, end)] })));
    expect(decode(last, 2n ** 64n - 1n).rows[0]).toMatchObject({ timestamp: last, duration: 2n ** 64n - 1n - last });
    expect(decode(last, 5n).rows[0]).toMatchObject({ timestamp: last, duration: 0n });
    const late = decode(2n ** 64n - 1n, 5n);
    expect([late.rows.length, late.rejected]).toEqual([0, 1]);
    expect(late.rejectReason).toMatch(/start_time_unix_nano 18446744073709551615 is after 2106-02-07T06:28:14Z/);
  });

  it("malformed link ids become '' and the span is kept", () => {
    const link = [...ld(1, hex(TRACE).slice(0, 15)), ...ld(2, [0, 0, 0, 0, 0, 0, 0, 0])];
    const { rows, rejected } = decodeTraceRequestProtobuf(oneSpan(spanMsg({ extra: ld(13, link) })));
    expect(rejected).toBe(0);
    expect(rows[0]!.links).toEqual([{ traceId: "", spanId: "", traceState: "", attributes: [] }]);
  });
});

describe("protobuf decoder: per-span rejection", () => {
  it("rejects bad ids, keeps the rest, and says why", () => {
    const good = (name: string) => spanMsg({ name });
    const body = req(
      rs(
        undefined,
        ss(
          undefined,
          good("ok-0"),
          spanMsg({ traceId: hex(TRACE).slice(0, 15) }),
          good("ok-1"),
          spanMsg({ traceId: new Array(16).fill(0) }),
          spanMsg({ spanId: hex(SPAN).slice(0, 7) }),
          good("ok-2"),
        ),
      ),
      rs(
        undefined,
        ss(
          undefined,
          spanMsg({ spanId: new Array(8).fill(0) }),
          spanMsg({ parent: [1, 2, 3, 4] }),
          spanMsg({ traceId: [] }),
          spanMsg({ name: "ok-3", parent: new Array(8).fill(0) }),
          good("ok-4"),
        ),
      ),
    );
    const out = decodeTraceRequestProtobuf(body);
    expect(out.rows.map((r) => r.spanName)).toEqual(["ok-0", "ok-1", "ok-2", "ok-3", "ok-4"]);
    expect(out.rows[3]!.parentSpanId).toBe(""); // an all-zero parent means root
    expect(out.rejected).toBe(6);
    expect(out.rejectReason).toBe(
      "resourceSpans[0].scopeSpans[0].spans[1]: trace_id has 15 bytes, want 16; " +
        "resourceSpans[0].scopeSpans[0].spans[3]: trace_id is all zeroes; " +
        "resourceSpans[0].scopeSpans[0].spans[4]: span_id has 7 bytes, want 8 (6 spans rejected in total)",
    );
  });

  it("reports each id problem", () => {
    const reason = (o: SpanOpts) => decodeTraceRequestProtobuf(oneSpan(spanMsg(o))).rejectReason;
    expect(reason({ traceId: [] })).toMatch(/trace_id is missing$/);
    expect(reason({ spanId: [] })).toMatch(/span_id is missing$/);
    expect(reason({ spanId: new Array(8).fill(0) })).toMatch(/span_id is all zeroes$/);
    expect(reason({ parent: new Array(9).fill(1) })).toMatch(/parent_span_id has 9 bytes, want 8 or none$/);
  });

  /** `levels` arrays around a string, built outside-in to stay linear in size. */
  const nestedArrays = (levels: number): Bytes => {
    const leaf = anyStr("leaf");
    const prefixes: Bytes[] = [];
    let len = leaf.length;
    for (let i = 0; i < levels; i++) {
      const arrayLen = 1 + varint(len).length + len; // ArrayValue { values = 1 }
      prefixes.push([...tag(5, 2), ...varint(arrayLen), ...tag(1, 2), ...varint(len)]);
      len = 1 + varint(arrayLen).length + arrayLen; // AnyValue { array_value = 5 }
    }
    return [...prefixes.reverse().flat(), ...leaf];
  };
  const nestedKvlists = (levels: number): Bytes => {
    let v = anyStr("leaf");
    for (let i = 0; i < levels; i++) v = anyKv(kv("k", v));
    return v;
  };

  it("accepts 32 levels of nesting and rejects just the span at 33", () => {
    const body = req(
      rs(
        undefined,
        ss(
          undefined,
          spanMsg({ name: "arr32", extra: ld(9, kv("a", nestedArrays(32))) }),
          spanMsg({ name: "arr33", extra: ld(9, kv("a", nestedArrays(33))) }),
          spanMsg({ name: "kv33", extra: ld(11, ld(3, kv("a", nestedKvlists(33)))) }),
          spanMsg({ name: "kv32", extra: ld(9, kv("a", nestedKvlists(32))) }),
        ),
      ),
    );
    const out = decodeTraceRequestProtobuf(body);
    expect(out.rows.map((r) => r.spanName)).toEqual(["arr32", "kv32"]);
    expect(out.rows[0]!.spanAttributes[0]![1]).toBe("[".repeat(32) + '"leaf"' + "]".repeat(32));
    expect(out.rows[1]!.spanAttributes[0]![1]).toBe('{"k":'.repeat(32) + '"leaf"' + "}".repeat(32));
    expect(out.rejected).toBe(2);
    expect(out.rejectReason).toMatch(/spans\[1\]: an attribute value is nested deeper than 32 levels/);
  });

  it("honours maxAnyValueDepth and survives very deep input without recursing", () => {
    const body = oneSpan(spanMsg({ extra: ld(9, kv("a", nestedArrays(3))) }));
    expect(decodeTraceRequestProtobuf(body, { maxAnyValueDepth: 3 }).rejected).toBe(0);
    expect(decodeTraceRequestProtobuf(body, { maxAnyValueDepth: 2 }).rejected).toBe(1);
    // 5000 levels would overflow the stack if each were a call.
    expect(decodeTraceRequestProtobuf(oneSpan(spanMsg({ extra: ld(9, kv("a", nestedArrays(5000))) }))).rejected).toBe(1);
  });

  it("a too-deep resource attribute rejects that resource's spans only", () => {
    const body = req(
      rs(ld(1, kv("deep", nestedArrays(40))), ss(undefined, spanMsg(), spanMsg(), spanMsg({ traceId: [] }))),
      rs(undefined, ss(undefined, spanMsg({ name: "kept" }))),
    );
    const out = decodeTraceRequestProtobuf(body);
    expect(out.rows.map((r) => r.spanName)).toEqual(["kept"]);
    expect(out.rejected).toBe(3);
  });
});

describe("protobuf decoder: undecodable bodies", () => {
  it("every truncation of a valid body is an OtlpDecodeError", () => {
    const body = fullRequest(JUNK);
    // Cuts after the first top-level field can land on a field boundary,
    // which is a valid (shorter) request; everything before cannot.
    const firstFieldEnd = 3 + (body[1]! & 0x7f) + ((body[2]! & 0x7f) << 7);
    expect(body[2]! < 0x80).toBe(true);
    for (let n = 1; n < firstFieldEnd; n++) {
      expect(() => decodeTraceRequestProtobuf(body.subarray(0, n)), `cut at ${n}`).toThrow(OtlpDecodeError);
    }
  });

  it("names the problem and its byte offset", () => {
    expect(decodeError([0x0a, 0x80]).message).toBe("truncated varint at byte offset 1");
    expect(decodeError([0x0a, 0x05, 0x00]).message).toBe(
      "length 5 runs past the end of the enclosing message (1 bytes left) at byte offset 1",
    );
    expect(decodeError([0x0f]).message).toBe("invalid wire type 7 at byte offset 0");
    expect(decodeError([0x0e]).message).toBe("invalid wire type 6 at byte offset 0");
    expect(decodeError([0x02, 0x00]).message).toBe("invalid field number 0 at byte offset 0");
    expect(decodeError([0x08, 0x01]).message).toBe(
      "ExportTraceServiceRequest.resource_spans (field 1) has wire type 0 (varint), expected 2 (length-delimited) at byte offset 0",
    );
    expect(decodeError([...tag(99, 0), ...new Array(9).fill(0xff), 0x02]).message).toBe(
      "varint overflows 64 bits at byte offset 2",
    );
    expect(decodeError(tag(50, 4)).message).toBe("unexpected end-group for field 50 at byte offset 0");
    expect(decodeError([...tag(50, 3), ...vint(1, 1)]).message).toMatch(/^unterminated group for field 50/);
    expect(decodeError([...tag(50, 3), ...tag(51, 4)]).message).toMatch(/end-group for field 51 does not match/);
    expect(decodeError([...tag(99, 1), 1, 2, 3]).message).toBe("truncated fixed64 at byte offset 2");
    // A valid 10-byte varint in an unknown field is fine.
    expect(decodeTraceRequestProtobuf(Uint8Array.from([...tag(99, 0), ...new Array(9).fill(0xff), 0x01])).rows).toEqual([]);
  });

  it("reports a wrong wire type deep inside, at its offset", () => {
    // 2 bytes per level (tag + 1-byte length) put the span's first tag at 6.
    const body = req(rs(undefined, ss(undefined, [...vint(7, 5), ...spanMsg()])));
    const err = decodeError(body);
    expect(err.message).toBe(
      "Span.start_time_unix_nano (field 7) has wire type 0 (varint), expected 1 (fixed64) at byte offset 6",
    );
    expect(err.offset).toBe(6);
  });

  it("a nested length may not run past its enclosing message", () => {
    // The span claims 200 bytes but its scope_spans holds only a few.
    const inner = [...tag(2, 2), ...varint(200), ...spanMsg()];
    const body = Uint8Array.from([...ld(1, ld(2, inner)), ...new Array(300).fill(0)]);
    expect(decodeError(body).message).toMatch(/^length 200 runs past the end of the enclosing message/);
  });
});

describe("protobuf decoder: random damage", () => {
  it("2000 mutated bodies either decode to valid rows or throw OtlpDecodeError", () => {
    let seed = 0x9e3779b9;
    const rand = () => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed / 4294967296;
    };
    const pick = (n: number) => Math.floor(rand() * n);
    const base = fullRequest(JUNK);
    let decoded = 0;
    let rejectedBodies = 0;
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      let m = Uint8Array.from(base);
      const edits = 1 + pick(3);
      for (let e = 0; e < edits; e++) {
        const at = pick(m.length);
        switch (pick(4)) {
          case 0: // truncate
            m = m.slice(0, at);
            break;
          case 1: // flip a byte
            m[at] = pick(256);
            break;
          case 2: // flip one bit
            m[at] = m[at]! ^ (1 << pick(8));
            break;
          default: {
            // insert random bytes
            const ins = Array.from({ length: 1 + pick(4) }, () => pick(256));
            m = Uint8Array.from([...m.subarray(0, at), ...ins, ...m.subarray(at)]);
          }
        }
        if (m.length === 0) break;
      }
      try {
        const out = decodeTraceRequestProtobuf(m);
        decoded++;
        for (const r of out.rows) {
          expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(r.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(r.parentSpanId).toMatch(/^(?:[0-9a-f]{16})?$/);
          expect(typeof r.timestamp).toBe("bigint");
        }
      } catch (e) {
        if (!(e instanceof OtlpDecodeError)) throw new Error(`mutation ${i} threw ${String(e)}`);
        rejectedBodies++;
      }
    }
    // Both outcomes must be common, or the mutations are not exercising much.
    expect(decoded).toBeGreaterThan(100);
    expect(rejectedBodies).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
