import { createClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import chdb from "chdb";
import { mkdtempSync } from "node:fs";
const dir = mkdtempSync("/tmp/chx-");
const anchor = new chdb.Session(dir, { connectionArgs: ["--user_files_path=/nonexistent-gavel"] });
const c1 = createClient({ connection: createChdbConnection({ path: dir }) });
const c2 = createClient({ connection: createChdbConnection({ path: dir }) });
async function q(c, sql, fmt = "TabSeparatedRaw") { try { const r = await c.query({ query: sql, format: fmt }); return await r.text(); } catch (e) { return "ERR " + e.message.slice(0, 300); } }
console.log(await q(c1, "SELECT getSetting('readonly')"));
console.log(await q(c1, "SELECT * FROM file('/etc/hostname', 'LineAsString')"));
console.log(await q(c1, "SELECT file('/etc/hostname')"));
console.log(await q(c1, "SELECT getServerSetting('user_files_path')"));
console.log(await q(c1, "EXPLAIN AST SELECT 'it''s', '{x:String}', {y:String}, x IN system.settings, arrayMap(a -> a + 1, [1]) FROM t"));
console.log(await q(c1, "EXPLAIN AST SELECT 'it''s'", "JSONEachRow"));
// parallel test
let t0 = Date.now();
const heavy = q(c1, "SELECT sum(sleepEachRow(0.001)) FROM numbers(2000) SETTINGS max_block_size=100");
await new Promise(r => setTimeout(r, 100));
let t1 = Date.now(); console.log(await q(c2, "SELECT 1"), "c2 took", Date.now() - t1);
t1 = Date.now(); console.log(await q(c1, "SELECT 1"), "c1 took", Date.now() - t1);
console.log((await heavy).slice(0,50), Date.now() - t0);
anchor.close();
