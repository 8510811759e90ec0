import { expect, test } from "vitest";
import { stratifiedSplit } from "./split.js";

const items = (counts: Record<string, number>) =>
  Object.entries(counts).flatMap(([label, n]) => Array.from({ length: n }, (_, i) => ({ id: `${label}${i}`, label })));

test("each label keeps its share in the held-out split; seeded", () => {
  const data = items({ good: 30, poor: 15, needs_improvement: 5 });
  const s = stratifiedSplit(data, (x) => x.label, { fraction: 0.2, seed: 42 });
  expect(s.stratified).toBe(true);
  expect(s.heldOut).toHaveLength(10);
  expect(s.train).toHaveLength(40);
  const count = (xs: typeof data, l: string) => xs.filter((x) => x.label === l).length;
  expect([count(s.heldOut, "good"), count(s.heldOut, "poor"), count(s.heldOut, "needs_improvement")]).toEqual([6, 3, 1]);
  expect(new Set([...s.train, ...s.heldOut].map((x) => x.id)).size).toBe(50);
  expect(stratifiedSplit(data, (x) => x.label, { fraction: 0.2, seed: 42 })).toEqual(s);
  expect(stratifiedSplit(data, (x) => x.label, { fraction: 0.2, seed: 7 }).heldOut).not.toEqual(s.heldOut);
});

test("a rare label is not held out entirely", () => {
  const s = stratifiedSplit(items({ good: 27, poor: 2, odd: 1 }), (x) => x.label, { fraction: 0.2, seed: 1 });
  expect(s.heldOut).toHaveLength(6);
  expect(s.train.some((x) => x.label === "odd")).toBe(true);
  expect(s.train.some((x) => x.label === "poor")).toBe(true);
});

test("too small to split: all data, and a note that says so", () => {
  const s = stratifiedSplit(items({ good: 8, poor: 4 }), (x) => x.label, { fraction: 0.2 });
  expect(s).toMatchObject({ stratified: false });
  expect(s.train).toHaveLength(12);
  expect(s.heldOut).toHaveLength(12);
  expect(s.note).toMatch(/Too few examples to split \(12/);
  // Enough to hold out 5, but not enough left for the optimizer's minimum.
  expect(stratifiedSplit(items({ good: 14 }), (x) => x.label, { fraction: 0.4, minTrain: 10 }).stratified).toBe(false);
  expect(stratifiedSplit(items({ good: 40 }), (x) => x.label, { fraction: 0 }).note).toMatch(/heldOutFraction is 0/);
});
