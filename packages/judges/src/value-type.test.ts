import { describe, expect, test } from "vitest";
import { makeJudge } from "./judge.js";
import { answerSchema, categoriesFromInstructions, resolveFeedbackValueType, validateValue } from "./value-type.js";

describe("categories from the instructions", () => {
  test('"Rate as one of: a, b, c"', () => {
    expect(categoriesFromInstructions("Evaluate.\nRate as one of: excellent, good, needs_improvement, poor\nConsider…")).toEqual([
      "excellent",
      "good",
      "needs_improvement",
      "poor",
    ]);
  });

  test("variants: quotes, or, trailing period, other verbs", () => {
    expect(categoriesFromInstructions("Rate it as one of 'yes', 'no' or 'unsure'.")).toEqual(["yes", "no", "unsure"]);
    expect(categoriesFromInstructions("Answer with one of: pass | fail")).toEqual(["pass", "fail"]);
    expect(categoriesFromInstructions("Classify the reply as one of: `relevant`, `irrelevant`. Then explain.")).toEqual([
      "relevant",
      "irrelevant",
    ]);
    expect(categoriesFromInstructions("Is {{ outputs }} polite?")).toBeUndefined();
  });

  test("the judge uses them when feedbackValueType is absent, and an explicit type wins", () => {
    const instr = "Rate as one of: excellent, good, poor\n{{ outputs }}";
    expect(makeJudge({ name: "q", model: "openai:/m", instructions: instr }).feedbackValueType).toEqual(["excellent", "good", "poor"]);
    expect(makeJudge({ name: "q", model: "openai:/m", instructions: instr, feedbackValueType: "boolean" }).feedbackValueType).toBe("boolean");
    expect(makeJudge({ name: "q", model: "openai:/m", instructions: "Summarise {{ outputs }}" }).feedbackValueType).toBe("string");
  });

  test("aliases", () => {
    expect(resolveFeedbackValueType("bool", "")).toBe("boolean");
    expect(resolveFeedbackValueType("int", "")).toBe("number");
  });
});

describe("value validation", () => {
  const cats = ["excellent", "good", "needs_improvement"] as const;

  test("categories: exact, case/space-insensitive, else rejected", () => {
    expect(validateValue(cats, "good")).toEqual({ ok: true, value: "good" });
    expect(validateValue(cats, "Needs Improvement")).toEqual({ ok: true, value: "needs_improvement" });
    const bad = validateValue(cats, "great");
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/"great".*not one of "excellent", "good", "needs_improvement"/);
    expect(validateValue(cats, undefined).ok).toBe(false);
  });

  test("boolean", () => {
    expect(validateValue("boolean", true)).toEqual({ ok: true, value: true });
    expect(validateValue("boolean", "yes")).toEqual({ ok: true, value: true });
    expect(validateValue("boolean", "False")).toEqual({ ok: true, value: false });
    expect(validateValue("boolean", "maybe").ok).toBe(false);
    expect(validateValue("boolean", 1).ok).toBe(false);
  });

  test("number", () => {
    expect(validateValue("number", 4.5)).toEqual({ ok: true, value: 4.5 });
    expect(validateValue("number", "3")).toEqual({ ok: true, value: 3 });
    expect(validateValue("number", "three").ok).toBe(false);
    expect(validateValue("number", Number.NaN).ok).toBe(false);
  });

  test("string", () => {
    expect(validateValue("string", "fine")).toEqual({ ok: true, value: "fine" });
    expect(validateValue("string", 7)).toEqual({ ok: true, value: "7" });
    expect(validateValue("string", { a: 1 }).ok).toBe(false);
  });

  test("answer schema: rationale first, strict-mode shape", () => {
    const s = answerSchema(["a", "b"]);
    expect(Object.keys(s["properties"] as object)).toEqual(["rationale", "result"]);
    expect(s["additionalProperties"]).toBe(false);
    expect(s["required"]).toEqual(["rationale", "result"]);
    expect((s["properties"] as Record<string, Record<string, unknown>>)["result"]!["enum"]).toEqual(["a", "b"]);
  });
});
