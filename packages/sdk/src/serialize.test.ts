import { describe, expect, test } from "vitest";
import { safeJson, toJson, truncateUtf8 } from "./serialize.js";

describe("toJson", () => {
  test("plain values use JSON.stringify; no JSON text gives undefined", () => {
    expect(toJson({ a: [1, "x", null] })).toBe('{"a":[1,"x",null]}');
    expect(toJson("s")).toBe('"s"');
    expect(toJson(undefined)).toBeUndefined();
    expect(toJson(() => 1)).toBeUndefined();
    expect(toJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });

  test("cycles, BigInt and throwing accessors fall back to the safe walker", () => {
    const a: Record<string, unknown> = { id: 1n, list: [] };
    (a.list as unknown[]).push(a, { back: a });
    expect(JSON.parse(toJson(a)!)).toEqual({ id: "1", list: ["[Circular]", { back: "[Circular]" }] });
    expect(toJson(5n)).toBe('"5"');
    const m = new Map([[1, 2]]);
    expect(toJson({ m, n: 3n })).toBe('{"m":{},"n":"3"}'); // same shape JSON.stringify gives a Map
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error("trap"); } });
    expect(safeJson({ p: 1n, proxy })).toBe('{"p":"1","proxy":"[Unserializable: trap]"}');
  });

  test("toJSON results are serialized, and BigInt inside them too", () => {
    const v = { toJSON: () => ({ n: 7n }) };
    expect(toJson([v])).toBe('[{"n":"7"}]');
  });
});

describe("truncateUtf8", () => {
  test("returns undefined when the string fits", () => {
    expect(truncateUtf8("abc", 3)).toBeUndefined();
    expect(truncateUtf8("é", 2)).toBeUndefined();
  });

  test("cuts on a character boundary", () => {
    expect(truncateUtf8("abcdef", 4)).toBe("abcd");
    expect(truncateUtf8("aé", 2)).toBe("a"); // é is 2 bytes and would be split
    expect(truncateUtf8("😀😀", 5)).toBe("😀"); // 4-byte character
    expect(truncateUtf8("日本語", 7)).toBe("日本");
  });
});
