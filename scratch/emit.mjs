import { readFileSync, writeFileSync } from "node:fs";
const txt = readFileSync("scratch/allow.txt", "utf8");
const ci = JSON.parse(readFileSync("scratch/ci.json", "utf8"));
const blocks = [...txt.matchAll(/  \/\/ (.*)\n  (.*),\n/g)].map(m => [m[1], JSON.parse("[" + m[2] + "]")]);
const order = ["arithmetic","comparison","logical","conditional","null handling","math","rounding","bit","string","search and regular expressions","string replacement","string splitting","encoding","JSON","date and time","type conversion","arrays","maps","tuples","hash","UUID","IP address strings","URL strings","random numbers","vector distance","other","aggregate"];
blocks.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
const drop = new Set(["cutToFirstSignificantSubdomainCustom","cutToFirstSignificantSubdomainCustomRFC","cutToFirstSignificantSubdomainCustomWithWWW","cutToFirstSignificantSubdomainCustomWithWWWRFC","firstSignificantSubdomainCustom","firstSignificantSubdomainCustomRFC"]);
const wrap = (names) => {
  const lines = []; let cur = "   ";
  for (const n of names.filter(n => !drop.has(n))) { const t = ` ${JSON.stringify(n)},`; if (cur.length + t.length > 110) { lines.push(cur); cur = "   "; } cur += t; }
  lines.push(cur); return lines.join("\n");
};
let out = `// Generated from system.functions of chDB 26.7 by category, then reviewed by hand; see
// collector/src/sql/read-only-sql.ts for how the lists are applied. Every name here computes on its
// arguments only: nothing reads files, URLs, other servers, dictionaries, settings, the host, the
// process or the engine's state. Left out on purpose (among others): file, url, s3, remote*, dictGet*,
// joinGet*, getSetting*, getServerSetting*, getMergeTreeSetting, getMacro, hostName, FQDN,
// getOSKernelVersion, version, revision, buildId, uptime, serverUUID, tcpPort, getServerPort,
// displayName, currentUser, currentDatabase, currentProfiles, currentRoles, filesystem*, sleep,
// sleepEachRow, throwIf, serverTimezone, timezone, hasColumnInTable, globalVariable, catboostEvaluate,
// the ai* functions, introspection (addressTo*, demangle, logTrace) and the *Custom subdomain
// functions (they read top-level-domain lists from the server's configuration).

/** Scalar and aggregate functions a user query may call, by category (aliases included). */
export const ALLOWED_FUNCTIONS_BY_CATEGORY: Record<string, readonly string[]> = {
`;
for (const [cat, names] of blocks) out += `  ${JSON.stringify(cat)}: [\n${wrap(names)}\n  ],\n`;
out += `};

/**
 * Names ClickHouse resolves case-insensitively (lower-cased), such as SUM or LOWER; a name spelled in
 * another case is allowed only when it is in this set and its lower-case form is allowed.
 */
export const CASE_INSENSITIVE_FUNCTIONS: ReadonlySet<string> = new Set([
${wrap(ci)}
]);
`;
writeFileSync("collector/src/sql/sql-allow-lists.ts", out);
