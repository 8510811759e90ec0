import { openStoreClient } from "../../collector/dist/store/clickhouse.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const sc = await openStoreClient({ dataDir: mkdtempSync(join(tmpdir(), "gavel-probe-")) });
await sc.client.command({ query: "CREATE TABLE t (d Date, x UInt8) ENGINE=MergeTree PARTITION BY d ORDER BY x" });
try {
  await sc.client.command({ query: "INSERT INTO t SELECT toDate('2020-01-01') + number, 1 FROM numbers(150)" });
} catch (e) { console.log(Object.keys(e), e.code, e.type, e.constructor.name, e.message.slice(0, 80)); }
try {
  await sc.client.command({ query: "INSERT INTO nope SELECT 1" });
} catch (e) { console.log(Object.keys(e), e.code, e.type, e.constructor.name, e.message.slice(0, 80)); }
try {
  await sc.client.command({ query: "DETACH TABLE t" });
  await sc.client.command({ query: "INSERT INTO t SELECT toDate('2020-01-01'), 1" });
} catch (e) { console.log(Object.keys(e), e.code, e.type, e.constructor.name, e.message.slice(0, 120)); }
await sc.client.command({ query: "ATTACH TABLE t" });
console.log(await (await sc.client.query({ query: "SELECT count() FROM t", format: "JSONEachRow" })).json());
await sc.close();
