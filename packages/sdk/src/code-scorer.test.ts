import { describe, expect, test } from "vitest";
import { feedbackFromResult, isCodeScorer, scorer } from "./code-scorer.js";

describe("scorer()", () => {
  test("is callable and answers a CODE Feedback named after it", async () => {
    const exact = scorer({ name: "exact_match", fn: ({ outputs, expectations }) => outputs === expectations?.expected });
    expect(isCodeScorer(exact)).toBe(true);
    expect(exact.name).toBe("exact_match");
    expect(await exact({ outputs: "a", expectations: { expected: "a" } })).toEqual({
      name: "exact_match",
      value: true,
      source: { sourceType: "CODE", sourceId: "exact_match" },
      metadata: {},
    });
  });

  test("accepts { value, rationale, metadata } and async functions", async () => {
    const s = scorer({ name: "len", fn: async ({ outputs }) => ({ value: String(outputs).length, rationale: "chars", metadata: { unit: "c" } }) });
    expect(await s({ outputs: "abcd" })).toMatchObject({ value: 4, rationale: "chars", metadata: { unit: "c" } });
  });

  test("a thrown error comes back as a Feedback with error, value null", async () => {
    const s = scorer({ name: "boom", fn: () => { throw new TypeError("no outputs"); } });
    expect(await s({})).toMatchObject({ value: null, error: { code: "SCORER_ERROR", message: "TypeError: no outputs" } });
  });

  test("an unusable return value says what to return", () => {
    expect(feedbackFromResult("s", undefined).error?.message).toMatch(/forget to return.*Return a number, boolean, string or null, or \{ value, rationale\? \}/);
    expect(feedbackFromResult("s", { score: 1 }).error).toMatchObject({ code: "INVALID_VALUE" });
    expect(feedbackFromResult("s", [1]).error?.message).toMatch(/an array/);
    expect(feedbackFromResult("s", { value: { nested: 1 } }).error?.message).toMatch(/"value" is an object/);
    expect(feedbackFromResult("s", Number.NaN).error).toBeDefined();
    expect(feedbackFromResult("s", null)).toMatchObject({ value: null });
    expect(feedbackFromResult("s", null).error).toBeUndefined();
  });

  test("needs a name and a function", () => {
    expect(() => scorer({ name: " ", fn: () => 1 })).toThrow(/"name" is required/);
    expect(() => scorer({ name: "x", fn: 1 as never })).toThrow(/"fn" must be a function/);
  });
});
