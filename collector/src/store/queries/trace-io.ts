import type { ClickHouseClient } from "@clickhouse/client";
import { ATTR_ASSESSMENT_SPAN, TRACE_RANK_SQL } from "@gavel/conventions";
import { INPUTS_EXPR, OUTPUTS_EXPR } from "../schema.js";

/** A trace summary's payload fields, as stored: '' when absent. */
export interface TracePayloads {
  traceId: string;
  inputs: string;
  outputs: string;
}

/**
 * Fills the inputs and outputs that a trace's root span did not carry from the trace's other
 * spans: those of the outermost span that has them (@gavel/conventions compareOutermost:
 * earliest start, then longest, then smallest span id; docs/conventions.md). The rule needs
 * only the stored spans, so it gives the same answer whatever order and requests they came
 * in. Read when a summary is read, for the rows that need it: one query, none when no row
 * does, and no cost at ingest. Mutates and returns the rows.
 */
export async function fillTracePayloads<T extends TracePayloads>(client: ClickHouseClient, rows: T[]): Promise<T[]> {
  const ids = [...new Set(rows.filter((r) => r.inputs === "" || r.outputs === "").map((r) => r.traceId))];
  if (ids.length === 0) return rows;
  // The trace-id → time-range table narrows the scan to the partitions that hold the traces.
  const rs = await client.query({
    query: `WITH bounds AS (SELECT min(Start) AS s, max(End) AS e FROM otel_traces_trace_id_ts WHERE TraceId IN {ids:Array(String)})
      SELECT TraceId, argMinIf(i, rank, i != '') AS Inputs, argMinIf(o, rank, o != '') AS Outputs
      FROM (
        SELECT TraceId, ${INPUTS_EXPR} AS i, ${OUTPUTS_EXPR} AS o, ${TRACE_RANK_SQL} AS rank
        FROM otel_traces
        WHERE TraceId IN {ids:Array(String)} AND ParentSpanId != '' AND SpanAttributes['${ATTR_ASSESSMENT_SPAN}'] != 'true'
          AND Timestamp >= (SELECT s FROM bounds) AND Timestamp <= (SELECT e FROM bounds) + 1
      )
      GROUP BY TraceId`,
    query_params: { ids },
    format: "JSONEachRow",
  });
  const found = new Map<string, { Inputs: string; Outputs: string }>();
  for (const r of await rs.json<{ TraceId: string; Inputs: string; Outputs: string }>()) found.set(r.TraceId, r);
  for (const r of rows) {
    const f = found.get(r.traceId);
    if (!f) continue;
    if (r.inputs === "") r.inputs = f.Inputs;
    if (r.outputs === "") r.outputs = f.Outputs;
  }
  return rows;
}
