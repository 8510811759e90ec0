import { useEffect, useRef, useState } from "react";
import { api, type ReviewQueue, type ReviewReason, type Scorer } from "../api";
import { useAsync, useHotkeys, useStored } from "../hooks";
import { navigate, setQuery, useLocation } from "../router";
import { EmptyState, ErrorBox, Kbd, Loading, StatusBadge } from "../components/common";
import { Payload } from "../components/Conversation";
import { formatTime, formatValue, inferValueType, valueTypeLabel } from "../format";
import { saveNav } from "../nav";
import { can, useAuth } from "../auth";
import { coerceValue, ValueInput } from "./FeedbackForm";

type Item = ReviewQueue["items"][number];

const REASON: Record<ReviewReason, { label: string; why: string }> = {
  JUDGE_ERROR: { label: "judge error", why: "The judge failed or gave no value." },
  LOW_CONFIDENCE: { label: "low confidence", why: "The judge reported a confidence below 0.6." },
  JUDGES_DISAGREE: { label: "judges disagree", why: "Judge assessments of this name on the trace differ (e.g. two versions)." },
  TRACE_ERROR: { label: "app error", why: "The app's trace failed; judges often misread failures." },
  RARE_VALUE: { label: "rare value", why: "The judge gives this value to at most 20% of traces." },
  OTHER: { label: "", why: "" },
};

