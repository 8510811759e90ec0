/** Text charts for terminals: what people would rather look at than read. */

const SHADES = [" ", "░", "▒", "▓", "█"];

export function bar(value: number, width = 30): string {
  const v = Math.max(0, Math.min(1, value));
  const full = Math.round(v * width);
  return "█".repeat(full) + "·".repeat(width - full);
}

/** A human × judge confusion matrix with counts, shaded by each row's share. */
export function confusionHeatmap(labels: string[], matrix: number[][], judgeLabels: string[] = labels): string {
  const w = Math.max(5, ...labels.map((l) => l.length), ...judgeLabels.map((l) => Math.min(l.length, 12)));
  const head = `${"human \\ judge".padEnd(w)} │ ${judgeLabels.map((l) => l.slice(0, 12).padStart(7)).join(" ")}`;
  const lines = [head, "─".repeat(head.length)];
  labels.forEach((l, i) => {
    const row = matrix[i] ?? [];
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const cells = judgeLabels.map((_, j) => {
      const n = row[j] ?? 0;
      const shade = SHADES[Math.min(4, Math.ceil((n / total) * 4))]!;
      return `${shade}${String(n).padStart(5)}${shade}`;
    });
    lines.push(`${l.padEnd(w)} │ ${cells.join("")}`);
  });
  return lines.join("\n");
}
