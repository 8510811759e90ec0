import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import type { Experiment } from "@gavel/api";

export type { Experiment };

/**
 * Experiment ids are derived from the name, so creating the same experiment from
 * two collectors at once yields one experiment, with no lock and no read-then-write race.
 */
export function experimentIdFor(name: string): string {
  return createHash("sha256").update(name, "utf8").digest("hex").slice(0, 16);
}

interface ExperimentRow {
  ExperimentId: string;
  Name: string;
  CreatedAt: string;
  Tags: Record<string, string>;
}

const parseTime = (s: string) => Date.parse(s.replace(" ", "T") + "Z");

export async function createExperiment(
  client: ClickHouseClient,
  name: string,
  tags: Record<string, string> = {},
): Promise<string> {
  const existing = await getExperimentByName(client, name);
  if (existing) return existing.experimentId;
  const experimentId = experimentIdFor(name);
  await client.insert({
    table: "gavel_experiments",
    values: [{ ExperimentId: experimentId, Name: name, CreatedAt: Date.now(), Tags: tags, Version: Date.now() }],
    format: "JSONEachRow",
  });
  return experimentId;
}

/** Trace count and newest root per experiment, from the counters gavel_experiment_stats_mv keeps. */
async function statsFor(client: ClickHouseClient, ids: string[] | null) {
  const rs = await client.query({
    query: `SELECT ExperimentId, uniqMerge(Traces) AS n, toUnixTimestamp64Milli(max(LastTimestamp)) AS last
            FROM gavel_experiment_stats ${ids ? "WHERE ExperimentId IN {ids:Array(String)}" : ""}
            GROUP BY ExperimentId`,
    query_params: ids ? { ids } : {},
    format: "JSONEachRow",
  });
  const m = new Map<string, { n: number; last: number }>();
  for (const r of await rs.json<{ ExperimentId: string; n: string; last: string }>())
    m.set(r.ExperimentId, { n: Number(r.n), last: Number(r.last) });
  return m;
}

function toExperiment(r: ExperimentRow, stats: Map<string, { n: number; last: number }>): Experiment {
  const s = stats.get(r.ExperimentId);
  return {
    experimentId: r.ExperimentId,
    name: r.Name,
    createdAt: parseTime(r.CreatedAt),
    tags: r.Tags,
    traceCount: s?.n ?? 0,
    lastActivity: s ? s.last : null,
  };
}

async function selectExperiments(client: ClickHouseClient, where: string, params: Record<string, unknown>) {
  const rs = await client.query({
    query: `SELECT ExperimentId, Name, CreatedAt, Tags FROM gavel_experiments FINAL WHERE NOT Deleted AND ${where} ORDER BY CreatedAt DESC`,
    query_params: params,
    format: "JSONEachRow",
  });
  return rs.json<ExperimentRow>();
}

/**
 * All experiments, including ids that only appear on incoming traces (an app that set
 * `gavel.experiment_id` itself), so no trace is ever unreachable from the list.
 */
export async function listExperiments(client: ClickHouseClient): Promise<Experiment[]> {
  const [rows, stats] = await Promise.all([selectExperiments(client, "1", {}), statsFor(client, null)]);
  const out = rows.map((r) => toExperiment(r, stats));
  const known = new Set(out.map((e) => e.experimentId));
  for (const [id, s] of stats) {
    if (!known.has(id)) out.push({ experimentId: id, name: id, createdAt: s.last, tags: {}, traceCount: s.n, lastActivity: s.last });
  }
  return out;
}

export async function getExperiment(client: ClickHouseClient, experimentId: string): Promise<Experiment | null> {
  const rows = await selectExperiments(client, "ExperimentId = {id:String}", { id: experimentId });
  const stats = await statsFor(client, [experimentId]);
  if (rows[0]) return toExperiment(rows[0], stats);
  const s = stats.get(experimentId);
  return s ? { experimentId, name: experimentId, createdAt: s.last, tags: {}, traceCount: s.n, lastActivity: s.last } : null;
}

export async function getExperimentByName(client: ClickHouseClient, name: string): Promise<Experiment | null> {
  const rows = await selectExperiments(client, "Name = {name:String}", { name });
  if (!rows[0]) return null;
  return toExperiment(rows[0], await statsFor(client, [rows[0].ExperimentId]));
}

/** Whether an experiment was created, or traces name it (the ids listExperiments shows). */
export async function experimentExists(client: ClickHouseClient, experimentId: string): Promise<boolean> {
  const rs = await client.query({
    query: `SELECT 1 FROM gavel_experiments FINAL WHERE ExperimentId = {id:String} AND NOT Deleted
            UNION ALL SELECT 1 FROM (SELECT 1 FROM gavel_traces WHERE ExperimentId = {id:String} LIMIT 1)
            LIMIT 1`,
    query_params: { id: experimentId },
    format: "JSONEachRow",
  });
  return (await rs.json()).length > 0;
}
