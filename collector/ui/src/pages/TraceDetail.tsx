import { useEffect, useMemo, useRef, useState } from "react";
import { isPayloadAttribute } from "@gavel/conventions";
import { api, ApiError, type Assessment, type Scorer, type Span, type Trace } from "../api";
import { useAsync, useHotkeys } from "../hooks";
import { Link, navigate } from "../router";
import { EmptyState, ErrorBox, Kbd, Loading, StatusBadge } from "../components/common";
import { Payload } from "../components/Conversation";
import { AssessmentSummary } from "../components/AssessmentSummary";
import { formatDuration, formatTime, formatValue } from "../format";
import { loadNav, neighbour } from "../nav";
import { FeedbackForm, useValueTypes, type FeedbackTarget } from "./FeedbackForm";
import { can, useAuth } from "../auth";

/** `/traces/:id`: a trace opened without its experiment in the URL. */
export function TraceDetailPage({ traceId }: { traceId: string }) {
  const t = useAsync((signal) => api.trace(traceId, signal), [traceId]);
  const exp = t.data?.info.experimentId;
  const scorers = useAsync(() => (exp ? api.scorers(exp).catch(() => null) : Promise.resolve(null)), [exp]);
  if (t.loading && !t.data) return <Loading what="trace" />;
  if (!t.data) return <TraceError error={t.error} retry={t.reload} />;
  return (
    <div className="page">
      <div className="crumbs">
        <Link href="/">Experiments</Link> <span aria-hidden="true">›</span>{" "}
        <Link href={`/experiments/${encodeURIComponent(t.data.info.experimentId)}/traces`}>experiment {t.data.info.experimentId}</Link>
      </div>
      <TraceDetail traceId={traceId} experimentId={t.data.info.experimentId} scorers={scorers.data ?? null} />
    </div>
  );
}

function TraceError({ error, retry }: { error: Error | undefined; retry: () => void }) {
  if (error instanceof ApiError && error.status === 404) {
    return (
      <EmptyState title="Trace not found">
        <p>{error.message}</p>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </EmptyState>
    );
  }
  return <ErrorBox error={error} retry={retry} />;
}

interface Row {
  span: Span;
  depth: number;
  startMs: number;
  hasChildren: boolean;
}

/** Spans in tree order (children by start time) with their offset from the trace start. */
function spanRows(spans: Span[], collapsed: Set<string>): { rows: Row[]; totalMs: number } {
  if (spans.length === 0) return { rows: [], totalMs: 0 };
  const ids = new Set(spans.map((s) => s.spanId));
  const kids = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId)) {
      let l = kids.get(s.parentSpanId);
      if (!l) kids.set(s.parentSpanId, (l = []));
      l.push(s);
    } else roots.push(s);
  }
  const t0 = spans.reduce((m, s) => (BigInt(s.startTimeUnixNano) < m ? BigInt(s.startTimeUnixNano) : m), BigInt(spans[0]!.startTimeUnixNano));
  const t1 = spans.reduce((m, s) => (BigInt(s.endTimeUnixNano) > m ? BigInt(s.endTimeUnixNano) : m), t0);
  const byStart = (a: Span, b: Span) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);
  const rows: Row[] = [];
  const walk = (s: Span, depth: number) => {
    const children = (kids.get(s.spanId) ?? []).sort(byStart);
    rows.push({ span: s, depth, startMs: Number(BigInt(s.startTimeUnixNano) - t0) / 1e6, hasChildren: children.length > 0 });
    if (!collapsed.has(s.spanId)) for (const c of children) walk(c, depth + 1);
  };
  for (const r of roots.sort(byStart)) walk(r, 0);
  return { rows, totalMs: Number(t1 - t0) / 1e6 };
}

