// OTLP/JSON specifics: protobuf JSON mapping variants, path-named errors, and
// span rejection. Parity with the protobuf decoder is in decode.test.ts.
import { describe, expect, it } from "vitest";
import { decodeTraceRequestJson } from "./decode-json.js";
import { OtlpDecodeError } from "./errors.js";

const TRACE = "5b8efff798038103d269b633813fc60c";
const SPAN = "eee19b7ec3c1b174";

type J = Record<string, unknown>;

function request(spans: J[], resourceAttrs: J[] = [{ key: "service.name", value: { stringValue: "svc" } }]): J {
  return {
    resourceSpans: [
      {
        resource: { attributes: resourceAttrs },
        scopeSpans: [{ scope: { name: "sc", version: "1" }, spans }],
      },
    ],
  };
}

const baseSpan = (extra: J = {}): J => ({
  traceId: TRACE,
  spanId: SPAN,
  name: "op",
  kind: 2,
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000000000250",
  ...extra,
});

function errorOf(body: unknown): OtlpDecodeError {
  try {
    decodeTraceRequestJson(body);
  } catch (e) {
    expect(e).toBeInstanceOf(OtlpDecodeError);
    return e as OtlpDecodeError;
  }
  throw new Error("expected an OtlpDecodeError");
}

/** Renames every lowerCamel key to its proto (snake_case) name. */
function toSnake(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toSnake);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()), toSnake(x)]),
    );
  }
  return v;
}

describe("JSON decoder: protobuf JSON mapping", () => {
  const rich = request([
    baseSpan({
      parentSpanId: "EEE19B7EC3C1B173", // upper case is valid hex
      traceState: "a=b",
      kind: "SPAN_KIND_CONSUMER",
      attributes: [
        { key: "i", value: { intValue: "-9223372036854775808" } },
        { key: "i2", value: { intValue: 12 } },
        { key: "lead0", value: { intValue: "007" } },
        { key: "d", value: { doubleValue: 0.5 } },
        { key: "dstr", value: { doubleValue: "1e-7" } },
        { key: "nan", value: { doubleValue: "NaN" } },
        { key: "inf", value: { doubleValue: "-Infinity" } },
        { key: "b", value: { boolValue: false } },
        { key: "bytes", value: { bytesValue: "-_8" } }, // URL-safe, unpadded
        { key: "arr", value: { arrayValue: { values: [{ stringValue: "x" }, {}, { doubleValue: "Infinity" }] } } },
        { key: "arr2", value: { arrayValue: { values: [{ stringValue: "<x>" }, { bytesValue: "AQID" }] } } },
        { key: "kv", value: { kvlistValue: { values: [{ key: "z", value: { intValue: "1" } }, { key: "a" }] } } },
        { key: "none", value: null },
        { key: "empty" },
      ],
      events: [{ timeUnixNano: 1700000000123, name: "ev", attributes: [{ key: "e", value: { stringValue: "1" } }] }],
      links: [{ traceId: TRACE, spanId: "0000000000000000", traceState: "l=1" }],
      status: { code: "STATUS_CODE_ERROR", message: "bad" },
    }),
  ]);

  it("maps every value form to the same strings as the protobuf path", () => {
    const { rows, rejected } = decodeTraceRequestJson(rich);
    expect(rejected).toBe(0);
    expect(rows).toEqual([
      {
        timestamp: 1_700_000_000_000_000_000n,
        traceId: TRACE,
        spanId: SPAN,
        parentSpanId: "eee19b7ec3c1b173",
        traceState: "a=b",
        spanName: "op",
        spanKind: "Consumer",
        serviceName: "svc",
        resourceAttributes: [["service.name", "svc"]],
        scopeName: "sc",
        scopeVersion: "1",
        spanAttributes: [
          ["i", "-9223372036854775808"],
          ["i2", "12"],
          ["lead0", "7"],
          ["d", "0.5"],
          ["dstr", "1e-7"],
          ["nan", "json: unsupported value: NaN"],
          ["inf", "json: unsupported value: -Inf"],
          ["b", "false"],
          ["bytes", "+/8="],
          ["arr", ""], // Infinity inside: json.Marshal fails, pdata gives ''
          ["arr2", '["<x>","AQID"]'],
          ["kv", '{"a":null,"z":1}'],
          ["none", ""],
          ["empty", ""],
        ],
        duration: 250n,
        statusCode: "Error",
        statusMessage: "bad",
        events: [{ timeUnixNano: 1_700_000_000_123n, name: "ev", attributes: [["e", "1"]] }],
        links: [{ traceId: TRACE, spanId: "", traceState: "l=1", attributes: [] }],
      },
    ]);
  });

  it("accepts the proto field names (snake_case) as protobuf JSON allows", () => {
    const snake = toSnake(rich) as J;
    expect(JSON.stringify(snake)).toContain('"resource_spans"');
    expect(JSON.stringify(snake)).toContain('"int_value"');
    expect(decodeTraceRequestJson(snake)).toEqual(decodeTraceRequestJson(rich));
  });

  it("treats null and missing fields as defaults", () => {
    expect(decodeTraceRequestJson({})).toEqual({ rows: [], rejected: 0 });
    expect(decodeTraceRequestJson({ resourceSpans: null })).toEqual({ rows: [], rejected: 0 });
    const { rows } = decodeTraceRequestJson({
      resourceSpans: [{ resource: null, scopeSpans: [{ scope: null, spans: [{ traceId: TRACE, spanId: SPAN, kind: null, status: null }] }] }],
    });
    expect(rows[0]).toMatchObject({ spanName: "", spanKind: "Unspecified", statusCode: "Unset", timestamp: 0n, serviceName: "" });
  });

  it("unknown enum numbers map to '' like the protobuf path", () => {
    const { rows } = decodeTraceRequestJson(request([baseSpan({ kind: 42, status: { code: 9 } })]));
    expect([rows[0]!.spanKind, rows[0]!.statusCode]).toEqual(["", ""]);
  });
});

