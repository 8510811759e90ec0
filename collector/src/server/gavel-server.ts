import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, type GavelConfig } from "../config/config.js";
import { Store } from "../store/store.js";
import { createApp } from "./app.js";

export interface RunningGavel {
  url: string;
  store: Store;
  config: GavelConfig;
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

export async function startGavel(config: GavelConfig): Promise<RunningGavel> {
  checkListenAddress(config, config.apiKeys.length > 0);
  const store = await Store.open(config);
  const app = createApp(store, config);
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      s.once("error", reject);
    });
  } catch (err) {
    await store.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") {
      throw new ConfigError(`Port ${config.port} on ${config.host} is in use: is Gavel already running? Stop it or set GAVEL_PORT.`);
    }
    throw err;
  }
  server.keepAliveTimeout = 65_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${addr.port}`,
    store,
    config,
    close() {
      closing ??= (async () => {
        // Requests already inside the handler finish (and are stored) before close resolves.
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await store.close();
      })();
      return closing;
    },
  };
}
