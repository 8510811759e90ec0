import { MLFLOW_SESSION_KEY, sessionIdOf, type Expectation, type Feedback } from "@gavel/judges";
import { logAssessment } from "./assessments.js";
import { request, seg } from "./client.js";
import { flush } from "./init.js";
import { state } from "./state.js";
import { Trace, type StoredAssessment, type TraceJson } from "./trace-object.js";

export interface SessionSummary {
  sessionId: string;
  traceCount: number;
  firstMs: number;
  lastMs: number;
}

/**
 * One session's traces, oldest first (an array of Trace, for `judge({ session })`), with the
 * session id and the session's own assessments: the feedback of session-level judges.
 */
export type Session = Trace[] & { sessionId: string; assessments: StoredAssessment[] };

function experimentOf(experimentId: string | undefined): string {
  const e = experimentId ?? state.experimentId;
  if (e === undefined) throw new Error("Pass experimentId (or call setExperiment() first): sessions are listed per experiment.");
  return e;
}

/**
 * The experiment's sessions (traces grouped by `mlflow.trace.session` metadata, `session.id` or
 * `gen_ai.conversation.id` on their root span), most recently active first; at most 200.
 */
export async function searchSessions(o: { experimentId?: string } = {}): Promise<SessionSummary[]> {
  const r = await request<{ sessions: SessionSummary[] }>("GET", `/api/v1/experiments/${seg(experimentOf(o.experimentId))}/sessions`);
  return r.sessions;
}

/**
 * The traces of one session, oldest first, with spans and assessments: pass them to a
 * `{{ conversation }}` judge as `session`. `.assessments` holds the session-level ones.
 */
export async function getSession(o: { experimentId?: string; sessionId: string }): Promise<Session> {
  try {
    await flush();
  } catch {
    // an unreachable collector is reported by the request below
  }
  const r = await request<{ sessionId: string; traces: TraceJson[]; assessments?: StoredAssessment[] }>(
    "GET",
    `/api/v1/experiments/${seg(experimentOf(o.experimentId))}/sessions/${seg(o.sessionId)}`,
  );
  const traces = r.traces.map((t) => new Trace(t));
  return Object.assign(traces, { sessionId: r.sessionId, assessments: r.assessments ?? [] });
}

/** A session's order, as MLflow's evaluate() groups it: earliest start first, trace id breaks a tie. */
export function compareTurns(a: Trace, b: Trace): number {
  return a.info.timestampMs - b.info.timestampMs || (a.info.traceId < b.info.traceId ? -1 : 1);
}

/**
 * The trace a session-level assessment is stored on, and the session's id: as MLflow's
 * evaluate() does, the session's first trace (compareTurns).
 */
export function sessionAnchor(session: readonly Trace[]): { traceId: string; sessionId: string } {
  if (!Array.isArray(session) || session.length === 0) {
    throw new Error("A session-level assessment needs the session's traces: pass getSession({ sessionId }) (or the traces searchTraces() found for it).");
  }
  const ids = new Set(session.map((t) => sessionIdOf(t)));
  if (ids.has(undefined) || ids.size !== 1) {
    throw new Error(
      `The traces of a session must all carry the same session id (mlflow.trace.session metadata, session.id or gen_ai.conversation.id on the root span); found ${[...ids]
        .map((i) => (i === undefined ? "none" : `'${i}'`))
        .join(", ")}.`,
    );
  }
  const first = [...session].sort(compareTurns)[0]!;
  return { traceId: first.info.traceId, sessionId: [...ids][0]! };
}

/**
 * Log a session-level assessment (the Feedback of a `{{ conversation }}` judge, or a label on a
 * whole conversation) the way MLflow stores one: on the session's first trace, with
 * `mlflow.trace.session` in its metadata. getSession() returns it in `.assessments`.
 */
export async function logSessionAssessment(o: {
  session: readonly Trace[];
  assessment: Feedback | Expectation;
  assessmentId?: string;
  runId?: string;
  judgeVersion?: number;
}): Promise<StoredAssessment> {
  const { traceId, sessionId } = sessionAnchor(o.session);
  const assessment = { ...o.assessment, metadata: { ...(o.assessment.metadata ?? {}), [MLFLOW_SESSION_KEY]: sessionId } };
  return logAssessment({
    traceId,
    assessment,
    ...(o.assessmentId !== undefined ? { assessmentId: o.assessmentId } : {}),
    ...(o.runId !== undefined ? { runId: o.runId } : {}),
    ...(o.judgeVersion !== undefined ? { judgeVersion: o.judgeVersion } : {}),
  });
}
