/**
 * The ClickHouse schema as data. Single-node DDL and clustered DDL (deploy/clickhouse)
 * are both rendered from these definitions, so they cannot drift apart.
 *
 * `otel_traces` and `otel_traces_trace_id_ts(_mv)` are exactly the OpenTelemetry
 * Collector clickhouseexporter's tables, so the official Collector can write into the
 * same store. Gavel's additions to `otel_traces` are MATERIALIZED columns added with
 * ALTER, which keeps exporter inserts (they name their columns) working.
 */
import {
  ATTR_TRACE_START,
  ATTR_TRACE_STATUS,
  TRACE_METADATA_SQL,
  TRACE_NAME_SQL,
  TRACE_SESSION_SQL,
  TRACE_TAGS_SQL,
  textFieldSql,
  tokenFieldSql,
} from "@gavel/conventions";

export interface TableDef {
  kind: "table";
  name: string;
  /** Column and index definitions, one per line. */
  columns: string[];
  engine: "MergeTree" | "ReplacingMergeTree" | "AggregatingMergeTree" | "SummingMergeTree";
  /** Version column for ReplacingMergeTree. */
  versionColumn?: string;
  partitionBy?: string;
  orderBy: string;
  ttl?: string;
  settings?: string;
  /** Sharding key of the Distributed table on a cluster. */
  shardingKey: string;
}

export interface ViewDef {
  kind: "view";
  name: string;
  to: string;
  select: string;
  /** Drop and create again: how a later migration changes a view's SELECT. */
  replace?: boolean;
}

export interface AlterDef {
  kind: "alter";
  table: string;
  /** e.g. `ADD COLUMN IF NOT EXISTS …`, applied one by one. */
  actions: string[];
  /** On a cluster, alter only the local tables (indexes: a Distributed table has none). */
  localOnly?: boolean;
}

export type SchemaObject = TableDef | ViewDef | AlterDef;

const TRACE_ATTR = (k: string) => `SpanAttributes['${k}']`;

// What a span's inputs, outputs, type, model and token counts are, in every convention
// Gavel reads: made from the one list in @gavel/conventions (docs/conventions.md).
export const INPUTS_EXPR = textFieldSql("inputs");
export const OUTPUTS_EXPR = textFieldSql("outputs");
export const SPAN_TYPE_EXPR = textFieldSql("spanType");
export const MODEL_EXPR = textFieldSql("model");
export const INPUT_TOKENS_EXPR = tokenFieldSql("inputTokens");
export const OUTPUT_TOKENS_EXPR = tokenFieldSql("outputTokens");
export const TOTAL_TOKENS_EXPR = tokenFieldSql("totalTokens");
/** As a column: falls back to the InputTokens and OutputTokens columns, computed already. */
const TOTAL_TOKENS_COLUMN_EXPR = tokenFieldSql("totalTokens", undefined, "InputTokens + OutputTokens");
export const EXPERIMENT_EXPR = `multiIf(${TRACE_ATTR("gavel.experiment_id")} != '', ${TRACE_ATTR(
  "gavel.experiment_id",
)}, ResourceAttributes['gavel.experiment_id'] != '', ResourceAttributes['gavel.experiment_id'], '0')`;

