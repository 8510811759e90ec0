import type { ClickHouseClient } from "@clickhouse/client";
import { randomBytes } from "node:crypto";
import type { Run, RunKind, RunStatus } from "@gavel/api";

export type { Run, RunKind, RunStatus };

interface RunRow {
  RunId: string;
  ExperimentId: string;
  Name: string;
  Kind: RunKind;
  Status: RunStatus;
  StartTime: string;
  EndTime: string | null;
  Metrics: Record<string, number>;
}

const parseTime = (s: string) => Date.parse(s.replace(" ", "T") + "Z");

const toRun = (r: RunRow): Run => ({
  runId: r.RunId,
  experimentId: r.ExperimentId,
  name: r.Name,
  kind: r.Kind,
  status: r.Status,
  startTime: parseTime(r.StartTime),
  endTime: r.EndTime ? parseTime(r.EndTime) : null,
  metrics: r.Metrics,
});

function toRow(run: Run): Record<string, unknown> {
  return {
    RunId: run.runId,
    ExperimentId: run.experimentId,
    Name: run.name,
    Kind: run.kind,
    Status: run.status,
    StartTime: run.startTime,
    EndTime: run.endTime,
    Metrics: run.metrics,
    // Versions must grow even for two updates in the same millisecond.
    Version: Date.now() * 1000 + (versionSeq = (versionSeq + 1) % 1000),
  };
}
let versionSeq = 0;

export async function createRun(
  client: ClickHouseClient,
  input: { experimentId: string; name?: string; kind?: RunKind },
): Promise<Run> {
  const now = Date.now();
  const run: Run = {
    runId: randomBytes(16).toString("hex"),
    experimentId: input.experimentId,
    name: input.name ?? `run-${new Date(now).toISOString().replace(/[-:]/g, "").slice(0, 15)}`,
    kind: input.kind ?? "run",
    status: "RUNNING",
    startTime: now,
    endTime: null,
    metrics: {},
  };
  await client.insert({ table: "gavel_runs", values: [toRow(run)], format: "JSONEachRow" });
  return run;
}

export async function getRun(client: ClickHouseClient, runId: string): Promise<Run | null> {
  const rs = await client.query({
    query: "SELECT * EXCEPT Version FROM gavel_runs FINAL WHERE RunId = {id:String} LIMIT 1",
    query_params: { id: runId },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<RunRow>();
  return row ? toRun(row) : null;
}

export async function listRuns(client: ClickHouseClient, experimentId: string, kind?: string): Promise<Run[]> {
  const rs = await client.query({
    query: `SELECT * EXCEPT Version FROM gavel_runs FINAL WHERE ExperimentId = {e:String}
            ${kind ? "AND Kind = {k:String}" : ""} ORDER BY StartTime DESC`,
    query_params: { e: experimentId, k: kind ?? "" },
    format: "JSONEachRow",
  });
  return (await rs.json<RunRow>()).map(toRun);
}

export async function updateRun(
  client: ClickHouseClient,
  runId: string,
  patch: Partial<Pick<Run, "status" | "endTime" | "metrics" | "name">>,
): Promise<Run | null> {
  const run = await getRun(client, runId);
  if (!run) return null;
  const next: Run = { ...run, ...patch, metrics: { ...run.metrics, ...(patch.metrics ?? {}) } };
  await client.insert({ table: "gavel_runs", values: [toRow(next)], format: "JSONEachRow" });
  return next;
}
