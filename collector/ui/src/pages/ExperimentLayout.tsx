import { lazy, Suspense } from "react";
import { api, ApiError } from "../api";
import { useAsync } from "../hooks";
import { Link } from "../router";
import { EmptyState, ErrorBox, Loading } from "../components/common";
import { formatCount } from "../format";
import { TracesPage } from "./Traces";
import { TraceDetail } from "./TraceDetail";
import { ReviewQueuePage } from "./ReviewQueue";

const JudgesPage = lazy(() => import("./Judges").then((m) => ({ default: m.JudgesPage })));
const EvaluationsPage = lazy(() => import("./Evaluations").then((m) => ({ default: m.EvaluationsPage })));
const SessionsPage = lazy(() => import("./Sessions").then((m) => ({ default: m.SessionsPage })));

export type ExperimentTab = "traces" | "sessions" | "review" | "judges" | "evaluations";

const TAB_LABEL: Record<ExperimentTab, string> = { traces: "Traces", sessions: "Sessions", review: "Review queue", judges: "Judges", evaluations: "Evaluations" };

export function ExperimentLayout({ experimentId, tab, traceId }: { experimentId: string; tab: ExperimentTab; traceId?: string }) {
  const exp = useAsync(() => api.experiment(experimentId), [experimentId]);
  // Shared by the tabs: judge names and value types drive columns and the feedback form.
  const scorers = useAsync(() => api.scorers(experimentId).catch(() => null), [experimentId]);
  const base = `/experiments/${encodeURIComponent(experimentId)}`;

  if (exp.error instanceof ApiError && exp.error.status === 404) {
    return (
      <EmptyState title="No such experiment">
        <p>
          There is no experiment with id <code>{experimentId}</code>. Pick one from the <Link href="/">experiments</Link>.
        </p>
      </EmptyState>
    );
  }
  return (
    <div className="page">
      <div className="crumbs">
        <Link href="/">Experiments</Link> <span aria-hidden="true">›</span>{" "}
        <Link href={`${base}/traces`} className="strong">
          {exp.data?.name ?? experimentId}
        </Link>
        {exp.data && <span className="muted small"> · {formatCount(exp.data.traceCount)} traces</span>}
      </div>
      <ErrorBox error={exp.error} retry={exp.reload} />
      <nav className="tabs" aria-label="Experiment">
        {(Object.keys(TAB_LABEL) as ExperimentTab[]).map((t) => (
          <Link key={t} href={`${base}/${t}`} className={t === tab ? "active" : ""} aria-current={t === tab ? "page" : undefined}>
            {TAB_LABEL[t]}
          </Link>
        ))}
      </nav>
      <Suspense fallback={<Loading />}>
        {tab === "traces" && traceId ? (
          <TraceDetail traceId={traceId} experimentId={experimentId} scorers={scorers.data ?? null} />
        ) : tab === "traces" ? (
          <TracesPage experimentId={experimentId} experiment={exp.data} scorers={scorers.data ?? null} />
        ) : tab === "sessions" ? (
          <SessionsPage experimentId={experimentId} />
        ) : tab === "review" ? (
          <ReviewQueuePage experimentId={experimentId} scorers={scorers.data ?? null} />
        ) : tab === "judges" ? (
          <JudgesPage experimentId={experimentId} scorers={scorers} />
        ) : (
          <EvaluationsPage experimentId={experimentId} />
        )}
      </Suspense>
    </div>
  );
}
