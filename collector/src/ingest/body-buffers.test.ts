import { describe, expect, it } from "vitest";
import { BodyBuffers } from "./body-buffers.js";

// Identity as a boolean: a failing toBe on two large Buffers makes vitest diff them byte by byte.
const same = (a: Buffer, b: Buffer) => a === b;

describe("BodyBuffers", () => {
  it("hands a released buffer to the next request that fits in it", () => {
    const pool = new BodyBuffers();
    const a = pool.take(700_000);
    expect(a.length).toBeGreaterThanOrEqual(700_000);
    pool.release(a);
    expect(same(pool.take(500_000), a)).toBe(true);
    // Taken again: a second request in flight gets its own buffer.
    expect(same(pool.take(500_000), a)).toBe(false);
  });

  it("does not keep buffers above its size limit, and keeps the largest when full", () => {
    const pool = new BodyBuffers(2, 1024 * 1024);
    const huge = pool.take(2 * 1024 * 1024);
    pool.release(huge);
    expect(same(pool.take(2 * 1024 * 1024), huge)).toBe(false);
    const small = pool.take(10);
    const mid = pool.take(200_000);
    const big = pool.take(900_000);
    pool.release(small);
    pool.release(mid);
    pool.release(big); // full: the smallest goes
    const first = pool.take(150_000);
    const second = pool.take(150_000);
    expect([same(first, big) || same(first, mid), same(second, big) || same(second, mid), same(first, second)]).toEqual([true, true, false]);
    expect(same(pool.take(10), small)).toBe(false);
  });
});
