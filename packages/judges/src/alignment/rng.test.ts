import { describe, expect, test } from "vitest";
import { percentile, roundHalfEven, SeededRandom } from "./rng.js";

describe("SeededRandom", () => {
  test("the same seed gives the same draws; another seed other draws", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 5 }, () => a.random());
    expect(Array.from({ length: 5 }, () => b.random())).toEqual(xs);
    expect(new SeededRandom(43).random()).not.toBe(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new SeededRandom(42).fork("split").random()).not.toBe(xs[0]);
  });

  test("shuffle is a seeded permutation", () => {
    const s = new SeededRandom(1).shuffle([...Array(20).keys()]);
    expect([...s].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    expect(new SeededRandom(1).shuffle([...Array(20).keys()])).toEqual(s);
  });

  test("weightedChoice follows the weights (bisect on cumulative weights)", () => {
    const r = new SeededRandom(7);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 6000; i++) counts[r.weightedChoice(["a", "b", "c"] as const, [1, 2, 0])]++;
    expect(counts.c).toBe(0);
    expect(counts.b / counts.a).toBeGreaterThan(1.8);
    expect(counts.b / counts.a).toBeLessThan(2.2);
  });

  test("poisson has the right mean, and 0 for lambda 0", () => {
    const r = new SeededRandom(3);
    const n = 20000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += r.poisson(1.5);
    expect(sum / n).toBeGreaterThan(1.45);
    expect(sum / n).toBeLessThan(1.55);
    expect(r.poisson(0)).toBe(0);
    expect(r.poisson(800)).toBeGreaterThan(600); // no underflow of exp(-lambda)
  });
});

test("roundHalfEven matches Python's round()", () => {
  expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2.4, 2.6, 2.675, 4].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, -2, 2, 3, 3, 4]);
});

test("percentile matches numpy's linear interpolation", () => {
  expect(percentile([0, 0, 1, 1, 1], 10)).toBe(0);
  expect(percentile([1, 2, 3, 4], 90)).toBeCloseTo(3.7);
  expect(percentile([1, 1, 1], 90)).toBe(1);
});