export function ReviewQueuePage({ experimentId, scorers }: { experimentId: string; scorers: Scorer[] | null }) {
  const loc = useLocation();
  const name = loc.query.get("name") ?? "";
  const q = useAsync(() => api.reviewQueue(experimentId, { name: name || undefined, limit: 50 }), [experimentId, name]);
  const [items, setItems] = useState<Item[]>([]);
  const [token, setToken] = useState<string | undefined>();
  const [judges, setJudges] = useState<ReviewQueue["judges"]>([]);
  const [active, setActive] = useState(0);
  const [value, setValue] = useState<unknown>(undefined);
  const [rationale, setRationale] = useState("");
  const [reviewer, setReviewer] = useStored("gavel.reviewer", "");
  const [error, setError] = useState<Error | undefined>();
  const [saving, setSaving] = useState(false);
  const [done, setDone] = useState(0);
  const loadingMore = useRef(false);
  const mayWrite = can(useAuth(), "write");

  useEffect(() => {
    if (!q.data) return;
    setItems(q.data.items);
    setToken(q.data.nextPageToken);
    setJudges(q.data.judges);
    setActive(0);
  }, [q.data]);

  const item = items[active];
  useEffect(() => {
    setValue(undefined);
    setRationale("");
    setError(undefined);
  }, [item?.traceId, item?.name]);

  // Keyset: fetch the following page before the list runs dry.
  useEffect(() => {
    if (!token || loadingMore.current || items.length - active > 5) return;
    loadingMore.current = true;
    api
      .reviewQueue(experimentId, { name: name || undefined, limit: 50, pageToken: token })
      .then((p) => {
        setItems((cur) => [...cur, ...p.items.filter((i) => !cur.some((c) => c.traceId === i.traceId && c.name === i.name))]);
        setToken(p.nextPageToken);
      }, setError)
      .finally(() => (loadingMore.current = false));
  }, [token, items.length, active, experimentId, name]);

  const summary = judges.find((j) => j.name === item?.name);
  const type = item
    ? (scorers?.find((s) => s.name === item.name)?.judge.feedbackValueType ?? inferValueType((summary?.values ?? []).map((v) => v.value)))
    : undefined;
  const judgeAssessment = item
    ? [...item.assessments]
        .filter((a) => a.name === item.name && a.source.sourceType === "LLM_JUDGE")
        .sort((a, b) => b.createTimeMs - a.createTimeMs)[0]
    : undefined;

  async function save() {
    if (!item || saving) return;
    setError(undefined);
    if (!reviewer.trim()) return setError(new Error("Enter your name below first; it is remembered."));
    const v = coerceValue(type, value);
    if ("error" in v) return setError(new Error(v.error));
    setSaving(true);
    try {
      await api.logAssessment(item.traceId, {
        name: item.name,
        value: v.value,
        source: { sourceType: "HUMAN", sourceId: reviewer.trim() },
        ...(rationale ? { rationale } : {}),
      });
      setItems((cur) => cur.filter((c) => c !== item));
      setJudges((js) => js.map((j) => (j.name === item.name ? { ...j, labeled: j.labeled + 1, pending: j.pending - 1, needed: Math.max(0, j.needed - 1) } : j)));
      setDone((d) => d + 1);
      setActive((a) => Math.min(a, items.length - 2 < 0 ? 0 : items.length - 2));
    } catch (err) {
      setError(err as Error);
    } finally {
      setSaving(false);
    }
  }
  const move = (d: number) => setActive((a) => Math.max(0, Math.min(items.length - 1, a + d)));
  const openTrace = () => {
    if (!item) return;
    saveNav({
      experimentId,
      ids: items.map((i) => i.traceId),
      backHref: location.pathname + location.search,
      label: "Review queue",
    });
    navigate(`/experiments/${encodeURIComponent(experimentId)}/traces/${item.traceId}`);
  };

  useHotkeys({
    j: () => move(1),
    ArrowDown: () => move(1),
    s: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    Enter: () => void save(),
    "mod+Enter": () => void save(),
    o: openTrace,
  });
  useEffect(() => {
    document.querySelector(`.queue-list li[data-index="${active}"]`)?.scrollIntoView({ block: "nearest" });
  }, [active]);

  if (q.loading && !q.data) return <Loading what="review queue" />;
  const min = q.data?.minLabels ?? 10;

  return (
    <div className="review">
      <ErrorBox error={q.error} retry={q.reload} />
      <div className="counters">
        {judges.length === 0 && !q.error && (
          <EmptyState title="Nothing to review yet">
            <p>
              The queue lists traces a judge assessed that no human has labelled. Log judge results with{" "}
              <code>logAssessment({"{ traceId, assessment: await judge({ inputs, outputs }) }"})</code>, or register a judge and start online scoring.
            </p>
          </EmptyState>
        )}
        {judges.map((j) => (
          <div key={j.name} className={`counter ${j.needed === 0 ? "ready" : ""}`} data-judge={j.name}>
            <div className="counter-title">
              <strong>{j.name}</strong>
              <span className="muted small">
                {" "}
                {j.labeled} labelled · {j.pending} waiting · {j.judged} judged
              </span>
            </div>
            <div className="progress" aria-hidden="true">
              <div style={{ width: `${Math.min(100, (j.labeled / min) * 100)}%` }} />
            </div>
            <div className="small" data-testid="needed">
              {j.needed > 0 ? (
                <>
                  Alignment needs <strong>{j.needed}</strong> more label{j.needed === 1 ? "" : "s"} (SIMBA: {min}).
                </>
              ) : (
                <>Enough labels to align (SIMBA needs {min}); more labels still improve it.</>
              )}
            </div>
          </div>
        ))}
      </div>
      {judges.length > 0 && (
        <>
          <div className="toolbar">
            <label>
              Judge{" "}
              <select value={name} onChange={(e) => setQuery({ name: e.target.value || undefined })}>
                <option value="">all</option>
                {judges.map((j) => (
                  <option key={j.name}>{j.name}</option>
                ))}
              </select>
            </label>
            <span className="grow" />
            {done > 0 && <span className="ok small">{done} labelled this session</span>}
            <button type="button" onClick={q.reload}>
              Refresh
            </button>
          </div>
          <details className="rule">
            <summary>Why this order? Most informative traces first.</summary>
            <ol>
              <li>Judge errors: the judge failed or gave no value.</li>
              <li>Low confidence: the judge reported <code>metadata.confidence</code> below 0.6.</li>
              <li>Judges disagree: judge assessments of the same name on the trace differ (for example two versions).</li>
              <li>App errors: the trace itself failed, which judges often misread.</li>
              <li>Rare values: the judge gives this value to at most 20% of traces.</li>
            </ol>
            <p>
              Within each group, rarer judge values come first — the minority classes are where judges and people disagree most and what alignment lacks —
              then the newest traces. Only traces with a judge assessment and no human label are listed.
            </p>
          </details>
        </>
      )}
      {judges.length > 0 && items.length === 0 && !q.loading && (
        <EmptyState title="Queue empty">
          <p>Every judged trace{name ? ` for ${name}` : ""} has a human label. New judge results will appear here.</p>
        </EmptyState>
      )}
      {items.length > 0 && (
        <div className="review-grid">
          <ol className="queue-list" aria-label="Queue">
            {items.map((it, i) => (
              <li
                key={`${it.traceId}:${it.name}`}
                data-index={i}
                data-trace-id={it.traceId}
                className={i === active ? "active" : ""}
                onClick={() => setActive(i)}
                aria-current={i === active ? "true" : undefined}
              >
                <div className="q-top">
                  <span className="q-name">{it.trace?.name || it.traceId.slice(0, 12)}</span>
                  {REASON[it.reason].label && <span className={`badge reason-${it.reason.toLowerCase()}`}>{REASON[it.reason].label}</span>}
                </div>
                <div className="muted small">
                  {it.name} = {formatValue(it.judgeValue)} · {it.trace ? formatTime(it.trace.timestampMs) : ""}
                </div>
              </li>
            ))}
          </ol>
          {item && (
            <section className="panel queue-item" aria-label="Label this trace">
              <div className="q-head">
                <h3>{item.trace?.name || item.traceId}</h3>
                {item.trace && <StatusBadge status={item.trace.status} />}
                <span className="muted small mono">{item.traceId}</span>
              </div>
              {REASON[item.reason].why && <p className="reason small">{REASON[item.reason].why}</p>}
              <div className="io">
                <Payload label="Inputs" value={item.trace?.inputs} />
                <Payload label="Outputs" value={item.trace?.outputs} />
              </div>
              <div className="judge-says">
                <span className="badge src-llm_judge">LLM_JUDGE</span> <strong>{item.name}</strong> ={" "}
                <span className="a-value">{judgeAssessment?.error ? "error" : formatValue(item.judgeValue)}</span>
                {judgeAssessment?.error && (
                  <div className="err-text small">
                    {judgeAssessment.error.code}: {judgeAssessment.error.message}
                  </div>
                )}
                {judgeAssessment?.rationale && <div className="a-rationale">{judgeAssessment.rationale}</div>}
              </div>
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void save();
                }}
              >
                <div className="field">
                  <span className="label">
                    Your label for <strong>{item.name}</strong> <span className="muted small">({valueTypeLabel(type)})</span>
                  </span>
                  <ValueInput type={type} value={value} onChange={setValue} hotkeys open={!scorers?.some((s) => s.name === item.name)} />
                </div>
                <label>
                  <span>
                    Rationale <span className="muted small">(optional)</span>
                  </span>
                  <textarea rows={2} value={rationale} onChange={(e) => setRationale(e.target.value)} />
                </label>
                <label>
                  <span>
                    Your name <span className="muted small">(remembered)</span>
                  </span>
                  <input value={reviewer} onChange={(e) => setReviewer(e.target.value)} name="reviewer" />
                </label>
                <ErrorBox error={error} />
                <div className="row">
                  <button type="submit" className="primary" disabled={saving || !mayWrite} title={mayWrite ? undefined : "Your API key lacks the write role"}>
                    {saving ? "Saving…" : "Save label"}
                  </button>
                  <button type="button" onClick={() => move(1)}>
                    Skip
                  </button>
                  <button type="button" onClick={openTrace}>
                    Open trace
                  </button>
                </div>
              </form>
              <p className="hint">
                <Kbd>1</Kbd>–<Kbd>9</Kbd> pick · <Kbd>Enter</Kbd> save · <Kbd>s</Kbd>/<Kbd>j</Kbd> skip · <Kbd>k</Kbd> back · <Kbd>o</Kbd> open the
                trace
              </p>
            </section>
          )}
        </div>
      )}
    </div>
  );
}
