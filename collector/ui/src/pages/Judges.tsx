import { useEffect, useState } from "react";
import { api, type AlignmentRun, type Scorer } from "../api";
import { useAsync, type AsyncState } from "../hooks";
import { Code, EmptyState, ErrorBox, Loading } from "../components/common";
import { BarChart } from "../components/BarChart";
import { formatTime, safeJson, valueTypeLabel } from "../format";
import { can, useAuth } from "../auth";

const REGISTER_SNIPPET = (experimentId: string) => `const judge = makeJudge({ name: "support_quality", instructions: "… {{ inputs }} … {{ outputs }}", model: "openai:/gpt-4o-mini" });
await judge.register({ experimentId: ${JSON.stringify(experimentId)} });
await judge.start({ sampleRate: 0.1 });   // online scoring of live traffic`;

export function JudgesPage({ experimentId, scorers }: { experimentId: string; scorers: AsyncState<Scorer[] | null> }) {
  const alignments = useAsync(() => api.alignments(experimentId).catch(() => null), [experimentId]);
  if (scorers.loading && scorers.data === undefined) return <Loading what="judges" />;
  const list = scorers.data ?? [];
  return (
    <div className="judges">
      <ErrorBox error={scorers.error} retry={scorers.reload} />
      {list.length === 0 ? (
        <EmptyState title="No registered judges yet">
          <p>
            Register one with <code>judge.register({"{ experimentId }"})</code>; its versions, instructions, sampling and alignment reports show here.
          </p>
          <Code>{REGISTER_SNIPPET(experimentId)}</Code>
          {scorers.data === null && <p className="muted small">This server does not expose the judge registry (GET …/scorers answered 404).</p>}
        </EmptyState>
      ) : (
        list.map((s) => (
          <JudgeCard
            key={s.name}
            experimentId={experimentId}
            scorer={s}
            runs={alignments.data === null ? null : (alignments.data ?? []).filter((a) => a.judgeName === s.name)}
            onChange={() => {
              scorers.reload();
              alignments.reload();
            }}
          />
        ))
      )}
    </div>
  );
}

