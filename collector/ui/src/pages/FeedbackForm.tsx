import { useMemo, useState, type RefObject } from "react";
import { api, type Assessment, type FeedbackValueType, type ReviewQueue, type Scorer, type Span } from "../api";
import { useAsync, useHotkeys, useStored } from "../hooks";
import { ErrorBox, Kbd } from "../components/common";
import { can, useAuth } from "../auth";
import { formatValue, inferValueType, valueTypeLabel } from "../format";

export interface ValueTypes {
  /** Names to offer, registered judges first. */
  names: string[];
  registered: Set<string>;
  typeOf: (name: string) => FeedbackValueType | undefined;
}

// Judge value summaries per experiment, shared by every trace page of the session.
const summaries = new Map<string, Promise<ReviewQueue["judges"]>>();
function judgeSummary(experimentId: string): Promise<ReviewQueue["judges"]> {
  let p = summaries.get(experimentId);
  if (!p) {
    p = api.reviewQueue(experimentId, { limit: 1 }).then(
      (q) => q.judges,
      () => [],
    );
    summaries.set(experimentId, p);
  }
  return p;
}

/**
 * Assessment names and the value type to ask for each: the registered judge's type when
 * the registry knows the name, else a guess from the values judges and people gave it.
 */
export function useValueTypes(experimentId: string, scorers: Scorer[] | null, assessments: Assessment[]): ValueTypes {
  const summary = useAsync(() => judgeSummary(experimentId), [experimentId]);
  return useMemo(() => {
    const registered = new Map<string, FeedbackValueType | undefined>();
    for (const s of scorers ?? []) registered.set(s.name, s.judge.feedbackValueType);
    const seen = new Map<string, unknown[]>();
    const add = (n: string, v: unknown) => {
      let l = seen.get(n);
      if (!l) seen.set(n, (l = []));
      l.push(v);
    };
    const judged = new Set<string>();
    for (const j of summary.data ?? []) for (const v of j.values) add(j.name, v.value), judged.add(j.name);
    for (const a of assessments) {
      if (a.kind !== "feedback" || a.error) continue;
      add(a.name, a.value);
      if (a.source.sourceType === "LLM_JUDGE") judged.add(a.name);
    }
    // Registered judges first, then names a judge has scored, then names only people used.
    const rest = [...seen.keys()].filter((n) => !registered.has(n)).sort();
    const names = [...registered.keys(), ...rest.filter((n) => judged.has(n)), ...rest.filter((n) => !judged.has(n))];
    return {
      names,
      registered: new Set(registered.keys()),
      typeOf: (n: string) => registered.get(n) ?? (seen.has(n) ? inferValueType(seen.get(n)!) : undefined),
    };
  }, [scorers, summary.data, assessments]);
}

/** The value control that fits the judge's type: category buttons, a yes/no toggle, a number, or text. */
export function ValueInput({
  type,
  value,
  onChange,
  hotkeys,
  autoFocus,
  open,
}: {
  type: FeedbackValueType | undefined;
  value: unknown;
  onChange: (v: unknown) => void;
  hotkeys: boolean;
  autoFocus?: boolean;
  /** Categories guessed from values seen (no registered type): also accept another value. */
  open?: boolean;
}) {
  const options: { label: string; value: unknown }[] = Array.isArray(type)
    ? type.map((c) => ({ label: c, value: c }))
    : type === "boolean"
      ? [
          { label: "Yes", value: true },
          { label: "No", value: false },
        ]
      : [];
  const keys: Record<string, () => void> = {};
  options.slice(0, 9).forEach((o, i) => (keys[String(i + 1)] = () => onChange(o.value)));
  useHotkeys(keys, hotkeys && options.length > 0);

  if (options.length > 0) {
    return (
      <div className={`choices ${type === "boolean" ? "toggle" : ""}`} role="radiogroup" aria-label="Value">
        {options.map((o, i) => (
          <button
            key={o.label}
            type="button"
            role="radio"
            aria-checked={value === o.value}
            className={value === o.value ? "chosen" : ""}
            onClick={() => onChange(o.value)}
            data-autofocus={i === 0 && autoFocus ? "" : undefined}
            data-value={String(o.value)}
          >
            {i < 9 && hotkeys && <kbd>{i + 1}</kbd>} {o.label}
          </button>
        ))}
        {open && Array.isArray(type) && (
          <input
            type="text"
            className="w8"
            aria-label="Other value"
            placeholder="other…"
            value={typeof value === "string" && !type.includes(value) ? value : ""}
            onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
          />
        )}
      </div>
    );
  }
  if (type === "number") {
    return (
      <input
        type="number"
        step="any"
        aria-label="Value"
        data-autofocus={autoFocus ? "" : undefined}
        value={typeof value === "number" ? value : typeof value === "string" ? value : ""}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
      />
    );
  }
  return (
    <input
      type="text"
      aria-label="Value"
      placeholder="value"
      data-autofocus={autoFocus ? "" : undefined}
      value={typeof value === "string" ? value : value === undefined ? "" : formatValue(value)}
      onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
    />
  );
}

