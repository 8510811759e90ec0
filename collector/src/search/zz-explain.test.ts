import { it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStoreClient } from "../store/clickhouse.js";
import { migrate } from "../store/migrations.js";
import { buildTraceSearchQuery } from "./trace-search.js";
it("explain", async () => {
  const s = await openStoreClient({ dataDir: mkdtempSync(join(tmpdir(), "gx-")) });
  await migrate(s.client);
  const rows = Array.from({ length: 20000 }, (_, i) => ({ Timestamp: (1700000000000000000n + BigInt(i) * 1000000000n).toString(), TraceId: i.toString(16).padStart(32, "0"), SpanId: "a", ParentSpanId: "", SpanName: "n" + (i % 5), ServiceName: "svc", StatusCode: "Ok", Duration: "5", SpanAttributes: { "gavel.experiment_id": "e" + (i % 4) } }));
  await s.client.insert({ table: "otel_traces", values: rows, format: "JSONEachRow", clickhouse_settings: { max_insert_block_size: "100000" } });
  await s.client.command({ query: "OPTIMIZE TABLE gavel_traces FINAL" });
  for (const req of [{ experimentIds: ["e1"] }, { experimentIds: ["e1"], filter: "trace.timestamp_ms > 1700000010000000" }, { experimentIds: ["e1", "e2"] }, { experimentIds: ["e1"], orderBy: ["execution_time_ms"] }]) {
    const q = buildTraceSearchQuery({ ...req, maxResults: 10 });
    for (const kind of ["EXPLAIN indexes = 1", "EXPLAIN PIPELINE"]) {
      const rs = await s.client.query({ query: `${kind} ${q.query}`, query_params: q.params, format: "TabSeparatedRaw" });
      console.log(JSON.stringify(req), kind, "\n" + (await rs.text()));
    }
    const t0 = performance.now();
    const rs = await s.client.query({ query: q.query, query_params: q.params, format: "JSONEachRow", clickhouse_settings: {} });
    await rs.json();
    console.log("ms", performance.now() - t0);
  }
  await s.close();
});
