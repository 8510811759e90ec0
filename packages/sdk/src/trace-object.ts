import { AssessmentSourceType, type AssessmentSource } from "@gavel/judges";
import type { Assessment as StoredAssessment, AssessmentKind, Span as TraceSpan, SpanEvent, TraceInfo, TraceJson as WireTraceJson, TraceStatus } from "@gavel/api";

export type { StoredAssessment, AssessmentKind, TraceSpan, SpanEvent, TraceInfo, TraceStatus };

/**
 * What a Trace is built from: the API's trace JSON, with assessments taken loosely (older
 * collectors and hand-built traces may leave fields out; the Trace fills them in).
 */
export type TraceJson = Omit<WireTraceJson, "assessments"> & { assessments?: unknown[] };
import {
  EV_CREATED_MS,
  EV_DELETED,
  EV_ERROR,
  EV_EXPLANATION,
  EV_ID,
  EV_JUDGE_VERSION,
  EV_KIND,
  EV_METADATA,
  EV_NAME,
  EV_OVERRIDES,
  EV_RUN_ID,
  EV_SCORE_LABEL,
  EV_SCORE_VALUE,
  EV_SOURCE_ID,
  EV_SOURCE_TYPE,
  EV_SPAN_ID,
  EV_VALID,
  EV_VALUE,
  EVALUATION_EVENT,
} from "./attributes.js";

export interface SearchAssessmentsOptions {
  name?: string;
  type?: AssessmentKind;
  spanId?: string;
  /** Include invalid (overridden) assessments too. */
  all?: boolean;
}