export const otelTraces: TableDef = {
  kind: "table",
  name: "otel_traces",
  columns: [
    "Timestamp DateTime64(9) CODEC(Delta, ZSTD(1))",
    "TraceId String CODEC(ZSTD(1))",
    "SpanId String CODEC(ZSTD(1))",
    "ParentSpanId String CODEC(ZSTD(1))",
    "TraceState String CODEC(ZSTD(1))",
    "SpanName LowCardinality(String) CODEC(ZSTD(1))",
    "SpanKind LowCardinality(String) CODEC(ZSTD(1))",
    "ServiceName LowCardinality(String) CODEC(ZSTD(1))",
    "ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))",
    "ScopeName String CODEC(ZSTD(1))",
    "ScopeVersion String CODEC(ZSTD(1))",
    "SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))",
    "Duration UInt64 CODEC(ZSTD(1))",
    "StatusCode LowCardinality(String) CODEC(ZSTD(1))",
    "StatusMessage String CODEC(ZSTD(1))",
    "Events Nested (Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String)) CODEC(ZSTD(1))",
    "Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String)) CODEC(ZSTD(1))",
    "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
    "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1",
    "INDEX idx_duration Duration TYPE minmax GRANULARITY 1",
  ],
  engine: "MergeTree",
  partitionBy: "toDate(Timestamp)",
  orderBy: "(ServiceName, SpanName, toDateTime(Timestamp))",
  // The exporter's columns and keys; granules of 1 024 rows instead of its 8 192, because one
  // trace's spans are read by the bloom filter on TraceId and each hit decompresses a whole
  // granule of attribute maps (see gavelTraces). Stores made before keep their granules.
  settings: "index_granularity = 1024, ttl_only_drop_parts = 1",
  shardingKey: "cityHash64(TraceId)",
};

/** Gavel's columns on otel_traces: what it filters and groups by, materialized once on insert. */
export const otelTracesGavelColumns: AlterDef = {
  kind: "alter",
  table: "otel_traces",
  actions: [
    `ADD COLUMN IF NOT EXISTS ExperimentId LowCardinality(String) MATERIALIZED ${EXPERIMENT_EXPR}`,
    `ADD COLUMN IF NOT EXISTS RunId String MATERIALIZED ${TRACE_ATTR("gavel.run_id")}`,
    `ADD COLUMN IF NOT EXISTS SpanType LowCardinality(String) MATERIALIZED ${SPAN_TYPE_EXPR}`,
    `ADD COLUMN IF NOT EXISTS GenAiModel LowCardinality(String) MATERIALIZED ${MODEL_EXPR}`,
    "ADD COLUMN IF NOT EXISTS IsRoot Bool MATERIALIZED ParentSpanId = ''",
  ],
};

export const otelTracesTraceIdTs: TableDef = {
  kind: "table",
  name: "otel_traces_trace_id_ts",
  columns: [
    "TraceId String CODEC(ZSTD(1))",
    "Start DateTime CODEC(Delta, ZSTD(1))",
    "End DateTime CODEC(Delta, ZSTD(1))",
    "INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1",
  ],
  engine: "MergeTree",
  partitionBy: "toDate(Start)",
  orderBy: "(TraceId, Start)",
  settings: "index_granularity = 8192, ttl_only_drop_parts = 1",
  shardingKey: "cityHash64(TraceId)",
};

export const otelTracesTraceIdTsMv: ViewDef = {
  kind: "view",
  name: "otel_traces_trace_id_ts_mv",
  to: "otel_traces_trace_id_ts",
  select: `SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
FROM otel_traces WHERE TraceId != '' GROUP BY TraceId`,
};

/**
 * One row per trace (its root span), ordered for the trace list of an experiment.
 * Fed by a materialized view, so spans written by the OTel Collector land here too.
 * ReplacingMergeTree collapses a root span re-sent by an exporter retry.
 */
