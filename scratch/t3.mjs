import chdb from "chdb";
import { mkdtempSync } from "node:fs";
const s = new chdb.Session(mkdtempSync("/tmp/chx-"));
console.log(JSON.stringify(s.query("EXPLAIN AST SELECT `a\n    Function file` AS `x\ty`, 'q\\nz\\'' FROM t", "TabSeparated")));
console.log(JSON.stringify(s.query("SELECT formatQuery('SELECT `a\\n    Function file`, \\'x\\ny\\', 1 -- hi\n FROM t')", "TabSeparatedRaw")));
s.close();
