/**
 * The single-node and clustered DDL: every statement parses in ClickHouse (chDB's formatQuery,
 * the query passed as a bound parameter so nothing of it is executed), the clustered form has
 * the shape deploy/clickhouse expects, and both forms describe the same tables and columns,
 * because both are rendered from the same schema objects.
 * Also parses every SQL block of docs/production.md, so the runbook's statements are real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStoreClient, type StoreClient } from "../../collector/src/store/clickhouse.js";
import { allSchemaStatements, MIGRATIONS } from "../../collector/src/store/migrations.js";
import { gavelSchemaMigrations, type SchemaObject, type TableDef } from "../../collector/src/store/schema.js";

const CLUSTER = "gavel";
const REPO = fileURLToPath(new URL("../../", import.meta.url));

let dataDir: string;
let sc: StoreClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gavel-ddl-"));
  sc = await openStoreClient({ dataDir });
});

afterAll(async () => {
  await sc?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function formatQuery(q: string): Promise<string> {
  const rs = await sc.client.query({ query: "SELECT formatQuery({q:String}) AS f", query_params: { q }, format: "JSONEachRow" });
  const [row] = await rs.json<{ f: string }>();
  return row!.f;
}

/** Parses each statement; collects every failure so one run shows them all. */
async function parseAll(statements: string[]): Promise<string[]> {
  const failures: string[] = [];
  for (const stmt of statements) {
    try {
      await formatQuery(stmt);
    } catch (err) {
      failures.push(`${stmt.slice(0, 160)}…\n  → ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return failures;
}

const objects: SchemaObject[] = [gavelSchemaMigrations, ...MIGRATIONS.flatMap((m) => m.objects)];
const tables = objects.filter((o): o is TableDef => o.kind === "table");
/** Tables whose rows belong to one trace: co-located with the trace's spans. */
const traceTables = tables.filter((t) => t.columns.some((c) => /^TraceId /.test(c)));

const single = allSchemaStatements();
const clustered = allSchemaStatements({ cluster: CLUSTER });

/** CREATE TABLE statements by table name, and their column blocks. */
function creates(statements: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of statements) {
    const m = /^CREATE TABLE IF NOT EXISTS (\w+)(?: ON CLUSTER \w+)? \(\n([\s\S]*?)\n\) ENGINE = /.exec(s);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

describe("DDL parses in ClickHouse", () => {
  it("every single-node statement", async () => {
    expect(single.length).toBeGreaterThan(10);
    expect(await parseAll(single)).toEqual([]);
  });

  it("every clustered statement", async () => {
    expect(await parseAll(clustered)).toEqual([]);
  });

  it("every clustered statement with an explicit database for the Distributed tables", async () => {
    const withDb = allSchemaStatements({ cluster: CLUSTER, database: "gavel" });
    expect(withDb.some((s) => s.includes("Distributed('gavel', 'gavel', "))).toBe(true);
    expect(await parseAll(withDb)).toEqual([]);
  });

  it("every SQL block of docs/production.md", async () => {
    const doc = readFileSync(join(REPO, "docs/production.md"), "utf8");
    const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const statements = blocks
      .flatMap((b) => b.replace(/^\s*--.*$/gm, "").split(/;\s*(?:\n|$)/))
      .map((s) => s.trim())
      .filter((s) => s !== "");
    expect(statements.length).toBeGreaterThan(5);
    expect(await parseAll(statements)).toEqual([]);
  });
});

describe("clustered DDL shape", () => {
  it("runs every statement ON CLUSTER, except the seed rows, which go through the Distributed tables", () => {
    const ddl = clustered.filter((s) => !/^INSERT /.test(s));
    expect(ddl.filter((s) => !s.includes(` ON CLUSTER ${CLUSTER} `))).toEqual([]);
    const seeds = clustered.filter((s) => /^INSERT /.test(s));
    expect(seeds).toEqual(single.filter((s) => /^INSERT /.test(s)));
  });

  it("gives every table a Replicated engine on a per-shard Keeper path with the {shard} and {replica} macros", () => {
    const c = creates(clustered);
    const paths = new Set<string>();
    for (const t of tables) {
      const stmt = clustered.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${t.name}_local ON CLUSTER ${CLUSTER} (`));
      expect(stmt, t.name).toBeDefined();
      expect(c.has(`${t.name}_local`)).toBe(true);
      const engine = /ENGINE = (\w+)\('([^']+)', '([^']+)'(?:, (\w+))?\)/.exec(stmt!);
      expect(engine, `${t.name}: ${stmt}`).not.toBeNull();
      expect(engine![1]).toBe(`Replicated${t.engine}`);
      expect(["ReplicatedMergeTree", "ReplicatedReplacingMergeTree", "ReplicatedAggregatingMergeTree", "ReplicatedSummingMergeTree"]).toContain(engine![1]);
      expect(engine![2]).toBe(`/clickhouse/tables/{shard}/{database}/${t.name}_local`);
      expect(engine![3]).toBe("{replica}");
      expect(engine![4]).toBe(t.versionColumn);
      paths.add(engine![2]!);
    }
    expect(paths.size).toBe(tables.length);
  });

  it("puts a Distributed table over every local table, and shards everything of a trace by cityHash64(TraceId)", () => {
    expect(traceTables.map((t) => t.name)).toEqual(expect.arrayContaining(["otel_traces", "otel_traces_trace_id_ts", "gavel_traces", "gavel_assessments"]));
    for (const t of tables) {
      const dist = clustered.filter((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${t.name} ON CLUSTER ${CLUSTER} AS ${t.name}_local ENGINE = Distributed(`));
      expect(dist, t.name).toHaveLength(1);
      const args = /Distributed\('(\w+)', currentDatabase\(\), '(\w+)', (.+)\)$/.exec(dist[0]!);
      expect(args, dist[0]).not.toBeNull();
      expect(args![1]).toBe(CLUSTER);
      expect(args![2]).toBe(`${t.name}_local`);
      if (traceTables.includes(t)) expect(args![3], t.name).toBe("cityHash64(TraceId)");
    }
  });

  it("feeds materialized views from local tables into local tables, so each shard projects its own spans", () => {
    const views = clustered.filter((s) => s.startsWith("CREATE MATERIALIZED VIEW"));
    expect(views.length).toBe(objects.filter((o) => o.kind === "view").length);
    for (const v of views) {
      const m = /^CREATE MATERIALIZED VIEW IF NOT EXISTS \w+ ON CLUSTER \w+ TO (\w+) AS [\s\S]*?\bFROM (\w+)/.exec(v);
      expect(m, v.slice(0, 200)).not.toBeNull();
      expect(m![1]).toMatch(/_local$/);
      expect(m![2]).toMatch(/_local$/);
    }
  });

  it("alters the local and the Distributed table with the same action (MATERIALIZED included); indexes only the local one", () => {
    let localOnly = 0;
    for (const o of objects) {
      if (o.kind !== "alter") continue;
      for (const a of o.actions) {
        expect(clustered).toContain(`ALTER TABLE ${o.table}_local ON CLUSTER ${CLUSTER} ${a}`);
        // A Distributed table holds no data, so it has no indexes to add.
        if (o.localOnly) localOnly++;
        if (o.localOnly) expect(clustered).not.toContain(`ALTER TABLE ${o.table} ON CLUSTER ${CLUSTER} ${a}`);
        else expect(clustered).toContain(`ALTER TABLE ${o.table} ON CLUSTER ${CLUSTER} ${a}`);
      }
    }
    expect(localOnly).toBeGreaterThan(0);
  });
});

describe("single-node and clustered DDL come from the same definitions", () => {
  it("cover the same tables with the same column lists", () => {
    const s = creates(single);
    const c = creates(clustered);
    expect([...s.keys()].sort()).toEqual(tables.map((t) => t.name).sort());
    for (const [name, cols] of s) {
      expect(c.get(`${name}_local`), name).toBe(cols);
      expect(cols).toBe(tables.find((t) => t.name === name)!.columns.join(",\n  ").replace(/^/, "  "));
    }
  });

  it("render the same views, alters and table options, up to the cluster's names", () => {
    const strip = (stmt: string) =>
      stmt
        .replaceAll(` ON CLUSTER ${CLUSTER}`, "")
        .replace(/\b(\w+)_local\b/g, "$1")
        .replace(/ENGINE = Replicated(\w+)\('[^']*', '\{replica\}'(?:, (\w+))?\)/, (_m, e: string, v?: string) => `ENGINE = ${e}(${v ?? ""})`);
    const localOnly = clustered.filter((s) => !/ENGINE = Distributed\(/.test(s));
    // Alters run twice on a cluster (local and Distributed table); once the names are folded they coincide.
    // A view made again by a later migration (ViewDef.replace) repeats its CREATE in both forms.
    expect([...new Set(localOnly.map(strip))]).toEqual([...new Set(single)]);
  });
});
