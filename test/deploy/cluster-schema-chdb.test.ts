/**
 * Runs the clustered schema, not just parses it. No ClickHouse server or Keeper exists here,
 * so chDB plays a cluster named `gavel` with one shard: this process itself (localhost on its
 * own tcp_port counts as local, so the Distributed tables insert and read without a network).
 * What needs Keeper is rewritten, and nothing else: `ON CLUSTER` is dropped and `Replicated*`
 * engines become their plain engines with the same version column.
 *
 * What this proves that parsing cannot: spans inserted through the Distributed `otel_traces`
 * with the collector's own column list are accepted (the MATERIALIZED-column trap, see
 * renderDDL), Gavel's materialized columns are computed, and the materialized views fill the
 * local gavel_traces, otel_traces_trace_id_ts and gavel_assessments, readable through the
 * Distributed tables. (Two shards cannot be played here: chDB has no TCP listener, and a local
 * shard that is not the Distributed table's own database is reached over the network.)
 *
 * chDB binds one engine per process and reads its config once, so this file must not share a
 * process with another chDB test; vitest's forks pool runs each file in its own process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Session } from "chdb";
import { allSchemaStatements } from "../../collector/src/store/migrations.js";
import { SPAN_COLUMNS } from "../../collector/src/store/rowbinary.js";

const CLUSTER = "gavel";
const DB = "gavel";

let dir: string;
let session: Session;

function run(sql: string): string {
  return session.query(sql, "JSONEachRow");
}
function rows<T>(sql: string): T[] {
  return run(sql)
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}
const count = (sql: string) => Number(rows<{ n: string }>(sql)[0]!.n);

/** Keeper-free form of one clustered statement. */
function withoutKeeper(stmt: string): string {
  return stmt
    .replaceAll(` ON CLUSTER ${CLUSTER}`, "")
    .replace(/Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, (\w+))?\)/, (_m, engine: string, version?: string) => `${engine}(${version ?? ""})`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gavel-cluster-"));
  writeFileSync(
    join(dir, "config.xml"),
    `<clickhouse><tcp_port>9000</tcp_port><remote_servers><${CLUSTER}><shard><internal_replication>true</internal_replication>` +
      `<replica><host>localhost</host><port>9000</port></replica></shard></${CLUSTER}></remote_servers></clickhouse>`,
  );
  session = new Session(join(dir, "data"), { connectionArgs: [`--config-file=${join(dir, "config.xml")}`] });
  run(`CREATE DATABASE IF NOT EXISTS ${DB}`);
  run(`USE ${DB}`);
  for (const stmt of allSchemaStatements({ cluster: CLUSTER })) run(withoutKeeper(stmt));
});

afterAll(() => {
  session?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("clustered schema run in chDB as a one-shard cluster", () => {
  it("plays the cluster locally", () => {
    const c = rows<{ is_local: number }>(`SELECT is_local FROM system.clusters WHERE cluster = '${CLUSTER}'`);
    expect(c.map((r) => Number(r.is_local))).toEqual([1]);
  });

  it("gives each Distributed table exactly the columns of its local table, MATERIALIZED expressions included", () => {
    const tables = rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${DB}' AND engine = 'Distributed' ORDER BY name`).map((r) => r.name);
    const expected = allSchemaStatements({ cluster: CLUSTER })
      .map((s) => /^CREATE TABLE IF NOT EXISTS (\w+)_local /.exec(s)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort();
    expect(tables).toEqual(expected);
    expect(tables).toContain("otel_traces");
    const cols = (t: string) =>
      rows<Record<string, string>>(
        `SELECT name, type, default_kind, default_expression FROM system.columns WHERE database = '${DB}' AND table = '${t}' ORDER BY position`,
      );
    for (const t of tables) expect(cols(t), t).toEqual(cols(`${t}_local`));
  });

  it("accepts spans through the Distributed otel_traces with the collector's column list, and the views fill in", () => {
    const traces = Array.from({ length: 20 }, (_, i) => `trace${String(i).padStart(4, "0")}`);
    const spans = traces.flatMap((traceId, i) => {
      const t = `2026-01-02 03:04:${String(i % 60).padStart(2, "0")}.000000000`;
      const root = {
        Timestamp: t, TraceId: traceId, SpanId: `${traceId}-root`, ParentSpanId: "", TraceState: "",
        SpanName: "answer", SpanKind: "SPAN_KIND_INTERNAL", ServiceName: "support-app",
        ResourceAttributes: { "service.name": "support-app" }, ScopeName: "gavel", ScopeVersion: "0.1.0",
        SpanAttributes: { "gavel.experiment_id": "exp1", "gavel.run_id": "run1", "gavel.inputs": `{"q":${i}}`, "gavel.outputs": '"ok"', "mlflow.spanType": '"CHAIN"', "gen_ai.request.model": "m1" },
        Duration: 1000, StatusCode: "STATUS_CODE_OK", StatusMessage: "",
        "Events.Timestamp": [] as string[], "Events.Name": [] as string[], "Events.Attributes": [] as Record<string, string>[],
        "Links.TraceId": [], "Links.SpanId": [], "Links.TraceState": [], "Links.Attributes": [],
      };
      const evaluation = {
        ...root,
        SpanId: `${traceId}-eval`, ParentSpanId: `${traceId}-root`, SpanName: "evaluation",
        SpanAttributes: { "gavel.assessment_span": "true" },
        "Events.Timestamp": [t], "Events.Name": ["gen_ai.evaluation.result"],
        "Events.Attributes": [{ "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": "1", "gavel.assessment.id": `a-${traceId}`, "gavel.assessment.source_type": "LLM_JUDGE" }],
      };
      return [root, evaluation];
    });
    const columns = SPAN_COLUMNS.map((c) => (c.includes(".") ? `\`${c}\`` : c)).join(", ");
    // Foreground, as the deploy profile sets it: the insert returns once the shard has the rows.
    run(`INSERT INTO otel_traces (${columns}) SETTINGS distributed_foreground_insert = 1 FORMAT JSONEachRow\n${spans.map((s) => JSON.stringify(s)).join("\n")}`);

    expect(count(`SELECT count() AS n FROM otel_traces_local`)).toBe(spans.length);
    const materialized = rows<Record<string, unknown>>(
      `SELECT ExperimentId, RunId, SpanType, GenAiModel, IsRoot FROM otel_traces WHERE SpanName = 'answer' LIMIT 1`,
    );
    expect(materialized[0]).toEqual({ ExperimentId: "exp1", RunId: "run1", SpanType: "CHAIN", GenAiModel: "m1", IsRoot: true });
    expect(count(`SELECT count() AS n FROM gavel_traces FINAL WHERE ExperimentId = 'exp1'`)).toBe(traces.length);
    expect(count(`SELECT count() AS n FROM otel_traces_trace_id_ts`)).toBe(traces.length);
    expect(count(`SELECT count() AS n FROM gavel_assessments FINAL WHERE Name = 'relevance' AND SourceType = 'LLM_JUDGE'`)).toBe(traces.length);
  });

  it("ran the Default-experiment seed through the Distributed table once", () => {
    expect(count(`SELECT count() AS n FROM gavel_experiments FINAL WHERE ExperimentId = '0'`)).toBe(1);
  });
});
