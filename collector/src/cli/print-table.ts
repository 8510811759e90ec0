const MAX_CELL = 60;

function cell(v: unknown): string {
  const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  const flat = s.replace(/\s+/g, " ");
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

/** A plain-text table for terminals; cells are flattened and cut so rows stay on one line. */
export function formatTable(columns: string[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join(" │ ").trimEnd();
  const sep = widths.map((w) => "─".repeat(w)).join("─┼─");
  return [line(columns), sep, ...cells.map(line)].join("\n");
}
