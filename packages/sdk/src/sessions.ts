import { request, seg } from "./client.js";
import { flush } from "./init.js";
import { state } from "./state.js";
import { Trace, type TraceJson } from "./trace-object.js";

export interface SessionSummary {
  sessionId: string;
  traceCount: number;
  firstMs: number;
  lastMs: number;
}

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

/** The traces of one session, oldest first, with spans and assessments: pass them to a `{{ conversation }}` judge as `session`. */
export async function getSession(o: { experimentId?: string; sessionId: string }): Promise<Trace[]> {
  try {
    await flush();
  } catch {
    // an unreachable collector is reported by the request below
  }
  const r = await request<{ traces: TraceJson[] }>("GET", `/api/v1/experiments/${seg(experimentOf(o.experimentId))}/sessions/${seg(o.sessionId)}`);
  return r.traces.map((t) => new Trace(t));
}
