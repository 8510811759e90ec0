import type { Command } from "commander";
import { Option } from "commander";
import { callApi, collectorUrl } from "./http-client.js";
import { collectParam } from "./parse-flags.js";
import { formatTable } from "./print-table.js";

interface SqlAnswer {
  rows: Record<string, unknown>[];
  meta: { name: string; type: string }[];
  rowCount: number;
  elapsedMs: number;
}

export function registerSqlCommand(program: Command): void {
  program
    .command("sql")
    .description("Run a read-only SQL query against a running collector")
    .argument("<query>", "one SELECT statement; use {name:Type} placeholders with --param")
    .option("-p, --param <name=value>", "query parameter (repeatable)", collectParam, {})
    .addOption(new Option("-f, --format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--url <url>", "collector URL (default $GAVEL_URL or http://127.0.0.1:4318)")
    .action(async (query: string, opts: { param: Record<string, unknown>; format: string; url?: string }) => {
      const ans = await callApi<SqlAnswer>(collectorUrl(opts.url), "POST", "/api/v1/sql", { query, params: opts.param });
      if (opts.format === "json") {
        process.stdout.write(JSON.stringify(ans.rows, null, 2) + "\n");
        return;
      }
      process.stdout.write(formatTable(ans.meta.map((m) => m.name), ans.rows) + "\n");
      process.stdout.write(`${ans.rowCount} row${ans.rowCount === 1 ? "" : "s"} in ${ans.elapsedMs} ms\n`);
    });
}
