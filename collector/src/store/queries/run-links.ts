/**
 * Traces linked to runs after the fact (MLflow's `MlflowClient.link_traces_to_run` and
 * `unlink_traces_from_run`), in `gavel_trace_run_links`. A trace's own run is the `gavel.run_id`
 * of its root span; a link adds further runs, and `trace.run_id = '…'` matches either
 * (search/filter-compiler.ts). Unlinking removes a link, never the trace's own run.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { monotonicNowNs } from "../monotonic-clock.js";

/** MLflow's limit per request (`Cannot link more than 100 traces to a run in a single request`). */
export const MAX_LINKS_PER_REQUEST = 100;

/**
 * Links the traces to the run, or unlinks them. Each call writes a newer version of the
 * (RunId, TraceId) key, so linking twice is one link and unlinking a trace that is not linked
 * changes nothing. Trace ids need not be stored yet: a trace that arrives later is linked.
 */
export async function setTraceRunLinks(client: ClickHouseClient, runId: string, experimentId: string, traceIds: string[], linked: boolean): Promise<void> {
  if (traceIds.length === 0) return;
  await client.insert({
    table: "gavel_trace_run_links",
    values: traceIds.map((TraceId) => ({ RunId: runId, TraceId, ExperimentId: experimentId, Unlinked: linked ? 0 : 1, UpdatedAt: monotonicNowNs().toString() })),
    format: "JSONEachRow",
  });
}
