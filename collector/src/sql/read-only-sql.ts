import type { ClickHouseClient } from "@clickhouse/client";
import type { SqlResult } from "@gavel/api";

export type { SqlResult };

export class SqlRejectedError extends Error {
  override name = "SqlRejectedError";
}

export interface SqlLimits {
  maxExecutionSeconds: number;
  maxResultRows: number;
  maxMemoryBytes: number;
}

/** Table functions that read nothing outside the engine. */
const ALLOWED_TABLE_FUNCTIONS = new Set(["numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateSeries", "values"]);
/** system tables that describe the schema; the others hold settings, users, grants or logs. */
const ALLOWED_SYSTEM_TABLES = new Set(["tables", "columns", "databases", "one", "numbers", "parts", "functions", "data_type_families"]);

/**
 * Runs one user-supplied SELECT read-only with time, row and memory limits.
 *
 * Limits cannot be passed as connection settings: on the chDB connection they become
 * `SET` statements on the shared session and would make the whole store read-only. So
 * the query is checked and then wrapped: `SELECT * FROM (<query>) SETTINGS readonly=1, …`.
 * Checks, all done by ClickHouse's own parser on the query passed as a bound parameter:
 * exactly one statement (formatQuery refuses several, and its output has no comments),
 * a SELECT, no SETTINGS clause anywhere (a nested one could reset readonly), no table
 * function that reaches files, URLs or other servers, no system table beyond schema info.
 */
export async function runReadOnlySql(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown>,
  limits: SqlLimits,
): Promise<SqlResult> {
  const started = performance.now();
  const formatted = await formatSingleStatement(client, query);
  if (/\nFORMAT \w+$/.test(formatted)) {
    throw new SqlRejectedError("Remove the FORMAT clause: the SQL endpoint always answers JSON.");
  }
  const missing = [...formatted.matchAll(/\{(\w+):[^}]+\}/g)].map((m) => m[1]!).filter((n) => !(n in params));
  if (missing.length > 0) {
    throw new SqlRejectedError(`The query uses {${missing[0]}:…} but no value was given: pass it in \`params\` (CLI: --param ${missing[0]}=…).`);
  }
  const ast = await explainAst(client, formatted, params);
  checkAst(ast);
  // Limits stop the query with 'break' rather than 'throw': chDB 3.4 keeps the output a
  // query wrote before failing and prepends it to the session's next result, which would
  // corrupt an unrelated request. With 'break' the query ends cleanly and we report it.
  const settings = [
    `max_execution_time = ${limits.maxExecutionSeconds}`,
    `timeout_overflow_mode = 'break'`,
    `max_result_rows = ${limits.maxResultRows}`,
    `result_overflow_mode = 'break'`,
    `max_memory_usage = ${limits.maxMemoryBytes}`,
    // The same JSON from chDB and from a server: 64-bit integers as strings, as JS cannot hold them.
    `output_format_json_quote_64bit_integers = 1`,
    // readonly last: once set, no later setting may change.
    `readonly = 1`,
  ].join(", ");
  let body: { meta: { name: string; type: string }[]; data: unknown[][] };
  try {
    const rs = await client.query({
      query: `SELECT * FROM (\n${formatted}\n) SETTINGS ${settings}`,
      query_params: params,
      format: "JSONCompact",
    });
    body = (await rs.json()) as unknown as typeof body;
  } catch (err) {
    await drainSession(client);
    throw err;
  }
  const names = body.meta.map((m) => m.name);
  const elapsedMs = Math.round(performance.now() - started);
  const truncated = body.data.length >= limits.maxResultRows || elapsedMs >= limits.maxExecutionSeconds * 1000;
  const rows = body.data.slice(0, limits.maxResultRows).map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
  return { rows, truncated, meta: body.meta, rowCount: rows.length, elapsedMs };
}

/** After a failed query, absorb whatever partial output chDB kept for the next one. */
async function drainSession(client: ClickHouseClient): Promise<void> {
  try {
    const rs = await client.query({ query: "SELECT 1", format: "TabSeparated" });
    await rs.text();
  } catch {
    // The store itself is failing; the caller reports the original error.
  }
}

async function formatSingleStatement(client: ClickHouseClient, query: string): Promise<string> {
  if (query.trim() === "") throw new SqlRejectedError("The query is empty. Send one SELECT statement in `query`.");
  try {
    const rs = await client.query({
      query: "SELECT formatQuery({q:String}) AS f",
      query_params: { q: query.replace(/;\s*$/, "") },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ f: string }>();
    return row!.f;
  } catch (err) {
    const msg = (err as Error).message.replace(/ In scope SELECT formatQuery[\s\S]*$/, "").replace(/:\s*$/, "");
    throw new SqlRejectedError(`${msg}. Send exactly one SELECT statement.`);
  }
}

async function explainAst(client: ClickHouseClient, formatted: string, params: Record<string, unknown>): Promise<string[]> {
  try {
    const rs = await client.query({ query: `EXPLAIN AST ${formatted}`, query_params: params, format: "JSONEachRow" });
    // chDB answers EXPLAIN as bare JSON strings; a server as {"explain": …} objects.
    return (await rs.json<string | { explain: string }>()).map((r) => (typeof r === "string" ? r : r.explain));
  } catch (err) {
    throw new SqlRejectedError(`${(err as Error).message.trim()} Pass every {name:Type} placeholder in \`params\`.`);
  }
}

function checkAst(lines: string[]): void {
  const head = lines[0]?.trim() ?? "";
  if (!/^(SelectWithUnionQuery|SelectIntersectExceptQuery)\b/.test(head)) {
    throw new SqlRejectedError(
      `Only SELECT queries are allowed here (got ${head.split(" ")[0] || "nothing"}). The SQL endpoint is read-only; use the REST API to change data.`,
    );
  }
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (line === "Set" || line.startsWith("Set ")) {
      throw new SqlRejectedError("SETTINGS clauses are not allowed in the SQL endpoint: its limits are fixed by the server (GAVEL_SQL_* variables).");
    }
    const fn = /^Function\s+(\w+)/.exec(line);
    if (fn && isTableFunctionLine(lines, i) && !ALLOWED_TABLE_FUNCTIONS.has(fn[1]!)) {
      throw new SqlRejectedError(
        `The table function ${fn[1]}() is not allowed: the SQL endpoint reads only Gavel's tables (no files, URLs or remote servers).`,
      );
    }
    const sys = /^TableIdentifier\s+system\.(\w+)/.exec(line);
    if (sys && !ALLOWED_SYSTEM_TABLES.has(sys[1]!)) {
      throw new SqlRejectedError(
        `system.${sys[1]} is not readable here. Allowed system tables: ${[...ALLOWED_SYSTEM_TABLES].map((t) => `system.${t}`).join(", ")}.`,
      );
    }
  }
}

/** A Function node is a table function when its parent node is a TableExpression. */
function isTableFunctionLine(lines: string[], i: number): boolean {
  const raw = lines[i]!;
  const depth = raw.length - raw.trimStart().length;
  for (let j = i - 1; j >= 0; j--) {
    const l = lines[j]!;
    const d = l.length - l.trimStart().length;
    if (d < depth) return l.trim().startsWith("TableExpression");
  }
  return false;
}