export const gavelTraces: TableDef = {
  kind: "table",
  name: "gavel_traces",
  columns: [
    "ExperimentId LowCardinality(String)",
    "Timestamp DateTime64(9) CODEC(Delta, ZSTD(1))",
    "TraceId String CODEC(ZSTD(1))",
    "RootSpanId String CODEC(ZSTD(1))",
    "RunId String CODEC(ZSTD(1))",
    "Name LowCardinality(String)",
    "ServiceName LowCardinality(String)",
    "SpanType LowCardinality(String)",
    "Duration UInt64",
    "StatusCode LowCardinality(String)",
    "Inputs String CODEC(ZSTD(3))",
    "Outputs String CODEC(ZSTD(3))",
    "Tags Map(LowCardinality(String), String) CODEC(ZSTD(1))",
    "Metadata Map(LowCardinality(String), String) CODEC(ZSTD(1))",
    "IsJudge Bool",
    "IsEvaluation Bool",
    "InsertedAt DateTime64(3) DEFAULT now64(3)",
    "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
    "INDEX idx_run_id RunId TYPE bloom_filter(0.01) GRANULARITY 1",
  ],
  engine: "ReplacingMergeTree",
  partitionBy: "toYYYYMM(Timestamp)",
  orderBy: "(ExperimentId, Timestamp, TraceId)",
  // Granules of 1 024 rows, not 8 192: a page of summaries that are not neighbours in the
  // sorting key (slowest first, the review queue, the worker's candidates, one trace's page)
  // decompresses one granule of inputs and outputs per row, so smaller granules read 8× less
  // (measured on 1M traces: slowest 50 in 79 ms → 36 ms). Stores made before keep 8 192-row
  // granules, which ClickHouse cannot change in place (docs/architecture.md says how to rebuild).
  settings: "index_granularity = 1024",
  shardingKey: "cityHash64(TraceId)",
};

export const gavelTracesMv: ViewDef = {
  kind: "view",
  name: "gavel_traces_mv",
  to: "gavel_traces",
  select: `SELECT
  ExperimentId, Timestamp, TraceId, SpanId AS RootSpanId, RunId, ${TRACE_NAME_SQL} AS Name, ServiceName, SpanType,
  Duration, StatusCode,
  ${INPUTS_EXPR} AS Inputs,
  ${OUTPUTS_EXPR} AS Outputs,
  ${TRACE_TAGS_SQL} AS Tags,
  ${TRACE_METADATA_SQL} AS Metadata,
  SpanAttributes['gavel.judge'] = 'true' AS IsJudge,
  SpanAttributes['gavel.evaluation'] = 'true' AS IsEvaluation
FROM otel_traces WHERE ParentSpanId = '' AND SpanAttributes['gavel.assessment_span'] != 'true'`,
};

/**
 * Migration 12: each trace's session id (MLflow's `mlflow.trace.session` metadata,
 * OpenInference's `session.id`, `gen_ai.conversation.id`), for the online worker's
 * `{{ conversation }}` judges. Rows stored before read it from their metadata (the DEFAULT).
 */
export const gavelTracesSessionColumn: AlterDef = {
  kind: "alter",
  table: "gavel_traces",
  actions: ["ADD COLUMN IF NOT EXISTS SessionId String DEFAULT Metadata['mlflow.trace.session'] CODEC(ZSTD(1))"],
};
export const gavelTracesMvSessions: ViewDef = {
  ...gavelTracesMv,
  replace: true,
  select: gavelTracesMv.select.replace(
    "  SpanAttributes['gavel.evaluation'] = 'true' AS IsEvaluation\n",
    `  SpanAttributes['gavel.evaluation'] = 'true' AS IsEvaluation,\n  ${TRACE_SESSION_SQL} AS SessionId\n`,
  ),
};

/**
 * Migration 6: the columns and views that read every convention of @gavel/conventions. On a
 * store made before, SpanType and GenAiModel read fewer conventions and gavel_traces_mv fewer
 * payload attributes; MODIFY changes only the expression (no data is rewritten: parts written
 * before keep their values), and the view is made again.
 */
export const otelTracesConventionColumns: AlterDef = {
  kind: "alter",
  table: "otel_traces",
  actions: [
    `MODIFY COLUMN SpanType LowCardinality(String) MATERIALIZED ${SPAN_TYPE_EXPR}`,
    `MODIFY COLUMN GenAiModel LowCardinality(String) MATERIALIZED ${MODEL_EXPR}`,
    `ADD COLUMN IF NOT EXISTS InputTokens UInt64 MATERIALIZED ${INPUT_TOKENS_EXPR}`,
    `ADD COLUMN IF NOT EXISTS OutputTokens UInt64 MATERIALIZED ${OUTPUT_TOKENS_EXPR}`,
    `ADD COLUMN IF NOT EXISTS TotalTokens UInt64 MATERIALIZED ${TOTAL_TOKENS_COLUMN_EXPR}`,
  ],
};

