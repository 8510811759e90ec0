import { useState } from "react";
import { api, type Assessment } from "../api";
import { useAsync } from "../hooks";
import { Link } from "../router";
import { Code, EmptyState, ErrorBox, Loading, StatusBadge } from "../components/common";
import { AssessmentSummary } from "../components/AssessmentSummary";
import { formatTime, formatValue } from "../format";

const SESSION_SNIPPET = `// Mark each turn of a conversation with the session id (MLflow's metadata key, or OpenTelemetry's session.id):
const chat = trace(handleTurn, { attributes: { "gavel.metadata.mlflow.trace.session": sessionId } });
// then judge whole conversations:
const judge = makeJudge({ name: "resolved", instructions: "Was the problem solved in {{ conversation }}?", feedbackValueType: "boolean" });
await judge({ session: await getSession({ experimentId, sessionId }) });`;

/** Text of a turn's inputs or outputs: strings as they are, anything else as JSON (never HTML). */
const turnText = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "string" ? v : formatValue(v));

/** Session-level assessments (a `{{ conversation }}` judge's verdicts, labels on the whole conversation); text only. */
function SessionAssessments({ assessments }: { assessments: Assessment[] }) {
  const current = assessments.filter((a) => a.valid);
  return (
    <section className="panel assessments session-assessments" aria-label="Session assessments">
      <h4>
        Session assessments <span className="muted small">({current.length})</span>
      </h4>
      {current.length === 0 ? (
        <p className="muted small">
          None yet. <code>evaluate()</code> with a <code>{"{{ conversation }}"}</code> judge stores its verdict here (on the session's first trace), as does{" "}
          <code>logSessionAssessment()</code>.
        </p>
      ) : (
        <ul className="assessment-list">
          {current.map((a) => (
            <li key={a.assessmentId} data-assessment-id={a.assessmentId} data-source={a.source.sourceType}>
              <AssessmentSummary a={a} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The experiment's sessions, and the picked one as a conversation of its traces, oldest first. */
export function SessionsPage({ experimentId }: { experimentId: string }) {
  const sessions = useAsync(() => api.sessions(experimentId), [experimentId]);
  const [picked, setPicked] = useState<string | null>(null);
  const list = sessions.data ?? [];
  const current = picked ?? list[0]?.sessionId ?? null;
  const turns = useAsync(() => (current ? api.session(experimentId, current) : Promise.resolve({ traces: [], assessments: [] })), [experimentId, current]);
  if (sessions.loading && !sessions.data) return <Loading what="sessions" />;
  const base = `/experiments/${encodeURIComponent(experimentId)}`;
  return (
    <div className="sessions">
      <ErrorBox error={sessions.error} retry={sessions.reload} />
      {list.length === 0 ? (
        <EmptyState title="No sessions yet">
          <p>
            Traces that carry a session id (<code>mlflow.trace.session</code> metadata, <code>session.id</code> or <code>gen_ai.conversation.id</code> on the root
            span) are grouped here as conversations.
          </p>
          <Code>{SESSION_SNIPPET}</Code>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="grid">
              <thead>
                <tr>
                  <th>Session</th>
                  <th>Turns</th>
                  <th>First</th>
                  <th>Last</th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.sessionId} className={s.sessionId === current ? "cursor" : ""} onClick={() => setPicked(s.sessionId)}>
                    <td>
                      <button type="button" className="link mono">
                        {s.sessionId}
                      </button>
                    </td>
                    <td>{s.traceCount}</td>
                    <td>{formatTime(s.firstMs)}</td>
                    <td>{formatTime(s.lastMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {current && (
            <section aria-label={`Session ${current}`} className="session-turns">
              <h3 className="mono">{current}</h3>
              <ErrorBox error={turns.error} retry={turns.reload} />
              {turns.loading && !turns.data ? (
                <Loading what="the conversation" />
              ) : (
                <>
                  <SessionAssessments assessments={turns.data?.assessments ?? []} />
                  <ol className="conversation">
                    {(turns.data?.traces ?? []).map((t) => (
                      <li key={t.info.traceId} className="turn">
                        <div className="muted small">
                          {formatTime(t.info.timestampMs)} <StatusBadge status={t.info.status} />{" "}
                          <Link href={`${base}/traces/${encodeURIComponent(t.info.traceId)}`}>open trace</Link>
                        </div>
                        <div className="msg user">
                          <span className="role">user</span>
                          <pre className="text">{turnText(t.info.inputs)}</pre>
                        </div>
                        <div className="msg assistant">
                          <span className="role">assistant</span>
                          <pre className="text">{turnText(t.info.outputs)}</pre>
                        </div>
                      </li>
                    ))}
                  </ol>
                </>
              )}
            </section>
          )}
        </>
      )}
    </div>
  );
}
