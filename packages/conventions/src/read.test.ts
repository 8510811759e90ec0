import { describe, expect, it } from "vitest";
import { CONVENTIONS, FIELDS, sourcesOf } from "./conventions.js";
import { isPayloadAttribute, outermost, spanText, spanTokens, type RankedSpan } from "./read.js";

describe("the trace-level rule", () => {
  // root (no payload) > a (starts 10, long) > b (starts 10, shorter: a's child) ; c starts later.
  const spans: (RankedSpan & { has: boolean })[] = [
    { spanId: "root", start: "1700000000000000000", duration: "900", has: false },
    { spanId: "b", parentSpanId: "a", start: "1700000000000000010", duration: "100", has: true },
    { spanId: "c", parentSpanId: "root", start: "1700000000000000300", duration: "10", has: true },
    { spanId: "a", parentSpanId: "root", start: "1700000000000000010", duration: "500", has: true },
  ];

  it("picks the outermost span with a payload whatever the order of the spans", () => {
    const orders = [spans, [...spans].reverse(), [spans[2]!, spans[0]!, spans[3]!, spans[1]!]];
    for (const o of orders) expect(outermost(o, (s) => s.has)?.spanId).toBe("a");
  });

  it("compares nanosecond timestamps exactly (beyond Number's precision)", () => {
    const near = [
      { spanId: "late", parentSpanId: "r", start: "1700000000000000001", duration: "5" },
      { spanId: "early", parentSpanId: "r", start: "1700000000000000000", duration: "1" },
    ];
    expect(outermost(near, () => true)?.spanId).toBe("early");
  });

  it("prefers the root when it has the payload", () => {
    expect(outermost(spans, () => true)?.spanId).toBe("root");
  });
});

describe("the list", () => {
  it("gives every field at least one source and every convention an id of its own", () => {
    for (const f of FIELDS) expect(sourcesOf(f).length, f).toBeGreaterThan(0);
    expect(new Set(CONVENTIONS.map((c) => c.id)).size).toBe(CONVENTIONS.length);
  });

  it("knows the payload attributes, flattened messages included, and nothing else", () => {
    expect(isPayloadAttribute("ai.prompt")).toBe(true);
    expect(isPayloadAttribute("llm.input_messages.3.message.content")).toBe(true);
    expect(isPayloadAttribute("gen_ai.prompt.0.role")).toBe(true);
    expect(isPayloadAttribute("gen_ai.request.model")).toBe(false);
    expect(isPayloadAttribute("http.route")).toBe(false);
  });

  it("reads non-string attribute values as the SDKs hold them", () => {
    expect(spanText("inputs", { attributes: { "langfuse.observation.input": { q: 1 } } })).toBe('{"q":1}');
    expect(spanText("spanType", { attributes: { "openinference.span.kind": "llm" } })).toBe("LLM");
  });
});

describe("token counts: each LLM call once", () => {
  const usage = { "gen_ai.usage.input_tokens": "8", "gen_ai.usage.output_tokens": "4" };
  it("reads them on the AI SDK's provider calls and on spans of other clients, not on the AI SDK's wrappers", () => {
    const total = (attributes: Record<string, string>) => spanTokens("totalTokens", { attributes });
    expect(total({ ...usage })).toBe(12);
    expect(total({ ...usage, "ai.operationId": "ai.streamText.doStream" })).toBe(12);
    expect(total({ ...usage, "ai.operationId": "ai.embedMany.doEmbed" })).toBe(12);
    expect(total({ ...usage, "ai.operationId": "ai.streamText" })).toBe(0);
    expect(total({ ...usage, "ai.operationId": "ai.toolCall" })).toBe(0);
    expect(total({ ...usage, "ai.operationId": "ai.generateText.doGenerate.extra" })).toBe(0);
  });
});
