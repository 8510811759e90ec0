import type { Command } from "commander";
import { loadConfig } from "../config/config.js";
import { startGavel } from "../server/gavel-server.js";
import { parsePort } from "./parse-flags.js";

export function registerStartCommand(program: Command): void {
  program
    .command("start", { isDefault: true })
    .description("Start the collector (OTLP receiver, REST API, SQL) with embedded ClickHouse unless GAVEL_CLICKHOUSE_URL is set")
    .option("--port <port>", "port (default $GAVEL_PORT or 4318)", parsePort)
    .option("--grpc-port <port>", "OTLP/gRPC port, 0 = off (default $GAVEL_GRPC_PORT or 4317)", parsePort)
    .option("--host <host>", "address to bind (default $GAVEL_HOST or 127.0.0.1)")
    .option("--data-dir <dir>", "embedded ClickHouse data directory (default $GAVEL_DATA_DIR or ./.gavel/data)")
    .option("--insecure-listen", "allow a non-loopback address without API keys")
    // `start` is the default command, so a mistyped command lands here as an argument.
    .allowExcessArguments()
    .action(async (opts: { port?: number; grpcPort?: number; host?: string; dataDir?: string; insecureListen?: boolean }, cmd: Command) => {
      if (cmd.args.length > 0) {
        const names = program.commands.map((c) => c.name()).join(", ");
        cmd.error(`error: unknown command '${cmd.args[0]}' (commands: ${names}; see \`gavel --help\`)`);
      }
      const config = loadConfig(process.env, {
        port: opts.port,
        grpcPort: opts.grpcPort,
        host: opts.host,
        dataDir: opts.dataDir,
        insecureListen: opts.insecureListen,
      });
      const gavel = await startGavel(config);
      const where = gavel.store.mode === "embedded" ? `embedded ClickHouse (chDB) in ${gavel.store.dataDir}` : `ClickHouse at ${config.clickhouse!.url}`;
      const grpc = gavel.grpcAddress ? `, OTLP/gRPC: ${gavel.grpcAddress}` : "";
      console.log(`Gavel listening on ${gavel.url}  (OTLP: ${gavel.url}/v1/traces${grpc}, API: ${gavel.url}/api/v1, store: ${where})`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`Gavel: ${signal} received, storing accepted spans and shutting down…`);
        gavel.close().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error("Gavel: shutdown failed:", err);
            process.exit(1);
          },
        );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
    });
}
