import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, type GavelConfig } from "../config/config.js";
import { Store } from "../store/store.js";
import { createApp } from "./app.js";
import { loadWorkerSettings } from "../worker/settings.js";
import { WorkerRuntime } from "../worker/runtime.js";
import { startSelfTracing } from "../tracing/self-tracing.js";
import { startOtlpGrpcServer, type OtlpGrpcServer } from "../ingest/otlp-grpc-receiver.js";

export interface RunningGavel {
  url: string;
  /** host:port of the OTLP/gRPC receiver; undefined when GAVEL_GRPC_PORT=0. */
  grpcAddress?: string;
  store: Store;
  config: GavelConfig;
  /** Online scoring (running when ClickHouse is embedded, or GAVEL_WORKER=on), backfill jobs, /metrics. */
  worker: WorkerRuntime;
  /** Stops accepting requests, stores everything already accepted, closes the store. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith("127.");
}

/** Without API keys Gavel has no access control, so it stays on loopback unless told otherwise. */
export function checkListenAddress(config: GavelConfig, hasApiKeys: boolean): void {
  if (!isLoopback(config.host) && !hasApiKeys && !config.insecureListen) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} without API keys: anyone who can reach it could read and write your traces. ` +
        `Set GAVEL_API_KEYS, or listen on 127.0.0.1, or pass --insecure-listen if a proxy in front of Gavel does authentication.`,
    );
  }
}

/** The variable or flag at fault when the server cannot listen, so the message names it. */
function listenError(err: unknown, config: GavelConfig): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") {
    return new ConfigError(`Port ${config.port} on ${config.host} is in use: is Gavel already running? Stop it or set GAVEL_PORT / --port.`);
  }
  if (code === "EACCES") {
    return new ConfigError(`Not allowed to listen on port ${config.port} (ports below 1024 need privileges): set GAVEL_PORT / --port to 1024 or above.`);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EADDRNOTAVAIL" || code === "EINVAL") {
    return new ConfigError(`Cannot listen on host "${config.host}" (${code}): set GAVEL_HOST / --host to an address of this machine, such as 127.0.0.1 or 0.0.0.0.`);
  }
  return err;
}

export async function startGavel(config: GavelConfig): Promise<RunningGavel> {
  checkListenAddress(config, config.apiKeys.length > 0);
  const workerSettings = loadWorkerSettings(process.env);
  const store = await Store.open(config, { ingestLog: true });
  const worker = new WorkerRuntime(store, workerSettings);
  const app = createApp(store, config, worker);
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      // Express 5 calls this back with the error too when listening fails.
      const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
  } catch (err) {
    await store.close();
    throw listenError(err, config);
  }
  let grpcServer: OtlpGrpcServer | undefined;
  if (config.grpcPort !== 0) {
    try {
      grpcServer = await startOtlpGrpcServer(store, config);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      const msg = (err as Error).message ?? String(err);
      throw new ConfigError(
        /EADDRINUSE/.test(msg)
          ? `OTLP/gRPC port ${config.grpcPort} on ${config.host} is in use (is an OpenTelemetry Collector or another Gavel running?): set GAVEL_GRPC_PORT / --grpc-port to a free port, or 0 to turn gRPC off.`
          : `Cannot listen for OTLP/gRPC on ${config.host}:${config.grpcPort} (${msg}): set GAVEL_GRPC_PORT / --grpc-port, or 0 to turn gRPC off.`,
      );
    }
  }
  server.keepAliveTimeout = 65_000;
  // Responses not yet sent, so that close() can make them end their keep-alive connection.
  const pending = new Set<ServerResponse>();
  let shuttingDown = false;
  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    if (shuttingDown && !res.headersSent) res.setHeader("Connection", "close");
    pending.add(res);
    res.once("finish", () => pending.delete(res));
    res.once("close", () => pending.delete(res));
  });
  const selfTracing = startSelfTracing(store.batcher);
  // With chDB the data dir opens in this process only, so the worker runs here (docs/architecture.md, "Seams").
  if (worker.onlineInCollector) worker.startOnline();
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    ...(grpcServer ? { grpcAddress: grpcServer.address } : {}),
    store,
    config,
    worker,
    close() {
      closing ??= (async () => {
        // Requests already inside the handler finish (and are stored) before close resolves;
        // the worker stops (storing judgements in flight) before the store closes.
        await Promise.all([
          new Promise<void>((resolve) => {
            // A keep-alive connection busy when close() begins would otherwise turn idle
            // afterwards and hold close() open for keepAliveTimeout, while a client that
            // keeps sending on it would hold it open for ever.
            shuttingDown = true;
            for (const res of pending) if (!res.headersSent) res.setHeader("Connection", "close");
            const sweep = setInterval(() => server.closeIdleConnections(), 100);
            server.close(() => {
              clearInterval(sweep);
              resolve();
            });
            server.closeIdleConnections();
          }),
          worker.stop(),
          grpcServer?.close(),
        ]);
        await selfTracing.shutdown();
        await store.close();
      })();
      return closing;
    },
  };
}
