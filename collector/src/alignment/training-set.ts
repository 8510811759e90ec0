import type { ClickHouseClient } from "@clickhouse/client";
import { fillTracePayloads } from "../store/queries/trace-io.js";
import { parsePayload } from "../store/queries/traces.js";

/** One trace with both a judge assessment and a human label for the judge's name. */
export interface TrainingRow {
  traceId: string;
  inputs: unknown;
  outputs: unknown;
  /** The human label after per-reviewer "newest wins" and a majority vote across reviewers. */
  humanLabel: string;
  humanRationale: string;
  /** How many reviewers gave the winning label, and how many reviewers in all. */
  votes: number;
  reviewers: number;
  /** The judge's latest valid value on the trace (normalised like the label). */
  judgeLabel: string;
  labelTimeMs: number;
}

// String(value).toLowerCase().trim() of the JSON-encoded Value, as the alignment spec normalises labels.
const NORM = "lower(trim(BOTH ' \\n\\t' FROM if(JSONType(Value) = 'String', JSONExtractString(Value), Value)))";

/**
 * The alignment job's training data, in one query: for each trace of the experiment that has
 * both a valid LLM_JUDGE and a valid HUMAN feedback with the judge's name (names compared
 * lower-cased and trimmed), the human label is each reviewer's newest valid label, then the
 * majority across reviewers; a tie goes to the newest. Overridden (invalid) and deleted
 * assessments never count.
 */
export async function loadTrainingSet(client: ClickHouseClient, experimentId: string, judgeName: string): Promise<TrainingRow[]> {
  const rs = await client.query({
    query: `
WITH
  assessed AS (
    SELECT TraceId, SourceType, SourceId, ${NORM} AS label, Rationale, CreatedAt, Version
    FROM gavel_assessments FINAL
    WHERE lower(trim(Name)) = {name:String} AND Kind = 'feedback' AND Valid AND NOT Deleted AND Error = ''
  ),
  per_reviewer AS (
    SELECT TraceId, SourceId, argMax(label, (CreatedAt, Version)) AS label,
           argMax(Rationale, (CreatedAt, Version)) AS rationale, max(CreatedAt) AS at
    FROM assessed WHERE SourceType = 'HUMAN' GROUP BY TraceId, SourceId
  ),
  votes AS (
    SELECT TraceId, label, count() AS n, max(at) AS newest, argMax(rationale, at) AS rationale
    FROM per_reviewer GROUP BY TraceId, label
  ),
  human AS (
    SELECT TraceId, argMax(label, (n, newest)) AS humanLabel, argMax(rationale, (n, newest)) AS humanRationale,
           max(n) AS votes, sum(n) AS reviewers, toUnixTimestamp64Milli(max(newest)) AS labelTimeMs
    FROM votes GROUP BY TraceId
  ),
  judged AS (
    SELECT TraceId, argMax(label, (CreatedAt, Version)) AS judgeLabel
    FROM assessed WHERE SourceType = 'LLM_JUDGE' GROUP BY TraceId
  )
SELECT t.TraceId AS traceId, t.Inputs AS inputs, t.Outputs AS outputs, h.humanLabel AS humanLabel,
       h.humanRationale AS humanRationale, h.votes AS votes, h.reviewers AS reviewers, j.judgeLabel AS judgeLabel,
       toString(h.labelTimeMs) AS labelTimeMs
FROM (SELECT TraceId, any(Inputs) AS Inputs, any(Outputs) AS Outputs, min(Timestamp) AS Timestamp
      FROM gavel_traces WHERE ExperimentId = {experimentId:String} GROUP BY TraceId) AS t
INNER JOIN human AS h ON h.TraceId = t.TraceId
INNER JOIN judged AS j ON j.TraceId = t.TraceId
ORDER BY t.Timestamp, t.TraceId`,
    query_params: { name: judgeName.trim().toLowerCase(), experimentId },
    format: "JSONEachRow",
  });
  const rows = await rs.json<{
    traceId: string; inputs: string; outputs: string; humanLabel: string; humanRationale: string;
    votes: string; reviewers: string; judgeLabel: string; labelTimeMs: string;
  }>();
  await fillTracePayloads(client, rows);
  return rows.map((r) => ({
    traceId: r.traceId,
    inputs: parsePayload(r.inputs),
    outputs: parsePayload(r.outputs),
    humanLabel: r.humanLabel,
    humanRationale: r.humanRationale,
    votes: Number(r.votes),
    reviewers: Number(r.reviewers),
    judgeLabel: r.judgeLabel,
    labelTimeMs: Number(r.labelTimeMs),
  }));
}
