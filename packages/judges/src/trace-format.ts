/**
 * Renders a trace for the `{{ trace }}` template variable: the span tree with names, types,
 * timings, status, inputs, outputs and attributes, as JSON, under a character budget.
 *
 * Over budget, the trace is summarised rather than cut: long strings keep their head and tail
 * with an "…[N chars omitted]…" marker, long arrays and objects keep their first items with a
 * count of the rest, then the payloads of the biggest non-root spans are replaced by one-line
 * summaries, and as a last resort later spans are dropped with a count by name. The result is
 * always valid JSON and keeps the root span's inputs and outputs longest.
 *
 * Accepted shapes are lenient so any caller can pass what it has: Gavel's REST/SDK trace
 * (`{ info, data: { spans } }` with `startTimeUnixNano` strings), `{ spans }`, or spans with
 * millisecond / Date / ISO / OTel HrTime timestamps.
 */
import {
  ATTR_EXPERIMENT_ID,
  ATTR_METADATA_PREFIX,
  ATTR_RUN_ID,
  ATTR_TAG_PREFIX,
  ATTR_TRUNCATED,
  isPayloadAttribute,
  isSpanTypeAttribute,
  outermost,
  spanText,
} from "@gavel/conventions";
import { envNumber } from "./env.js";

export interface JudgeSpanEvent {
  name?: string;
  timeUnixNano?: string | number | bigint;
  attributes?: Record<string, unknown>;
}

export interface JudgeSpan {
  spanId?: string;
  parentSpanId?: string | null;
  name?: string;
  spanType?: string;
  kind?: string | number;
  startTimeUnixNano?: string | number | bigint;
  endTimeUnixNano?: string | number | bigint;
  startTimeMs?: number;
  endTimeMs?: number;
  /** ms since epoch, Date, ISO string or OTel HrTime [seconds, nanos]. */
  startTime?: unknown;
  endTime?: unknown;
  durationMs?: number;
  /** `{ code, message }` or a code string. */
  status?: unknown;
  inputs?: unknown;
  outputs?: unknown;
  attributes?: Record<string, unknown>;
  events?: readonly JudgeSpanEvent[];
}

export interface JudgeTraceInfo {
  traceId?: string;
  name?: string;
  status?: string;
  timestampMs?: number;
  executionTimeMs?: number;
  inputs?: unknown;
  outputs?: unknown;
  tags?: Record<string, string>;
}

/** A trace as the judge accepts it (structural, so @gavel/sdk's Trace fits). */
export interface JudgeTrace {
  traceId?: string;
  info?: JudgeTraceInfo;
  data?: { spans?: readonly JudgeSpan[] };
  spans?: readonly JudgeSpan[];
}

export interface TraceRenderOptions {
  /** Budget in characters. Default env GAVEL_JUDGE_TRACE_MAX_CHARS, else 100000. */
  maxChars?: number;
}

// Which attributes hold a span's inputs, outputs and type: the one list of @gavel/conventions,
// read as ingest reads it (docs/conventions.md).
const NOISE_ATTRS = new Set([ATTR_EXPERIMENT_ID, ATTR_RUN_ID, ATTR_TRUNCATED]);

function maybeJson(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!(t.startsWith("{") || t.startsWith("[") || t.startsWith('"'))) return v;
  try {
    return JSON.parse(t);
  } catch {
    return v;
  }
}

function toMs(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && typeof v[1] === "number") return v[0] * 1000 + v[1] / 1e6;
  if (typeof v === "string") {
    if (/^\d+$/.test(v)) return Number(v);
    const d = Date.parse(v);
    return Number.isFinite(d) ? d : undefined;
  }
  return undefined;
}

function nanosToMs(v: string | number | bigint | undefined): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  try {
    const n = typeof v === "bigint" ? v : BigInt(typeof v === "number" ? Math.trunc(v) : v);
    if (n === 0n) return undefined;
    return Number(n / 1000n) / 1000;
  } catch {
    return undefined;
  }
}

