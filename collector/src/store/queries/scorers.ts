import type { ClickHouseClient } from "@clickhouse/client";
import type { Scorer as ScorerVersion } from "@gavel/api";
import { monotonicNowNs } from "../monotonic-clock.js";

export type { ScorerVersion };

interface Row {
  ExperimentId: string;
  Name: string;
  Version: number;
  Judge: string;
  Report: string;
  AlignmentRunId: string;
  SampleRate: number;
  Filter: string;
  CreatedMs: string;
}

const SELECT = `SELECT ExperimentId, Name, Version, Judge, Report, AlignmentRunId, SampleRate, Filter,
  toString(toUnixTimestamp64Milli(CreatedAt)) AS CreatedMs FROM gavel_scorers FINAL`;

const toScorer = (r: Row): ScorerVersion => ({
  experimentId: r.ExperimentId,
  name: r.Name,
  version: Number(r.Version),
  judge: JSON.parse(r.Judge) as Record<string, unknown>,
  report: r.Report ? (JSON.parse(r.Report) as Record<string, unknown>) : null,
  alignmentRunId: r.AlignmentRunId || null,
  sampling: { sampleRate: Number(r.SampleRate), filter: r.Filter || null },
  createdAt: Number(r.CreatedMs),
});

const toRow = (s: ScorerVersion, deleted = false) => ({
  ExperimentId: s.experimentId,
  Name: s.name,
  Version: s.version,
  Judge: JSON.stringify(s.judge),
  Report: s.report ? JSON.stringify(s.report) : "",
  AlignmentRunId: s.alignmentRunId ?? "",
  SampleRate: s.sampling.sampleRate,
  Filter: s.sampling.filter ?? "",
  CreatedAt: s.createdAt,
  Deleted: deleted,
  UpdatedAt: monotonicNowNs().toString(),
});

async function select(client: ClickHouseClient, where: string, params: Record<string, unknown>): Promise<ScorerVersion[]> {
  const rs = await client.query({ query: `${SELECT} WHERE NOT Deleted AND ${where} ORDER BY Name, Version`, query_params: params, format: "JSONEachRow" });
  return (await rs.json<Row>()).map(toScorer);
}

// Versions are numbered per (experiment, name); one collector process allocates them in
// order, so two registrations racing in the same process never get the same number.
let registerChain: Promise<unknown> = Promise.resolve();

export function registerScorer(
  client: ClickHouseClient,
  input: { experimentId: string; name: string; judge: Record<string, unknown>; report?: Record<string, unknown> | null; alignmentRunId?: string | null },
): Promise<ScorerVersion> {
  const next = registerChain.then(async () => {
    const rs = await client.query({
      query: "SELECT max(Version) AS v FROM gavel_scorers WHERE ExperimentId = {e:String} AND Name = {n:String}",
      query_params: { e: input.experimentId, n: input.name },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ v: number }>();
    const s: ScorerVersion = {
      experimentId: input.experimentId,
      name: input.name,
      version: Number(row?.v ?? 0) + 1,
      judge: { ...input.judge, name: input.name },
      report: input.report ?? null,
      alignmentRunId: input.alignmentRunId ?? null,
      sampling: { sampleRate: 0, filter: null },
      createdAt: Date.now(),
    };
    await client.insert({ table: "gavel_scorers", values: [toRow(s)], format: "JSONEachRow" });
    return s;
  });
  registerChain = next.catch(() => undefined);
  return next;
}

/** The latest version of each registered judge of an experiment. */
export async function listScorers(client: ClickHouseClient, experimentId: string): Promise<ScorerVersion[]> {
  const all = await select(client, "ExperimentId = {e:String}", { e: experimentId });
  const latest = new Map<string, ScorerVersion>();
  for (const s of all) latest.set(s.name, s);
  return [...latest.values()];
}

export function listScorerVersions(client: ClickHouseClient, experimentId: string, name: string): Promise<ScorerVersion[]> {
  return select(client, "ExperimentId = {e:String} AND Name = {n:String}", { e: experimentId, n: name });
}

export async function getScorer(client: ClickHouseClient, experimentId: string, name: string, version?: number): Promise<ScorerVersion | null> {
  const versions = await listScorerVersions(client, experimentId, name);
  if (version === undefined) return versions[versions.length - 1] ?? null;
  return versions.find((v) => v.version === version) ?? null;
}

export async function deleteScorer(client: ClickHouseClient, experimentId: string, name: string, version?: number): Promise<number> {
  const versions = await listScorerVersions(client, experimentId, name);
  const doomed = version === undefined ? versions : versions.filter((v) => v.version === version);
  if (doomed.length > 0) await client.insert({ table: "gavel_scorers", values: doomed.map((s) => toRow(s, true)), format: "JSONEachRow" });
  return doomed.length;
}

/**
 * Online sampling applies to one version per judge name: starting a version stops the
 * others, so a judge name never scores a trace twice.
 */
export async function setSampling(
  client: ClickHouseClient,
  experimentId: string,
  name: string,
  sampling: { sampleRate: number; filter?: string | null; version?: number },
): Promise<ScorerVersion | null> {
  const versions = await listScorerVersions(client, experimentId, name);
  const target = sampling.version === undefined ? versions[versions.length - 1] : versions.find((v) => v.version === sampling.version);
  if (!target) return null;
  const updated: ScorerVersion = {
    ...target,
    sampling: { sampleRate: sampling.sampleRate, filter: sampling.filter === undefined ? target.sampling.filter : sampling.filter },
  };
  const others = versions.filter((v) => v.version !== target.version && v.sampling.sampleRate > 0).map((v) => ({ ...v, sampling: { ...v.sampling, sampleRate: 0 } }));
  await client.insert({ table: "gavel_scorers", values: [updated, ...others].map((s) => toRow(s)), format: "JSONEachRow" });
  return updated;
}

/** Every judge version with sampleRate > 0, across experiments: what the online worker runs. */
export function activeScorers(client: ClickHouseClient): Promise<ScorerVersion[]> {
  return select(client, "SampleRate > 0", {});
}
