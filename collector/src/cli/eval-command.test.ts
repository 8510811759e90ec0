import { describe, expect, test } from "vitest";
import { parseEvalJsonl } from "./eval-command.js";

describe("gavel eval JSONL rows", () => {
  test("reads rows, skipping blank lines and CRLF endings", () => {
    const text = '{"inputs":{"q":1},"outputs":"a"}\r\n\r\n{"inputs":"x","expectations":{"e":1}}\n';
    expect(parseEvalJsonl(text, "d.jsonl")).toEqual([
      { inputs: { q: 1 }, outputs: "a" },
      { inputs: "x", expectations: { e: 1 } },
    ]);
  });

  test.each([
    ['{"inputs":1}\n{nope}', /^d\.jsonl:2: not valid JSON/],
    ['{"inputs":1}\n\n[1]', /^d\.jsonl:3: expected a JSON object/],
    ['{"outputs":1}', /^d\.jsonl:1: no "inputs"/],
    ['{"inputs":1,"output":2}', /^d\.jsonl:1: unknown field "output"/],
    ['{"inputs":1,"expectations":[1]}', /^d\.jsonl:1: "expectations" must be an object/],
    ["\n\n", /d\.jsonl has no rows/],
  ])("reports %j with its line", (text, msg) => {
    expect(() => parseEvalJsonl(text, "d.jsonl")).toThrow(msg);
  });
});
