import { formatValue } from "../format";

export interface Bar {
  label: string;
  value: number;
}

/**
 * A hand-drawn SVG bar chart: enough for a column of numbers or a value distribution,
 * without a charting library in the first load. Labels are SVG text nodes (never markup).
 */
export function BarChart({ bars, title, height = 180, unit, width = 640 }: { bars: Bar[]; title: string; height?: number; unit?: string; width?: number }) {
  const shown = bars.slice(0, 60);
  if (shown.length === 0) return null;
  const max = Math.max(0, ...shown.map((b) => b.value));
  const min = Math.min(0, ...shown.map((b) => b.value));
  const span = max - min || 1;
  // The viewBox width sets the text scale: small charts get a narrower box so labels stay legible.
  const W = width;
  const pad = { l: 48, r: 8, t: 10, b: 36 };
  const innerW = W - pad.l - pad.r;
  const innerH = height - pad.t - pad.b;
  const bw = innerW / shown.length;
  const y = (v: number) => pad.t + innerH - ((v - min) / span) * innerH;
  const labelEvery = Math.ceil(shown.length / 12);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label={title} preserveAspectRatio="none">
        <line x1={pad.l} x2={W - pad.r} y1={y(0)} y2={y(0)} className="axis" />
        {[max, (max + min) / 2, min].map((t, i) => (
          <text key={i} x={pad.l - 4} y={y(t) + 4} textAnchor="end" className="tick">
            {formatValue(Number(t.toPrecision(3)))}
          </text>
        ))}
        {shown.map((b, i) => {
          const top = y(Math.max(0, b.value));
          const h = Math.max(1, Math.abs(y(b.value) - y(0)));
          return (
            <g key={i}>
              <rect x={pad.l + i * bw + bw * 0.1} y={top} width={Math.max(1, bw * 0.8)} height={h} className="bar">
                <title>{`${b.label}: ${formatValue(b.value)}${unit ?? ""}`}</title>
              </rect>
              {i % labelEvery === 0 && (
                <text x={pad.l + i * bw + bw / 2} y={height - pad.b + 14} textAnchor="middle" className="tick">
                  {b.label.length > 12 ? `${b.label.slice(0, 11)}…` : b.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