function statusOf(s: unknown): { code: string; message?: string } | undefined {
  if (s === undefined || s === null) return undefined;
  if (typeof s === "string") return { code: s };
  if (typeof s === "number") return { code: ["UNSET", "OK", "ERROR"][s] ?? String(s) };
  if (typeof s === "object") {
    const o = s as { code?: unknown; message?: unknown };
    const code = typeof o.code === "number" ? (["UNSET", "OK", "ERROR"][o.code] ?? String(o.code)) : String(o.code ?? "UNSET");
    return typeof o.message === "string" && o.message !== "" ? { code, message: o.message } : { code };
  }
  return undefined;
}

interface NormSpan {
  id: string;
  parentId: string | undefined;
  name: string;
  type: string | undefined;
  startMs: number | undefined;
  durationMs: number | undefined;
  status: { code: string; message?: string } | undefined;
  inputs: unknown;
  outputs: unknown;
  attributes: Record<string, unknown>;
  events: { name: string; attributes?: Record<string, unknown> }[];
}

/** A payload that is there: not absent, null or the empty string. */
function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "";
}

function normSpan(s: JudgeSpan, i: number): NormSpan {
  const attrs = s.attributes ?? {};
  const view = { attributes: attrs, events: s.events };
  const pick = (field: "inputs" | "outputs") => {
    const v = spanText(field, view);
    return v === "" ? undefined : maybeJson(v);
  };
  const startMs = s.startTimeMs ?? nanosToMs(s.startTimeUnixNano) ?? toMs(s.startTime);
  const endMs = s.endTimeMs ?? nanosToMs(s.endTimeUnixNano) ?? toMs(s.endTime);
  const durationMs = s.durationMs ?? (startMs !== undefined && endMs !== undefined ? endMs - startMs : undefined);
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (isPayloadAttribute(k) || isSpanTypeAttribute(k) || NOISE_ATTRS.has(k) || k.startsWith(ATTR_TAG_PREFIX) || k.startsWith(ATTR_METADATA_PREFIX)) continue;
    attributes[k] = v;
  }
  const type = s.spanType || spanText("spanType", view);
  return {
    id: s.spanId ?? `span-${i}`,
    parentId: s.parentSpanId || undefined,
    name: s.name ?? "(unnamed)",
    type: type || undefined,
    startMs,
    durationMs,
    status: statusOf(s.status),
    inputs: present(s.inputs) ? maybeJson(s.inputs) : pick("inputs"),
    outputs: present(s.outputs) ? maybeJson(s.outputs) : pick("outputs"),
    attributes,
    events: (s.events ?? []).map((e) => ({
      name: e.name ?? "event",
      ...(e.attributes && Object.keys(e.attributes).length > 0 ? { attributes: e.attributes } : {}),
    })),
  };
}

function spansOf(t: JudgeTrace): readonly JudgeSpan[] {
  return t.data?.spans ?? t.spans ?? [];
}

/** Spans in depth-first order from the roots (children by start time), with their depth. */
function ordered(spans: NormSpan[]): { span: NormSpan; depth: number }[] {
  const ids = new Set(spans.map((s) => s.id));
  const children = new Map<string | undefined, NormSpan[]>();
  for (const s of spans) {
    const p = s.parentId && ids.has(s.parentId) ? s.parentId : undefined;
    const list = children.get(p) ?? [];
    list.push(s);
    children.set(p, list);
  }
  const byStart = (a: NormSpan, b: NormSpan) => (a.startMs ?? 0) - (b.startMs ?? 0);
  const out: { span: NormSpan; depth: number }[] = [];
  const seen = new Set<string>();
  const visit = (s: NormSpan, depth: number) => {
    if (seen.has(s.id)) return;
    seen.add(s.id);
    out.push({ span: s, depth });
    for (const c of (children.get(s.id) ?? []).sort(byStart)) visit(c, depth + 1);
  };
  for (const r of (children.get(undefined) ?? []).sort(byStart)) visit(r, 0);
  for (const s of spans) visit(s, 0); // cycles or orphans
  return out;
}

/**
 * The trace's inputs and outputs: the info's; else the root span's; else, each on its own, those
 * of the outermost span that has them (@gavel/conventions `outermost`: the collector's rule,
 * docs/conventions.md).
 */
