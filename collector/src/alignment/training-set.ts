import type { ClickHouseClient } from "@clickhouse/client";
import type { LabelledAssessment } from "@gavel/judges";
import { fillTracePayloads } from "../store/queries/trace-io.js";
import { parsePayload } from "../store/queries/traces.js";

/** One trace of the experiment with a human feedback of the judge's name, and every human label on it (not voted yet). */
export interface LabelledTraceRow {
  traceId: string;
  inputs: unknown;
  outputs: unknown;
  /** The trace's human feedback of the judge's name: every reviewer's every valid label, oldest first. */
  labels: LabelledAssessment[];
}

export interface TrainingData {
  /** Traces with at least one valid human label of the judge's name, whether or not the judge ever scored them. */
  traces: LabelledTraceRow[];
  /** Traces in the experiment. */
  total: number;
  /** Traces in the experiment with no valid human label of the judge's name (they cannot train or measure). */
  unlabelled: number;
}

/**
 * The alignment job's labelled traces. ClickHouse only finds them: the human feedback of the
 * experiment's traces whose name contains the judge's name (case-insensitively, Unicode-aware),
 * valid, not deleted and without error. Everything that decides a label is done once, in
 * TypeScript, by the same code as client-side alignment (@gavel/judges extractTrainingSet):
 * the exact name match, the label's normalisation (`String(value).toLowerCase().trim()`, which
 * lower-cases "ÉCHEC" as "échec"; ClickHouse's lower() would not), each reviewer's newest label,
 * then the majority. A trace the judge never scored is kept: the optimizer runs the judge itself.
 */
export async function loadTrainingSet(client: ClickHouseClient, experimentId: string, judgeName: string): Promise<TrainingData> {
  const labelRows = await client.query({
    query: `SELECT TraceId AS traceId, Name AS name, Value AS value, Rationale AS rationale, SourceId AS sourceId,
       toString(toUnixTimestamp64Milli(CreatedAt)) AS createdMs
FROM gavel_assessments FINAL
WHERE Kind = 'feedback' AND SourceType = 'HUMAN' AND Valid AND NOT Deleted AND Error = ''
  AND positionCaseInsensitiveUTF8(Name, {name:String}) > 0
  AND TraceId IN (SELECT TraceId FROM gavel_traces WHERE ExperimentId = {experimentId:String})
ORDER BY CreatedAt, Version, AssessmentId`,
    query_params: { name: judgeName.trim(), experimentId },
    format: "JSONEachRow",
  });
  const labels = new Map<string, LabelledAssessment[]>();
  for (const r of await labelRows.json<{ traceId: string; name: string; value: string; rationale: string; sourceId: string; createdMs: string }>()) {
    let list = labels.get(r.traceId);
    if (!list) labels.set(r.traceId, (list = []));
    list.push({
      name: r.name,
      value: parsePayload(r.value),
      ...(r.rationale ? { rationale: r.rationale } : {}),
      source: { sourceType: "HUMAN", sourceId: r.sourceId },
      valid: true,
      createTimeMs: Number(r.createdMs),
      kind: "feedback",
    });
  }
  const countRows = await client.query({
    query: "SELECT toString(uniqExact(TraceId)) AS n FROM gavel_traces WHERE ExperimentId = {experimentId:String}",
    query_params: { experimentId },
    format: "JSONEachRow",
  });
  const total = Number((await countRows.json<{ n: string }>())[0]?.n ?? 0);
  if (labels.size === 0) return { traces: [], total, unlabelled: total };
  const traceRows = await client.query({
    query: `SELECT TraceId AS traceId, any(Inputs) AS inputs, any(Outputs) AS outputs
FROM gavel_traces WHERE ExperimentId = {experimentId:String} AND TraceId IN {ids:Array(String)}
GROUP BY TraceId ORDER BY min(Timestamp), TraceId`,
    query_params: { experimentId, ids: [...labels.keys()] },
    format: "JSONEachRow",
  });
  // Traces whose root carries no inputs/outputs get them from their spans (read-time conventions).
  const traces = (await fillTracePayloads(client, await traceRows.json<{ traceId: string; inputs: string; outputs: string }>())).map((t) => ({
    traceId: t.traceId,
    inputs: parsePayload(t.inputs),
    outputs: parsePayload(t.outputs),
    labels: labels.get(t.traceId)!,
  }));
  return { traces, total, unlabelled: total - traces.length };
}