export function TraceDetail({ traceId, experimentId, scorers }: { traceId: string; experimentId: string; scorers: Scorer[] | null }) {
  const t = useAsync((signal) => api.trace(traceId, signal), [traceId]);
  const [selected, setSelected] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [target, setTarget] = useState<FeedbackTarget | null>(null);
  const [help, setHelp] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const nav = loadNav(experimentId);
  const [navBusy, setNavBusy] = useState(false);

  useEffect(() => {
    setSelected(null);
    setTarget(null);
    setCollapsed(new Set());
  }, [traceId]);

  const trace: Trace | undefined = t.data?.info.traceId === traceId ? t.data : undefined;
  const spans = trace?.data.spans ?? [];
  const { rows, totalMs } = useMemo(() => spanRows(spans, collapsed), [spans, collapsed]);
  const root = rows[0]?.span;
  const selSpan = spans.find((s) => s.spanId === selected) ?? root;
  const assessments = trace?.assessments ?? [];
  const valueTypes = useValueTypes(experimentId, scorers, assessments);

  const go = async (dir: 1 | -1) => {
    if (!nav || navBusy) return;
    setNavBusy(true);
    try {
      const id = await neighbour(nav, traceId, dir);
      if (id) navigate(`/experiments/${encodeURIComponent(experimentId)}/traces/${id}`);
    } finally {
      setNavBusy(false);
    }
  };
  const idx = nav ? nav.ids.indexOf(traceId) : -1;

  useHotkeys({
    j: () => void go(1),
    n: () => void go(1),
    k: () => void go(-1),
    p: () => void go(-1),
    l: () => focusForm(formRef.current),
    f: () => focusForm(formRef.current),
    "?": () => setHelp((h) => !h),
    Escape: () => setHelp(false),
    u: () => nav && navigate(nav.backHref),
  });

  if (t.loading && !trace) return <Loading what="trace" />;
  if (!trace) return <TraceError error={t.error} retry={t.reload} />;
  const info = trace.info;

  return (
    <div className="trace-detail">
      <div className="trace-head">
        <div className="trace-title">
          {nav && (
            <Link href={nav.backHref} className="back" title="Back to the list (u)">
              ← {nav.label}
            </Link>
          )}
          <h2>{info.name || "(unnamed trace)"}</h2>
          <StatusBadge status={info.status} />
          <span className="muted">{formatDuration(info.executionTimeMs)}</span>
          <span className="muted">{formatTime(info.timestampMs)}</span>
        </div>
        <div className="trace-meta muted small">
          <span className="mono" title="Trace id">
            {info.traceId}
          </span>
          {info.runId && <span> · run {info.runId}</span>}
          {info.serviceName && <span> · service {info.serviceName}</span>}
          {Object.entries(info.tags ?? {}).map(([k, v]) => (
            <span key={k} className="chip">
              {k}={v}
            </span>
          ))}
        </div>
        <div className="trace-nav">
          {nav && idx >= 0 && (
            <span className="muted small">
              {idx + 1} of {nav.ids.length}
              {nav.nextPageToken ? "+" : ""}
            </span>
          )}
          <button type="button" onClick={() => void go(-1)} disabled={!nav || idx <= 0 || navBusy} title="Previous trace (k)">
            ← Prev
          </button>
          <button
            type="button"
            onClick={() => void go(1)}
            disabled={!nav || idx < 0 || (idx >= nav.ids.length - 1 && !nav.nextPageToken) || navBusy}
            title="Next trace (j)"
          >
            Next →
          </button>
          <button type="button" onClick={() => setHelp((h) => !h)} title="Keyboard shortcuts (?)" aria-expanded={help}>
            ?
          </button>
        </div>
      </div>
      {help && (
        <div className="help" role="note">
          <Kbd>l</Kbd> label (focus Add feedback) · <Kbd>1</Kbd>–<Kbd>9</Kbd> pick a value · <Kbd>Ctrl</Kbd>+<Kbd>Enter</Kbd> save ·{" "}
          <Kbd>j</Kbd>/<Kbd>n</Kbd> next trace · <Kbd>k</Kbd>/<Kbd>p</Kbd> previous trace · <Kbd>u</Kbd> back to the list · <Kbd>?</Kbd> this help
        </div>
      )}
      <div className="trace-grid">
        <div className="trace-main">
          <section className="panel">
            <h3>
              Spans <span className="muted small">({spans.length})</span>
            </h3>
            <div className="waterfall" role="tree" aria-label="Span tree">
              {rows.map((r) => (
                <SpanRow
                  key={r.span.spanId}
                  row={r}
                  totalMs={totalMs}
                  selected={r.span.spanId === selSpan?.spanId}
                  collapsed={collapsed.has(r.span.spanId)}
                  assessed={assessments.some((a) => a.spanId === r.span.spanId && r.depth > 0)}
                  onSelect={() => setSelected(r.span.spanId)}
                  onToggle={() =>
                    setCollapsed((c) => {
                      const n = new Set(c);
                      if (n.has(r.span.spanId)) n.delete(r.span.spanId);
                      else n.add(r.span.spanId);
                      return n;
                    })
                  }
                />
              ))}
            </div>
          </section>
          {selSpan && <SpanDetail span={selSpan} isRoot={selSpan.spanId === root?.spanId} />}
        </div>
        <aside className="trace-side">
          <AssessmentsPanel
            assessments={assessments}
            spans={spans}
            rootSpanId={root?.spanId}
            onOverride={(a) => {
              setTarget({ override: a });
              setTimeout(() => focusForm(formRef.current), 0);
            }}
            onDelete={async (a) => {
              if (!confirm(`Delete the ${a.source.sourceType} assessment "${a.name}" = ${formatValue(a.value)}?`)) return;
              await api.deleteAssessment(a.traceId, a.assessmentId);
              t.reload();
            }}
          />
          <FeedbackForm
            key={`${traceId}:${target?.override?.assessmentId ?? ""}`}
            formRef={formRef}
            traceId={traceId}
            spans={spans}
            rootSpanId={root?.spanId}
            selectedSpanId={selSpan?.spanId}
            valueTypes={valueTypes}
            target={target}
            onCancelOverride={() => setTarget(null)}
            onSaved={() => {
              setTarget(null);
              t.reload();
            }}
          />
        </aside>
      </div>
    </div>
  );
}

