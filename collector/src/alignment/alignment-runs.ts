import type { ClickHouseClient } from "@clickhouse/client";
import type { AlignmentProgress as AlignmentProgressJson, AlignmentRun, AlignmentStatus } from "@gavel/api";
import { monotonicNowNs } from "../store/monotonic-clock.js";

export type { AlignmentProgressJson, AlignmentRun, AlignmentStatus };

interface Row {
  AlignmentId: string;
  ExperimentId: string;
  JudgeName: string;
  BaseVersion: number;
  Optimizer: string;
  Status: AlignmentStatus;
  Report: string;
  AlignedJudge: string;
  RegisteredVersion: number;
  Error: string;
  StartedMs: string;
  EndedMs: string | null;
}

const toRun = (r: Row): AlignmentRun => ({
  alignmentId: r.AlignmentId,
  experimentId: r.ExperimentId,
  judgeName: r.JudgeName,
  baseVersion: Number(r.BaseVersion),
  optimizer: r.Optimizer,
  status: r.Status,
  progress: null,
  report: r.Report ? (JSON.parse(r.Report) as Record<string, unknown>) : null,
  alignedJudge: r.AlignedJudge ? (JSON.parse(r.AlignedJudge) as Record<string, unknown>) : null,
  registeredVersion: Number(r.RegisteredVersion) || null,
  error: r.Error || null,
  startedAt: Number(r.StartedMs),
  endedAt: r.EndedMs === null ? null : Number(r.EndedMs),
});

export async function saveAlignmentRun(client: ClickHouseClient, run: AlignmentRun): Promise<void> {
  await client.insert({
    table: "gavel_alignment_runs",
    values: [
      {
        AlignmentId: run.alignmentId,
        ExperimentId: run.experimentId,
        JudgeName: run.judgeName,
        BaseVersion: run.baseVersion,
        Optimizer: run.optimizer,
        Status: run.status,
        Report: run.report ? JSON.stringify(run.report) : "",
        AlignedJudge: run.alignedJudge ? JSON.stringify(run.alignedJudge) : "",
        RegisteredVersion: run.registeredVersion ?? 0,
        Error: run.error ?? "",
        StartedAt: run.startedAt,
        EndedAt: run.endedAt,
        UpdatedAt: monotonicNowNs().toString(),
      },
    ],
    format: "JSONEachRow",
  });
}

const SELECT = `SELECT AlignmentId, ExperimentId, JudgeName, BaseVersion, Optimizer, Status, Report, AlignedJudge,
  RegisteredVersion, Error, toString(toUnixTimestamp64Milli(StartedAt)) AS StartedMs,
  if(EndedAt IS NULL, NULL, toString(toUnixTimestamp64Milli(assumeNotNull(EndedAt)))) AS EndedMs
FROM gavel_alignment_runs FINAL`;

export async function getAlignmentRun(client: ClickHouseClient, alignmentId: string): Promise<AlignmentRun | null> {
  const rs = await client.query({ query: `${SELECT} WHERE AlignmentId = {id:String} LIMIT 1`, query_params: { id: alignmentId }, format: "JSONEachRow" });
  const [row] = await rs.json<Row>();
  return row ? toRun(row) : null;
}

export async function listAlignmentRuns(client: ClickHouseClient, experimentId: string): Promise<AlignmentRun[]> {
  const rs = await client.query({
    query: `${SELECT} WHERE ExperimentId = {e:String} ORDER BY StartedAt DESC`,
    query_params: { e: experimentId },
    format: "JSONEachRow",
  });
  return (await rs.json<Row>()).map(toRun);
}
