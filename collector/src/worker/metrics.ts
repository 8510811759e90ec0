/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
 * text exposition format (0.0.4). Gavel needs a dozen series; prom-client would be a
 * dependency for that and nothing else.
 */
export type Labels = Record<string, string>;

type Kind = "counter" | "gauge" | "histogram";

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function formatNumber(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

abstract class Metric {
  protected readonly series = new Map<string, { values: string[]; data: number[] }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
    readonly labelNames: readonly string[],
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
  }

  protected slot(labels: Labels | undefined, width: number): number[] {
    const values = this.labelNames.map((n) => labels?.[n] ?? "");
    const key = values.join("\u0001");
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { values, data: new Array<number>(width).fill(0) }));
    return s.data;
  }

  abstract render(out: string[]): void;

  protected header(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "counter", labelNames);
  }

  inc(labels?: Labels, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
    this.slot(labels, 1)[0]! += by;
  }

  get(labels?: Labels): number {
    return this.slot(labels, 1)[0]!;
  }

  /** Sum over every label set. */
  total(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.data[0]!;
    return n;
  }

  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatNumber(s.data[0]!)}`);
  }
}

export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    /** Read at scrape time, for values that live elsewhere (queue lengths, batcher stats). */
    private readonly collect?: () => Iterable<[Labels, number]>,
  ) {
    super(name, help, "gauge", labelNames);
  }

  set(labels: Labels | undefined, v: number): void {
    this.slot(labels, 1)[0] = v;
  }

  inc(labels?: Labels, by = 1): void {
    this.slot(labels, 1)[0]! += by;
  }

  get(labels?: Labels): number {
    return this.slot(labels, 1)[0]!;
  }

  render(out: string[]): void {
    if (this.collect) for (const [labels, v] of this.collect()) this.set(labels, v);
    this.header(out);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatNumber(s.data[0]!)}`);
  }
}

/** Counters whose value is read from elsewhere at scrape time (monotonic by contract). */
export class CollectedCounter extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[], private readonly collect: () => Iterable<[Labels, number]>) {
    super(name, help, "counter", labelNames);
  }

  render(out: string[]): void {
    this.header(out);
    for (const [labels, v] of this.collect()) {
      out.push(`${this.name}${labelText(this.labelNames, this.labelNames.map((n) => labels[n] ?? ""))} ${formatNumber(v)}`);
    }
  }
}

export class Histogram extends Metric {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, "histogram", labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  /** data layout: one count per bucket, then +Inf, then sum. */
  observe(labels: Labels | undefined, v: number): void {
    const d = this.slot(labels, this.buckets.length + 2);
    let i = 0;
    while (i < this.buckets.length && v > this.buckets[i]!) i++;
    d[i]! += 1;
    d[this.buckets.length + 1]! += v;
  }

  count(labels?: Labels): number {
    const d = this.slot(labels, this.buckets.length + 2);
    return d.slice(0, this.buckets.length + 1).reduce((a, b) => a + b, 0);
  }

  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) {
      let cum = 0;
      this.buckets.forEach((b, i) => {
        cum += s.data[i]!;
        out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, ["le", formatNumber(b)])} ${cum}`);
      });
      cum += s.data[this.buckets.length]!;
      out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, ["le", "+Inf"])} ${cum}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.values)} ${formatNumber(s.data[this.buckets.length + 1]!)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.values)} ${cum}`);
    }
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: () => Iterable<[Labels, number]>): Gauge {
    return this.add(new Gauge(name, help, labelNames, collect));
  }

  collectedCounter(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<[Labels, number]>): CollectedCounter {
    return this.add(new CollectedCounter(name, help, labelNames, collect));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** The Prometheus text exposition (Content-Type `text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join("\n") + "\n";
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
