import type { ClickHouseClient } from "@clickhouse/client";

/** A trace summary's payload fields, as stored: '' when absent. */
export interface TracePayloads {
  traceId: string;
  inputs: string;
  outputs: string;
}

/**
 * Fills the inputs and outputs that a trace's root span did not carry from the trace's other
 * spans: those of the outermost span that has them (gavel_trace_io, schema.ts;
 * docs/conventions.md). One query for the rows that need it, none when no row does. Mutates
 * and returns the rows.
 */
export async function fillTracePayloads<T extends TracePayloads>(client: ClickHouseClient, rows: T[]): Promise<T[]> {
  const ids = [...new Set(rows.filter((r) => r.inputs === "" || r.outputs === "").map((r) => r.traceId))];
  if (ids.length === 0) return rows;
  const rs = await client.query({
    query: `SELECT TraceId, argMinMerge(Inputs) AS Inputs, argMinMerge(Outputs) AS Outputs
      FROM gavel_trace_io WHERE TraceId IN {ids:Array(String)} GROUP BY TraceId`,
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