export const gavelTracesMvConventions: ViewDef = { ...gavelTracesMv, replace: true };

/**
 * Migration 11: each LLM call's tokens counted once. The Vercel AI SDK repeats a call's usage
 * on the function span around it (`ai.generateText` around `ai.generateText.doGenerate`), so the
 * token columns now count on its provider-call spans only (TOKEN_SPAN_CONDITION in
 * @gavel/conventions). MODIFY changes only the expression: parts written before keep their values.
 */
export const otelTracesTokenColumnsOnce: AlterDef = {
  kind: "alter",
  table: "otel_traces",
  actions: [
    `MODIFY COLUMN InputTokens UInt64 MATERIALIZED ${INPUT_TOKENS_EXPR}`,
    `MODIFY COLUMN OutputTokens UInt64 MATERIALIZED ${OUTPUT_TOKENS_EXPR}`,
    `MODIFY COLUMN TotalTokens UInt64 MATERIALIZED ${TOTAL_TOKENS_COLUMN_EXPR}`,
  ],
};

/**
 * Migration 11 too: trace summaries read the trace-level attributes of other clients (trace name,
 * session and user as MLflow's metadata, Langfuse's tags and metadata; trace-attributes.ts in
 * @gavel/conventions). The view is made again; summaries stored before keep their values.
 */
export const gavelTracesMvTraceAttributes: ViewDef = { ...gavelTracesMv, replace: true };

export const gavelExperiments: TableDef = {
  kind: "table",
  name: "gavel_experiments",
  columns: [
    "ExperimentId String",
    "Name String",
    "CreatedAt DateTime64(3)",
    "Tags Map(String, String)",
    "Deleted Bool DEFAULT false",
    "Version UInt64",
  ],
  engine: "ReplacingMergeTree",
  versionColumn: "Version",
  orderBy: "ExperimentId",
  shardingKey: "cityHash64(ExperimentId)",
};

export const gavelRuns: TableDef = {
  kind: "table",
  name: "gavel_runs",
  columns: [
    "RunId String",
    "ExperimentId String",
    "Name String",
    "Kind LowCardinality(String) DEFAULT 'run'",
    "Status LowCardinality(String)",
    "StartTime DateTime64(3)",
    "EndTime Nullable(DateTime64(3))",
    "Metrics Map(String, Float64)",
    "Version UInt64",
  ],
  engine: "ReplacingMergeTree",
  versionColumn: "Version",
  orderBy: "(ExperimentId, RunId)",
  shardingKey: "cityHash64(RunId)",
};

/**
 * Traces linked to a run after the fact (MLflow's `link_traces_to_run`), besides the run each
 * trace names itself (`gavel.run_id` on its root). One row per (run, trace) once merged: linking
 * again or unlinking (`Unlinked = 1`) writes a newer version of the same key, and reads take the
 * latest version per key (`argMax(Unlinked, UpdatedAt)`), so they are right before the merge too.
 * A trace may be linked to several runs.
 */
export const gavelTraceRunLinks: TableDef = {
  kind: "table",
  name: "gavel_trace_run_links",
  columns: ["RunId String", "TraceId String", "ExperimentId String", "Unlinked UInt8", "UpdatedAt DateTime64(9)"],
  engine: "ReplacingMergeTree",
  versionColumn: "UpdatedAt",
  orderBy: "(RunId, TraceId)",
  // With its trace, like everything of a trace: a shard answers `IN (links)` from its own rows.
  shardingKey: "cityHash64(TraceId)",
};

export const gavelSchemaMigrations: TableDef = {
  kind: "table",
  name: "gavel_schema_migrations",
  columns: ["Version UInt32", "Name String", "AppliedAt DateTime64(3) DEFAULT now64(3)"],
  engine: "ReplacingMergeTree",
  orderBy: "Version",
  shardingKey: "Version",
};

export interface RenderOptions {
  /** Render for a ClickHouse cluster: Replicated* local tables plus Distributed tables. */
  cluster?: string;
  /** Database name for the Distributed engine; default currentDatabase(). */
  database?: string;
}

