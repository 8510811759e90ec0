/**
 * Migration 11 on real chDB: a store as version 10 left it (its token columns read the Vercel AI
 * SDK's usage on every span, its trace summaries name a trace by its root span and keep only
 * gavel.tag.* / gavel.metadata.*) is migrated in place. Spans stored after count each LLM call
 * once and take Langfuse's trace name, tags, metadata and every client's session and user;
 * spans stored before keep their values (MODIFY rewrites no data), as docs/conventions.md says.
 */
import { TRACE_METADATA_SQL, TRACE_NAME_SQL, TRACE_TAGS_SQL, tokenFieldSql } from "@gavel/conventions";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreClient, type StoreClient } from "./clickhouse.js";
import { MIGRATIONS, migrate, migrationStatements } from "./migrations.js";
import { gavelSchemaMigrations, gavelTracesMv, renderDDL } from "./schema.js";

let dir: string;
let store: StoreClient;

const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");
const T0 = BigInt(Date.UTC(2026, 10, 1)) * 1_000_000n;

const OLD_TAGS = "mapApply((k, v) -> (substring(k, 11), v), mapFilter((k, v) -> startsWith(k, 'gavel.tag.'), SpanAttributes))";
const OLD_METADATA = "mapApply((k, v) -> (substring(k, 16), v), mapFilter((k, v) -> startsWith(k, 'gavel.metadata.'), SpanAttributes))";

/** An AI SDK call (ai.generateText around ai.generateText.doGenerate) and a Langfuse root, in trace `n` and `n + 1`. */
function spans(n: number): Record<string, unknown>[] {
  const row = (trace: number, span: number, parent: number | undefined, name: string, attrs: Record<string, string>) => ({
    Timestamp: (T0 + BigInt(span)).toString(),
    TraceId: hex(trace, 32),
    SpanId: hex(span, 16),
    ParentSpanId: parent === undefined ? "" : hex(parent, 16),
    SpanName: name,
    SpanKind: "Internal",
    ServiceName: "app",
    SpanAttributes: attrs,
    Duration: "1000",
    StatusCode: "Ok",
  });
  const usage = { "ai.model.id": "gpt-4o-mini", "ai.usage.inputTokens": "17", "ai.usage.outputTokens": "5", "ai.usage.totalTokens": "22" };
  return [
    row(n, n * 10 + 1, undefined, "ai.generateText", { "ai.operationId": "ai.generateText", ...usage }),
    row(n, n * 10 + 2, n * 10 + 1, "ai.generateText.doGenerate", { "ai.operationId": "ai.generateText.doGenerate", ...usage }),
    row(n + 1, n * 10 + 3, undefined, "observe-span", {
      "langfuse.trace.name": "support-chat",
      "session.id": "s-1",
      "user.id": "u-1",
      "langfuse.trace.tags": '["beta"]',
      "langfuse.trace.metadata.plan": "pro",
    }),
  ];
}

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await store.client.query({ query: `${query} SETTINGS output_format_json_quote_64bit_integers = 0`, query_params: params, format: "JSONEachRow" });
  return rs.json<T>();
}

const tokens = (trace: number) =>
  rows<{ i: number; o: number; t: number }>("SELECT sum(InputTokens) AS i, sum(OutputTokens) AS o, sum(TotalTokens) AS t FROM otel_traces WHERE TraceId = {id:String}", {
    id: hex(trace, 32),
  }).then((r) => r[0]);
const summary = (trace: number) =>
  rows<{ Name: string; Tags: Record<string, string>; Metadata: Record<string, string> }>("SELECT Name, Tags, Metadata FROM gavel_traces WHERE TraceId = {id:String}", {
    id: hex(trace, 32),
  }).then((r) => r[0]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gavel-migration-11-"));
  store = await openStoreClient({ dataDir: dir });
  // A store as version 10 left it: its columns (no span condition) and view as they were then.
  for (const stmt of renderDDL(gavelSchemaMigrations)) await store.client.command({ query: stmt });
  for (const m of MIGRATIONS.filter((m) => m.version <= 10)) {
    for (const stmt of migrationStatements(m)) await store.client.command({ query: stmt });
    await store.client.insert({ table: "gavel_schema_migrations", values: [{ Version: m.version, Name: m.name }], format: "JSONEachRow" });
  }
  for (const [column, field] of [["InputTokens", "inputTokens"], ["OutputTokens", "outputTokens"]] as const) {
    await store.client.command({ query: `ALTER TABLE otel_traces MODIFY COLUMN ${column} UInt64 MATERIALIZED ${tokenFieldSql(field, undefined, undefined, null)}` });
  }
  await store.client.command({ query: `ALTER TABLE otel_traces MODIFY COLUMN TotalTokens UInt64 MATERIALIZED ${tokenFieldSql("totalTokens", undefined, "InputTokens + OutputTokens", null)}` });
  const oldView = gavelTracesMv.select.replace(`${TRACE_NAME_SQL} AS Name`, "SpanName AS Name").replace(TRACE_TAGS_SQL, OLD_TAGS).replace(TRACE_METADATA_SQL, OLD_METADATA);
  expect(oldView).not.toBe(gavelTracesMv.select);
  await store.client.command({ query: "DROP VIEW gavel_traces_mv SYNC" });
  await store.client.command({ query: `CREATE MATERIALIZED VIEW gavel_traces_mv TO gavel_traces AS ${oldView}` });
  await store.client.insert({ table: "otel_traces", values: spans(1), format: "JSONEachRow" });
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("migration 11", () => {
  it("version 10 counted the AI SDK call twice and named the trace by its root span", async () => {
    expect(await tokens(1)).toEqual({ i: 34, o: 10, t: 44 });
    expect(await summary(2)).toEqual({ Name: "observe-span", Tags: {}, Metadata: {} });
  });

  it("applies in place; later spans count each call once and take the trace attributes; earlier ones keep their values", async () => {
    // 11 and the migrations after it (12: the session-id column, which this test does not need).
    expect((await migrate(store.client)).applied).toEqual(MIGRATIONS.filter((m) => m.version >= 11).map((m) => m.version));
    await store.client.insert({ table: "otel_traces", values: spans(3), format: "JSONEachRow" });
    expect(await tokens(3)).toEqual({ i: 17, o: 5, t: 22 });
    expect(await summary(4)).toEqual({
      Name: "support-chat",
      Tags: { beta: "" },
      Metadata: { plan: "pro", "mlflow.trace.session": "s-1", "mlflow.trace.user": "u-1" },
    });
    // Stored before: unchanged (docs/conventions.md tells how to recount them).
    expect(await tokens(1)).toEqual({ i: 34, o: 10, t: 44 });
    expect((await summary(2))?.Name).toBe("observe-span");
    // Running it again changes nothing.
    expect((await migrate(store.client)).applied).toEqual([]);
  });

  it("recounts the spans stored before with MATERIALIZE COLUMN, as docs/conventions.md says", async () => {
    // The statement of the docs, waiting for the mutation (a SETTINGS clause: settings passed
    // with the request would stay on the chDB session, NOTES.md).
    await store.client.command({
      query: "ALTER TABLE otel_traces MATERIALIZE COLUMN InputTokens, MATERIALIZE COLUMN OutputTokens, MATERIALIZE COLUMN TotalTokens SETTINGS mutations_sync = 1",
    });
    expect(await tokens(1)).toEqual({ i: 17, o: 5, t: 22 });
    expect(await tokens(3)).toEqual({ i: 17, o: 5, t: 22 });
  });
});
