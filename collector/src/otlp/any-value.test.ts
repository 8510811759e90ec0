// The Go-compatible formatting both decoders share. Expected strings are what
// Go's strconv/encoding/json (and so pdata's AsString) print for the same value.
import { describe, expect, it } from "vitest";
import { compareUtf8, goFloatString, goJsonObject, goJsonString, int64String } from "./any-value.js";

describe("goFloatString (pdata float64AsString)", () => {
  it.each([
    [0.1 + 0.2, "0.30000000000000004"],
    [1.5, "1.5"],
    [-2, "-2"],
    [123456789.125, "123456789.125"],
    [1e-6, "0.000001"], // the cut-off itself stays plain
    [1e-7, "1e-7"], // Go prints e-07 and pdata trims it to e-7
    [1.5e-10, "1.5e-10"],
    [1e20, "100000000000000000000"],
    [1e21, "1e+21"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [5e-324, "5e-324"],
    [-0, "-0"],
    [0, "0"],
    [NaN, "json: unsupported value: NaN"],
    [Infinity, "json: unsupported value: +Inf"],
    [-Infinity, "json: unsupported value: -Inf"],
  ])("%s → %s", (v, want) => {
    expect(goFloatString(v)).toBe(want);
  });
});

describe("int64String", () => {
  it.each([
    [0, 0, "0"],
    [0xffffffff, 0xffffffff, "-1"],
    [0, 0x80000000, "-9223372036854775808"],
    [0xffffffff, 0x7fffffff, "9223372036854775807"],
    [0, 0x200000, "9007199254740992"], // first value past the double fast path
    [0xffffffff, 0x1fffff, "9007199254740991"],
    [1, 0xffe00000, "-9007199254740991"],
    [0, 0xffdfffff, "-9007203549708288"], // -(2^53 + 2^32): the BigInt path
  ])("(%s, %s) → %s", (lo, hi, want) => {
    expect(int64String(lo, hi)).toBe(want);
  });
});

describe("goJsonString", () => {
  it("escapes like Go's encoder with HTML escaping off", () => {
    expect(goJsonString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goJsonString("\n\r\t\b\f\u0001\u001f\u007f")).toBe('"\\n\\r\\t\\b\\f\\u0001\\u001f\u007f"');
    expect(goJsonString("<a href='x'>&</a>")).toBe("\"<a href='x'>&</a>\"");
    expect(goJsonString("x\u2028y\u2029z")).toBe('"x\\u2028y\\u2029z"');
    expect(goJsonString("🌍")).toBe('"🌍"');
    // A lone surrogate cannot come from UTF-8; Go would have U+FFFD there.
    expect(goJsonString("a\ud800b")).toBe('"a\ufffdb"');
  });
});

describe("goJsonObject", () => {
  it("sorts keys in UTF-8 byte order and keeps the last duplicate", () => {
    expect(goJsonObject(["b", "a", "b"], ["1", "2", "3"])).toBe('{"a":2,"b":3}');
    expect(goJsonObject(["😀", "\uffff", "z"], ["1", "2", "3"])).toBe('{"z":3,"\uffff":2,"😀":1}');
    expect(goJsonObject([], [])).toBe("{}");
    expect(goJsonObject(["a"], [null])).toBeNull();
  });

  it("compareUtf8 agrees with a byte-wise comparison of the UTF-8 encodings", () => {
    const samples = ["", "a", "ab", "b", "é", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "😀", "𝄞", "a😀", "a\uffff"];
    for (const x of samples) {
      for (const y of samples) {
        const want = Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y)));
        expect(Math.sign(compareUtf8(x, y)), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`).toBe(want);
      }
    }
  });
});
