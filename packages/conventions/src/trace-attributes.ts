/**
 * Trace-level attributes that clients write on spans: the trace's name, session, user, tags and
 * metadata. Read on the trace's root span by the trace summaries (collector/src/store/schema.ts,
 * gavel_traces_mv), the session list (collector/src/store/queries/sessions.ts) and the judges'
 * sessions (packages/judges/src/session.ts); docs/conventions.md, "Trace name, session, user,
 * tags and metadata". For each, the keys are tried in order and the first non-empty one wins.
 */
import { ATTR_METADATA_PREFIX, ATTR_TAG_PREFIX } from "./gavel-attributes.js";
import { sqlString } from "./sql.js";

/** MLflow's trace metadata keys (TraceMetadataKey.TRACE_SESSION, TRACE_USER): where Gavel keeps a trace's session and user. */
export const MLFLOW_TRACE_SESSION = "mlflow.trace.session";
export const MLFLOW_TRACE_USER = "mlflow.trace.user";

/** The trace's name, instead of its root span's name (Langfuse's `name` of a trace, `propagateAttributes({ traceName })`). */
export const TRACE_NAME_ATTRIBUTES: readonly string[] = ["langfuse.trace.name"];

/**
 * The session id: MLflow's metadata (set through Gavel's metadata prefix, or as the attribute),
 * OpenInference's and Langfuse's `session.id` (Langfuse's older `langfuse.session.id`), the
 * GenAI conventions' `gen_ai.conversation.id`.
 */
export const TRACE_SESSION_ATTRIBUTES: readonly string[] = [
  `${ATTR_METADATA_PREFIX}${MLFLOW_TRACE_SESSION}`,
  MLFLOW_TRACE_SESSION,
  "session.id",
  "langfuse.session.id",
  "gen_ai.conversation.id",
];

/** The user id: MLflow's metadata, OpenInference's and Langfuse's `user.id` (Langfuse's older `langfuse.user.id`). */
export const TRACE_USER_ATTRIBUTES: readonly string[] = [
  `${ATTR_METADATA_PREFIX}${MLFLOW_TRACE_USER}`,
  MLFLOW_TRACE_USER,
  "user.id",
  "langfuse.user.id",
];

/** Langfuse's trace metadata: `langfuse.trace.metadata.<key>` becomes metadata `<key>` (Gavel's own `gavel.metadata.<key>` wins). */
export const LANGFUSE_TRACE_METADATA_PREFIX = "langfuse.trace.metadata.";
/** Langfuse's trace tags, a list of labels: each becomes a tag with an empty value (Gavel's own `gavel.tag.<key>` wins). */
export const LANGFUSE_TRACE_TAGS = "langfuse.trace.tags";

/** The first non-empty value of `keys` in `attributes`, or undefined. */
export function firstAttribute(attributes: Readonly<Record<string, unknown>> | undefined, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = attributes?.[k];
    if (typeof v === "string" && v !== "") return v;
    if (typeof v === "number" || typeof v === "bigint") return String(v);
  }
  return undefined;
}

/** The same in SQL over an otel_traces row: the first non-empty of `keys` in SpanAttributes, '' when none. */
export function firstAttributeSql(keys: readonly string[]): string {
  const a = (k: string) => `SpanAttributes[${sqlString(k)}]`;
  return `multiIf(${keys.flatMap((k) => [`${a(k)} != ''`, a(k)]).join(", ")}, '')`;
}

/** The attributes under `prefix`, keyed by the rest of their key. */
const underPrefixSql = (prefix: string) =>
  `mapApply((k, v) -> (substring(k, ${prefix.length + 1}), v), mapFilter((k, v) -> startsWith(k, ${sqlString(prefix)}), SpanAttributes))`;

/** The trace's name from a root span row: the first trace-name attribute, else the span's name. */
export const TRACE_NAME_SQL = `if(${firstAttributeSql(TRACE_NAME_ATTRIBUTES)} != '', ${firstAttributeSql(TRACE_NAME_ATTRIBUTES)}, SpanName)`;

/** The trace's session id from a root span row (TRACE_SESSION_ATTRIBUTES); '' when it has none. */
export const TRACE_SESSION_SQL = firstAttributeSql(TRACE_SESSION_ATTRIBUTES);

/** The trace's tags from a root span row: Langfuse's labels (value ''), then `gavel.tag.<key>`, which win. */
export const TRACE_TAGS_SQL = `mapUpdate(
    CAST(arrayMap(t -> (t, ''), arrayFilter(t -> t != '', JSONExtract(SpanAttributes[${sqlString(LANGFUSE_TRACE_TAGS)}], 'Array(String)'))), 'Map(String, String)'),
    CAST(${underPrefixSql(ATTR_TAG_PREFIX)}, 'Map(String, String)'))`;

/**
 * The trace's metadata from a root span row: Langfuse's trace metadata, then the session and user
 * under MLflow's keys, then `gavel.metadata.<key>`, each overriding the one before.
 */
export const TRACE_METADATA_SQL = `mapUpdate(mapUpdate(
    CAST(${underPrefixSql(LANGFUSE_TRACE_METADATA_PREFIX)}, 'Map(String, String)'),
    mapFilter((k, v) -> v != '', map(${sqlString(MLFLOW_TRACE_SESSION)}, ${TRACE_SESSION_SQL}, ${sqlString(MLFLOW_TRACE_USER)}, ${firstAttributeSql(TRACE_USER_ATTRIBUTES)}))),
    CAST(${underPrefixSql(ATTR_METADATA_PREFIX)}, 'Map(String, String)'))`;