/** The typed value to send, or an error to show. */
export function coerceValue(type: FeedbackValueType | undefined, v: unknown): { value: unknown } | { error: string } {
  if (v === undefined || v === "") return { error: "Pick or enter a value." };
  if (type === "number") {
    const n = typeof v === "number" ? v : Number(v);
    return Number.isFinite(n) ? { value: n } : { error: "The value must be a number." };
  }
  if (type === undefined || type === "string") {
    // Free text that reads as a number or boolean is stored as one, as a judge would.
    if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v.trim())) return { value: Number(v) };
    if (v === "true" || v === "false") return { value: v === "true" };
  }
  return { value: v };
}

export interface FeedbackTarget {
  override?: Assessment;
}

const OTHER = "\u0000other";

export function FeedbackForm({
  formRef,
  traceId,
  spans,
  rootSpanId,
  selectedSpanId,
  valueTypes,
  target,
  onSaved,
  onCancelOverride,
}: {
  formRef: RefObject<HTMLFormElement | null>;
  traceId: string;
  spans: Span[];
  rootSpanId?: string;
  selectedSpanId?: string;
  valueTypes: ValueTypes;
  target: FeedbackTarget | null;
  onSaved: (a: Assessment) => void;
  onCancelOverride: () => void;
}) {
  const override = target?.override;
  const [pick, setPick] = useState<string>(override?.name ?? valueTypes.names[0] ?? OTHER);
  const [custom, setCustom] = useState("");
  const [value, setValue] = useState<unknown>(undefined);
  const [on, setOn] = useState<string>("trace");
  const [rationale, setRationale] = useState("");
  const [reviewer, setReviewer] = useStored("gavel.reviewer", "");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const [saved, setSaved] = useState<string | null>(null);
  const mayWrite = can(useAuth(), "write");

  // Names may arrive after the first render (registry, summaries); follow them until the user picks.
  const [touched, setTouched] = useState(false);
  const effectivePick = override ? override.name : !touched && pick === OTHER && valueTypes.names[0] ? valueTypes.names[0] : pick;
  const name = effectivePick === OTHER ? custom.trim() : effectivePick;
  const type = name ? valueTypes.typeOf(name) : undefined;

  async function save() {
    setError(undefined);
    setSaved(null);
    if (!name) return setError(new Error("Give the assessment a name, e.g. the judge's name."));
    if (!reviewer.trim()) return setError(new Error("Enter your name, so the label can be attributed (it is remembered)."));
    const v = coerceValue(type, value);
    if ("error" in v) return setError(new Error(v.error));
    setSaving(true);
    try {
      const source = { sourceType: "HUMAN" as const, sourceId: reviewer.trim() };
      const a = override
        ? await api.overrideAssessment(traceId, override.assessmentId, { value: v.value, source, ...(rationale ? { rationale } : {}) })
        : await api.logAssessment(traceId, {
            name,
            value: v.value,
            source,
            ...(rationale ? { rationale } : {}),
            ...(on !== "trace" ? { spanId: on } : {}),
          });
      setSaved(`Saved ${a.name} = ${formatValue(a.value)} as a HUMAN assessment.`);
      setValue(undefined);
      setRationale("");
      onSaved(a);
    } catch (err) {
      setError(err as Error);
    } finally {
      setSaving(false);
    }
  }
  useHotkeys({ "mod+Enter": () => void save() });

  const selectedIsChild = selectedSpanId && selectedSpanId !== rootSpanId;
  const spanLabel = (id: string) => spans.find((s) => s.spanId === id)?.name ?? id;

  return (
    <section className="panel feedback" aria-label="Add feedback">
      <h3>{override ? "Override the judge" : "Add feedback"}</h3>
      {override && (
        <p className="small">
          Replaces <strong>{override.name}</strong> = {formatValue(override.value)} from {override.source.sourceId || override.source.sourceType}; the
          judge's value stays visible, struck through.{" "}
          <button type="button" className="link" onClick={onCancelOverride}>
            Cancel
          </button>
        </p>
      )}
      <form
        ref={formRef}
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {!override && (
          <label>
            Assessment name
            <select
              value={effectivePick}
              onChange={(e) => {
                setTouched(true);
                setPick(e.target.value);
                setValue(undefined);
              }}
              name="name"
            >
              {valueTypes.names.map((n) => (
                <option key={n} value={n}>
                  {n}
                  {valueTypes.registered.has(n) ? " (registered judge)" : ""}
                </option>
              ))}
              <option value={OTHER}>Other name…</option>
            </select>
          </label>
        )}
        {!override && effectivePick === OTHER && (
          <label>
            New name
            <input value={custom} onChange={(e) => setCustom(e.target.value)} placeholder="e.g. support_quality" name="customName" />
          </label>
        )}
        <div className="field">
          <span className="label">
            Value <span className="muted small">({valueTypeLabel(type)})</span>
          </span>
          <ValueInput type={type} value={value} onChange={setValue} hotkeys autoFocus open={!valueTypes.registered.has(name)} />
        </div>
        {!override && (
          <label>
            Applies to
            <select value={on} onChange={(e) => setOn(e.target.value)} name="target">
              <option value="trace">the whole trace</option>
              {selectedIsChild && <option value={selectedSpanId}>span: {spanLabel(selectedSpanId)}</option>}
              {spans
                .filter((s) => s.spanId !== rootSpanId && s.spanId !== selectedSpanId)
                .slice(0, 200)
                .map((s) => (
                  <option key={s.spanId} value={s.spanId}>
                    span: {s.name}
                  </option>
                ))}
            </select>
          </label>
        )}
        <label>
          <span>
            Rationale <span className="muted small">(optional)</span>
          </span>
          <textarea value={rationale} onChange={(e) => setRationale(e.target.value)} rows={2} name="rationale" />
        </label>
        <label>
          <span>
            Your name <span className="muted small">(remembered on this browser)</span>
          </span>
          <input value={reviewer} onChange={(e) => setReviewer(e.target.value)} autoComplete="name" name="reviewer" />
        </label>
        <ErrorBox error={error} />
        {!mayWrite && <p className="muted small">Your API key may read but not write: saving labels needs a key with the write role.</p>}
        {saved && (
          <p className="ok" role="status">
            {saved}
          </p>
        )}
        <div className="row">
          <button type="submit" className="primary" disabled={saving || !mayWrite} title={mayWrite ? undefined : "Your API key lacks the write role"}>
            {saving ? "Saving…" : override ? "Save override" : "Save feedback"}
          </button>
          <span className="muted small">
            <Kbd>Ctrl</Kbd>+<Kbd>Enter</Kbd>
          </span>
        </div>
      </form>
    </section>
  );
}
