/**
 * The counters of migration 7 (gavel_experiment_stats, gavel_token_usage_daily), on real chDB:
 * a store of schema version 5 holding spans is migrated in place, the backfill gives the counts a
 * scan gives, later spans keep them right through the views, and the experiment list reads them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStoreClient, type StoreClient } from "./clickhouse.js";
import { MIGRATIONS, migrate, migrationStatements } from "./migrations.js";
import { renderDDL, gavelSchemaMigrations } from "./schema.js";
import { encodeSpansRowBinary } from "./rowbinary.js";
import { createSpanWriter } from "./span-writer.js";
import type { SpanRow } from "./span-row.js";
import { listExperiments } from "./queries/experiments.js";

let dir: string;
let store: StoreClient;

const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");
const DAY_NS = 86_400_000_000_000n;
const T0 = BigInt(Date.UTC(2026, 10, 1)) * 1_000_000n;

/** A root and an LLM child per trace; `judge` marks the judge's own trace. */
function trace(n: number, experiment: string, model: string, day: number, opts: { judge?: boolean } = {}): SpanRow[] {
  const traceId = hex(n, 32);
  const base = {
    traceState: "", spanKind: "Internal", serviceName: "app", resourceAttributes: [] as [string, string][], scopeName: "s", scopeVersion: "",
    statusCode: "Ok", statusMessage: "", events: [], links: [], duration: 1_000_000n,
  };
  const root: SpanRow = {
    ...base, timestamp: T0 + BigInt(day) * DAY_NS + BigInt(n), traceId, spanId: hex(n * 2 + 1, 16), parentSpanId: "", spanName: "root",
    spanAttributes: [["gavel.experiment_id", experiment], ...(opts.judge ? ([["gavel.judge", "true"]] as [string, string][]) : [])],
  };
  const llm: SpanRow = {
    ...base, timestamp: root.timestamp + 1000n, traceId, spanId: hex(n * 2 + 2, 16), parentSpanId: root.spanId, spanName: "chat",
    spanAttributes: [["gavel.experiment_id", experiment], ["gen_ai.request.model", model], ["gen_ai.usage.input_tokens", String(100 + n)], ["gen_ai.usage.output_tokens", "7"]],
  };
  return [root, llm];
}

async function write(rows: SpanRow[]) {
  const writer = createSpanWriter(store);
  await writer.write(encodeSpansRowBinary(rows));
  await writer.close();
}

async function rows<T>(query: string): Promise<T[]> {
  return (await store.client.query({ query, format: "JSONEachRow" })).json<T>();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gavel-counters-"));
  store = await openStoreClient({ dataDir: dir });
  // A store as version 5 left it.
  for (const stmt of renderDDL(gavelSchemaMigrations)) await store.client.command({ query: stmt });
  for (const m of MIGRATIONS.filter((m) => m.version <= 5)) {
    for (const stmt of migrationStatements(m)) await store.client.command({ query: stmt });
    await store.client.insert({ table: "gavel_schema_migrations", values: [{ Version: m.version, Name: m.name }], format: "JSONEachRow" });
  }
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("read-path counters", () => {
  it("backfills on migration, then keeps counting through the views", async () => {
    const before: SpanRow[] = [];
    for (let n = 1; n <= 30; n++) before.push(...trace(n, n % 3 === 0 ? "e2" : "e1", n % 2 ? "gpt-4o-mini" : "claude", n % 4));
    before.push(...trace(100, "e1", "gpt-4o", 1, { judge: true }));
    // The same root stored twice (an exporter retry) is one trace.
    before.push(trace(1, "e1", "gpt-4o-mini", 1)[0]!);
    await write(before);

    const r = await migrate(store.client);
    expect(r.applied.slice(0, 2)).toEqual([6, 7]);
    expect(r.applied).toEqual(MIGRATIONS.filter((m) => m.version > 5).map((m) => m.version));

    const after: SpanRow[] = [];
    for (let n = 31; n <= 40; n++) after.push(...trace(n, "e3", "gpt-4o-mini", 5));
    await write(after);

    const truth = await rows<{ ExperimentId: string; n: string; last: string }>(
      `SELECT ExperimentId, uniqExact(TraceId) AS n, toString(max(Timestamp)) AS last FROM gavel_traces WHERE NOT IsJudge GROUP BY ExperimentId ORDER BY ExperimentId`,
    );
    const kept = await rows<{ ExperimentId: string; n: string; last: string }>(
      `SELECT ExperimentId, uniqMerge(Traces) AS n, toString(max(LastTimestamp)) AS last FROM gavel_experiment_stats GROUP BY ExperimentId ORDER BY ExperimentId`,
    );
    expect(kept).toEqual(truth);
    expect(truth.map((t) => [t.ExperimentId, Number(t.n)])).toEqual([["e1", 20], ["e2", 10], ["e3", 10]]);

    const list = await listExperiments(store.client);
    expect(Object.fromEntries(list.filter((e) => e.experimentId !== "0").map((e) => [e.experimentId, e.traceCount]))).toEqual({ e1: 20, e2: 10, e3: 10 });

    const tokenTruth = await rows<{ d: string; m: string; i: string; o: string; s: string }>(
      `SELECT toString(toDate(Timestamp)) AS d, SpanAttributes['gen_ai.request.model'] AS m, toString(sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens']))) AS i,
         toString(sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens']))) AS o, toString(count()) AS s
       FROM otel_traces WHERE m != '' GROUP BY d, m ORDER BY d, m`,
    );
    const tokenKept = await rows<{ d: string; m: string; i: string; o: string; s: string }>(
      `SELECT toString(Day) AS d, Model AS m, toString(sum(InputTokens)) AS i, toString(sum(OutputTokens)) AS o, toString(sum(Spans)) AS s
       FROM gavel_token_usage_daily GROUP BY d, m ORDER BY d, m`,
    );
    expect(tokenKept).toEqual(tokenTruth);
    expect(tokenKept.length).toBeGreaterThan(4);
  });
});
