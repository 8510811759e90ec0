import type { Server } from "node:http";
import { startSelfTracing } from "../tracing/self-tracing.js";
import type { AddressInfo } from "node:net";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { ConfigError, loadConfig } from "../config/config.js";
import { Store } from "../store/store.js";
import { createWorkerApp } from "../server/worker-app.js";
import { WorkerRuntime } from "../worker/runtime.js";
import { loadWorkerSettings } from "../worker/settings.js";
import { parseShard } from "../worker/shard.js";
import { parseDuration } from "../worker/duration.js";
import { parsePort } from "./parse-flags.js";

const NEEDS_SERVER =
  "gavel worker needs a ClickHouse server: set GAVEL_CLICKHOUSE_URL (and _USER, _PASSWORD, _DATABASE). " +
  "With embedded ClickHouse (chDB) the collector (`gavel start`) already runs the online worker in its own process, " +
  "and a chDB data directory can be opened by one process only.";

function shardFlag(v: string) {
  try {
    return parseShard(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function sessionSettleFlag(v: string): number {
  const ms = /^\s*\d+\s*$/.test(v) ? Number(v) : parseDuration(v);
  if (ms === undefined || ms > 86_400_000) throw new InvalidArgumentError(`"${v}" is not a duration up to 24h: write e.g. 5m, 90s or 300000 (milliseconds).`);
  return ms;
}

/** Store.open, retried with backoff while ClickHouse is unreachable (it may start after the workers). */
async function openStoreRetrying(config: ReturnType<typeof loadConfig>, stopped: () => boolean): Promise<Store | undefined> {
  for (let attempt = 0; !stopped(); attempt++) {
    try {
      return await Store.open(config);
    } catch (err) {
      const delay = Math.min(30_000, 1000 * 2 ** attempt);
      console.error(`gavel worker: ClickHouse at ${config.clickhouse!.url} not ready (${(err as Error).message}); retrying in ${delay / 1000} s.`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return undefined;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description("Run the online-scoring worker against a ClickHouse server (GAVEL_CLICKHOUSE_URL); several workers split traces with --shard")
    .option("--shard <i/N>", "take the traces where cityHash64(TraceId) % N = i (default $GAVEL_WORKER_SHARD or 0/1)", shardFlag)
    .option(
      "--session-settle <duration>",
      "a session is complete, and its {{ conversation }} judges run, when none of its traces received a span for this long (default $GAVEL_SESSION_SETTLE_MS or 5m)",
      sessionSettleFlag,
    )
    .option("--metrics-port <port>", "port of GET /metrics (default $GAVEL_WORKER_METRICS_PORT or 9464; 0 picks a free one)", parsePort)
    .option("--metrics-host <host>", "address of GET /metrics (default 127.0.0.1)")
    .action(async (opts: { shard?: ReturnType<typeof parseShard>; sessionSettle?: number; metricsPort?: number; metricsHost?: string }) => {
      const config = loadConfig(process.env);
      if (!config.clickhouse) {
        console.error(`gavel: ${NEEDS_SERVER}`);
        process.exitCode = 2;
        return;
      }
      const settings = {
        ...loadWorkerSettings(process.env),
        ...(opts.shard ? { shard: opts.shard } : {}),
        ...(opts.sessionSettle !== undefined ? { sessionSettleMs: opts.sessionSettle } : {}),
      };
      const envPort = process.env.GAVEL_WORKER_METRICS_PORT?.trim();
      if (envPort && (!/^\d+$/.test(envPort) || Number(envPort) > 65535)) {
        throw new ConfigError(`Invalid configuration: GAVEL_WORKER_METRICS_PORT must be a port from 0 to 65535 (got "${envPort}").`);
      }
      const port = opts.metricsPort ?? (envPort ? Number(envPort) : 9464);
      const host = opts.metricsHost ?? "127.0.0.1";

      let stopping = false;
      let stop: (signal: string) => void = () => {
        stopping = true;
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));

      const store = await openStoreRetrying(config, () => stopping);
      if (!store) return;
      const runtime = new WorkerRuntime(store, settings);
      const app = createWorkerApp(runtime, config);
      const server = await new Promise<Server>((resolve, reject) => {
        // Express 5 calls this back with the error too when listening fails.
        const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
      }).catch(async (err: NodeJS.ErrnoException) => {
        await store.close();
        throw new ConfigError(`gavel worker cannot serve /metrics on ${host}:${port} (${err.code ?? err.message}): choose another --metrics-port or GAVEL_WORKER_METRICS_PORT.`);
      });
      const selfTracing = startSelfTracing(store.batcher);
      const worker = runtime.startOnline();
      const addr = server.address() as AddressInfo;
      console.log(`Gavel worker (${worker.describe()}) scoring from ClickHouse at ${config.clickhouse.url}; metrics on http://${host}:${addr.port}/metrics`);

      stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`Gavel worker: ${signal} received, finishing judgements in flight…`);
        (async () => {
          await runtime.stop();
          await new Promise<void>((r) => {
            server.close(() => r());
            server.closeIdleConnections();
          });
          await selfTracing.shutdown();
          await store.close();
        })().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error("Gavel worker: shutdown failed:", err);
            process.exit(1);
          },
        );
      };
    });
}
