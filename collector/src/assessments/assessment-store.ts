import { randomBytes } from "node:crypto";
import type { Store } from "../store/store.js";
import { encodeSpansRowBinary } from "../store/rowbinary.js";
import { parsePayload } from "../store/queries/traces.js";
import { TRACE_STATUS_SQL } from "../store/queries/trace-summary.js";
import { SESSION_KEY, type AssessmentJson, type NewAssessment } from "./assessment-types.js";
import { assessmentEventAttributes, assessmentSpan, monotonicNowNs } from "./assessment-span.js";

interface AssessmentRow {
  AssessmentId: string;
  TraceId: string;
  SpanId: string;
  Name: string;
  Kind: string;
  SourceType: string;
  SourceId: string;
  Value: string;
  Rationale: string;
  Error: string;
  Valid: boolean;
  Overrides: string;
  RunId: string;
  JudgeVersion: number;
  Metadata: string;
  CreatedMs: string;
  UpdatedMs: string;
}

const SELECT = `SELECT AssessmentId, TraceId, SpanId, Name, Kind, SourceType, SourceId, Value, Rationale, Error, Valid,
  Overrides, RunId, JudgeVersion, Metadata, toString(toUnixTimestamp64Milli(CreatedAt)) AS CreatedMs,
  toString(toUnixTimestamp64Milli(Version)) AS UpdatedMs
FROM gavel_assessments FINAL`;

function toJson(r: AssessmentRow): AssessmentJson {
  const a: AssessmentJson = {
    assessmentId: r.AssessmentId,
    traceId: r.TraceId,
    name: r.Name,
    kind: r.Kind === "expectation" ? "expectation" : "feedback",
    value: parsePayload(r.Value),
    source: { sourceType: (r.SourceType as AssessmentJson["source"]["sourceType"]) || "CODE", sourceId: r.SourceId },
    metadata: (parsePayload(r.Metadata) as Record<string, unknown> | null) ?? {},
    valid: Boolean(r.Valid),
    createTimeMs: Number(r.CreatedMs),
    lastUpdateTimeMs: Number(r.UpdatedMs),
  };
  if (r.SpanId) a.spanId = r.SpanId;
  if (r.Rationale) a.rationale = r.Rationale;
  if (r.Error) a.error = parsePayload(r.Error) as AssessmentJson["error"];
  if (r.Overrides) a.overrides = r.Overrides;
  if (r.RunId) a.runId = r.RunId;
  if (r.JudgeVersion) a.judgeVersion = Number(r.JudgeVersion);
  return a;
}

interface Anchor {
  rootSpanId: string;
  experimentId?: string;
  trace?: { startNs: string; status: string };
}

export const newAssessmentId = () => `a-${randomBytes(12).toString("hex")}`;

/** An assessment write that cannot be stored as given; the REST layer answers 400 with the message. */
export class InvalidAssessmentError extends Error {
  override name = "InvalidAssessmentError";
}

/** MLflow's rules: a feedback carries a value or an error; an expectation carries a value. */
export function checkAssessmentValue(kind: "feedback" | "expectation", value: unknown, error: unknown): void {
  const missing = value === undefined || value === null;
  if (kind === "feedback" && missing && !error) {
    throw new InvalidAssessmentError("A feedback needs a value or an error: give `value` (e.g. \"good\", 4, true) or `error` { code, message }.");
  }
  if (kind === "expectation" && missing) {
    throw new InvalidAssessmentError("An expectation needs a value: give `value`, e.g. the expected answer; it cannot be null.");
  }
}

/** Changes of update(): what is given replaces, metadata merges key by key. */
export interface AssessmentUpdate {
  name?: string;
  value?: unknown;
  rationale?: string;
  metadata?: Record<string, unknown>;
  error?: { code: string; message: string };
  /** When given, the update is refused unless the assessment is of this kind (MLflow's type check). */
  kind?: "feedback" | "expectation";
}