function focusForm(form: HTMLFormElement | null) {
  if (!form) return;
  form.scrollIntoView({ block: "nearest" });
  const el = form.querySelector<HTMLElement>("[data-autofocus]") ?? form.querySelector<HTMLElement>("button, input, select, textarea");
  el?.focus();
}

function SpanRow({
  row,
  totalMs,
  selected,
  collapsed,
  assessed,
  onSelect,
  onToggle,
}: {
  row: Row;
  totalMs: number;
  selected: boolean;
  collapsed: boolean;
  assessed: boolean;
  onSelect: () => void;
  onToggle: () => void;
}) {
  const s = row.span;
  const left = totalMs > 0 ? (row.startMs / totalMs) * 100 : 0;
  const width = totalMs > 0 ? Math.max(0.4, (s.durationMs / totalMs) * 100) : 100;
  return (
    <div
      className={`span-row ${selected ? "selected" : ""} ${s.status.code === "ERROR" ? "err" : ""}`}
      role="treeitem"
      aria-selected={selected}
      aria-level={row.depth + 1}
      tabIndex={0}
      onClick={onSelect}
      onKeyDown={(e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          onSelect();
        }
      }}
    >
      <div className="span-label" style={{ paddingLeft: `${row.depth * 14}px` }}>
        {row.hasChildren ? (
          <button
            type="button"
            className="twisty"
            aria-label={collapsed ? "Expand" : "Collapse"}
            onClick={(e) => {
              e.stopPropagation();
              onToggle();
            }}
          >
            {collapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span className="twisty" />
        )}
        {s.spanType && <span className="type">{s.spanType}</span>}
        <span className="span-name">{s.name}</span>
        {assessed && (
          <span className="dot" title="Has span-level feedback">
            ●
          </span>
        )}
      </div>
      <div className="span-bar-wrap" aria-hidden="true">
        <div className={`span-bar type-${(s.spanType || "other").toLowerCase()}`} style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
      </div>
      <div className="span-dur muted small">{formatDuration(s.durationMs)}</div>
    </div>
  );
}

// Payload attributes (every convention's, @gavel/conventions) are shown as inputs/outputs above;
// listing them again would double long values.