function parseJson(s: string | undefined): unknown {
  if (s === undefined || s === "") return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

function sourceTypeOf(raw: unknown): AssessmentSourceType {
  const up = typeof raw === "string" ? raw.trim().toUpperCase() : "";
  return up === "HUMAN" || up === "LLM_JUDGE" || up === "CODE" ? up : AssessmentSourceType.CODE;
}

function errorOf(raw: unknown): StoredAssessment["error"] {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const v = typeof raw === "string" ? parseJson(raw) : raw;
  if (typeof v === "object" && v !== null) {
    const o = v as { code?: unknown; message?: unknown };
    return { code: typeof o.code === "string" ? o.code : "ERROR", message: typeof o.message === "string" ? o.message : JSON.stringify(v) };
  }
  return { code: "ERROR", message: String(v) };
}

function metadataOf(raw: unknown): Record<string, unknown> {
  const v = typeof raw === "string" ? parseJson(raw) : raw;
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const nanosToMs = (ns: string): number => {
  const n = Number(ns);
  return Number.isFinite(n) ? Math.floor(n / 1e6) : 0;
};

/** An assessment read from a `gen_ai.evaluation.result` event, plus its version order key. */
interface Versioned {
  a: StoredAssessment;
  deleted: boolean;
  version: bigint;
}

function fromEvent(span: TraceSpan, ev: SpanEvent, index: number): Versioned {
  const at = ev.attributes;
  const label = at[EV_SCORE_LABEL];
  const score = at[EV_SCORE_VALUE];
  // Same precedence as the collector's assessments view: Gavel's JSON value, then the label, then the score.
  let value: unknown = parseJson(at[EV_VALUE]);
  if (value === undefined) value = label !== undefined && label !== "" ? label : score !== undefined && score !== "" ? Number(score) : null;
  const created = Number(at[EV_CREATED_MS]);
  const jv = Number(at[EV_JUDGE_VERSION]);
  let version: bigint;
  try {
    version = BigInt(ev.timeUnixNano);
  } catch {
    version = 0n;
  }
  return {
    a: {
      // Events without a Gavel id (other GenAI tools) get a stable one from where they sit.
      assessmentId: at[EV_ID] || `${span.spanId}:${ev.timeUnixNano}:${index}`,
      traceId: span.traceId,
      spanId: at[EV_SPAN_ID] || span.parentSpanId || span.spanId,
      name: at[EV_NAME] ?? "",
      kind: at[EV_KIND] === "expectation" ? "expectation" : "feedback",
      value,
      rationale: at[EV_EXPLANATION] || undefined,
      source: { sourceType: sourceTypeOf(at[EV_SOURCE_TYPE]), sourceId: at[EV_SOURCE_ID] ?? "" },
      error: errorOf(at[EV_ERROR]),
      metadata: metadataOf(at[EV_METADATA]),
      valid: at[EV_VALID] !== "false",
      overrides: at[EV_OVERRIDES] || undefined,
      runId: at[EV_RUN_ID] || undefined,
      judgeVersion: Number.isFinite(jv) && jv > 0 ? jv : undefined,
      createTimeMs: Number.isFinite(created) && at[EV_CREATED_MS] !== "" && at[EV_CREATED_MS] !== undefined ? created : nanosToMs(ev.timeUnixNano),
    },
    deleted: at[EV_DELETED] === "true",
    version,
  };
}

/** Normalise an assessment object from the server's `assessments` array (shape kept lenient). */
function fromServer(raw: unknown, traceId: string): StoredAssessment | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const o = raw as Record<string, unknown>;
  const src = (o.source ?? {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
  const name = str(o.name);
  if (name === undefined) return undefined;
  const created = Number(o.createTimeMs ?? o.createdMs ?? o.createdAt ?? 0);
  return {
    assessmentId: str(o.assessmentId) ?? str(o.id) ?? "",
    traceId: str(o.traceId) ?? traceId,
    spanId: str(o.spanId),
    name,
    kind: o.kind === "expectation" ? "expectation" : "feedback",
    value: o.value ?? null,
    rationale: str(o.rationale),
    source: { sourceType: sourceTypeOf(src.sourceType ?? o.sourceType), sourceId: str(src.sourceId) ?? str(o.sourceId) ?? "" },
    error: errorOf(o.error),
    metadata: metadataOf(o.metadata),
    valid: o.valid !== false && o.valid !== "false",
    overrides: str(o.overrides),
    runId: str(o.runId),
    judgeVersion: typeof o.judgeVersion === "number" && o.judgeVersion > 0 ? o.judgeVersion : undefined,
    createTimeMs: Number.isFinite(created) ? created : 0,
  };
}

/**
 * Assessments from the spans' evaluation events. Several events with one assessment id are
 * versions of it: the latest wins and a deleted one disappears. An assessment that a valid one
 * overrides is invalid even if its own latest version does not say so.
 */
export function assessmentsFromSpans(spans: readonly TraceSpan[]): StoredAssessment[] {
  const latest = new Map<string, Versioned>();
  for (const span of spans) {
    const events = span.events ?? [];
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      if (ev.name !== EVALUATION_EVENT) continue;
      const v = fromEvent(span, ev, i);
      const prev = latest.get(v.a.assessmentId);
      if (prev === undefined || v.version >= prev.version) latest.set(v.a.assessmentId, v);
    }
  }
  const out: StoredAssessment[] = [];
  for (const v of latest.values()) if (!v.deleted) out.push(v.a);
  return markOverridden(out);
}

function markOverridden(list: StoredAssessment[]): StoredAssessment[] {
  const overridden = new Set<string>();
  for (const a of list) if (a.valid && a.overrides !== undefined) overridden.add(a.overrides);
  if (overridden.size > 0) for (const a of list) if (overridden.has(a.assessmentId)) a.valid = false;
  return list.sort((x, y) => x.createTimeMs - y.createTimeMs);
}

/** A trace as returned by searchTraces() and getTrace(). */
export class Trace {
  readonly info: TraceInfo;
  readonly data: { spans: TraceSpan[] };
  private assessmentCache: StoredAssessment[] | undefined;

  constructor(json: TraceJson) {
    this.info = json.info;
    this.data = { spans: json.data?.spans ?? [] };
    if (Array.isArray(json.assessments)) {
      const list: StoredAssessment[] = [];
      for (const raw of json.assessments) {
        const a = fromServer(raw, json.info.traceId);
        if (a !== undefined) list.push(a);
      }
      this.assessmentCache = markOverridden(list);
    }
  }

  static fromJSON(json: TraceJson): Trace {
    return new Trace(json);
  }

  get traceId(): string {
    return this.info.traceId;
  }

  /** The root span (no parent in this trace), if it has arrived. */
  get rootSpan(): TraceSpan | undefined {
    const ids = new Set(this.data.spans.map((s) => s.spanId));
    return this.data.spans.find((s) => s.parentSpanId === "" || !ids.has(s.parentSpanId));
  }

  /**
   * All assessments of the trace, invalid ones included. Taken from the server's `assessments`
   * when it sends them, else read from the spans' `gen_ai.evaluation.result` events (so the
   * trace must have been fetched with its spans).
   */
  get assessments(): StoredAssessment[] {
    return (this.assessmentCache ??= assessmentsFromSpans(this.data.spans));
  }

  /** Assessments filtered as MLflow's Trace.search_assessments: valid only unless `all`. */
  searchAssessments(opts: SearchAssessmentsOptions = {}): StoredAssessment[] {
    return this.assessments.filter(
      (a) =>
        (opts.all === true || a.valid) &&
        (opts.name === undefined || a.name === opts.name) &&
        (opts.type === undefined || a.kind === opts.type) &&
        (opts.spanId === undefined || a.spanId === opts.spanId),
    );
  }

  toJSON(): TraceJson {
    return { info: this.info, data: this.data };
  }
}
