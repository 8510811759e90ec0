/**
 * Sessions (multi-turn conversations) for judges: the session a trace belongs to, and the
 * conversation a `{{ conversation }}` judge reads from a session's traces, as MLflow's
 * make_judge does (tests/genai/judges/test_make_judge.py, test_conversation_*).
 *
 * A trace's session id is read from MLflow's trace metadata key `mlflow.trace.session`, then from
 * the attributes of TRACE_SESSION_ATTRIBUTES in @gavel/conventions, in order (Gavel metadata
 * `gavel.metadata.mlflow.trace.session`, the attribute `mlflow.trace.session`, OpenInference's
 * and Langfuse's `session.id`, Langfuse's older `langfuse.session.id`, the GenAI semantic
 * conventions' `gen_ai.conversation.id`), on the trace's root span.
 */
import { MLFLOW_TRACE_SESSION, TRACE_SESSION_ATTRIBUTES } from "@gavel/conventions";
import { GavelConfigError } from "./errors.js";
import { traceInputsOutputs } from "./trace-format.js";
import { looksLikeJudgeTrace, type TraceAssessmentLike, type TraceWithAssessments } from "./trace-expectations.js";

/** MLflow's TraceMetadataKey.TRACE_SESSION. */
export const MLFLOW_SESSION_KEY = MLFLOW_TRACE_SESSION;
export const SESSION_ATTRIBUTES = TRACE_SESSION_ATTRIBUTES;

interface SpanLike {
  spanId?: string;
  parentSpanId?: string;
  attributes?: Record<string, unknown>;
}

type SessionTrace = TraceWithAssessments & {
  info?: { traceId?: string; timestampMs?: number; metadata?: Record<string, unknown>; tags?: Record<string, unknown> };
};

function spansOf(t: SessionTrace): readonly SpanLike[] {
  return ((t.data?.spans ?? t.spans ?? []) as readonly SpanLike[]).filter((s) => s && typeof s === "object");
}

function idOf(t: SessionTrace): string {
  return t.info?.traceId ?? t.traceId ?? "?";
}

/** The session id of a trace, or undefined. */
export function sessionIdOf(trace: SessionTrace): string | undefined {
  const meta = trace.info?.metadata?.[MLFLOW_SESSION_KEY] ?? trace.info?.tags?.[MLFLOW_SESSION_KEY];
  if (typeof meta === "string" && meta !== "") return meta;
  const spans = spansOf(trace);
  const ids = new Set(spans.map((s) => s.spanId));
  const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
  for (const s of [...roots, ...spans]) {
    for (const k of SESSION_ATTRIBUTES) {
      const v = s.attributes?.[k];
      if (typeof v === "string" && v !== "") return v;
    }
  }
  return undefined;
}

export interface ConversationMessage {
  role: "user" | "assistant";
  content: string;
}

const isEmpty = (v: unknown) =>
  v === undefined || v === null || v === "" || (typeof v === "object" && (Array.isArray(v) ? v.length === 0 : Object.keys(v as object).length === 0));
const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/**
 * Checks `session` as MLflow does: a non-empty list of traces that all carry the same session
 * id. Returns the traces oldest first and the session id.
 */
export function validateSession(session: unknown, judgeName: string): { traces: SessionTrace[]; sessionId: string } {
  if (session === undefined || session === null || (Array.isArray(session) && session.length === 0)) {
    throw new GavelConfigError(
      `Judge "${judgeName}" uses {{ conversation }}: pass session, the traces of one conversation, e.g. ` +
        `judge({ session: await searchTraces({ filter: "metadata.\`${MLFLOW_SESSION_KEY}\` = 'abc'" }) }).`,
    );
  }
  if (!Array.isArray(session)) throw new GavelConfigError(`Judge "${judgeName}": 'session' must be a list of traces, got ${typeof session}.`);
  if (!session.every(looksLikeJudgeTrace)) throw new GavelConfigError(`Judge "${judgeName}": all elements of 'session' must be traces (from getTrace() or searchTraces()).`);
  const traces = session as SessionTrace[];
  const bySession = new Map<string, string[]>();
  const without: string[] = [];
  for (const t of traces) {
    const sid = sessionIdOf(t);
    if (sid === undefined) without.push(idOf(t));
    else bySession.set(sid, [...(bySession.get(sid) ?? []), idOf(t)]);
  }
  if (without.length > 0) {
    throw new GavelConfigError(
      `Judge "${judgeName}": all traces in 'session' must have a session id (${SESSION_ATTRIBUTES.join(", ")} on the root span); ` +
        `missing on ${without.slice(0, 3).join(", ")}${without.length > 3 ? ` and ${without.length - 3} more` : ""}.`,
    );
  }
  if (bySession.size > 1) {
    const lines = [...bySession].map(([sid, ids]) => `session id '${sid}': traces ${ids.slice(0, 3).join(", ")}${ids.length > 3 ? ` and ${ids.length - 3} more` : ""}`);
    throw new GavelConfigError(`Judge "${judgeName}": all traces in 'session' must belong to the same session. Found ${bySession.size}:\n${lines.join("\n")}`);
  }
  const ordered = [...traces].sort((a, b) => (a.info?.timestampMs ?? 0) - (b.info?.timestampMs ?? 0));
  return { traces: ordered, sessionId: [...bySession.keys()][0]! };
}

/** The session as alternating user / assistant messages (inputs, outputs), oldest first; empty turns are left out. */
export function conversationOf(traces: readonly SessionTrace[]): ConversationMessage[] {
  const out: ConversationMessage[] = [];
  for (const t of traces) {
    const { inputs, outputs } = traceInputsOutputs(t);
    if (!isEmpty(inputs)) out.push({ role: "user", content: text(inputs) });
    if (!isEmpty(outputs)) out.push({ role: "assistant", content: text(outputs) });
  }
  return out;
}

/**
 * Session-level ground truth: the valid HUMAN expectations of the session's traces whose
 * metadata names the session (MLflow's session-scoped expectations).
 */
export function sessionExpectations(traces: readonly SessionTrace[], sessionId: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const t of traces) {
    for (const a of (t.assessments ?? []) as readonly (TraceAssessmentLike & { metadata?: Record<string, unknown> })[]) {
      if (a.kind !== "expectation" || a.valid === false || String(a.source?.sourceType ?? "").toUpperCase() !== "HUMAN") continue;
      if (a.metadata?.[MLFLOW_SESSION_KEY] !== sessionId) continue;
      out[a.name] = a.value;
      n++;
    }
  }
  return n > 0 ? out : undefined;
}
