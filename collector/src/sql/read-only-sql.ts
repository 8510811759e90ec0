import type { ClickHouseClient } from "@clickhouse/client";
import type { SqlResult } from "@gavel/api";
import type { SessionPool } from "../store/session-pool.js";
import { schemaObjectNames } from "../store/migrations.js";
import { checkUserQuery, parseExplainAst, SqlRejectedError, type AstNode, type TableContext } from "./sql-ast.js";
import { quoteString, scanFormattedQuery, sqlLiteral, SqlValueError } from "./sql-literals.js";

export type { SqlResult };
export { SqlRejectedError };

export interface SqlLimits {
  maxExecutionSeconds: number;
  maxResultRows: number;
  maxResultBytes: number;
  maxMemoryBytes: number;
  maxThreads: number;
}

/**
 * Runs one user-supplied SELECT read-only, on a session of its own, with time, row, byte, memory
 * and thread limits. Nothing here uses the engine's parameter binding (on chDB every bound query
 * of the process waits in one chain, so user SQL would hold up the REST API); the user's
 * parameters become typed literals in the text instead, and what is checked is what runs:
 *
 * 1. `formatQuery()` normalises the text: exactly one statement, no comments.
 * 2. `EXPLAIN AST CREATE VIEW … AS <query>` lists the `{name:Type}` placeholders (a view keeps
 *    them as QueryParameter nodes); each becomes `_CAST(<literal>, '<Type>')`.
 * 3. The query to run, `SELECT * FROM (<query>) SETTINGS <limits>`, is parsed with `EXPLAIN AST`
 *    and every node is checked against allow lists: syntax, functions, table functions, tables
 *    (collector/src/sql/sql-ast.ts, collector/src/sql/sql-allow-lists.ts).
 * 4. That same text runs, and its answer is cut at the row and byte limits.
 */
export async function runReadOnlySql(
  sessions: SessionPool,
  query: string,
  params: Record<string, unknown>,
  limits: SqlLimits,
): Promise<SqlResult> {
  if (query.trim() === "") throw new SqlRejectedError("The query is empty. Send one SELECT statement in `query`.");
  const started = performance.now();
  return sessions.use(limits.maxExecutionSeconds * 1000, async (client) => {
    const formatted = await formatSingleStatement(client, query);
    const bound = await bindParameters(client, formatted, params);
    // Limits stop the query with 'break' rather than 'throw', so it ends cleanly and we report it.
    const settings = [
      `max_execution_time = ${limits.maxExecutionSeconds}`,
      `timeout_overflow_mode = 'break'`,
      `max_result_rows = ${limits.maxResultRows}`,
      `max_result_bytes = ${limits.maxResultBytes}`,
      `result_overflow_mode = 'break'`,
      // 'break' stops after the block that crossed a limit; smaller blocks keep that overshoot
      // (and the bytes chDB hands over) near the byte cap: 65 409 rows of 1 kB were 66 MB.
      `max_block_size = 8192`,
      `max_memory_usage = ${limits.maxMemoryBytes}`,
      `max_threads = ${limits.maxThreads}`,
      // The lowest CPU priority (nice 19) for the threads of a user query, so ingest and the REST
      // API, which share the machine's cores with it, go first (bench/sql-isolation.bench.mjs).
      `os_thread_priority = 19`,
      // The same JSON from chDB and from a server: 64-bit integers as strings, as JS cannot hold them.
      `output_format_json_quote_64bit_integers = 1`,
      // readonly last: once set, no later setting may change.
      `readonly = 1`,
    ].join(", ");
    const wrapped = `SELECT * FROM (\n${bound}\n) SETTINGS ${settings}`;
    const tree = parseExplainAst(await explainAst(client, wrapped));
    checkUserQuery(userPart(tree), await tableContext(client));
    const text = await (await client.query({ query: wrapped, format: "JSONCompactEachRowWithNamesAndTypes" })).text();
    return decodeResult(text, limits, started);
  });
}

/** The user's query inside the wrapper; throws if the tree is not exactly the wrapper around one query. */
function userPart(tree: AstNode): AstNode {
  const select = tree.kind === "SelectWithUnionQuery" && tree.children.length === 1 ? tree.children[0]!.children : [];
  const q = select.length === 1 && select[0]!.kind === "SelectQuery" ? select[0]!.children : [];
  const [list, tables, set] = q;
  const element = tables?.children.length === 1 ? tables.children[0]!.children : [];
  const expr = element.length === 1 && element[0]!.kind === "TableExpression" ? element[0]!.children : [];
  const sub = expr.length === 1 && expr[0]!.kind === "Subquery" ? expr[0]!.children : [];
  if (q.length !== 3 || list?.children.length !== 1 || list.children[0]!.kind !== "Asterisk" || set?.kind !== "Set" || sub.length !== 1) {
    throw new SqlRejectedError("The query could not be checked: send one plain SELECT statement.");
  }
  return sub[0]!;
}

