import type { Command } from "commander";
import { allSchemaStatements, migrate } from "../store/migrations.js";
import { loadConfig } from "../config/config.js";
import { openStoreClient } from "../store/clickhouse.js";

export function registerMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description("Apply the schema to the store (the collector also does this on start), or print it")
    .option("--print", "print the DDL instead of applying it")
    .option("--cluster <name>", "render the clustered DDL (Replicated* + Distributed) for this ClickHouse cluster")
    .option("--data-dir <dir>", "embedded data directory (default $GAVEL_DATA_DIR or ./.gavel/data)")
    .action(async (opts: { print?: boolean; cluster?: string; dataDir?: string }) => {
      if (opts.cluster !== undefined && !/^[A-Za-z_][\w-]*$/.test(opts.cluster)) {
        throw new Error(`--cluster "${opts.cluster}" is not a cluster name (letters, digits, _ and -).`);
      }
      if (opts.print) {
        process.stdout.write(allSchemaStatements({ cluster: opts.cluster }).map((s) => `${s};\n`).join("\n"));
        return;
      }
      const config = loadConfig(process.env, { dataDir: opts.dataDir });
      const sc = await openStoreClient(config);
      try {
        const r = await migrate(sc.client, { cluster: opts.cluster });
        console.log(r.applied.length ? `Applied migrations ${r.applied.join(", ")}; schema version ${r.current}.` : `Schema is up to date (version ${r.current}).`);
      } finally {
        await sc.close();
      }
    });
}
