import { useEffect } from "react";
import { api, type Experiment, type Scorer } from "../api";
import { useAsync } from "../hooks";
import { Link } from "../router";
import { Code, EmptyState, ErrorBox, Loading } from "../components/common";
import { formatCount, formatTime, relativeTime } from "../format";

const SDK_SNIPPET = `import { init, createExperiment, setExperiment, trace } from "@gavel/sdk";

init({ serviceName: "my-app" });        // sends to http://127.0.0.1:4318 (GAVEL_URL)
setExperiment({ experimentId: await createExperiment("my-first-experiment") });
const answer = trace(async (question: string) => callYourModel(question));`;

export function ExperimentsPage() {
  const exps = useAsync(() => api.experiments(), []);
  // Judges are per experiment; a server without the registry answers null and the column says so.
  const judges = useAsync(
    async () => {
      const list = exps.data ?? [];
      const out = new Map<string, Scorer[] | null>();
      // A few at a time: the page should not fire hundreds of requests at once.
      for (let i = 0; i < list.length; i += 6) {
        const chunk = list.slice(i, i + 6);
        const res = await Promise.all(chunk.map((e) => api.scorers(e.experimentId).catch(() => null)));
        chunk.forEach((e, j) => out.set(e.experimentId, res[j]!));
      }
      return out;
    },
    [exps.data],
  );

  useEffect(() => {
    // Read by the browser tests to report the time until the first screen shows data.
    if (exps.data && performance.getEntriesByName("gavel:data-rendered").length === 0) performance.mark("gavel:data-rendered");
  }, [exps.data]);

  if (exps.loading && !exps.data) return <Loading what="experiments" />;
  if (exps.error && !exps.data) return <ErrorBox error={exps.error} retry={exps.reload} />;
  const list = [...(exps.data ?? [])].sort((a, b) => (b.lastActivity ?? b.createdAt) - (a.lastActivity ?? a.createdAt));
  const hasTraces = list.some((e) => e.traceCount > 0);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Experiments</h1>
        <button type="button" onClick={exps.reload}>
          Refresh
        </button>
      </div>
      {list.length === 0 || !hasTraces ? (
        <EmptyState title={list.length === 0 ? "No experiments yet" : "No traces yet"}>
          <p>Instrument your app with the SDK and run it once; its traces appear here.</p>
          <Code>{SDK_SNIPPET}</Code>
          <p className="muted">
            Already using OpenTelemetry in another language? Point <code>OTEL_EXPORTER_OTLP_ENDPOINT</code> at this server and set{" "}
            <code>OTEL_RESOURCE_ATTRIBUTES=gavel.experiment_id=&lt;id&gt;</code>.
          </p>
        </EmptyState>
      ) : null}
      {list.length > 0 && (
        <div className="table-wrap">
          <table className="grid">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Traces</th>
                <th>Latest activity</th>
                <th>Registered judges</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <ExperimentRow key={e.experimentId} e={e} judges={judges.data?.get(e.experimentId)} loadingJudges={judges.loading} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function ExperimentRow({ e, judges, loadingJudges }: { e: Experiment; judges: Scorer[] | null | undefined; loadingJudges: boolean }) {
  const base = `/experiments/${encodeURIComponent(e.experimentId)}`;
  return (
    <tr>
      <td>
        <Link href={`${base}/traces`} className="strong">
          {e.name}
        </Link>
        <div className="muted small mono">id {e.experimentId}</div>
      </td>
      <td className="num">{formatCount(e.traceCount)}</td>
      <td title={formatTime(e.lastActivity)}>{relativeTime(e.lastActivity)}</td>
      <td>
        {judges === undefined ? (
          <span className="muted">{loadingJudges ? "…" : "—"}</span>
        ) : judges === null || judges.length === 0 ? (
          <Link href={`${base}/judges`} className="muted">
            none
          </Link>
        ) : (
          <span className="chips">
            {judges.map((j) => (
              <Link key={j.name} href={`${base}/judges`} className="chip">
                {j.name} v{j.version}
                {j.sampling.sampleRate > 0 ? ` · ${Math.round(j.sampling.sampleRate * 100)}%` : ""}
              </Link>
            ))}
          </span>
        )}
      </td>
      <td>{formatTime(e.createdAt).slice(0, 10)}</td>
    </tr>
  );
}