describe("JSON decoder: span rejection", () => {
  it("rejects invalid ids, keeps valid spans, and counts", () => {
    const out = decodeTraceRequestJson(
      request([
        baseSpan({ name: "ok-0" }),
        baseSpan({ traceId: TRACE.slice(2) }),
        baseSpan({ traceId: "z" + TRACE.slice(1) }),
        baseSpan({ traceId: "0".repeat(32) }),
        baseSpan({ spanId: "" }),
        baseSpan({ spanId: "0".repeat(16) }),
        baseSpan({ parentSpanId: "abc" }),
        baseSpan({ name: "ok-1", parentSpanId: "0".repeat(16) }),
      ]),
    );
    expect(out.rows.map((r) => [r.spanName, r.parentSpanId])).toEqual([
      ["ok-0", ""],
      ["ok-1", ""],
    ]);
    expect(out.rejected).toBe(6);
    expect(out.rejectReason).toBe(
      "resourceSpans[0].scopeSpans[0].spans[1]: traceId is not 32 hex characters; " +
        "resourceSpans[0].scopeSpans[0].spans[2]: traceId is not 32 hex characters; " +
        "resourceSpans[0].scopeSpans[0].spans[3]: traceId is all zeroes (6 spans rejected in total)",
    );
  });

  it("rejects a span nested deeper than 32 levels, and only that span", () => {
    const nest = (levels: number): J => {
      let v: J = { stringValue: "leaf" };
      for (let i = 0; i < levels; i++) v = { arrayValue: { values: [v] } };
      return v;
    };
    const out = decodeTraceRequestJson(
      request([
        baseSpan({ name: "deep", attributes: [{ key: "a", value: nest(33) }] }),
        baseSpan({ name: "ok", attributes: [{ key: "a", value: nest(32) }] }),
      ]),
    );
    expect(out.rows.map((r) => r.spanName)).toEqual(["ok"]);
    expect(out.rows[0]!.spanAttributes[0]![1]).toBe("[".repeat(32) + '"leaf"' + "]".repeat(32));
    expect(out.rejectReason).toMatch(/spans\[0\]: an attribute value is nested deeper than 32 levels/);
  });

  it("a too-deep resource attribute rejects the resource's spans", () => {
    let v: J = { intValue: 1 };
    for (let i = 0; i < 40; i++) v = { kvlistValue: { values: [{ key: "k", value: v }] } };
    const out = decodeTraceRequestJson(request([baseSpan(), baseSpan()], [{ key: "deep", value: v }]));
    expect(out.rows).toEqual([]);
    expect(out.rejected).toBe(2);
  });
});