/**
 * DDL statements for one schema object. On a cluster, each table becomes
 * `<name>_local` (Replicated engine, ON CLUSTER) plus `<name>` as a Distributed
 * table sharded by the table's key, and views write into the local tables so
 * each shard computes its own rows.
 */
export function renderDDL(obj: SchemaObject, opts: RenderOptions = {}): string[] {
  const c = opts.cluster;
  const onCluster = c ? ` ON CLUSTER ${c}` : "";
  const local = (name: string) => (c ? `${name}_local` : name);
  if (obj.kind === "alter") {
    if (!c) return obj.actions.map((a) => `ALTER TABLE ${obj.table} ${a}`);
    // On a cluster the column must exist on the local and the Distributed table alike, with
    // the same action: a Distributed table forwards every column it does not know as
    // MATERIALIZED, so a plain column there makes each shard refuse every insert with
    // "Cannot insert column …, because it is MATERIALIZED column" (ClickHouse #16897).
    return [
      ...obj.actions.map((a) => `ALTER TABLE ${local(obj.table)}${onCluster} ${a}`),
      ...(obj.localOnly ? [] : obj.actions.map((a) => `ALTER TABLE ${obj.table}${onCluster} ${a}`)),
    ];
  }
  if (obj.kind === "view") {
    return [
      ...(obj.replace ? [`DROP VIEW IF EXISTS ${obj.name}${onCluster} SYNC`] : []),
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${obj.name}${onCluster} TO ${local(obj.to)} AS ${
        c ? obj.select.replace(/\bFROM (\w+)/, (_m, t: string) => `FROM ${local(t)}`) : obj.select
      }`,
    ];
  }
  const version = obj.versionColumn ? obj.versionColumn : "";
  const engine = c
    ? `Replicated${obj.engine}('/clickhouse/tables/{shard}/{database}/${local(obj.name)}', '{replica}'${version ? `, ${version}` : ""})`
    : `${obj.engine}(${version})`;
  const tail = [
    `ENGINE = ${engine}`,
    obj.partitionBy ? `PARTITION BY ${obj.partitionBy}` : "",
    `ORDER BY ${obj.orderBy}`,
    obj.ttl ? `TTL ${obj.ttl}` : "",
    obj.settings ? `SETTINGS ${obj.settings}` : "",
  ].filter(Boolean);
  const create = `CREATE TABLE IF NOT EXISTS ${local(obj.name)}${onCluster} (\n  ${obj.columns.join(",\n  ")}\n) ${tail.join("\n")}`;
  if (!c) return [create];
  const db = opts.database ? `'${opts.database}'` : "currentDatabase()";
  return [
    create,
    `CREATE TABLE IF NOT EXISTS ${obj.name}${onCluster} AS ${local(obj.name)} ENGINE = Distributed('${c}', ${db}, '${local(obj.name)}', ${obj.shardingKey})`,
  ];
}

/**
 * Assessments (judge results, human labels, expectations) projected from the
 * `gen_ai.evaluation.result` span events in otel_traces. Keyed by assessment id:
 * an override, update or delete is a newer event with the same id, and the latest
 * version wins (read with FINAL or argMax). Events from other GenAI-semconv tools
 * that carry no Gavel id get a stable one from their trace, span, name and time.
 */
export const gavelAssessments: TableDef = {
  kind: "table",
  name: "gavel_assessments",
  columns: [
    "AssessmentId String",
    "TraceId String",
    "SpanId String",
    "Name LowCardinality(String)",
    "Kind LowCardinality(String)",
    "SourceType LowCardinality(String)",
    "SourceId String",
    "Value String",
    "ScoreValue Nullable(Float64)",
    "ScoreLabel String",
    "Rationale String",
    "Error String",
    "Valid Bool",
    "Deleted Bool",
    "Overrides String",
    "RunId String",
    "JudgeVersion UInt32",
    "Metadata String",
    "CreatedAt DateTime64(3)",
    "Version DateTime64(9)",
    "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
  ],
  engine: "ReplacingMergeTree",
  versionColumn: "Version",
  orderBy: "(Name, TraceId, AssessmentId)",
  shardingKey: "cityHash64(TraceId)",
};

const EV = (k: string) => `ev_attrs['${k}']`;
export const gavelAssessmentsMv: ViewDef = {
  kind: "view",
  name: "gavel_assessments_mv",
  to: "gavel_assessments",
  select: `SELECT
  if(${EV("gavel.assessment.id")} != '', ${EV("gavel.assessment.id")}, lower(hex(cityHash64(TraceId, SpanId, ev_name, ev_ts)))) AS AssessmentId,
  TraceId,
  if(${EV("gavel.assessment.span_id")} != '', ${EV("gavel.assessment.span_id")}, ParentSpanId) AS SpanId,
  ${EV("gen_ai.evaluation.name")} AS Name,
  if(${EV("gavel.assessment.kind")} != '', ${EV("gavel.assessment.kind")}, 'feedback') AS Kind,
  if(${EV("gavel.assessment.source_type")} != '', upper(${EV("gavel.assessment.source_type")}), 'CODE') AS SourceType,
  ${EV("gavel.assessment.source_id")} AS SourceId,
  if(${EV("gavel.assessment.value")} != '', ${EV("gavel.assessment.value")},
     if(${EV("gen_ai.evaluation.score.label")} != '', toJSONString(${EV("gen_ai.evaluation.score.label")}), ${EV("gen_ai.evaluation.score.value")})) AS Value,
  toFloat64OrNull(${EV("gen_ai.evaluation.score.value")}) AS ScoreValue,
  ${EV("gen_ai.evaluation.score.label")} AS ScoreLabel,
  ${EV("gen_ai.evaluation.explanation")} AS Rationale,
  ${EV("gavel.assessment.error")} AS Error,
  ${EV("gavel.assessment.valid")} != 'false' AS Valid,
  ${EV("gavel.assessment.deleted")} = 'true' AS Deleted,
  ${EV("gavel.assessment.overrides")} AS Overrides,
  ${EV("gavel.assessment.run_id")} AS RunId,
  toUInt32OrZero(${EV("gavel.assessment.judge_version")}) AS JudgeVersion,
  ${EV("gavel.assessment.metadata")} AS Metadata,
  if(${EV("gavel.assessment.created_ms")} != '', fromUnixTimestamp64Milli(toInt64OrZero(${EV("gavel.assessment.created_ms")})), toDateTime64(ev_ts, 3)) AS CreatedAt,
  ev_ts AS Version
FROM otel_traces
ARRAY JOIN Events.Timestamp AS ev_ts, Events.Name AS ev_name, Events.Attributes AS ev_attrs
WHERE has(Events.Name, 'gen_ai.evaluation.result') AND ev_name = 'gen_ai.evaluation.result'`,
};

/**
 * Migration 10: the experiment of each assessment, from the span that carries it (Gavel's writers
 * put the trace's experiment on their assessment spans; other tools' events sit on the app's own
 * spans), and the trace's start and status where Gavel's writer knew them. The review queue then
 * selects, orders and tiers an experiment's assessments without reading its trace list. Rows
 * stored before, assessments written before their trace arrived and other tools' events lack
 * some of these ('' or '0', 0, ''): readers look those up in gavel_traces.
 */
export const gavelAssessmentsExperimentColumn: AlterDef = {
  kind: "alter",
  table: "gavel_assessments",
  actions: [
    "ADD COLUMN IF NOT EXISTS ExperimentId LowCardinality(String) DEFAULT ''",
    // The trace's start and status as the writer saw them (0 and '' when it did not know them).
    "ADD COLUMN IF NOT EXISTS TraceStart DateTime64(9) DEFAULT 0",
    "ADD COLUMN IF NOT EXISTS TraceStatus LowCardinality(String) DEFAULT ''",
  ],
};

export const gavelAssessmentsMvExperiment: ViewDef = {
  ...gavelAssessmentsMv,
  replace: true,
  select: gavelAssessmentsMv.select.replace(
    "  ev_ts AS Version\n",
    `  ev_ts AS Version,
  ExperimentId,
  if(${TRACE_ATTR(ATTR_TRACE_START)} != '', fromUnixTimestamp64Nano(toInt64OrZero(${TRACE_ATTR(ATTR_TRACE_START)})), toDateTime64(0, 9)) AS TraceStart,
  ${TRACE_ATTR(ATTR_TRACE_STATUS)} AS TraceStatus
`,
  ),
};

/**
 * Registered judges (scorers): one row per version, with its serialised judge (instructions,
 * model, value type, optimizer memory), the report of the alignment that produced it, and its
 * online-sampling config. Updates (sampling, delete) are newer rows of the same version.
 */
export const gavelScorers: TableDef = {
  kind: "table",
  name: "gavel_scorers",
  columns: [
    "ExperimentId String",
    "Name String",
    "Version UInt32",
    "Judge String",
    "Report String",
    "AlignmentRunId String",
    "SampleRate Float64",
    "Filter String",
    "CreatedAt DateTime64(3)",
    "Deleted Bool DEFAULT false",
    "UpdatedAt DateTime64(9)",
  ],
  engine: "ReplacingMergeTree",
  versionColumn: "UpdatedAt",
  orderBy: "(ExperimentId, Name, Version)",
  shardingKey: "cityHash64(ExperimentId)",
};

/** Alignment runs: what was aligned, with which optimizer, its report, and the version it registered. */
export const gavelAlignmentRuns: TableDef = {
  kind: "table",
  name: "gavel_alignment_runs",
  columns: [
    "AlignmentId String",
    "ExperimentId String",
    "JudgeName String",
    "BaseVersion UInt32",
    "Optimizer LowCardinality(String)",
    "Status LowCardinality(String)",
    "Report String",
    "AlignedJudge String",
    "RegisteredVersion UInt32",
    "Error String",
    "StartedAt DateTime64(3)",
    "EndedAt Nullable(DateTime64(3))",
    "UpdatedAt DateTime64(9)",
  ],
  engine: "ReplacingMergeTree",
  versionColumn: "UpdatedAt",
  orderBy: "(ExperimentId, AlignmentId)",
  shardingKey: "cityHash64(ExperimentId)",
};

/**
 * When each trace last received a span, by arrival (server clock), for the online worker's
 * "complete" test: the root has arrived and no span came for the settle period. otel_traces
 * has only the spans' own (client) times, which say nothing about arrival. Assessment spans
 * are left out, so storing a judgement does not make its trace look active again.
 * Read with max(LastSeen) per TraceId: rows of one trace merge only within a partition.
 * Traces older than the TTL have no row; their root's InsertedAt then stands in.
 */
export const gavelTraceActivity: TableDef = {
  kind: "table",
  name: "gavel_trace_activity",
  columns: ["TraceId String CODEC(ZSTD(1))", "LastSeen DateTime64(3) CODEC(Delta, ZSTD(1))"],
  engine: "ReplacingMergeTree",
  versionColumn: "LastSeen",
  partitionBy: "toDate(LastSeen)",
  orderBy: "TraceId",
  ttl: "toDateTime(LastSeen) + INTERVAL 7 DAY",
  settings: "ttl_only_drop_parts = 1",
  shardingKey: "cityHash64(TraceId)",
};

/**
 * Migration 9: the online worker asks which traces received a span in the last few seconds
 * (`LastSeen > now - settle`). Rows are sorted by TraceId, so only parts written or merged
 * lately hold such times; a min/max of LastSeen per granule lets every older part be skipped,
 * instead of joining every trace of the lookback window with this table. MATERIALIZE builds
 * the index for the parts a store already has (a background mutation).
 */
export const gavelTraceActivityLastSeenIndex: AlterDef = {
  kind: "alter",
  table: "gavel_trace_activity",
  actions: ["ADD INDEX IF NOT EXISTS idx_last_seen LastSeen TYPE minmax GRANULARITY 1", "MATERIALIZE INDEX idx_last_seen"],
  localOnly: true,
};

export const gavelTraceActivityMv: ViewDef = {
  kind: "view",
  name: "gavel_trace_activity_mv",
  to: "gavel_trace_activity",
  select: `SELECT TraceId, max(now64(3)) AS LastSeen
FROM otel_traces WHERE TraceId != '' AND SpanAttributes['gavel.assessment_span'] != 'true' GROUP BY TraceId`,
};

/**
 * Trace counters per experiment, kept by a materialized view on gavel_traces, so the
 * experiment list (the UI's first screen) reads a few small rows instead of counting a million
 * trace ids. `uniq` is exact up to ~65 000 traces an experiment and within ~1 % beyond; a root
 * span stored twice (an exporter retry) counts once, as it does in the trace list.
 */
export const gavelExperimentStats: TableDef = {
  kind: "table",
  name: "gavel_experiment_stats",
  columns: [
    "ExperimentId LowCardinality(String)",
    "Traces AggregateFunction(uniq, String)",
    "LastTimestamp SimpleAggregateFunction(max, DateTime64(9))",
  ],
  engine: "AggregatingMergeTree",
  orderBy: "ExperimentId",
  shardingKey: "cityHash64(ExperimentId)",
};

const EXPERIMENT_STATS_SELECT = `SELECT ExperimentId, uniqState(TraceId) AS Traces, max(Timestamp) AS LastTimestamp
FROM gavel_traces WHERE NOT IsJudge GROUP BY ExperimentId`;

export const gavelExperimentStatsMv: ViewDef = {
  kind: "view",
  name: "gavel_experiment_stats_mv",
  to: "gavel_experiment_stats",
  select: EXPERIMENT_STATS_SELECT,
};

/**
 * LLM token use per day, experiment and model (the token columns of migration 6, so every
 * client's token attributes count), kept by a materialized view on otel_traces for dashboards (`SELECT Day, Model, sum(InputTokens) FROM gavel_token_usage_daily GROUP BY …`).
 * Sums, like a query over the spans: a span stored twice counts twice in both.
 */
export const gavelTokenUsageDaily: TableDef = {
  kind: "table",
  name: "gavel_token_usage_daily",
  columns: [
    "Day Date",
    "ExperimentId LowCardinality(String)",
    "Model LowCardinality(String)",
    "Spans UInt64",
    "InputTokens UInt64",
    "OutputTokens UInt64",
  ],
  engine: "SummingMergeTree",
  partitionBy: "toYYYYMM(Day)",
  orderBy: "(Day, ExperimentId, Model)",
  shardingKey: "cityHash64(Day, Model)",
};

const TOKEN_USAGE_SELECT = `SELECT toDate(Timestamp) AS Day, ExperimentId, GenAiModel AS Model, count() AS Spans,
  sum(InputTokens) AS InputTokens, sum(OutputTokens) AS OutputTokens
FROM otel_traces WHERE GenAiModel != '' GROUP BY Day, ExperimentId, Model`;

export const gavelTokenUsageDailyMv: ViewDef = {
  kind: "view",
  name: "gavel_token_usage_daily_mv",
  to: "gavel_token_usage_daily",
  select: TOKEN_USAGE_SELECT,
};

/**
 * Fills the counters from the rows stored before their views existed (migrating a store in
 * place). Each INSERT … SELECT reads the parts that exist when it starts, and each view counts
 * what is inserted after its creation: only spans inserted between a view's creation and its
 * backfill (none when the collector migrates before it ingests) would count twice in the token
 * sums; the experiment counters are idempotent (uniq, max).
 */
export const readPathBackfill = [`INSERT INTO gavel_experiment_stats ${EXPERIMENT_STATS_SELECT}`, `INSERT INTO gavel_token_usage_daily ${TOKEN_USAGE_SELECT}`];
