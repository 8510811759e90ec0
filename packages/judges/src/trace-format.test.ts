import { describe, expect, test } from "vitest";
import { renderTraceForJudge, traceInputsOutputs, type JudgeTrace } from "./trace-format.js";

const ns = (ms: number) => String(BigInt(1_700_000_000_000 + ms) * 1_000_000n);

function restTrace(opts: { bigOutput?: number; extraSpans?: number; spanPayload?: number } = {}): JudgeTrace {
  const spans = [
    {
      spanId: "root", parentSpanId: "", name: "customerSupportApp",
      startTimeUnixNano: ns(0), endTimeUnixNano: ns(120),
      status: { code: "OK", message: "" }, spanType: "CHAIN",
      inputs: { issue: "Password reset not working" },
      outputs: { response: "I'll help you with: Password reset not working" + "!".repeat(opts.bigOutput ?? 0) },
      attributes: { "gavel.experiment_id": "1", "service.custom": "x" },
      events: [],
    },
    {
      spanId: "llm1", parentSpanId: "root", name: "chat gpt-4o",
      startTimeUnixNano: ns(10), endTimeUnixNano: ns(100),
      status: { code: "OK", message: "" }, spanType: "",
      inputs: undefined, outputs: undefined,
      attributes: {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "12",
        "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [{ type: "text", content: "reset pw" }] }]),
        "gen_ai.output.messages": JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: "x".repeat(opts.spanPayload ?? 10) }] }]),
      },
      events: [],
    },
  ];
  for (let i = 0; i < (opts.extraSpans ?? 0); i++) {
    spans.push({
      spanId: `tool${i}`, parentSpanId: "root", name: i % 2 ? "search_docs" : "fetch_account",
      startTimeUnixNano: ns(100 + i), endTimeUnixNano: ns(101 + i),
      status: { code: "OK", message: "" }, spanType: "TOOL",
      inputs: { query: `q${i} ${"y".repeat(opts.spanPayload ?? 10)}` }, outputs: { hits: i },
      attributes: {}, events: [],
    } as never);
  }
  return { info: { traceId: "t-1", name: "customerSupportApp", status: "OK", executionTimeMs: 120 }, data: { spans } };
}

describe("{{ trace }} rendering", () => {
  test("small traces are rendered whole: tree order, timings, inputs/outputs from any convention", () => {
    const json = renderTraceForJudge(restTrace(), { maxChars: 100_000 });
    const v = JSON.parse(json);
    expect(v.trace_id).toBe("t-1");
    expect(v.span_count).toBe(2);
    expect(v.spans.map((s: { name: string }) => s.name)).toEqual(["customerSupportApp", "chat gpt-4o"]);
    expect(v.spans[1]).toMatchObject({ parent_span_id: "root", depth: 1, type: "LLM", start_offset_ms: 10, duration_ms: 90 });
    expect(v.spans[1].inputs[0].parts[0].content).toBe("reset pw"); // from gen_ai.input.messages
    expect(v.spans[0].attributes).toEqual({ "service.custom": "x" }); // gavel bookkeeping dropped
  });

  test("over budget, long values are summarised with markers and the JSON stays valid", () => {
    const trace = restTrace({ bigOutput: 200_000, spanPayload: 50_000 });
    const json = renderTraceForJudge(trace, { maxChars: 8_000 });
    expect(json.length).toBeLessThanOrEqual(8_000);
    const v = JSON.parse(json);
    expect(v.spans).toHaveLength(2);
    expect(v.spans[0].outputs.response).toMatch(/^I'll help you with: Password reset not working!+ …\[\d+ chars omitted\]… !+$/);
    expect(json).toContain("chars omitted");
  });

  test("many spans: payloads summarised, then later spans counted by name", () => {
    const trace = restTrace({ extraSpans: 2_000, spanPayload: 300 });
    const json = renderTraceForJudge(trace, { maxChars: 20_000 });
    expect(json.length).toBeLessThanOrEqual(20_000);
    const v = JSON.parse(json);
    expect(v.span_count).toBe(2_002);
    expect(v.spans[0].name).toBe("customerSupportApp");
    expect(v.spans[0].inputs).toEqual({ issue: "Password reset not working" });
    expect(v.omitted_spans.count).toBeGreaterThan(0);
    expect(v.omitted_spans.count + v.spans.length).toBe(2_002);
    expect(Object.keys(v.omitted_spans.by_name)).toEqual(expect.arrayContaining(["search_docs", "fetch_account"]));
  });

  test("inputs and outputs of a trace: info first, else the root span", () => {
    expect(traceInputsOutputs(restTrace())).toEqual({
      inputs: { issue: "Password reset not working" },
      outputs: { response: "I'll help you with: Password reset not working" },
    });
    expect(traceInputsOutputs({ info: { inputs: '{"a":1}', outputs: "plain" } })).toEqual({ inputs: { a: 1 }, outputs: "plain" });
  });

  test("OTel-style spans (HrTime, numeric status, attributes only)", () => {
    const json = renderTraceForJudge({
      spans: [
        { spanId: "a", name: "root", startTime: [1700000000, 0], endTime: [1700000000, 5_000_000], status: { code: 2, message: "boom" },
          attributes: { "mlflow.spanInputs": '{"x":1}', "mlflow.spanType": "AGENT" } },
      ],
    });
    const v = JSON.parse(json);
    expect(v.spans[0]).toMatchObject({ type: "AGENT", duration_ms: 5, status: { code: "ERROR", message: "boom" }, inputs: { x: 1 } });
  });
});