export function traceInputsOutputs(t: JudgeTrace): { inputs?: unknown; outputs?: unknown } {
  const spans = spansOf(t).map(normSpan);
  const ranked = spans.map((s) => ({ span: s, spanId: s.id, parentSpanId: s.parentId, start: s.startMs, duration: s.durationMs }));
  const resolve = (field: "inputs" | "outputs") => {
    const info = t.info?.[field];
    if (present(info)) return maybeJson(info);
    return outermost(ranked, (r) => present(r.span[field]))?.span[field];
  };
  const inputs = resolve("inputs");
  const outputs = resolve("outputs");
  return {
    ...(inputs !== undefined ? { inputs } : {}),
    ...(outputs !== undefined ? { outputs } : {}),
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function spanView(s: NormSpan, depth: number, t0: number | undefined): Record<string, unknown> {
  const v: Record<string, unknown> = { span_id: s.id };
  if (s.parentId) v["parent_span_id"] = s.parentId;
  v["name"] = s.name;
  v["depth"] = depth;
  if (s.type) v["type"] = s.type;
  if (s.startMs !== undefined && t0 !== undefined) v["start_offset_ms"] = round(s.startMs - t0);
  if (s.durationMs !== undefined) v["duration_ms"] = round(s.durationMs);
  if (s.status) v["status"] = s.status;
  if (s.inputs !== undefined) v["inputs"] = s.inputs;
  if (s.outputs !== undefined) v["outputs"] = s.outputs;
  if (Object.keys(s.attributes).length > 0) v["attributes"] = s.attributes;
  if (s.events.length > 0) v["events"] = s.events;
  return v;
}

function sizeLabel(chars: number): string {
  return chars < 1024 ? `${chars} chars` : `${(chars / 1024).toFixed(1)} K chars`;
}

/** One-line description of a value that no longer fits. */
export function describeValue(v: unknown): string {
  const len = (() => {
    try {
      return (typeof v === "string" ? v : JSON.stringify(v) ?? "").length;
    } catch {
      return 0;
    }
  })();
  if (typeof v === "string") return `[text, ${sizeLabel(len)} omitted: "${v.slice(0, 60).replace(/\s+/g, " ")}…"]`;
  if (Array.isArray(v)) return `[array of ${v.length} items, ${sizeLabel(len)} omitted]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    return `[object with keys ${keys.slice(0, 8).join(", ")}${keys.length > 8 ? ", …" : ""}; ${sizeLabel(len)} omitted]`;
  }
  return String(v);
}

/** Shrinks strings, arrays and objects inside `v` to about `limit` characters each. */
export function shrinkValue(v: unknown, limit: number, depth = 0): unknown {
  if (typeof v === "string") {
    if (v.length <= limit) return v;
    const head = Math.max(8, Math.floor(limit * 0.7));
    const tail = Math.max(0, Math.floor(limit * 0.2));
    return `${v.slice(0, head)} …[${v.length - head - tail} chars omitted]… ${tail > 0 ? v.slice(-tail) : ""}`;
  }
  if (v === null || typeof v !== "object") return v;
  if (depth >= 8) return describeValue(v);
  const maxItems = Math.max(3, Math.floor(limit / 40));
  if (Array.isArray(v)) {
    const items = v.length > maxItems ? [...v.slice(0, maxItems - 1), `…[${v.length - maxItems} more items]…`, v[v.length - 1]] : v;
    return items.map((x) => shrinkValue(x, limit, depth + 1));
  }
  const entries = Object.entries(v as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries.slice(0, maxItems)) out[k] = shrinkValue(x, limit, depth + 1);
  if (entries.length > maxItems) out["…"] = `[${entries.length - maxItems} more keys: ${entries.slice(maxItems, maxItems + 5).map(([k]) => k).join(", ")}${entries.length - maxItems > 5 ? ", …" : ""}]`;
  return out;
}

const PAYLOAD_KEYS = ["inputs", "outputs", "attributes", "events"] as const;

function summariseSpan(view: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(view)) {
    out[k] = (PAYLOAD_KEYS as readonly string[]).includes(k) ? describeValue(v) : v;
  }
  return out;
}

export function renderTraceForJudge(t: JudgeTrace, options: TraceRenderOptions = {}): string {
  const maxChars = Math.max(500, options.maxChars ?? envNumber("GAVEL_JUDGE_TRACE_MAX_CHARS"));
  const spans = spansOf(t).map(normSpan);
  const order = ordered(spans);
  const starts = spans.map((s) => s.startMs).filter((x): x is number => x !== undefined);
  const t0 = starts.length > 0 ? Math.min(...starts) : undefined;

  const header: Record<string, unknown> = {};
  const traceId = t.info?.traceId ?? t.traceId;
  if (traceId) header["trace_id"] = traceId;
  if (t.info?.name) header["name"] = t.info.name;
  if (t.info?.status) header["status"] = t.info.status;
  const ends = spans.map((s) => (s.startMs !== undefined && s.durationMs !== undefined ? s.startMs + s.durationMs : undefined)).filter((x): x is number => x !== undefined);
  const dur = t.info?.executionTimeMs ?? (t0 !== undefined && ends.length > 0 ? Math.max(...ends) - t0 : undefined);
  if (dur !== undefined) header["duration_ms"] = round(dur);
  if (t.info?.tags && Object.keys(t.info.tags).length > 0) header["tags"] = t.info.tags;
  header["span_count"] = spans.length;
  if (spans.length === 0) {
    // Only the info: its inputs/outputs are all the judge can see.
    const io = traceInputsOutputs(t);
    Object.assign(header, io);
  }

  const full = order.map(({ span, depth }) => spanView(span, depth, t0));
  const build = (spanViews: unknown[], extra?: Record<string, unknown>) => JSON.stringify({ ...header, spans: spanViews, ...extra });

  let json = build(full);
  if (json.length <= maxChars) return json;

  // Stage 1: shrink long values everywhere; the root keeps 4x the room. Binary search for the
  // most generous per-value limit that fits (rendering is the cost on big traces).
  const limits = [8000, 4000, 2000, 1000, 500, 250, 120, 60, 30];
  const shrinkAll = (limit: number) => full.map((v, i) => shrinkSpanView(v, i === 0 ? limit * 4 : limit));
  let views = shrinkAll(limits[limits.length - 1]!);
  json = build(views);
  if (json.length <= maxChars) {
    // Fitting is monotone in the limit: find the largest limit that fits.
    let lo = 0;
    let hi = limits.length - 1;
    let best = json;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const candidate = build(shrinkAll(limits[mid]!));
      if (candidate.length <= maxChars) {
        hi = mid;
        best = candidate;
      } else {
        lo = mid + 1;
      }
    }
    return best;
  }

  // Stage 2: summarise the biggest non-root spans' payloads, one by one.
  const sizes = views.map((v, i) => ({ i, size: JSON.stringify(v).length }));
  const biggest = sizes.slice(1).sort((a, b) => b.size - a.size);
  let total = json.length;
  views = [...views];
  for (const { i, size } of biggest) {
    const summarised = summariseSpan(views[i] as Record<string, unknown>);
    views[i] = summarised;
    total += JSON.stringify(summarised).length - size;
    if (total <= maxChars) break;
  }
  json = build(views);
  if (json.length <= maxChars) return json;

  // Stage 3: keep the first spans (depth-first), count the rest by name.
  let keep = views.length;
  const sized = views.map((v) => JSON.stringify(v).length + 1);
  let running = build([]).length + 200;
  for (keep = 0; keep < views.length; keep++) {
    if (running + sized[keep]! > maxChars - 400) break;
    running += sized[keep]!;
  }
  keep = Math.max(1, keep);
  for (; keep >= 1; keep--) {
    const omitted = order.slice(keep);
    const byName: Record<string, number> = {};
    for (const { span } of omitted) byName[span.name] = (byName[span.name] ?? 0) + 1;
    const top = Object.fromEntries(Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, 20));
    json = build(views.slice(0, keep), { omitted_spans: { count: omitted.length, by_name: top } });
    if (json.length <= maxChars) return json;
  }
  // Only a header too big for the budget (huge tags) gets here.
  return JSON.stringify({ trace_id: traceId ?? null, span_count: spans.length, note: "trace too large for the judge's budget" });
}

function shrinkSpanView(v: Record<string, unknown>, limit: number): Record<string, unknown> {
  const out: Record<string, unknown> = { ...v };
  for (const k of PAYLOAD_KEYS) if (out[k] !== undefined) out[k] = shrinkValue(out[k], limit);
  return out;
}
