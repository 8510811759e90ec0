/** Helpers that edit one clause of a searchTraces filter string, leaving the user's other clauses alone. */

/** Splits `a AND b AND c` on AND outside quotes and backticks. */
export function splitClauses(filter: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i]!;
    if (quote) {
      cur += c;
      if (c === "\\" && quote !== "`") {
        cur += filter[++i] ?? "";
      } else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === "`") {
      quote = c;
      cur += c;
      continue;
    }
    if (/\s/.test(c) && /^\s+AND\s+/i.test(filter.slice(i))) {
      const m = /^\s+AND\s+/i.exec(filter.slice(i))!;
      out.push(cur.trim());
      cur = "";
      i += m[0].length - 1;
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.filter(Boolean);
}

const fieldOf = (clause: string) => clause.split(/\s*(?:!=|<>|>=|<=|=|<|>|\s(?:NOT\s+)?(?:I?LIKE|IN)\s)/i)[0]!.trim().toLowerCase();

/** The clause on `field` (e.g. `trace.status`), if any. */
export function findClause(filter: string, field: string): string | undefined {
  return splitClauses(filter).find((c) => fieldOf(c) === field.toLowerCase());
}

/** Replaces the clauses on `field` with `clause` (or removes them when null). */
export function withClause(filter: string, field: string, clause: string | null): string {
  const kept = splitClauses(filter).filter((c) => fieldOf(c) !== field.toLowerCase());
  if (clause) kept.push(clause);
  return kept.join(" AND ");
}

/** A field name segment, backticked when it is not a plain identifier. */
export function fieldName(prefix: string, name: string): string {
  return /^[A-Za-z_][\w.]*$/.test(name) ? `${prefix}.${name}` : `${prefix}.\`${name.replace(/`/g, "")}\``;
}
