import type { ClickHouseClient } from "@clickhouse/client";
import {
  gavelAssessments,
  gavelAssessmentsMv,
  gavelAssessmentsExperimentColumn,
  gavelAssessmentsMvExperiment,
  gavelExperiments,
  gavelExperimentStats,
  gavelExperimentStatsMv,
  gavelRuns,
  gavelTokenUsageDaily,
  gavelTokenUsageDailyMv,
  readPathBackfill,
  gavelScorers,
  gavelAlignmentRuns,
  gavelSchemaMigrations,
  gavelTraceActivity,
  gavelTraceActivityMv,
  gavelTraceActivityLastSeenIndex,
  gavelTraceRunLinks,
  gavelTraces,
  gavelTracesMv,
  gavelTracesMvConventions,
  gavelTracesMvTraceAttributes,
  gavelTracesMvSessions,
  gavelTracesSessionColumn,
  otelTraces,
  otelTracesConventionColumns,
  otelTracesGavelColumns,
  otelTracesTraceIdTs,
  otelTracesTraceIdTsMv,
  otelTracesTokenColumnsOnce,
  renderDDL,
  type RenderOptions,
  type SchemaObject,
} from "./schema.js";

export interface Migration {
  version: number;
  name: string;
  objects: SchemaObject[];
  /** Data statements run after the DDL (seed rows). Must be idempotent. */
  seed?: string[];
}

/**
 * Append-only: a released migration is never edited, a change is a new version.
 * Every statement is idempotent (IF NOT EXISTS), so a migration interrupted by a
 * crash simply runs again.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "otel traces, trace summaries, experiments, runs",
    objects: [
      otelTraces,
      otelTracesGavelColumns,
      otelTracesTraceIdTs,
      otelTracesTraceIdTsMv,
      gavelTraces,
      gavelTracesMv,
      gavelExperiments,
      gavelRuns,
    ],
    seed: [
      // MLflow's convention: experiment 0 is "Default" and takes traces that name none.
      `INSERT INTO gavel_experiments (ExperimentId, Name, CreatedAt, Tags, Version)
       SELECT '0', 'Default', now64(3), map(), 0
       WHERE (SELECT count() FROM gavel_experiments WHERE ExperimentId = '0') = 0`,
    ],
  },
  {
    version: 2,
    name: "assessments projected from gen_ai.evaluation.result events",
    objects: [gavelAssessments, gavelAssessmentsMv],
  },
  {
    version: 3,
    name: "judge registry",
    objects: [gavelScorers],
  },
  {
    version: 4,
    name: "trace arrival times for the online-scoring worker",
    objects: [gavelTraceActivity, gavelTraceActivityMv],
  },
  {
    version: 5,
    name: "alignment runs",
    objects: [gavelAlignmentRuns],
  },
  {
    version: 6,
    name: "every client's conventions: span type, model and token columns, trace summaries",
    objects: [otelTracesConventionColumns, gavelTracesMvConventions],
  },
  {
    version: 7,
    name: "read-path counters: traces per experiment, token use per day and model",
    objects: [gavelExperimentStats, gavelExperimentStatsMv, gavelTokenUsageDaily, gavelTokenUsageDailyMv],
    // One pass over the stored traces and spans (4M spans: see bench/README.md, "Read paths").
    seed: readPathBackfill,
  },
  {
    version: 8,
    name: "traces linked to runs after the fact (MLflow's link_traces_to_run)",
    objects: [gavelTraceRunLinks],
  },
  {
    version: 9,
    name: "arrival-time index for the online worker's poll",
    objects: [gavelTraceActivityLastSeenIndex],
  },
  {
    version: 10,
    name: "the experiment of each assessment, for the review queue",
    objects: [gavelAssessmentsExperimentColumn, gavelAssessmentsMvExperiment],
  },
  {
    version: 11,
    name: "each LLM call's tokens once (AI SDK provider calls); trace name, session, user, tags and metadata of other clients",
    objects: [otelTracesTokenColumnsOnce, gavelTracesMvTraceAttributes],
  },
  {
    version: 12,
    name: "the session id of each trace, for the online worker's session-level judges",
    objects: [gavelTracesSessionColumn, gavelTracesMvSessions],
  },
];

export function migrationStatements(m: Migration, opts: RenderOptions = {}): string[] {
  return [...m.objects.flatMap((o) => renderDDL(o, opts)), ...(m.seed ?? [])];
}

/** Every DDL statement of the schema, in order; used by `gavel migrate --print` and the DDL tests. */
export function allSchemaStatements(opts: RenderOptions = {}): string[] {
  return [...renderDDL(gavelSchemaMigrations, opts), ...MIGRATIONS.flatMap((m) => migrationStatements(m, opts))];
}

export interface MigrateResult {
  applied: number[];
  current: number;
}

export async function migrate(client: ClickHouseClient, opts: RenderOptions = {}): Promise<MigrateResult> {
  // On a cluster, CREATE … ON CLUSTER waits for every host; skip it when the table is there,
  // so one node down does not stop collectors from starting.
  const ex = await client.query({ query: "EXISTS TABLE gavel_schema_migrations", format: "JSONEachRow" });
  const [exists] = await ex.json<{ result: number }>();
  if (!exists || Number(exists.result) !== 1) {
    for (const stmt of renderDDL(gavelSchemaMigrations, opts)) await client.command({ query: stmt });
  }
  const rs = await client.query({ query: "SELECT DISTINCT Version FROM gavel_schema_migrations", format: "JSONEachRow" });
  const done = new Set((await rs.json<{ Version: number }>()).map((r) => Number(r.Version)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const stmt of migrationStatements(m, opts)) {
      try {
        await client.command({ query: stmt });
      } catch (err) {
        throw new Error(
          `Schema migration ${m.version} (${m.name}) failed on: ${stmt.slice(0, 200)}… — ${(err as Error).message}. ` +
            `Fix the cause and start again; applied migrations are skipped and this one is retried.`,
        );
      }
    }
    await client.insert({ table: "gavel_schema_migrations", values: [{ Version: m.version, Name: m.name }], format: "JSONEachRow" });
    applied.push(m.version);
  }
  return { applied, current: Math.max(0, ...MIGRATIONS.map((m) => m.version)) };
}

/** Every table and materialized view the migrations create, by the name queries use. */
export function schemaObjectNames(): string[] {
  return MIGRATIONS.flatMap((m) => m.objects.flatMap((o) => (o.kind === "alter" ? [] : [o.name])));
}
