/**
 * A unified diff of two texts, line by line (LCS), for the report's instruction diff.
 * Instructions are short, so the O(n·m) table is fine; very long inputs degrade to a
 * whole-text replacement rather than a slow diff.
 */

const MAX_CELLS = 4_000_000;

type Op = { kind: " " | "-" | "+"; line: string };

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return [...a.map((line): Op => ({ kind: "-", line })), ...b.map((line): Op => ({ kind: "+", line }))];
  // table[i][j] = LCS length of a[i..] and b[j..]
  const table: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i]! });
      i++;
      j++;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) {
      ops.push({ kind: "-", line: a[i++]! });
    } else {
      ops.push({ kind: "+", line: b[j++]! });
    }
  }
  while (i < n) ops.push({ kind: "-", line: a[i++]! });
  while (j < m) ops.push({ kind: "+", line: b[j++]! });
  return ops;
}

const splitLines = (s: string): string[] => (s === "" ? [] : s.replace(/\r\n/g, "\n").split("\n"));

/** `--- a/…` / `+++ b/…` headers and `@@` hunks with `context` lines around changes; "" when equal. */
export function unifiedDiff(before: string, after: string, options: { context?: number; fromName?: string; toName?: string } = {}): string {
  if (before === after) return "";
  const context = options.context ?? 3;
  const ops = lcsOps(splitLines(before), splitLines(after));
  // Old/new line numbers (1-based) at each op.
  const pos: { a: number; b: number }[] = [];
  let la = 1;
  let lb = 1;
  for (const op of ops) {
    pos.push({ a: la, b: lb });
    if (op.kind !== "+") la++;
    if (op.kind !== "-") lb++;
  }
  const changed = ops.map((o, k) => (o.kind !== " " ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return "";
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const start = Math.max(0, k - context);
    const end = Math.min(ops.length - 1, k + context);
    const last = hunks[hunks.length - 1];
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else hunks.push([start, end]);
  }
  const out = [`--- ${options.fromName ?? "a/instructions"}`, `+++ ${options.toName ?? "b/instructions"}`];
  for (const [s, e] of hunks) {
    const slice = ops.slice(s, e + 1);
    const aLen = slice.filter((o) => o.kind !== "+").length;
    const bLen = slice.filter((o) => o.kind !== "-").length;
    // An empty side's start is the line before the hunk, as diff -u prints it.
    const aStart = aLen === 0 ? pos[s]!.a - 1 : pos[s]!.a;
    const bStart = bLen === 0 ? pos[s]!.b - 1 : pos[s]!.b;
    out.push(`@@ -${aStart},${aLen} +${bStart},${bLen} @@`);
    for (const o of slice) out.push(`${o.kind}${o.line}`);
  }
  return out.join("\n") + "\n";
}