function decodeResult(text: string, limits: SqlLimits, started: number): SqlResult {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const names = JSON.parse(lines[0] ?? "[]") as string[];
  const types = JSON.parse(lines[1] ?? "[]") as string[];
  const meta = names.map((name, i) => ({ name, type: types[i]! }));
  // What the answer costs as JSON objects: each row's values plus its keys.
  const keyBytes = names.reduce((a, n) => a + Buffer.byteLength(n) + 4, 2);
  const rows: Record<string, unknown>[] = [];
  let bytes = 0;
  let truncated = false;
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    bytes += Buffer.byteLength(line) + keyBytes;
    if (bytes > limits.maxResultBytes || rows.length >= limits.maxResultRows) {
      truncated = true;
      break;
    }
    const values = JSON.parse(line) as unknown[];
    rows.push(Object.fromEntries(names.map((n, k) => [n, values[k]])));
  }
  const elapsedMs = Math.round(performance.now() - started);
  // 'break' limits end a query early without saying so: an answer at a limit may be cut.
  if (rows.length >= limits.maxResultRows || elapsedMs >= limits.maxExecutionSeconds * 1000) truncated = true;
  return { rows, truncated, meta, rowCount: rows.length, elapsedMs };
}

async function formatSingleStatement(client: ClickHouseClient, query: string): Promise<string> {
  try {
    // readonly as a second fence: the user's text is only a string literal here.
    const text = quoteString(query.replace(/;\s*$/, ""));
    const rs = await client.query({ query: `SELECT formatQuery(${text}) AS f SETTINGS readonly = 1`, format: "JSONEachRow" });
    const [row] = await rs.json<{ f: string }>();
    return row!.f;
  } catch (err) {
    const msg = (err as Error).message.replace(/ In scope SELECT formatQuery[\s\S]*$/, "").replace(/:\s*$/, "");
    throw new SqlRejectedError(`${msg}. Send exactly one SELECT statement.`);
  }
}

async function explainAst(client: ClickHouseClient, sql: string): Promise<string[]> {
  // exec + default_format: query() would append `FORMAT …` to the explained statement, and chDB
  // would answer in its default CSV (not JSON once a literal holds a quote: issue 11, item 5).
  const res = await client.exec({ query: `EXPLAIN AST ${sql}`, clickhouse_settings: { default_format: "JSONEachRow" } });
  let text = "";
  for await (const chunk of res.stream) text += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as { explain: string }).explain);
}

/** Replaces each `{name:Type}` placeholder the parser finds by `_CAST(<literal>, '<Type>')`. */
async function bindParameters(client: ClickHouseClient, formatted: string, params: Record<string, unknown>): Promise<string> {
  const scanned = scanFormattedQuery(formatted);
  if (scanned.escapedIdentifier) {
    throw new SqlRejectedError("Identifiers with line breaks or other escaped characters are not allowed in the SQL endpoint: rename the alias or column.");
  }
  let view: AstNode;
  try {
    view = parseExplainAst(await explainAst(client, `CREATE VIEW gavel_sql_check AS ${formatted}`));
  } catch (err) {
    if (err instanceof SqlRejectedError) throw err;
    const head = /^\s*(\w+|\()/.exec(formatted)?.[1]?.toUpperCase() ?? "nothing";
    // A SELECT a view cannot hold still failed for a reason of its own: report the engine's.
    if (head === "SELECT" || head === "WITH" || head === "(") throw err;
    throw new SqlRejectedError(`Only SELECT queries are allowed here (got ${head}). The SQL endpoint is read-only; use the REST API to change data.`);
  }
  if (view.children.length !== 2) {
    throw new SqlRejectedError("Remove the FORMAT or INTO OUTFILE clause: the SQL endpoint always answers JSON.");
  }
  const found: { name: string; type: string }[] = [];
  const walk = (n: AstNode) => {
    if (n.kind === "QueryParameter") {
      const i = n.text.indexOf(":");
      found.push({ name: n.text.slice(0, i), type: n.text.slice(i + 1) });
    }
    n.children.forEach(walk);
  };
  walk(view);
  const norm = (p: { name: string; type: string }) => `${p.name}:${p.type.replace(/\s+/g, "")}`;
  const fromParser = found.map(norm).sort();
  const fromText = scanned.placeholders.map(norm).sort();
  if (fromParser.join("\n") !== fromText.join("\n")) {
    throw new SqlRejectedError("The query's {name:Type} placeholders could not be located: write each as {name:Type} outside quotes.");
  }
  const missing = found.find((p) => !(p.name in params));
  if (missing) {
    throw new SqlRejectedError(`The query uses {${missing.name}:${missing.type}} but no value was given: pass it in \`params\` (CLI: --param ${missing.name}=…).`);
  }
  let out = "";
  let last = 0;
  for (const p of scanned.placeholders) {
    let literal: string;
    try {
      literal = sqlLiteral(params[p.name], p.type);
    } catch (err) {
      if (err instanceof SqlValueError) throw new SqlRejectedError(`The parameter ${p.name} ${err.message}: pass a string, number, boolean, null, array or object.`);
      throw err;
    }
    out += `${formatted.slice(last, p.start)}_CAST(${literal}, ${quoteString(p.type)})`;
    last = p.end;
  }
  return out + formatted.slice(last);
}

async function tableContext(client: ClickHouseClient): Promise<TableContext> {
  const rs = await client.query({
    query: "SELECT currentDatabase() AS db, groupArray(name) AS names FROM system.tables WHERE database = currentDatabase()",
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ db: string; names: string[] }>();
  return { database: row!.db, gavelTables: new Set(schemaObjectNames()), existingTables: new Set(row!.names) };
}
