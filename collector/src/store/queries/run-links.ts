/**
 * Traces linked to runs after the fact (MLflow's `MlflowClient.link_traces_to_run`), in
 * `gavel_trace_run_links`. A trace's own run is the `gavel.run_id` of its root span; a link
 * adds further runs, and `trace.run_id = '…'` matches either (search/filter-compiler.ts).
 */
import type { ClickHouseClient } from "@clickhouse/client";

/** MLflow's limit per request (`Cannot link more than 100 traces to a run in a single request`). */
export const MAX_LINKS_PER_REQUEST = 100;

/**
 * Links the traces to the run. Linking a pair again rewrites the same (RunId, TraceId) key, so
 * it stays one link. Trace ids need not be stored yet: a trace that arrives later is linked.
 */
export async function linkTracesToRun(client: ClickHouseClient, runId: string, experimentId: string, traceIds: string[]): Promise<void> {
  if (traceIds.length === 0) return;
  const now = Date.now();
  await client.insert({
    table: "gavel_trace_run_links",
    values: traceIds.map((TraceId) => ({ RunId: runId, TraceId, ExperimentId: experimentId, LinkedAt: now })),
    format: "JSONEachRow",
  });
}

