import { ALLOWED_FUNCTIONS_BY_CATEGORY, CASE_INSENSITIVE_FUNCTIONS } from "./sql-allow-lists.js";

export class SqlRejectedError extends Error {
  override name = "SqlRejectedError";
}

/** One node of ClickHouse's `EXPLAIN AST` output. */
export interface AstNode {
  kind: string;
  /** What follows the kind on its line, without the `(alias …)` and `(children N)` parts. */
  text: string;
  alias?: string;
  children: AstNode[];
}

/**
 * Parses `EXPLAIN AST` rows (one per line, one space of indent per level) into a tree and checks
 * that every node has the number of children its line declares. The query's identifiers must not
 * contain line breaks (the caller refuses those), so every line is a real node.
 */
export function parseExplainAst(lines: string[]): AstNode {
  let pos = 0;
  const parseNode = (depth: number): AstNode => {
    const raw = lines[pos++]!;
    const indent = raw.length - raw.trimStart().length;
    if (indent !== depth) throw new SqlRejectedError("The query's syntax tree could not be read; simplify the query.");
    let rest = raw.trim();
    let declared = 0;
    const ch = /\s\(children (\d+)\)$/.exec(rest);
    if (ch) {
      declared = Number(ch[1]);
      rest = rest.slice(0, ch.index);
    }
    let alias: string | undefined;
    const al = /\s\(alias (.*)\)$/.exec(rest);
    if (al) {
      alias = al[1];
      rest = rest.slice(0, al.index);
    }
    const sp = rest.indexOf(" ");
    const node: AstNode = { kind: sp < 0 ? rest : rest.slice(0, sp), text: sp < 0 ? "" : rest.slice(sp + 1), children: [] };
    if (alias !== undefined) node.alias = alias;
    for (let k = 0; k < declared; k++) {
      if (pos >= lines.length) throw new SqlRejectedError("The query's syntax tree could not be read; simplify the query.");
      node.children.push(parseNode(depth + 1));
    }
    return node;
  };
  const nonEmpty = lines.filter((l) => l.trim() !== "");
  lines = nonEmpty;
  const root = parseNode(0);
  if (pos !== lines.length) throw new SqlRejectedError("The query's syntax tree could not be read; simplify the query.");
  return root;
}

/** Syntax a user query may contain. Anything else (SETTINGS, APPLY(f), INTO OUTFILE …) is refused. */
const ALLOWED_NODES = new Set([
  "SelectWithUnionQuery",
  "SelectIntersectExceptQuery",
  "SelectQuery",
  "ExpressionList",
  "TablesInSelectQuery",
  "TablesInSelectQueryElement",
  "TableExpression",
  "TableIdentifier",
  "TableJoin",
  "ArrayJoin",
  "Subquery",
  "Function",
  "Identifier",
  "Literal",
  "Asterisk",
  "QualifiedAsterisk",
  "ColumnsRegexpMatcher",
  "ColumnsListMatcher",
  "QualifiedColumnsRegexpMatcher",
  "QualifiedColumnsListMatcher",
  "ColumnsTransformerList",
  "ColumnsExceptTransformer",
  "ColumnsReplaceTransformer",
  "ColumnsReplaceTransformer::Replacement",
  "OrderByElement",
  "WithElement",
  "WindowDefinition",
  "WindowListElement",
  "SampleRatio",
  "InterpolateElement",
]);

/** Table functions that generate rows and read nothing. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(["numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateSeries", "values"]);

/** Functions of the syntax itself: lambdas, EXISTS, GROUPING. */
const SYNTAX_FUNCTIONS = ["lambda", "exists", "grouping"];

const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([...Object.values(ALLOWED_FUNCTIONS_BY_CATEGORY).flat(), ...SYNTAX_FUNCTIONS]);
const AGGREGATES: ReadonlySet<string> = new Set(ALLOWED_FUNCTIONS_BY_CATEGORY["aggregate"]);
const LOWER_ALLOWED = new Map<string, string>();
for (const f of ALLOWED_FUNCTIONS) if (CASE_INSENSITIVE_FUNCTIONS.has(f.toLowerCase())) LOWER_ALLOWED.set(f.toLowerCase(), f);

/** Aggregate function combinators (system.aggregate_function_combinators), longest first. */
const COMBINATORS = ["SimpleState", "MergeState", "OrDefault", "Distinct", "Resample", "ForEach", "ArgMax", "ArgMin", "OrNull", "Tuple", "Merge", "State", "Array", "Null", "Map", "If"];

/** Whether a function name (as written, aliases and combinators included) is on the allow list. */
export function isAllowedFunction(name: string): boolean {
  if (ALLOWED_FUNCTIONS.has(name)) return true;
  if (LOWER_ALLOWED.has(name.toLowerCase())) return true;
  return isAllowedAggregateWithCombinators(name, 0);
}