describe("JSON decoder: structural errors name the JSON path", () => {
  const cases: Array<[string, unknown, string]> = [
    ["body not an object", [], "request body: expected an object"],
    ["resourceSpans not an array", { resourceSpans: {} }, "resourceSpans: expected an array"],
    ["resource not an object", { resourceSpans: [{ resource: "x" }] }, "resourceSpans[0].resource: expected an object"],
    ["span not an object", request([baseSpan(), 5 as unknown as J]), "resourceSpans[0].scopeSpans[0].spans[1]: expected an object"],
    [
      "bad start time",
      request([baseSpan(), baseSpan({ startTimeUnixNano: "12:00" })]),
      "resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano: expected a decimal string or number (uint64)",
    ],
    [
      "negative time",
      request([baseSpan({ endTimeUnixNano: -1 })]),
      "resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano: expected a decimal string or number (uint64)",
    ],
    ["traceId not a string", request([baseSpan({ traceId: 12 })]), "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a string"],
    [
      "unknown kind name",
      request([baseSpan({ kind: "SERVER" })]),
      "resourceSpans[0].scopeSpans[0].spans[0].kind: expected an enum number or one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER",
    ],
    [
      "resource attribute int out of range",
      request([baseSpan()], [{ key: "x", value: { intValue: "9223372036854775808" } }]),
      "resourceSpans[0].resource.attributes[0].value.intValue: expected a decimal string or number (int64)",
    ],
    [
      "nested bool",
      request([baseSpan({ attributes: [{ key: "a", value: { arrayValue: { values: [{}, { boolValue: "true" }] } } }] })]),
      "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values[1].boolValue: expected true or false",
    ],
    [
      "kvlist entry not an object",
      request([baseSpan({ attributes: [{ key: "a", value: { kvlistValue: { values: [null] } } }] })]),
      "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.kvlistValue.values[0]: expected an object",
    ],
    [
      "bad base64",
      request([baseSpan({ events: [{ attributes: [{ key: "b", value: { bytesValue: "a*b" } }] }] })]),
      "resourceSpans[0].scopeSpans[0].spans[0].events[0].attributes[0].value.bytesValue: expected a base64 string",
    ],
    [
      "link attributes not an array",
      request([baseSpan({ links: [{ attributes: {} }] })]),
      "resourceSpans[0].scopeSpans[0].spans[0].links[0].attributes: expected an array",
    ],
    ["status code as text", request([baseSpan({ status: { code: "2" } })]), "resourceSpans[0].scopeSpans[0].spans[0].status.code: expected an enum number or one of STATUS_CODE_UNSET, STATUS_CODE_OK, STATUS_CODE_ERROR"],
    ["key not a string", request([baseSpan({ attributes: [{ key: 1 }] })]), "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].key: expected a string"],
    ["double as words", request([baseSpan({ attributes: [{ key: "d", value: { doubleValue: "one" } }] })]), "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.doubleValue: expected a number"],
  ];

  it.each(cases)("%s", (_name, body, message) => {
    const err = errorOf(body);
    expect(err.message).toBe(message);
    expect(err.path).toBe(message.startsWith("request body") ? "" : message.slice(0, message.indexOf(":")));
  });
});

describe("JSON decoder: enums", () => {
  it("string enum names and integer enums decode alike", () => {
    const a = decodeTraceRequestJson(request([baseSpan({ kind: "SPAN_KIND_SERVER", status: { code: "STATUS_CODE_OK" } })]));
    const b = decodeTraceRequestJson(request([baseSpan({ kind: 2, status: { code: 1 } })]));
    expect(a).toEqual(b);
    expect([a.rows[0]!.spanKind, a.rows[0]!.statusCode]).toEqual(["Server", "Ok"]);
  });
});
