import chdb from "chdb";
import { mkdtempSync } from "node:fs";
const dir = mkdtempSync("/tmp/chx-");
const s = new chdb.Session(dir);
function q(sql, fmt = "TabSeparatedRaw") { try { return s.query(sql, fmt); } catch (e) { return "ERR " + e.message.slice(0, 300); } }
const tests = process.argv.slice(2);
for (const t of tests) { console.log("### " + t); console.log(q(t)); }
s.close();