function isAllowedAggregateWithCombinators(name: string, depth: number): boolean {
  if (depth > 0 && (AGGREGATES.has(name) || (LOWER_ALLOWED.has(name.toLowerCase()) && AGGREGATES.has(LOWER_ALLOWED.get(name.toLowerCase())!)))) return true;
  if (depth >= 4) return false;
  for (const c of COMBINATORS) {
    if (name.length > c.length && name.endsWith(c) && isAllowedAggregateWithCombinators(name.slice(0, -c.length), depth + 1)) return true;
  }
  return false;
}

const IN_FUNCTIONS = new Set(["in", "notIn", "nullIn", "notNullIn", "inIgnoreSet", "notInIgnoreSet", "nullInIgnoreSet", "notNullInIgnoreSet"]);

/** INFORMATION_SCHEMA views (both spellings of the database exist). */
const INFORMATION_SCHEMA_VIEWS = new Set(["schemata", "tables", "columns", "views", "key_column_usage", "referential_constraints", "statistics"]);

export interface TableContext {
  /** The current database: the only one whose tables may be named with a database. */
  database: string;
  /** Gavel's tables and views, readable by name. */
  gavelTables: ReadonlySet<string>;
  /** Every table of the current database (a CTE may use any other name). */
  existingTables: ReadonlySet<string>;
}

const tableListHint = (ctx: TableContext) =>
  `Readable: Gavel's tables (${[...ctx.gavelTables].sort().join(", ")}) and INFORMATION_SCHEMA (tables, columns, views, schemata).`;

function checkTableName(full: string, ctx: TableContext): void {
  const dot = full.indexOf(".");
  if (dot >= 0) {
    const db = full.slice(0, dot);
    const name = full.slice(dot + 1);
    if (db === ctx.database && ctx.gavelTables.has(name)) return;
    if (db.toLowerCase() === "information_schema" && INFORMATION_SCHEMA_VIEWS.has(name.toLowerCase())) return;
    throw new SqlRejectedError(`${full} is not readable here. ${tableListHint(ctx)}`);
  }
  if (ctx.gavelTables.has(full)) return;
  // Any other name can only be a CTE (WITH name AS …); a table of that name would be read instead.
  if (!ctx.existingTables.has(full)) return;
  throw new SqlRejectedError(`${full} is not readable here. ${tableListHint(ctx)}`);
}

/**
 * Checks the tree of a user query: only allowed syntax, functions, table functions and tables.
 * `root` is the query's own SelectWithUnionQuery (or SelectIntersectExceptQuery).
 */
export function checkUserQuery(root: AstNode, ctx: TableContext): void {
  if (root.kind !== "SelectWithUnionQuery" && root.kind !== "SelectIntersectExceptQuery") {
    throw new SqlRejectedError(`Only SELECT queries are allowed here (got ${root.kind}). The SQL endpoint is read-only; use the REST API to change data.`);
  }
  const visit = (node: AstNode, parent: AstNode | undefined): void => {
    if (node.kind === "Set") {
      throw new SqlRejectedError("SETTINGS clauses are not allowed in the SQL endpoint: its limits are fixed by the server (GAVEL_SQL_* variables).");
    }
    if (node.kind === "ColumnsApplyTransformer") {
      throw new SqlRejectedError("APPLY(…) is not allowed in the SQL endpoint: call the function on the columns instead.");
    }
    if (!ALLOWED_NODES.has(node.kind)) {
      throw new SqlRejectedError(`${node.kind} is not allowed in the SQL endpoint: send one plain SELECT (no FORMAT, INTO OUTFILE or SETTINGS).`);
    }
    if (node.kind === "SelectWithUnionQuery" && node.children.length !== 1) {
      throw new SqlRejectedError("Remove the FORMAT or INTO OUTFILE clause: the SQL endpoint always answers JSON.");
    }
    if (node.kind === "Function") {
      const name = node.text.split(" ")[0]!;
      if (parent?.kind === "TableExpression") {
        if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
          throw new SqlRejectedError(
            `The table function ${name}() is not allowed: the SQL endpoint reads only Gavel's tables (no files, URLs or other servers). Allowed table functions: ${[...ALLOWED_TABLE_FUNCTIONS].join(", ")}.`,
          );
        }
      } else if (!isAllowedFunction(name)) {
        throw new SqlRejectedError(
          `The function ${name}() is not allowed in the SQL endpoint: it may call functions that compute on their arguments (no files, URLs, network, settings, host or process information). See docs/production.md, "The SQL endpoint".`,
        );
      }
      if (IN_FUNCTIONS.has(name)) {
        const rhs = node.children[0]?.children[1];
        if (rhs?.kind === "Identifier") checkTableName(rhs.text, ctx);
      }
    }
    if (node.kind === "TableIdentifier") checkTableName(node.text, ctx);
    for (const c of node.children) visit(c, node);
  };
  visit(root, undefined);
}