function SpanDetail({ span, isRoot }: { span: Span; isRoot: boolean }) {
  const attrs = Object.entries(span.attributes).filter(([k]) => !isPayloadAttribute(k));
  const t0 = BigInt(span.startTimeUnixNano);
  return (
    <section className="panel span-detail" aria-label={`Span ${span.name}`}>
      <h3>
        {span.name} {isRoot && <span className="muted small">(root)</span>}
      </h3>
      <div className="kv muted small">
        <span>type {span.spanType || "—"}</span>
        <span>kind {span.kind}</span>
        <span>
          status <StatusBadge status={span.status.code} />
          {span.status.message && <span className="err-text"> {span.status.message}</span>}
        </span>
        <span>{formatDuration(span.durationMs)}</span>
        <span className="mono">span {span.spanId}</span>
        <span>service {span.serviceName}</span>
      </div>
      <div className="io">
        <Payload label="Inputs" value={span.inputs} />
        <Payload label="Outputs" value={span.outputs} />
      </div>
      <details open={attrs.length <= 20}>
        <summary>
          <h4>Attributes ({attrs.length})</h4>
        </summary>
        {attrs.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <AttrTable entries={attrs.sort(([a], [b]) => a.localeCompare(b))} />
        )}
      </details>
      <details open={span.events.length > 0 && span.events.length <= 10}>
        <summary>
          <h4>Events ({span.events.length})</h4>
        </summary>
        {span.events.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <ol className="events">
            {span.events.map((ev, i) => (
              <li key={i}>
                <strong>{ev.name}</strong>{" "}
                <span className="muted small">+{formatDuration(Number(BigInt(ev.timeUnixNano) - t0) / 1e6)}</span>
                {Object.keys(ev.attributes).length > 0 && (
                  <AttrTable entries={Object.entries(ev.attributes)} />
                )}
              </li>
            ))}
          </ol>
        )}
      </details>
    </section>
  );
}

function AssessmentsPanel({
  assessments,
  spans,
  rootSpanId,
  onOverride,
  onDelete,
}: {
  assessments: Assessment[];
  spans: Span[];
  rootSpanId?: string;
  onOverride: (a: Assessment) => void;
  onDelete: (a: Assessment) => Promise<void>;
}) {
  const [error, setError] = useState<Error | undefined>();
  const auth = useAuth();
  const spanName = (id?: string) => (id && id !== rootSpanId ? spans.find((s) => s.spanId === id)?.name ?? id : null);
  const sorted = [...assessments].sort((a, b) => a.name.localeCompare(b.name) || b.createTimeMs - a.createTimeMs);
  return (
    <section className="panel assessments" aria-label="Assessments">
      <h3>
        Assessments <span className="muted small">({assessments.length})</span>
      </h3>
      <ErrorBox error={error} />
      {sorted.length === 0 ? (
        <p className="muted">No assessments yet. A judge's results and human labels appear here; add one below.</p>
      ) : (
        <ul className="assessment-list">
          {sorted.map((a) => {
            const on = spanName(a.spanId);
            return (
              <li key={a.assessmentId} className={a.valid ? "" : "overridden"} data-assessment-id={a.assessmentId} data-source={a.source.sourceType}>
                <AssessmentSummary
                  a={a}
                  head={!a.valid && <span className="muted small">overridden</span>}
                  meta={
                    <>
                      {a.judgeVersion ? ` · v${a.judgeVersion}` : ""}
                      {on && <> · on span {on}</>}
                      {a.overrides && " · overrides an earlier assessment"}
                    </>
                  }
                />
                {a.valid && (
                  <div className="a-actions">
                    {a.source.sourceType !== "HUMAN" && a.kind === "feedback" && (
                      <button type="button" className="small" onClick={() => onOverride(a)}>
                        Override
                      </button>
                    )}
                    {a.source.sourceType === "HUMAN" && can(auth, "admin") && (
                      <button type="button" className="small" onClick={() => onDelete(a).catch(setError)}>
                        Delete
                      </button>
                    )}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** Attribute keys and values as a table; values are text, never HTML. */
function AttrTable({ entries }: { entries: [string, string][] }) {
  return (
    <table className="attrs">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th className="mono">{k}</th>
            <td>
              <div className="attr-val">{v}</div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
