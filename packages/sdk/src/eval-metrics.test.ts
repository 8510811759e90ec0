import { describe, expect, test } from "vitest";
import { evaluationMetrics, percentile, scorerMetrics } from "./eval-metrics.js";

const values = (...vs: unknown[]) => vs.map((v) => (v instanceof Error ? { error: v } : { value: v as never }));

describe("evaluation metrics", () => {
  test("percentiles interpolate between ranks as numpy does", () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBeCloseTo(9.1);
    expect(percentile([7], 90)).toBe(7);
    expect(() => percentile([], 50)).toThrow();
  });

  test("numbers: mean, min, max, p50, p90, count", () => {
    expect(scorerMetrics({ name: "score", outcomes: values(3, 1, 2, 5, 4) })).toEqual({
      "score/mean": 3,
      "score/min": 1,
      "score/max": 5,
      "score/p50": 3,
      "score/p90": 4.6,
      "score/count": 5,
      "score/error_count": 0,
    });
  });

  test("booleans count as 1 and 0, so the mean is the pass rate", () => {
    const m = scorerMetrics({ name: "ok", outcomes: values(true, false, true, true) });
    expect(m["ok/mean"]).toBe(0.75);
    expect(m["ok/min"]).toBe(0);
    expect(m["ok/max"]).toBe(1);
  });

  test("errors and nulls are left out of means and shares, errors are counted", () => {
    const m = scorerMetrics({ name: "s", outcomes: values(4, new Error("boom"), null, 2, new Error("again")) });
    expect(m["s/mean"]).toBe(3);
    expect(m["s/count"]).toBe(2);
    expect(m["s/error_count"]).toBe(2);
  });

  test("categories: a share per category, the judge's unseen categories at 0", () => {
    const m = scorerMetrics({
      name: "support_quality",
      outcomes: values("good", "excellent", "good", new Error("x"), "good"),
      categories: ["excellent", "good", "needs_improvement", "poor"],
    });
    expect(m).toEqual({
      "support_quality/excellent/share": 0.25,
      "support_quality/good/share": 0.75,
      "support_quality/needs_improvement/share": 0,
      "support_quality/poor/share": 0,
      "support_quality/count": 4,
      "support_quality/error_count": 1,
    });
    expect(m["support_quality/mean"]).toBeUndefined();
  });

  test("a scorer that failed on every row has counts only", () => {
    expect(scorerMetrics({ name: "j", outcomes: values(new Error("a"), new Error("b")), categories: ["yes", "no"] })).toEqual({
      "j/count": 0,
      "j/error_count": 2,
    });
  });

  test("several scorers are merged under their own prefixes", () => {
    const m = evaluationMetrics([
      { name: "a", outcomes: values(1, 3) },
      { name: "b", outcomes: values("x", "y") },
    ]);
    expect(m["a/mean"]).toBe(2);
    expect(m["b/x/share"]).toBe(0.5);
    expect(Object.keys(m).every((k) => k.startsWith("a/") || k.startsWith("b/"))).toBe(true);
  });
});
