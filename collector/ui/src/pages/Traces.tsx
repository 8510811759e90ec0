import { useEffect, useMemo, useRef, useState, type RefObject } from "react";
import { api, filterString, type Experiment, type Scorer, type Trace } from "../api";
import { useAsync, useHotkeys } from "../hooks";
import { Link, navigate, setQuery, useLocation } from "../router";
import { Code, EmptyState, ErrorBox, Kbd, Loading, StatusBadge } from "../components/common";
import { formatDuration, formatTime, formatValue, pairFor, preview } from "../format";
import { fieldName, findClause, withClause } from "../filter";
import { saveNav } from "../nav";

const ORDERS: Record<string, { label: string; orderBy: string[] }> = {
  newest: { label: "Newest first", orderBy: ["timestamp_ms DESC"] },
  oldest: { label: "Oldest first", orderBy: ["timestamp_ms ASC"] },
  slowest: { label: "Slowest first", orderBy: ["execution_time_ms DESC"] },
  fastest: { label: "Fastest first", orderBy: ["execution_time_ms ASC"] },
  name: { label: "Name A–Z", orderBy: ["name ASC", "timestamp_ms DESC"] },
};
const SIZES = [10, 25, 50, 100, 200];

export function TracesPage({ experimentId, experiment, scorers }: { experimentId: string; experiment?: Experiment; scorers: Scorer[] | null }) {
  const loc = useLocation();
  const filter = loc.query.get("filter") ?? "";
  const order = ORDERS[loc.query.get("order") ?? ""] ? loc.query.get("order")! : "newest";
  const size = SIZES.includes(Number(loc.query.get("size"))) ? Number(loc.query.get("size")) : 50;
  // Keyset paging: the tokens that led to the current page. The current one is in the
  // URL so a reload stays on the page; Previous pops the stack kept in memory.
  const pageToken = loc.query.get("page") ?? "";
  const [stack, setStack] = useState<string[]>([]);
  const searchKey = `${experimentId}\n${filter}\n${order}\n${size}`;
  const lastKey = useRef(searchKey);
  useEffect(() => {
    if (lastKey.current !== searchKey) {
      lastKey.current = searchKey;
      setStack([]);
    }
  }, [searchKey]);

  const search = { filter: filter || undefined, orderBy: ORDERS[order]!.orderBy, maxResults: size };
  const page = useAsync(
    (signal) => api.searchTraces({ experimentIds: [experimentId], ...search, pageToken: pageToken || undefined }, signal),
    [searchKey, pageToken],
  );
  const traces = page.data?.traces ?? [];

  const names = useMemo(() => {
    const registered = (scorers ?? []).map((s) => s.name);
    const seen = new Set<string>();
    for (const t of traces) for (const a of t.assessments ?? []) if (a.kind === "feedback") seen.add(a.name);
    return [...new Set([...registered, ...[...seen].sort()])];
  }, [scorers, traces]);

  const [cursor, setCursor] = useState(0);
  useEffect(() => setCursor(0), [page.data]);
  const filterRef = useRef<HTMLInputElement>(null);

  const open = (t: Trace) => {
    saveNav({
      experimentId,
      ids: traces.map((x) => x.info.traceId),
      search,
      nextPageToken: page.data?.nextPageToken,
      backHref: location.pathname + location.search,
      label: "Traces",
    });
    navigate(`/experiments/${encodeURIComponent(experimentId)}/traces/${t.info.traceId}`);
  };
  const next = () => {
    if (!page.data?.nextPageToken) return;
    setStack((s) => [...s, pageToken]);
    setQuery({ page: page.data.nextPageToken }, { replace: false });
  };
  const prev = () => {
    if (!pageToken) return;
    const s = [...stack];
    const back = s.pop() ?? "";
    setStack(s);
    setQuery({ page: back || undefined }, { replace: false });
  };

  useHotkeys({
    j: () => setCursor((c) => Math.min(c + 1, traces.length - 1)),
    ArrowDown: () => setCursor((c) => Math.min(c + 1, traces.length - 1)),
    k: () => setCursor((c) => Math.max(c - 1, 0)),
    ArrowUp: () => setCursor((c) => Math.max(c - 1, 0)),
    Enter: () => traces[cursor] && open(traces[cursor]),
    o: () => traces[cursor] && open(traces[cursor]),
    "]": next,
    "[": prev,
    "/": () => filterRef.current?.focus(),
  });
  useEffect(() => {
    document.querySelector(`tr[data-row="${cursor}"]`)?.scrollIntoView({ block: "nearest" });
  }, [cursor]);

  const apply = (f: string) => setQuery({ filter: f || undefined, page: undefined }, { replace: false });
  const noTracesAtAll = experiment && experiment.traceCount === 0 && !filter;

  return (
    <div className="traces">
      <FilterBar experimentId={experimentId} filter={filter} names={names} onApply={apply} inputRef={filterRef} scorers={scorers} />
      <div className="toolbar">
        <label>
          Order{" "}
          <select value={order} onChange={(e) => setQuery({ order: e.target.value === "newest" ? undefined : e.target.value, page: undefined })}>
            {Object.entries(ORDERS).map(([k, o]) => (
              <option key={k} value={k}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Rows{" "}
          <select value={size} onChange={(e) => setQuery({ size: e.target.value === "50" ? undefined : e.target.value, page: undefined })}>
            {SIZES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <span className="grow" />
        <span className="muted small">
          Page {pageToken ? (stack.length > 0 ? stack.length + 1 : "…") : 1}
          {page.loading ? " · loading…" : ""}
        </span>
        <button type="button" onClick={prev} disabled={!pageToken} title="Previous page ([)">
          ← Previous
        </button>
        <button type="button" onClick={next} disabled={!page.data?.nextPageToken} title="Next page (])">
          Next →
        </button>
        <button type="button" onClick={page.reload} title="Fetch again">
          Refresh
        </button>
      </div>
      <ErrorBox error={page.error} retry={page.reload} />
      {page.loading && !page.data ? (
        <Loading what="traces" />
      ) : noTracesAtAll ? (
        <EmptyState title="No traces in this experiment yet">
          <p>Send some from your app with the SDK:</p>
          <Code>{`init({ serviceName: "my-app" });
setExperiment({ experimentId: ${JSON.stringify(experimentId)} });
const myApp = trace(async (input: string) => callYourModel(input));`}</Code>
          <p className="muted">
            Then call <code>myApp(…)</code> and <code>await flush()</code>. Other OpenTelemetry SDKs: set{" "}
            <code>OTEL_RESOURCE_ATTRIBUTES=gavel.experiment_id={experimentId}</code>.
          </p>
        </EmptyState>
      ) : traces.length === 0 && page.data ? (
        <EmptyState title="No traces match">
          <p>{filter ? "Nothing matches this filter on this page. Loosen the filter or clear it." : "This page is empty."}</p>
          {filter && (
            <button type="button" onClick={() => apply("")}>
              Clear filter
            </button>
          )}
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="grid traces-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Name</th>
                <th>Status</th>
                <th className="num">Duration</th>
                <th>Inputs</th>
                <th>Outputs</th>
                {names.map((n) => (
                  <th key={n} className="assess-col" title={`${n}: judge value | human value; ≠ marks a disagreement`}>
                    {n}
                    <div className="muted small">judge | human</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {traces.map((t, i) => (
                <tr
                  key={t.info.traceId}
                  data-row={i}
                  data-trace-id={t.info.traceId}
                  className={i === cursor ? "cursor" : ""}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest("a")) return;
                    open(t);
                  }}
                >
                  <td className="nowrap" title={formatTime(t.info.timestampMs)}>
                    {formatTime(t.info.timestampMs)}
                  </td>
                  <td>
                    <Link
                      href={`/experiments/${encodeURIComponent(experimentId)}/traces/${t.info.traceId}`}
                      onClick={(e) => {
                        e.preventDefault();
                        open(t);
                      }}
                    >
                      {t.info.name || "(unnamed)"}
                    </Link>
                  </td>
                  <td>
                    <StatusBadge status={t.info.status} />
                  </td>
                  <td className="num nowrap">{formatDuration(t.info.executionTimeMs)}</td>
                  <td className="preview" title={preview(t.info.inputs, 600)}>
                    {preview(t.info.inputs)}
                  </td>
                  <td className="preview" title={preview(t.info.outputs, 600)}>
                    {preview(t.info.outputs)}
                  </td>
                  {names.map((n) => (
                    <AssessmentCell key={n} trace={t} name={n} />
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="hint">
        <Kbd>j</Kbd>/<Kbd>k</Kbd> move · <Kbd>Enter</Kbd> open · <Kbd>[</Kbd>/<Kbd>]</Kbd> page · <Kbd>/</Kbd> filter. Pages are read by keyset
        (the position of the last row), so paging stays fast over millions of traces.
      </p>
    </div>
  );
}

function AssessmentCell({ trace, name }: { trace: Trace; name: string }) {
  const { judge, human, disagree } = pairFor(trace.assessments ?? [], name);
  if (!judge && !human) return <td className="assess-col muted">·</td>;
  return (
    <td className={`assess-col ${disagree ? "disagree" : ""}`} data-assessment={name}>
      <span
        className={`av judge ${judge && !judge.valid ? "overridden" : ""} ${judge?.error ? "err" : ""}`}
        title={judge ? `judge (${judge.source.sourceType})${judge.error ? `: error ${judge.error.message}` : ""}` : "no judge value"}
      >
        {judge ? (judge.error ? "error" : formatValue(judge.value)) : "–"}
      </span>
      <span className="sep">|</span>
      <span className="av human" title={human ? `human: ${human.source.sourceId || "anonymous"}` : "no human label"}>
        {human ? formatValue(human.value) : "–"}
      </span>
      {disagree && (
        <span className="mark" title="The judge and the human disagree" aria-label="disagreement">
          ≠
        </span>
      )}
    </td>
  );
}

const TIMES: Record<string, number> = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };

function FilterBar({
  experimentId,
  filter,
  names,
  onApply,
  inputRef,
  scorers,
}: {
  experimentId: string;
  filter: string;
  names: string[];
  onApply: (f: string) => void;
  inputRef: RefObject<HTMLInputElement | null>;
  scorers: Scorer[] | null;
}) {
  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [filter]);
  const runs = useAsync(() => api.runs(experimentId).catch(() => []), [experimentId]);
  const status = /'(\w+)'/.exec(findClause(filter, "trace.status") ?? "")?.[1] ?? "";
  const slower = /([\d.]+)\s*$/.exec(findClause(filter, "trace.execution_time_ms") ?? "")?.[1] ?? "";
  const text = /'%(.*)%'/.exec(findClause(filter, "trace.text") ?? "")?.[1] ?? "";
  const run = /'(.*)'/.exec(findClause(filter, "trace.run_id") ?? "")?.[1] ?? "";
  const [textDraft, setTextDraft] = useState(text);
  useEffect(() => setTextDraft(text), [text]);
  const [aName, setAName] = useState("");
  const [aValue, setAValue] = useState("");

  const set = (field: string, clause: string | null) => onApply(withClause(filter, field, clause));
  const assessName = aName || names[0] || "";
  const scorerType = scorers?.find((s) => s.name === assessName)?.judge.feedbackValueType;

  return (
    <div className="filterbar">
      <form
        className="filter-main"
        onSubmit={(e) => {
          e.preventDefault();
          onApply(draft.trim());
        }}
      >
        <input
          ref={inputRef}
          className="mono"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder="Filter, e.g. trace.status = 'ERROR' AND trace.execution_time_ms > 500 AND feedback.quality = 'poor'"
          aria-label="Trace filter (searchTraces language)"
          spellCheck={false}
        />
        <button type="submit" className="primary">
          Apply
        </button>
        {filter && (
          <button type="button" onClick={() => onApply("")}>
            Clear
          </button>
        )}
      </form>
      <div className="helpers">
        <label>
          Status{" "}
          <select value={status} onChange={(e) => set("trace.status", e.target.value ? `trace.status = '${e.target.value}'` : null)}>
            <option value="">any</option>
            <option value="OK">OK</option>
            <option value="ERROR">ERROR</option>
            <option value="UNSET">UNSET</option>
          </select>
        </label>
        <label>
          Since{" "}
          <select
            defaultValue=""
            onChange={(e) => {
              const ms = TIMES[e.target.value];
              set("trace.timestamp_ms", ms ? `trace.timestamp_ms > ${Date.now() - ms}` : null);
            }}
          >
            <option value="">any time</option>
            <option value="1h">last hour</option>
            <option value="24h">last 24 h</option>
            <option value="7d">last 7 days</option>
            <option value="30d">last 30 days</option>
          </select>
        </label>
        <label>
          Slower than{" "}
          <input
            type="number"
            min={0}
            className="w6"
            defaultValue={slower}
            key={slower}
            onBlur={(e) => set("trace.execution_time_ms", e.target.value ? `trace.execution_time_ms > ${Number(e.target.value)}` : null)}
            onKeyDown={(e) => e.key === "Enter" && (e.currentTarget as HTMLInputElement).blur()}
          />{" "}
          ms
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            set("trace.text", textDraft ? `trace.text ILIKE ${filterString(`%${textDraft}%`)}` : null);
          }}
        >
          <label>
            Contains <input value={textDraft} onChange={(e) => setTextDraft(e.target.value)} className="w10" placeholder="text" />
          </label>
        </form>
        {(runs.data?.length ?? 0) > 0 && (
          <label>
            Run{" "}
            <select value={run} onChange={(e) => set("trace.run_id", e.target.value ? `trace.run_id = ${filterString(e.target.value)}` : null)}>
              <option value="">any</option>
              {runs.data!.slice(0, 200).map((r) => (
                <option key={r.runId} value={r.runId}>
                  {r.name || r.runId}
                </option>
              ))}
            </select>
          </label>
        )}
        {names.length > 0 && (
          <form
            className="assess-helper"
            onSubmit={(e) => {
              e.preventDefault();
              const field = fieldName("feedback", assessName);
              if (!aValue) return set(field, null);
              const v = scorerType === "number" || /^-?\d+(\.\d+)?$/.test(aValue) ? aValue : aValue === "true" || aValue === "false" ? aValue : filterString(aValue);
              set(field, `${field} = ${v}`);
            }}
          >
            <label>
              Assessment{" "}
              <select value={assessName} onChange={(e) => setAName(e.target.value)}>
                {names.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            </label>{" "}
            ={" "}
            {Array.isArray(scorerType) ? (
              <select value={aValue} onChange={(e) => setAValue(e.target.value)} aria-label="Assessment value">
                <option value="">any</option>
                {scorerType.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            ) : (
              <input value={aValue} onChange={(e) => setAValue(e.target.value)} className="w8" placeholder="value" aria-label="Assessment value" />
            )}{" "}
            <button type="submit">Add</button>
          </form>
        )}
      </div>
    </div>
  );
}