function JudgeCard({
  experimentId,
  scorer,
  runs,
  onChange,
}: {
  experimentId: string;
  scorer: Scorer;
  /** null: the server has no alignment jobs. */
  runs: AlignmentRun[] | null;
  onChange: () => void;
}) {
  const versions = useAsync(() => api.scorerVersions(experimentId, scorer.name).catch(() => [scorer]), [experimentId, scorer.name, scorer.version]);
  const [rate, setRate] = useState(String(scorer.sampling.sampleRate || 0.1));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const running = scorer.sampling.sampleRate > 0;
  const admin = can(useAuth(), "admin");

  async function sample(sampleRate: number) {
    setBusy(true);
    setError(undefined);
    try {
      await api.setSampling(experimentId, scorer.name, { sampleRate, filter: scorer.sampling.filter });
      onChange();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  const all = versions.data ?? [scorer];
  return (
    <section className="panel judge-card" data-judge={scorer.name}>
      <div className="judge-head">
        <h3>
          {scorer.name} <span className="muted small">v{scorer.version}</span>
        </h3>
        <span className={`badge ${running ? "st-ok" : ""}`}>{running ? `sampling ${Math.round(scorer.sampling.sampleRate * 1000) / 10}%` : "stopped"}</span>
      </div>
      <div className="kv small">
        <span>model {scorer.judge.model ?? "—"}</span>
        <span>value {valueTypeLabel(scorer.judge.feedbackValueType)}</span>
        <span>registered {formatTime(scorer.createdAt)}</span>
        {scorer.sampling.filter && <span className="mono">filter {scorer.sampling.filter}</span>}
      </div>
      <div className="row sampling">
        <label>
          Sample rate{" "}
          <input type="number" min={0} max={1} step={0.01} value={rate} onChange={(e) => setRate(e.target.value)} className="w6" aria-label="Sample rate" />
        </label>
        <button type="button" className="primary" disabled={busy || !admin} title={admin ? undefined : "Needs an API key with the admin role"} onClick={() => void sample(Math.min(1, Math.max(0, Number(rate) || 0)))}>
          {running ? "Update rate" : "Start"}
        </button>
        {running && (
          <button type="button" disabled={busy || !admin} onClick={() => void sample(0)}>
            Stop
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      <Versions versions={all} />
      <Alignment experimentId={experimentId} scorer={scorer} runs={runs} admin={admin} onDone={onChange} />
    </section>
  );
}

function Versions({ versions }: { versions: Scorer[] }) {
  const latest = versions[versions.length - 1]!;
  const [a, setA] = useState(Math.max(1, latest.version - 1));
  const [b, setB] = useState(latest.version);
  const va = versions.find((v) => v.version === a);
  const vb = versions.find((v) => v.version === b);
  return (
    <details className="versions" open>
      <summary>
        <h4>Instructions {versions.length > 1 ? `and changes (${versions.length} versions)` : ""}</h4>
      </summary>
      {versions.length > 1 ? (
        <>
          <div className="row small">
            Compare v
            <select value={a} onChange={(e) => setA(Number(e.target.value))} aria-label="From version">
              {versions.map((v) => (
                <option key={v.version}>{v.version}</option>
              ))}
            </select>
            with v
            <select value={b} onChange={(e) => setB(Number(e.target.value))} aria-label="To version">
              {versions.map((v) => (
                <option key={v.version}>{v.version}</option>
              ))}
            </select>
          </div>
          <Diff before={String(va?.judge.instructions ?? "")} after={String(vb?.judge.instructions ?? "")} />
        </>
      ) : (
        <pre className="instructions">{String(latest.judge.instructions ?? "")}</pre>
      )}
    </details>
  );
}

/** Line diff (longest common subsequence); instructions are short enough for O(n·m). */
export function lineDiff(before: string, after: string): { op: " " | "-" | "+"; text: string }[] {
  const x = before.split("\n");
  const y = after.split("\n");
  const n = x.length;
  const m = y.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = x[i] === y[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const out: { op: " " | "-" | "+"; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: " ", text: x[i]! });
      i++;
      j++;
    } else if (L[i + 1]![j]! >= L[i]![j + 1]!) out.push({ op: "-", text: x[i++]! });
    else out.push({ op: "+", text: y[j++]! });
  }
  while (i < n) out.push({ op: "-", text: x[i++]! });
  while (j < m) out.push({ op: "+", text: y[j++]! });
  return out;
}

function Diff({ before, after }: { before: string; after: string }) {
  return (
    <pre className="diff">
      {lineDiff(before, after).map((l, i) => (
        <div key={i} className={l.op === "+" ? "add" : l.op === "-" ? "del" : ""}>
          {l.op} {l.text}
        </div>
      ))}
    </pre>
  );
}

interface Metrics {
  agreement?: number;
  kappa?: number | null;
  confusion?: { labels: string[]; matrix: number[][] };
}

function metricsOf(v: unknown): Metrics | null {
  return v && typeof v === "object" ? (v as Metrics) : null;
}

function Alignment({
  experimentId,
  scorer,
  runs,
  admin,
  onDone,
}: {
  experimentId: string;
  scorer: Scorer;
  runs: AlignmentRun[] | null;
  admin: boolean;
  onDone: () => void;
}) {
  const sorted = [...(runs ?? [])].sort((a, b) => b.startedAt - a.startedAt);
  const [picked, setPicked] = useState<string | null>(null);
  const [job, setJob] = useState<AlignmentRun | null>(sorted.find((r) => r.status === "RUNNING") ?? null);
  const [register, setRegister] = useState(true);
  const [error, setError] = useState<Error | undefined>();

  // Poll a running job until it ends; the server reports phase, step and LLM calls as it goes.
  useEffect(() => {
    if (!job || job.status !== "RUNNING") return;
    const timer = setTimeout(() => {
      api.alignment(job.alignmentId).then((j) => {
        setJob(j);
        if (j.status !== "RUNNING") onDone();
      }, setError);
    }, 1000);
    return () => clearTimeout(timer);
  }, [job, onDone]);

  async function start() {
    setError(undefined);
    try {
      setJob(await api.startAlignment(experimentId, { judge: scorer.name, register }));
    } catch (err) {
      setError(err as Error);
    }
  }

  const shown = sorted.find((r) => r.alignmentId === picked) ?? sorted.find((r) => r.report) ?? null;
  const report = shown?.report ?? scorer.report;
  const p = job?.status === "RUNNING" ? job.progress : null;
  return (
    <details className="alignment" open>
      <summary>
        <h4>Alignment</h4>
      </summary>
      {runs === null ? (
        <p className="muted small">This server has no server-side alignment jobs; align in code with judge.align(traces) and register the result.</p>
      ) : (
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={!admin || job?.status === "RUNNING"}
            title={admin ? "Align this judge with the human labels, on the server" : "Needs an API key with the admin role"}
            onClick={() => void start()}
          >
            {job?.status === "RUNNING" ? "Aligning…" : "Align now"}
          </button>
          <label className="small">
            <input type="checkbox" checked={register} onChange={(e) => setRegister(e.target.checked)} /> register the result as a new version
          </label>
        </div>
      )}
      <ErrorBox error={error} />
      {job?.status === "RUNNING" && (
        <div className="job" role="status">
          <div className="progress">
            <div style={{ width: `${p?.totalSteps ? Math.round(((p.step ?? 0) / p.totalSteps) * 100) : 5}%` }} />
          </div>
          <span className="small">
            {p ? `${p.phase}: ${p.message} · ${p.llmCalls} LLM calls · ${Math.round(p.elapsedMs / 1000)} s` : "starting…"}
          </span>
        </div>
      )}
      {job && job.status === "FAILED" && <p className="error">Alignment failed: {job.error}</p>}
      {sorted.length > 0 && (
        <table className="grid small">
          <thead>
            <tr>
              <th>Started</th>
              <th>Status</th>
              <th>Optimizer</th>
              <th>Versions</th>
              <th>Agreement</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => {
              const b = metricsOf(r.report?.before);
              const a = metricsOf(r.report?.after);
              return (
                <tr key={r.alignmentId} className={r === shown ? "cursor" : ""} onClick={() => setPicked(r.alignmentId)}>
                  <td>{formatTime(r.startedAt)}</td>
                  <td>{r.status}</td>
                  <td>{r.optimizer}</td>
                  <td>
                    v{r.baseVersion}
                    {r.registeredVersion ? ` → v${r.registeredVersion}` : ""}
                  </td>
                  <td>{b && a ? `${pct(b.agreement)} → ${pct(a.agreement)}` : "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {!report ? (
        <p className="muted">
          No alignment report yet. Label at least 10 traces in the review queue, then align (here, with <code>gavel align</code>, or with{" "}
          <code>judge.align(traces)</code>); the report shows agreement and kappa before and after, and confusion matrices.
        </p>
      ) : (
        <Report report={report} />
      )}
    </details>
  );
}

const pct = (v: number | undefined) => (v === undefined ? "—" : `${Math.round(v * 100)}%`);

function Report({ report }: { report: Record<string, unknown> }) {
  const before = metricsOf(report.before);
  const after = metricsOf(report.after);
  return (
    <>
      {before && after && (
        <BarChart
          title="Agreement and Cohen's kappa, before → after (held-out split)"
          bars={[
            { label: "agreement before", value: before.agreement ?? 0 },
            { label: "agreement after", value: after.agreement ?? 0 },
            { label: before.kappa === null || before.kappa === undefined ? "kappa before n/a" : "kappa before", value: before.kappa ?? 0 },
            { label: after.kappa === null || after.kappa === undefined ? "kappa after n/a" : "kappa after", value: after.kappa ?? 0 },
          ]}
          height={160}
          width={420}
        />
      )}
      <div className="heatmaps">
        {before?.confusion && <Heatmap title="Confusion before" c={before.confusion} />}
        {after?.confusion && <Heatmap title="Confusion after" c={after.confusion} />}
      </div>
      <details className="raw">
        <summary>Full report</summary>
        <pre className="json">{safeJson(report, 2)}</pre>
      </details>
    </>
  );
}

/** Rows: human label; columns: judge value. Darker cells hold more traces. */
export function Heatmap({ title, c }: { title: string; c: { labels: string[]; matrix: number[][] } }) {
  const max = Math.max(1, ...c.matrix.flat());
  return (
    <figure className="heatmap">
      <table>
        <thead>
          <tr>
            <th className="muted small">human ↓ judge →</th>
            {c.labels.map((l) => (
              <th key={l}>{l}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {c.matrix.map((row, i) => (
            <tr key={i}>
              <th>{c.labels[i]}</th>
              {row.map((n, j) => (
                <td key={j} style={{ background: `rgba(37, 99, 235, ${(0.08 + 0.85 * (n / max)).toFixed(2)})` }} className={n / max > 0.55 ? "dark" : ""}>
                  {n}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
