import { useMemo, useState } from "react";
import { api, filterString, type Run } from "../api";
import { useAsync } from "../hooks";
import { Link } from "../router";
import { Code, EmptyState, ErrorBox, Loading, StatusBadge } from "../components/common";
import { BarChart } from "../components/BarChart";
import { formatTime, formatValue, pairFor, preview } from "../format";

const EVAL_SNIPPET = `const results = await evaluate({
  data: [{ inputs: { issue: "Can't log in" }, outputs: { response: "Let me reset your password." } }],
  scorers: [await getScorer({ name: "support_quality", experimentId })],
});`;

export function EvaluationsPage({ experimentId }: { experimentId: string }) {
  const runs = useAsync(() => api.runs(experimentId, "evaluation"), [experimentId]);
  const [picked, setPicked] = useState<string | null>(null);
  if (runs.loading && !runs.data) return <Loading what="evaluation runs" />;
  const list = [...(runs.data ?? [])].sort((a, b) => b.startTime - a.startTime);
  const current = list.find((r) => r.runId === picked) ?? list[0];
  return (
    <div className="evaluations">
      <ErrorBox error={runs.error} retry={runs.reload} />
      {list.length === 0 ? (
        <EmptyState title="No evaluation runs yet">
          <p>
            Run <code>evaluate()</code> with your registered judges; each call is a run here with its metrics, results and score distributions.
          </p>
          <Code>{EVAL_SNIPPET}</Code>
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table className="grid">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Status</th>
                  <th>Started</th>
                  <th>Metrics</th>
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.runId} className={r === current ? "cursor" : ""} onClick={() => setPicked(r.runId)}>
                    <td>
                      <button type="button" className="link">
                        {r.name || r.runId}
                      </button>
                    </td>
                    <td>{r.status}</td>
                    <td>{formatTime(r.startTime)}</td>
                    <td className="small">
                      {Object.entries(r.metrics ?? {})
                        .map(([k, v]) => `${k} ${formatValue(v)}`)
                        .join(" · ") || <span className="muted">—</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {current && <RunResults experimentId={experimentId} run={current} />}
        </>
      )}
    </div>
  );
}

function RunResults({ experimentId, run }: { experimentId: string; run: Run }) {
  const res = useAsync(
    (signal) => api.searchTraces({ experimentIds: [experimentId], filter: `trace.run_id = ${filterString(run.runId)}`, maxResults: 500 }, signal),
    [experimentId, run.runId],
  );
  const traces = res.data?.traces ?? [];
  const names = useMemo(() => [...new Set(traces.flatMap((t) => (t.assessments ?? []).filter((a) => a.kind === "feedback").map((a) => a.name)))].sort(), [traces]);
  return (
    <section className="panel">
      <h3>Results of {run.name || run.runId}</h3>
      <ErrorBox error={res.error} retry={res.reload} />
      {res.loading && !res.data ? (
        <Loading />
      ) : traces.length === 0 ? (
        <p className="muted">This run has no traces.</p>
      ) : (
        <>
          <div className="charts">
            {names.map((n) => {
              const counts = new Map<string, number>();
              for (const t of traces) {
                const j = pairFor(t.assessments ?? [], n).judge;
                if (j) counts.set(j.error ? "error" : formatValue(j.value), (counts.get(j.error ? "error" : formatValue(j.value)) ?? 0) + 1);
              }
              const bars = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true })).map(([label, value]) => ({ label, value }));
              return <BarChart key={n} title={`${n}: score distribution`} bars={bars} height={150} width={360} />;
            })}
          </div>
          <div className="table-wrap">
            <table className="grid">
              <thead>
                <tr>
                  <th>Trace</th>
                  <th>Status</th>
                  <th>Inputs</th>
                  <th>Outputs</th>
                  {names.map((n) => (
                    <th key={n}>{n}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {traces.map((t) => (
                  <tr key={t.info.traceId}>
                    <td>
                      <Link href={`/experiments/${encodeURIComponent(experimentId)}/traces/${t.info.traceId}`}>{t.info.name || t.info.traceId.slice(0, 12)}</Link>
                    </td>
                    <td>
                      <StatusBadge status={t.info.status} />
                    </td>
                    <td className="preview">{preview(t.info.inputs)}</td>
                    <td className="preview">{preview(t.info.outputs)}</td>
                    {names.map((n) => {
                      const j = pairFor(t.assessments ?? [], n).judge;
                      return (
                        <td key={n} title={j?.rationale ?? ""}>
                          {j ? (j.error ? "error" : formatValue(j.value)) : "–"}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
