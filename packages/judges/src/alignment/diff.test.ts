import { expect, test } from "vitest";
import { unifiedDiff } from "./diff.js";

test("unified diff with context and hunk headers", () => {
  const lines = ["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "l10", "l11", "l12"];
  const a = lines.join("\n");
  const b = [...lines.slice(0, 2), "L3", ...lines.slice(3), "", "l13"].join("\n");
  expect(unifiedDiff(a, b)).toBe(
    ["--- a/instructions", "+++ b/instructions", "@@ -1,6 +1,6 @@", " l1", " l2", "-l3", "+L3", " l4", " l5", " l6",
      "@@ -10,3 +10,5 @@", " l10", " l11", " l12", "+", "+l13", ""].join("\n"),
  );
  // Changes closer than twice the context share a hunk, as with diff -u.
  expect(unifiedDiff("a\nb\nc", "A\nb\nC").split("\n").filter((l) => l.startsWith("@@"))).toEqual(["@@ -1,3 +1,3 @@"]);
  expect(unifiedDiff(a, a)).toBe("");
  expect(unifiedDiff("", "x")).toBe("--- a/instructions\n+++ b/instructions\n@@ -0,0 +1,1 @@\n+x\n");
});
