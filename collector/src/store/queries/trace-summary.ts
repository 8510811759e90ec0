/**
 * The trace-summary row: one trace as `gavel_traces` holds it (its root span), the one shape
 * every reader of that table selects (trace search, a trace's page, the review queue, the
 * online worker and backfill).
 */
import type { TraceStatus } from "@gavel/api";

export interface TraceSummary {
  traceId: string;
  experimentId: string;
  runId: string;
  name: string;
  serviceName: string;
  spanType: string;
  /** Unix nanoseconds, decimal: beyond Number's exact range. */
  timestampNs: string;
  durationNs: string;
  status: TraceStatus;
  inputs: string;
  outputs: string;
  tags: Record<string, string>;
  metadata: Record<string, string>;
  rootSpanId: string;
}

/**
 * The trace's status as the API shows it: anything but Ok/Error counts as UNSET, matching
 * statusOf() (store/queries/traces.ts), so a filter agrees with what the list displays.
 */
export const TRACE_STATUS_SQL = "multiIf(t.StatusCode = 'Error', 'ERROR', t.StatusCode = 'Ok', 'OK', 'UNSET')";

/** The select list of a TraceSummary over `gavel_traces AS t`. */
export const TRACE_SUMMARY_COLUMNS = `t.TraceId AS traceId, t.ExperimentId AS experimentId, t.RunId AS runId, t.Name AS name,
  t.ServiceName AS serviceName, t.SpanType AS spanType,
  toString(toUnixTimestamp64Nano(t.Timestamp)) AS timestampNs, toString(t.Duration) AS durationNs,
  ${TRACE_STATUS_SQL} AS status, t.Inputs AS inputs, t.Outputs AS outputs, t.Tags AS tags, t.Metadata AS metadata,
  t.RootSpanId AS rootSpanId`;
