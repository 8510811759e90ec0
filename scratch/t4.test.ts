import { it } from "vitest";
import { Store } from "../collector/src/store/store.js";
import { tempConfig } from "../test/support/temp-store.js";
it("x", async () => {
  const cfg = tempConfig(); const store = await Store.open(cfg);
  await store.sql.use(1000, async (c) => { const r = await c.query({ query: "EXPLAIN AST CREATE VIEW gavel_sql_check AS SELECT 1", format: "TabSeparatedRaw" }); console.log(JSON.stringify(await r.text())); });
  await store.close(); cfg.cleanup();
});
