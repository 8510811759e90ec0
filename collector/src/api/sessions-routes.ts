import type { Store } from "../store/store.js";
import type { AssessmentStore } from "../assessments/assessment-store.js";
import { SESSION_KEY } from "../assessments/assessment-types.js";
import { listSessions, sessionTraceIds } from "../store/queries/sessions.js";
import { getSpans, toTraceInfo, type TraceJson } from "../store/queries/traces.js";
import { searchTraceSummaries } from "../search/trace-search.js";
import { ApiError } from "./errors.js";
import { route, strictRouter } from "../server/routes.js";

const MAX_SESSIONS = 200;
const MAX_TURNS = 500;

/**
 * Sessions of an experiment, and one session's traces (with spans and assessments), oldest
 * first, with the session's own assessments: as in MLflow, a session-level judge's feedback is
 * stored on the session's first trace with `mlflow.trace.session` in its metadata.
 */
export function sessionsRouter(store: Store, assessments: AssessmentStore) {
  const r = strictRouter();
  route(r, "GET", "/experiments/:id/sessions", "read", async (req, res) => {
    res.json({ sessions: await listSessions(store.client, req.params.id, MAX_SESSIONS) });
  });
  route(r, "GET", "/experiments/:id/sessions/:sessionId", "read", async (req, res) => {
    const ids = await sessionTraceIds(store.client, req.params.id, req.params.sessionId, MAX_TURNS);
    if (ids.length === 0) {
      throw new ApiError(404, "NOT_FOUND", `No session "${req.params.sessionId}" in experiment ${req.params.id}. List them with GET /api/v1/experiments/${req.params.id}/sessions.`);
    }
    const list = ids.map((id) => `'${id}'`);
    // Trace ids are 32 hex characters from the store, but they still travel as a quoted list of a filter, not SQL.
    const page = await searchTraceSummaries(store.client, {
      experimentIds: [req.params.id],
      filter: `trace.trace_id IN (${list.join(", ")})`,
      orderBy: ["timestamp_ms ASC"],
      maxResults: Math.min(MAX_TURNS, ids.length),
    });
    const [spans, assessed] = await Promise.all([getSpans(store.client, ids), assessments.forTraces(ids)]);
    const traces: TraceJson[] = page.rows.map((row) => ({
      info: toTraceInfo(row),
      data: { spans: spans.get(row.traceId) ?? [] },
      assessments: assessed.get(row.traceId) ?? [],
    }));
    const sessionId = req.params.sessionId;
    const sessionLevel = traces.flatMap((t) => (t.assessments ?? []).filter((a) => a.metadata?.[SESSION_KEY] === sessionId));
    res.json({ sessionId, traces, assessments: sessionLevel });
  });
  return r;
}