/**
 * Writes and reads assessments. Every write — the judge worker, the SDK, the UI — is
 * a span event stored through the same span batcher as OTLP ingest; reads come from
 * the gavel_assessments view of those events (latest version per id).
 */
export class AssessmentStore {
  constructor(private readonly store: Store) {}

  /** Where an assessment of this trace hangs, and what the trace's assessment spans record of it. */
  private async traceAnchor(traceId: string): Promise<Anchor> {
    const rs = await this.store.client.query({
      query: `SELECT RootSpanId, ExperimentId, toString(toUnixTimestamp64Nano(Timestamp)) AS StartNs, ${TRACE_STATUS_SQL} AS Status
FROM gavel_traces AS t WHERE TraceId = {t:String} LIMIT 1`,
      query_params: { t: traceId },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ RootSpanId: string; ExperimentId: string; StartNs: string; Status: string }>();
    return row ? { rootSpanId: row.RootSpanId, experimentId: row.ExperimentId, trace: { startNs: row.StartNs, status: row.Status } } : { rootSpanId: "" };
  }

  /** Writes versions of assessments as one evaluation span; resolves once stored. */
  private async write(traceId: string, parentSpanId: string, versions: { a: AssessmentJson; deleted?: boolean }[], anchor?: Anchor) {
    const span = assessmentSpan(
      traceId,
      parentSpanId,
      versions.map((v) => ({ attrs: assessmentEventAttributes(v.a, v.deleted), timeNs: monotonicNowNs() })),
      anchor?.experimentId,
      anchor?.trace,
    );
    await this.store.batcher.submit(encodeSpansRowBinary([span]), 1);
  }

  async log(input: NewAssessment): Promise<AssessmentJson> {
    checkAssessmentValue(input.kind, input.value, input.error);
    const anchor = await this.traceAnchor(input.traceId);
    const a: AssessmentJson = {
      assessmentId: input.assessmentId ?? newAssessmentId(),
      traceId: input.traceId,
      name: input.name,
      kind: input.kind,
      value: input.value ?? null,
      source: input.source,
      metadata: input.metadata ?? {},
      valid: true,
      createTimeMs: Date.now(),
    };
    // An assessment without a span is on the whole trace: its span id stays empty, as in
    // MLflow, and its carrier span has no parent (like one that arrived before its trace).
    const spanId = input.spanId;
    if (spanId) a.spanId = spanId;
    if (input.rationale) a.rationale = input.rationale;
    if (input.error) a.error = input.error;
    if (input.overrides) a.overrides = input.overrides;
    if (input.runId) a.runId = input.runId;
    if (input.judgeVersion !== undefined) a.judgeVersion = input.judgeVersion;
    await this.write(input.traceId, spanId ?? "", [{ a }], anchor);
    return a;
  }

  async get(traceId: string, assessmentId: string): Promise<AssessmentJson | null> {
    const rs = await this.store.client.query({
      query: `${SELECT} WHERE TraceId = {t:String} AND AssessmentId = {id:String} AND NOT Deleted LIMIT 1`,
      query_params: { t: traceId, id: assessmentId },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<AssessmentRow>();
    return row ? toJson(row) : null;
  }

  /** All assessments (valid or not, never deleted ones) of some traces, oldest first. */
  async forTraces(traceIds: string[]): Promise<Map<string, AssessmentJson[]>> {
    const out = new Map<string, AssessmentJson[]>();
    if (traceIds.length === 0) return out;
    const rs = await this.store.client.query({
      query: `${SELECT} WHERE TraceId IN {ids:Array(String)} AND NOT Deleted ORDER BY CreatedAt, AssessmentId`,
      query_params: { ids: traceIds },
      format: "JSONEachRow",
    });
    for (const r of await rs.json<AssessmentRow>()) {
      const a = toJson(r);
      let list = out.get(a.traceId);
      if (!list) out.set(a.traceId, (list = []));
      list.push(a);
    }
    return out;
  }

  /**
   * A new assessment that replaces an old one: the old one is kept, marked invalid
   * (a newer version of it), and the new one names it in `overrides`.
   */
  async override(traceId: string, oldId: string, input: Omit<NewAssessment, "traceId" | "name" | "kind" | "overrides">): Promise<AssessmentJson | null> {
    const old = await this.get(traceId, oldId);
    if (!old) return null;
    checkAssessmentValue(old.kind, input.value, undefined);
    const a: AssessmentJson = {
      assessmentId: input.assessmentId ?? newAssessmentId(),
      traceId,
      name: old.name,
      kind: old.kind,
      value: input.value ?? null,
      source: input.source,
      // An override of a session-level assessment stays one (it keeps the session key).
      metadata: { ...(typeof old.metadata?.[SESSION_KEY] === "string" ? { [SESSION_KEY]: old.metadata[SESSION_KEY] } : {}), ...(input.metadata ?? {}) },
      valid: true,
      overrides: old.assessmentId,
      createTimeMs: Date.now(),
    };
    if (old.spanId) a.spanId = old.spanId;
    if (input.rationale) a.rationale = input.rationale;
    if (input.runId) a.runId = input.runId;
    await this.write(traceId, old.spanId ?? "", [{ a: { ...old, valid: false } }, { a }], await this.traceAnchor(traceId));
    return a;
  }

  /**
   * Deletes by writing a newer, deleted version; the history stays in otel_traces. Deleting
   * an override makes the assessment it replaced valid again (MLflow's
   * test_delete_assessment_override_behavior). False when there was nothing to delete.
   */
  async delete(traceId: string, assessmentId: string): Promise<boolean> {
    const old = await this.get(traceId, assessmentId);
    if (!old) return false;
    const versions: { a: AssessmentJson; deleted?: boolean }[] = [{ a: old, deleted: true }];
    const replaced = old.overrides ? await this.get(traceId, old.overrides) : null;
    if (replaced && !replaced.valid) versions.push({ a: { ...replaced, valid: true } });
    await this.write(traceId, old.spanId ?? "", versions, await this.traceAnchor(traceId));
    return true;
  }

  /**
   * Changes an assessment in place (MLflow's update_assessment): same id and creation time,
   * a newer version. A new name is a new row of the table's sorting key, so the old name's
   * row is closed with a deleted version in the same write. Null when it does not exist.
   */
  async update(traceId: string, assessmentId: string, change: AssessmentUpdate): Promise<AssessmentJson | null> {
    const old = await this.get(traceId, assessmentId);
    if (!old) return null;
    if (change.kind && change.kind !== old.kind) {
      throw new InvalidAssessmentError(
        `Cannot update ${change.kind === "expectation" ? "an expectation value on a feedback" : "a feedback value on an expectation"} ` +
          `assessment (${assessmentId} is a ${old.kind}). Log a new ${change.kind} instead.`,
      );
    }
    const a: AssessmentJson = { ...old, metadata: { ...old.metadata, ...(change.metadata ?? {}) } };
    delete a.lastUpdateTimeMs;
    if (change.name !== undefined) a.name = change.name;
    if (change.value !== undefined) {
      a.value = change.value;
      if (change.error === undefined) delete a.error;
    }
    if (change.rationale !== undefined) a.rationale = change.rationale;
    if (change.error !== undefined) a.error = change.error;
    checkAssessmentValue(a.kind, a.value, a.error);
    const versions: { a: AssessmentJson; deleted?: boolean }[] = [];
    if (a.name !== old.name) versions.push({ a: old, deleted: true });
    versions.push({ a });
    await this.write(traceId, old.spanId ?? "", versions, await this.traceAnchor(traceId));
    return (await this.get(traceId, assessmentId)) ?? a;
  }
}
