import { useRef, useState } from "react";
import { api, type SqlResult } from "../api";
import { useHotkeys, useStored } from "../hooks";
import { EmptyState, ErrorBox, Kbd } from "../components/common";
import { BarChart } from "../components/BarChart";
import { formatCount, safeJson } from "../format";
import { SQL_EXAMPLES } from "../sql-examples";

const NUMERIC = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/;

function cell(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return safeJson(v);
}

export function SqlPage() {
  const [query, setQuery] = useStored("gavel.sql", SQL_EXAMPLES[0]!.sql);
  const [result, setResult] = useState<SqlResult | null>(null);
  const [error, setError] = useState<Error | undefined>();
  const [running, setRunning] = useState(false);
  const ac = useRef<AbortController | null>(null);

  async function run(q = query) {
    ac.current?.abort();
    const ctl = (ac.current = new AbortController());
    setRunning(true);
    setError(undefined);
    try {
      setResult(await api.sql(q, ctl.signal));
    } catch (err) {
      if ((err as Error).name !== "AbortError") {
        setError(err as Error);
        setResult(null);
      }
    } finally {
      if (ac.current === ctl) setRunning(false);
    }
  }
  useHotkeys({ "mod+Enter": () => void run() });

  const numIdx = result ? result.meta.findIndex((m) => NUMERIC.test(m.type)) : -1;
  const labelIdx = result ? result.meta.findIndex((m, i) => i !== numIdx && !NUMERIC.test(m.type)) : -1;
  const bars =
    result && numIdx >= 0
      ? result.rows.slice(0, 60).map((r, i) => ({
          label: labelIdx >= 0 ? cell(r[result.meta[labelIdx]!.name]) : String(i + 1),
          value: Number(r[result.meta[numIdx]!.name]),
        }))
      : [];

  return (
    <div className="page sql">
      <div className="page-head">
        <h1>SQL console</h1>
        <span className="muted small">Read-only ClickHouse SQL over your traces and assessments. One SELECT at a time.</span>
      </div>
      <div className="examples">
        <span className="muted small">Examples:</span>
        {SQL_EXAMPLES.map((e) => (
          <button
            key={e.title}
            type="button"
            className="small"
            onClick={() => {
              setQuery(e.sql);
              void run(e.sql);
            }}
          >
            {e.title}
          </button>
        ))}
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <textarea
          className="editor mono"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          spellCheck={false}
          rows={Math.min(18, Math.max(6, query.split("\n").length + 1))}
          aria-label="SQL query"
          onKeyDown={(e) => {
            if (e.key === "Tab" && !e.shiftKey) {
              // Indent instead of leaving the editor; Shift+Tab still moves focus.
              e.preventDefault();
              const t = e.currentTarget;
              const { selectionStart: s, selectionEnd: end } = t;
              setQuery(query.slice(0, s) + "  " + query.slice(end));
              requestAnimationFrame(() => t.setSelectionRange(s + 2, s + 2));
            }
          }}
        />
        <div className="row">
          <button type="submit" className="primary" disabled={running || !query.trim()}>
            {running ? "Running…" : "Run"}
          </button>
          <span className="muted small">
            <Kbd>Ctrl</Kbd>+<Kbd>Enter</Kbd> · tables: gavel_traces, gavel_assessments, otel_traces, gavel_experiments, gavel_runs
          </span>
        </div>
      </form>
      <ErrorBox error={error} />
      {result && (
        <div className="sql-result">
          <p className="muted small" role="status">
            {formatCount(result.rowCount)} row{result.rowCount === 1 ? "" : "s"} in {result.elapsedMs.toFixed(0)} ms
            {result.truncated ? " · truncated by the server's row or time limit" : ""}
            {result.rows.length > 1000 ? " · showing the first 1,000" : ""}
          </p>
          {bars.length > 0 && (
            <BarChart
              bars={bars}
              title={`${result.meta[numIdx]!.name}${labelIdx >= 0 ? ` by ${result.meta[labelIdx]!.name}` : ""}${result.rows.length > 60 ? " (first 60 rows)" : ""}`}
            />
          )}
          {result.rows.length === 0 ? (
            <EmptyState title="No rows" />
          ) : (
            <div className="table-wrap">
              <table className="grid sql-table">
                <thead>
                  <tr>
                    {result.meta.map((m) => (
                      <th key={m.name} title={m.type} className={NUMERIC.test(m.type) ? "num" : ""}>
                        {m.name}
                        <div className="muted small">{m.type}</div>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {result.rows.slice(0, 1000).map((r, i) => (
                    <tr key={i}>
                      {result.meta.map((m) => (
                        <td key={m.name} className={NUMERIC.test(m.type) ? "num" : ""}>
                          <div className="cell">{cell(r[m.name])}</div>
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
