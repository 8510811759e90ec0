import { z } from "zod";
import type { GavelConfig } from "../config/config.js";
import type { Store } from "../store/store.js";
import { runReadOnlySql, SqlRejectedError } from "../sql/read-only-sql.js";
import { ApiError, parseInput } from "./errors.js";
import { route, strictRouter } from "../server/routes.js";

const SqlRequest = z
  .object({
    query: z.string().max(100_000, "query is longer than 100000 characters"),
    params: z.record(z.string().regex(/^\w+$/, "parameter names are letters, digits and _"), z.unknown()).optional(),
  })
  .strict();

export function sqlRouter(store: Store, config: GavelConfig) {
  const r = strictRouter();
  route(r, "POST", "/sql", "read", async (req, res) => {
    const body = parseInput(SqlRequest, req.body);
    try {
      res.json(await runReadOnlySql(store.client, body.query, body.params ?? {}, config.sql));
    } catch (err) {
      if (err instanceof SqlRejectedError) throw new ApiError(400, "SQL_REJECTED", err.message);
      // ClickHouse errors (syntax, unknown column, limits) are the user's to fix.
      const msg = (err as Error).message ?? String(err);
      throw new ApiError(400, "SQL_ERROR", `ClickHouse rejected the query: ${msg.trim()}`);
    }
  });
  return r;
}
