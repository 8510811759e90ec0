import chdb from "chdb";
import { mkdtempSync } from "node:fs";
const s = new chdb.Session(mkdtempSync("/tmp/chx-"));
const rows = s.query("SELECT name, categories, case_insensitive, alias_to, is_aggregate FROM system.functions ORDER BY name", "JSONEachRow").trim().split("\n").map(JSON.parse);
const CATS = {
  "Arithmetic": "arithmetic", "Comparison": "comparison", "Logical": "logical", "Conditional": "conditional", "Null": "null handling",
  "Mathematical": "math", "Rounding": "rounding", "Bit": "bit", "String": "string", "String Search": "search and regular expressions",
  "String Replacement": "string replacement", "String Splitting": "string splitting", "JSON": "JSON", "Dates and Times": "date and time",
  "Type Conversion": "type conversion", "Arrays": "arrays", "Map": "maps", "Tuple": "tuples", "Hash": "hash", "UUID": "UUID",
  "IP Address": "IP address strings", "URL": "URL strings", "Encoding": "encoding", "Random Number": "random numbers", "Distance": "vector distance",
};
const EXCLUDE = new Set(["serverTimezone","timezone","timeZone","chdb","globalIn","globalNotIn","globalNullIn","globalNotNullIn","globalInIgnoreSet","globalNotInIgnoreSet","globalNullInIgnoreSet","globalNotNullInIgnoreSet","arrayReduce","arrayReduceInRanges","timezoneOf","timeZoneOf","serverTimeZone","buildDate"]);
const OTHER = ["transform","bar","formatReadableSize","formatReadableDecimalSize","formatReadableQuantity","formatReadableTimeDelta","parseReadableSize","parseReadableSizeOrNull","parseReadableSizeOrZero","parseTimeDelta","toTypeName","toColumnTypeName","isConstant","ignore","materialize","identity","finalizeAggregation","initializeAggregation","runningAccumulate","runningDifference","runningDifferenceStartingWithFirstValue","neighbor","countDigits","isDecimalOverflow","byteSize","getSubcolumn","defaultValueOfArgumentType","defaultValueOfTypeName","getSizeOfEnumType","indexHint","rowNumberInAllBlocks","rowNumberInBlock","minSampleSizeContinuous","minSampleSizeConversion","errorCodeToName","_CAST","caseWithExpression","nested","normalizeQuery","normalizedQueryHash","arrayJoin","tupleElement","grouping","exists","lambda"];
const byName = new Map(rows.map(r => [r.name, r]));
const canon = new Map(); // canonical -> category
for (const r of rows) {
  if (r.alias_to || r.is_aggregate) continue;
  if (r.categories in CATS && !EXCLUDE.has(r.name)) canon.set(r.name, CATS[r.categories]);
}
for (const n of OTHER) canon.set(n, "other");
const aggs = rows.filter(r => r.is_aggregate && !r.alias_to && !["aggThrow"].includes(r.name)).map(r => r.name);
for (const a of aggs) canon.set(a, "aggregate");
const byCat = {};
const ci = new Set();
for (const r of rows) {
  const target = r.alias_to || r.name;
  if (!canon.has(target) || EXCLUDE.has(r.name)) continue;
  const cat = canon.get(target);
  (byCat[cat] ??= new Set()).add(r.name);
  if (r.case_insensitive) ci.add(r.name.toLowerCase());
}
const missing = OTHER.filter(n => !byName.has(n));
console.error("not in system.functions:", missing);
let out = "";
for (const [cat, set] of Object.entries(byCat)) out += `  // ${cat}\n  ${JSON.stringify([...set].sort()).slice(1,-1).replace(/","/g, '", "')},\n`;
console.log(out);
console.error("ci", ci.size, "total", Object.values(byCat).reduce((a, s) => a + s.size, 0));
import("node:fs").then(fs => fs.writeFileSync("scratch/ci.json", JSON.stringify([...ci].sort())));
s.close();
