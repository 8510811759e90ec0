import { expect, test } from "vitest";
import { agreementScore, agreementStats, cohenKappa, confusionMatrix } from "./metrics.js";

test("agreement normalises like the labels; a failed call scores 0", () => {
  expect(agreementScore(" Good ", "good")).toBe(1);
  expect(agreementScore(true, "true")).toBe(1);
  expect(agreementScore("poor", "good")).toBe(0);
  expect(agreementScore(null, "null")).toBe(0);
});

test("Cohen's kappa", () => {
  // p_o = 0.6, p_e = 0.52 → 1/6 (sklearn.metrics.cohen_kappa_score gives the same)
  expect(cohenKappa(["0", "1", "0", "1", "1"], ["0", "1", "1", "1", "0"])).toBeCloseTo(1 / 6, 10);
  expect(cohenKappa(["a", "b"], ["a", "b"])).toBe(1);
  expect(cohenKappa(["a", "a"], ["a", "a"])).toBeNull(); // undefined, not 0 or 1
  expect(cohenKappa(["a", "b", "a", "b"], ["b", "a", "b", "a"])).toBe(-1);
});

test("confusion matrix: human rows × judge columns, categories first, errors last", () => {
  const m = confusionMatrix(["good", "poor", "poor", "odd"], ["good", "good", null, "poor"], ["excellent", "good", "poor"]);
  expect(m.labels).toEqual(["excellent", "good", "poor", "odd", "(error)"]);
  expect(m.matrix).toEqual([
    [0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0],
    [0, 1, 0, 0, 1],
    [0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0],
  ]);
  const s = agreementStats(["good", "poor", "poor"], ["good", "good", null]);
  expect(s).toMatchObject({ n: 3, agreement: 1 / 3, errors: 1 });
});
