import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Store } from "../store/store.js";
import { runReadOnlySql, SqlRejectedError } from "./read-only-sql.js";
import { isAllowedFunction } from "./sql-ast.js";
import { ALLOWED_FUNCTIONS_BY_CATEGORY } from "./sql-allow-lists.js";
import { tempConfig } from "../../../test/support/temp-store.js";

const limits = { maxExecutionSeconds: 5, maxResultRows: 50, maxResultBytes: 1 << 20, maxMemoryBytes: 1 << 30, maxThreads: 1 };
const cfg = tempConfig();
let store: Store;

beforeAll(async () => {
  store = await Store.open(cfg);
  await store.client.insert({
    table: "gavel_experiments",
    values: [{ ExperimentId: "e1", Name: "one", CreatedAt: Date.now(), Tags: { owner: "O'Brien" }, Version: 1 }],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await store.close();
  cfg.cleanup();
});

const run = (q: string, params: Record<string, unknown> = {}, l = limits) => runReadOnlySql(store.sql, q, params, l);
const refusal = async (q: string, params: Record<string, unknown> = {}) => {
  const err = await run(q, params).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SqlRejectedError);
  return (err as Error).message;
};

describe("read-only SQL", () => {
  it("runs a parameterised SELECT and returns rows with their types", async () => {
    const r = await run("SELECT Name, ExperimentId FROM gavel_experiments FINAL WHERE ExperimentId = {id:String}", { id: "e1" });
    expect(r.rows).toEqual([{ Name: "one", ExperimentId: "e1" }]);
    expect(r.meta.map((m) => m.type)).toEqual(["String", "String"]);
  });

  it.each([
    ["a second statement", "SELECT 1; DROP TABLE gavel_experiments", /Multi-statements/],
    ["an INSERT", "INSERT INTO gavel_experiments (ExperimentId) VALUES ('x')", /Only SELECT/],
    ["DDL", "DROP TABLE gavel_experiments", /Only SELECT/],
    ["ALTER ... DELETE", "ALTER TABLE gavel_experiments DELETE WHERE 1", /Only SELECT/],
    ["EXPLAIN", "EXPLAIN SELECT 1", /Only SELECT/],
    ["a nested SETTINGS that would lift readonly", "SELECT * FROM (SELECT 1 SETTINGS readonly = 0)", /SETTINGS clauses are not allowed/],
    ["a trailing SETTINGS", "SELECT 1 SETTINGS max_execution_time = 1000", /SETTINGS clauses are not allowed/],
    ["the file() table function", "SELECT * FROM file('/etc/passwd', 'LineAsString')", /file\(\) is not allowed/],
    ["the url() table function", "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')", /url\(\) is not allowed/],
    ["the remote() table function", "SELECT * FROM remote('127.0.0.1:9000', system.one)", /remote\(\) is not allowed/],
    ["the merge() table function", "SELECT * FROM merge('system', '.*')", /merge\(\) is not allowed/],
    ["the scalar file() reading the environment", "SELECT extract(file('/proc/self/environ'), 'GAVEL_API_KEYS=[^\\x00]*')", /function file\(\) is not allowed/],
    ["file() inside a lambda", "SELECT arrayMap(x -> file(x), ['/etc/passwd'])", /function file\(\) is not allowed/],
    ["file() in a CTE", "WITH f AS (SELECT file('/etc/passwd') AS c) SELECT * FROM f", /function file\(\) is not allowed/],
    ["file() in a nested subquery", "SELECT * FROM (SELECT * FROM (SELECT lower(file('/etc/hostname'))))", /function file\(\) is not allowed/],
    ["file() in upper case", "SELECT FILE('/etc/passwd')", /function FILE\(\) is not allowed/],
    ["getSetting", "SELECT getSetting('readonly')", /getSetting\(\) is not allowed/],
    ["getServerSetting (server paths)", "SELECT getServerSetting('path')", /getServerSetting\(\) is not allowed/],
    ["hostName", "SELECT hostName()", /hostName\(\) is not allowed/],
    ["FQDN", "SELECT fqdn()", /fqdn\(\) is not allowed/],
    ["the kernel version", "SELECT getOSKernelVersion()", /getOSKernelVersion\(\) is not allowed/],
    ["version()", "SELECT version()", /version\(\) is not allowed/],
    ["uptime()", "SELECT uptime()", /uptime\(\) is not allowed/],
    ["currentUser()", "SELECT currentUser()", /currentUser\(\) is not allowed/],
    ["getMacro", "SELECT getMacro('x')", /getMacro\(\) is not allowed/],
    ["filesystemAvailable", "SELECT filesystemAvailable()", /filesystemAvailable\(\) is not allowed/],
    ["sleepEachRow", "SELECT sum(sleepEachRow(0.001)) FROM numbers(10)", /sleepEachRow\(\) is not allowed/],
    ["throwIf", "SELECT throwIf(1)", /throwIf\(\) is not allowed/],
    ["dictGet", "SELECT dictGet('d', 'v', 1)", /dictGet\(\) is not allowed/],
    ["joinGet", "SELECT joinGet('t', 'v', 1)", /joinGet\(\) is not allowed/],
    ["an aggregate wrapping a refused function", "SELECT sumIf(length(file('/etc/passwd')), 1)", /function file\(\) is not allowed/],
    ["APPLY(function)", "SELECT * APPLY(toString) FROM gavel_experiments", /APPLY/],
    ["system.users", "SELECT * FROM system.users", /system\.users is not readable/],
    ["system.tables (server paths)", "SELECT data_paths FROM system.tables", /system\.tables is not readable/],
    ["system.settings in a subquery", "SELECT count() FROM (SELECT * FROM system.settings)", /system\.settings is not readable/],
    ["x IN system.settings", "SELECT 1 WHERE 'readonly' IN system.settings", /system\.settings is not readable/],
    ["NOT IN system.settings", "SELECT 1 WHERE 'readonly' NOT IN system.settings", /system\.settings is not readable/],
    ["a table of another database", "SELECT * FROM information_schema.nope", /information_schema\.nope is not readable/],
    ["a JOIN to a system table", "SELECT * FROM gavel_experiments AS e JOIN system.one AS o ON 1 = 1", /system\.one is not readable/],
    ["a FORMAT clause", "SELECT 1 FORMAT CSV", /FORMAT/],
    ["INTO OUTFILE", "SELECT 1 INTO OUTFILE '/tmp/gavel-x'", /OUTFILE|Only SELECT/],
    ["an identifier with a line break", "SELECT 1 AS `a\n    Function file`", /line breaks/],
    ["an empty query", "   ", /empty/],
    ["a quote that tries to leave the checker's string literal", "SELECT 1'), file('/etc/passwd') AS x --", /Syntax error|Send exactly one SELECT/],
    ["a backslash and quote that try the same", "SELECT 1\\'), file('/etc/passwd') AS x --", /Syntax error|Send exactly one SELECT/],
  ])("rejects %s", async (_label, q, msg) => {
    expect(await refusal(q)).toMatch(msg);
  });

  it.each([
    ["aggregates with combinators", "SELECT countIf(number > 2) AS a, sumArray([number]) AS b, uniqExact(number) AS c, avgIf(number, number > 0) AS d FROM numbers(5)", { a: "2", b: "10", c: "5", d: 2.5 }],
    ["-State and -Merge", "SELECT finalizeAggregation(sumState(number)) AS s, sumMerge(st) AS m FROM (SELECT sumState(number) AS st, number FROM numbers(4) GROUP BY number) ", null],
    ["quantiles and windows", "SELECT quantile(0.5)(number) AS q, max(number) OVER () AS w FROM numbers(3) GROUP BY number ORDER BY number LIMIT 1", null],
    ["strings, regex and JSON", "SELECT lower('AB') AS l, LOWER('CD') AS u, match('abc', 'b') AS m, JSONExtractString('{\"a\":\"x\"}', 'a') AS j, extract('k=v', 'k=(\\\\w)') AS e", { l: "ab", u: "cd", m: 1, j: "x", e: "v" }],
    ["dates and conversion", "SELECT toDate('2024-01-02') + 1 AS d, toString(toStartOfHour(toDateTime('2024-01-02 03:04:05', 'UTC'))) AS h, formatDateTime(toDate('2024-01-02'), '%Y') AS y", { d: "2024-01-03", h: "2024-01-02 03:00:00", y: "2024" }],
    ["arrays, lambdas, maps and tuples", "SELECT arrayMap(x -> x * 2, [1, 2]) AS a, mapKeys(map('k', 1)) AS k, tupleElement((1, 'x'), 2) AS t, arrayJoin([7]) AS j", { a: [2, 4], k: ["k"], t: "x", j: 7 }],
    ["conditionals, math and hashes", "SELECT if(1, 'y', 'n') AS i, multiIf(0, 1, 2) AS m, round(pi(), 2) AS p, length(hex(MD5('x'))) AS h, CASE WHEN 1 THEN 'a' END AS c", { i: "y", m: 2, p: 3.14, h: "32", c: "a" }],
    ["a CTE, a subquery and IN a subquery", "WITH e AS (SELECT ExperimentId FROM gavel_experiments) SELECT count() AS n FROM e WHERE ExperimentId IN (SELECT ExperimentId FROM gavel_experiments)", null],
    ["INFORMATION_SCHEMA", "SELECT table_name FROM INFORMATION_SCHEMA.tables WHERE table_name = 'gavel_experiments'", { table_name: "gavel_experiments" }],
    ["information_schema columns", "SELECT count() > 0 AS ok FROM information_schema.columns WHERE table_name = 'otel_traces'", { ok: 1 }],
    ["IN a CTE by name", "WITH ids AS (SELECT ExperimentId FROM gavel_experiments) SELECT count() AS n FROM gavel_experiments WHERE ExperimentId IN ids", null],
    ["a qualified Gavel table", "SELECT count() AS n FROM default.gavel_experiments", null],
  ])("allows %s", async (_label, q, expected) => {
    const r = await run(q);
    expect(r.rows.length).toBeGreaterThan(0);
    if (expected) expect(r.rows[0]).toEqual(expected);
  });

  it("runs the SQL page's examples and the README's", async () => {
    const { SQL_EXAMPLES } = await import("../../ui/src/sql-examples.js");
    for (const ex of SQL_EXAMPLES) await expect(run(ex.sql), ex.title).resolves.toMatchObject({ truncated: false });
    await run("SELECT Name, count() AS traces FROM gavel_traces GROUP BY Name");
    await run("SELECT * FROM gavel_traces WHERE ExperimentId = {e:String} LIMIT 5", { e: "0" });
    await run("SELECT count() AS n FROM otel_traces WHERE ServiceName = {s:String}", { s: "support-app" });
  });

  it("refuses every dangerous function by name, and lists only functions this engine knows", async () => {
    for (const f of ["file", "url", "s3", "remote", "getSetting", "getServerSetting", "getServerSettings", "hostName", "hostname", "FQDN", "fullHostName",
      "version", "uptime", "currentUser", "getMacro", "filesystemAvailable", "filesystemCapacity", "serverUUID", "tcpPort", "displayName", "buildId",
      "sleep", "sleepEachRow", "throwIf", "getOSKernelVersion", "revision", "currentDatabase", "dictGet", "joinGet", "catboostEvaluate", "globalVariable",
      "getMergeTreeSetting", "getClientHTTPHeader", "hasColumnInTable", "serverTimezone", "timezone", "globalIn", "addressToSymbol", "logTrace", "aiGenerate",
      "currentProfiles", "currentRoles", "queryID", "initialQueryID", "getServerPort", "arrayReduce"]) {
      expect(isAllowedFunction(f), f).toBe(false);
    }
    const names = Object.values(ALLOWED_FUNCTIONS_BY_CATEGORY).flat();
    const rs = await store.client.query({
      query: "SELECT arrayFilter(n -> n NOT IN (SELECT name FROM system.functions), {names:Array(String)}) AS unknown",
      query_params: { names },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ unknown: string[] }>();
    expect(row!.unknown).toEqual([]);
  });

  it("hides a comment trick: a commented-out wrapper cannot be escaped", async () => {
    const r = await run("SELECT 1 AS x -- ) SETTINGS readonly = 0\n");
    expect(r.rows).toEqual([{ x: 1 }]);
  });

  it("reads quotes in the query and in parameters", async () => {
    expect((await run("SELECT 'it''s' AS s")).rows).toEqual([{ s: "it's" }]);
    expect((await run("SELECT 'back\\\\slash \\'q\\'' AS s")).rows).toEqual([{ s: "back\\slash 'q'" }]);
    const p = await run("SELECT {s:String} AS s, Tags['owner'] = {s:String} AS hit FROM gavel_experiments FINAL WHERE ExperimentId = 'e1'", { s: "O'Brien" });
    expect(p.rows).toEqual([{ s: "O'Brien", hit: 1 }]);
    const nasty = "a'b\\c\nd\u0000e'); DROP TABLE gavel_experiments; --";
    expect((await run("SELECT {s:String} AS s", { s: nasty })).rows).toEqual([{ s: nasty }]);
  });

  it("does not take a placeholder inside a string literal for a parameter", async () => {
    expect((await run("SELECT '{x:String}' AS s")).rows).toEqual([{ s: "{x:String}" }]);
    const both = await run("SELECT '{x:String}' AS s, {x:String} AS v", { x: "real" });
    expect(both.rows).toEqual([{ s: "{x:String}", v: "real" }]);
  });

  it("binds typed parameters of every JSON kind", async () => {
    const r = await run(
      "SELECT {n:UInt32} + 1 AS n, {f:Float64} AS f, {b:Bool} AS b, {z:Nullable(String)} AS z, {a:Array(String)} AS a, {m:Map(String, UInt8)} AS m, {t:Tuple(UInt8, String)} AS t, {d:DateTime('UTC')} AS d, {ns:UInt8} AS ns",
      { n: 41, f: -1.5, b: true, z: null, a: ["x", "y'"], m: { k: 1 }, t: [1, "s"], d: "2024-01-02 03:04:05", ns: "7" },
    );
    expect(r.rows).toEqual([{ n: "42", f: -1.5, b: true, z: null, a: ["x", "y'"], m: { k: 1 }, t: [1, "s"], d: "2024-01-02 03:04:05", ns: 7 }]);
  });

  it("refuses a value that does not fit the placeholder's type, with the engine's reason", async () => {
    await expect(run("SELECT {n:UInt8} AS n", { n: "not a number" })).rejects.toThrow(/Cannot parse|CANNOT_PARSE/);
  });

  it("names a missing placeholder", async () => {
    await expect(run("SELECT {x:String} AS v")).rejects.toThrow(/\{x:String\}.*params/);
  });

  it("enforces the row limit and says the result was cut", async () => {
    const r = await run("SELECT number FROM numbers(1000)");
    expect(r.rows).toHaveLength(limits.maxResultRows);
    expect(r.truncated).toBe(true);
    const small = await run("SELECT number FROM numbers(3)");
    expect(small.truncated).toBe(false);
  });

  it("cuts an answer at GAVEL_SQL_MAX_RESULT_BYTES", async () => {
    const cap = 64 * 1024;
    const capped = { ...limits, maxResultRows: 1_000_000, maxResultBytes: cap };
    // ~100 MB of rows if nothing cut it.
    const r = await run("SELECT number, repeat('x', 100) AS pad FROM numbers(1000000)", {}, capped);
    expect(r.truncated).toBe(true);
    expect(r.rows.length).toBeGreaterThan(10);
    expect(Buffer.byteLength(JSON.stringify(r.rows))).toBeLessThanOrEqual(cap);
    expect(r.rows.at(-1)).toEqual({ number: String(r.rows.length - 1), pad: "x".repeat(100) });
    const under = await run("SELECT number FROM numbers(10)", {}, capped);
    expect(under.truncated).toBe(false);
    expect(under.rows).toHaveLength(10);
  });

  it("keeps later results clean after a query fails at run time", async () => {
    // throwIf is refused; a failed cast half-way through the output fails the same way.
    await expect(run("SELECT toUInt8(if(number = 5000, 'x', '1')) FROM numbers(10000)")).rejects.toThrow(/parse|Cannot/i);
    const r = await run("SELECT 7 AS seven");
    expect(r.rows).toEqual([{ seven: 7 }]);
  });

  it("leaves the shared session writable after read-only queries", async () => {
    await run("SELECT 1");
    await store.client.insert({
      table: "gavel_experiments",
      values: [{ ExperimentId: "e2", Name: "two", CreatedAt: Date.now(), Tags: {}, Version: 1 }],
      format: "JSONEachRow",
    });
    const r = await run("SELECT count() AS n FROM gavel_experiments FINAL");
    expect(Number(r.rows[0]!.n)).toBeGreaterThanOrEqual(2);
  });

  it("runs a user query's threads at the lowest CPU priority, so ingest and the REST API go first", async () => {
    // Linux only: a thread's nice value is field 19 of /proc/<pid>/task/<tid>/stat.
    const niceOfBusyThreads = () =>
      readdirSync(`/proc/${process.pid}/task`).flatMap((t) => {
        const st = readFileSync(`/proc/${process.pid}/task/${t}/stat`, "utf8");
        const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
        return f[0] === "R" ? [Number(f[16])] : [];
      });
    const heavy = run("SELECT count() AS n, sum(cityHash64(number, toString(number))) AS h FROM numbers(100000000)", {}, { ...limits, maxResultRows: 10 });
    let seen: number[] = [];
    for (let i = 0; i < 40 && !seen.includes(19); i++) {
      await new Promise((ok) => setTimeout(ok, 50));
      seen = niceOfBusyThreads();
    }
    await heavy;
    expect(seen).toContain(19);
    // The JavaScript thread (and so ingest's insert calls) keeps the default priority.
    const main = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, "utf8");
    expect(Number(main.slice(main.lastIndexOf(")") + 2).split(" ")[16])).toBe(0);
  });
});
