import type { ReactNode } from "react";
import type { Assessment } from "../api";
import { formatTime, formatValue } from "../format";
import { SourceBadge } from "./common";

/**
 * One assessment as the trace page and the session view show it: source, name, value (or the
 * error), rationale and who/when, all as text. `head` and `meta` add what a page shows beside.
 */
export function AssessmentSummary({ a, head, meta }: { a: Assessment; head?: ReactNode; meta?: ReactNode }) {
  return (
    <>
      <div className="a-head">
        <SourceBadge type={a.source.sourceType} />
        <span className="a-name">{a.name}</span>
        {a.kind === "expectation" && <span className="badge">expectation</span>}
        <span className="a-value">{a.error ? "error" : formatValue(a.value)}</span>
        {head}
      </div>
      {a.error && (
        <div className="err-text small">
          {a.error.code}: {a.error.message}
        </div>
      )}
      {a.rationale && <div className="a-rationale">{a.rationale}</div>}
      <div className="a-meta muted small">
        {a.source.sourceId || "anonymous"} · {formatTime(a.createTimeMs)}
        {meta}
      </div>
    </>
  );
}
