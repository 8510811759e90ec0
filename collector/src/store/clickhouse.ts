import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, type GavelConfig } from "../config/config.js";

export type StoreMode = "embedded" | "server";

export interface StoreClient {
  client: ClickHouseClient;
  mode: StoreMode;
  /** Where the embedded engine keeps its data; undefined on a server. */
  dataDir?: string;
  close(): Promise<void>;
}

/**
 * One @clickhouse/client over either connection: chDB in-process (default) or a
 * ClickHouse server over HTTP. Everything above this module is identical in both modes.
 */
export async function openStoreClient(config: Pick<GavelConfig, "dataDir" | "clickhouse">): Promise<StoreClient> {
  if (config.clickhouse) {
    const ch = config.clickhouse;
    const client = createClient({
      url: ch.url,
      username: ch.user,
      password: ch.password,
      database: ch.database,
      request_timeout: 60_000,
      compression: { request: false, response: true },
    });
    return { client, mode: "server", close: () => client.close() };
  }
  const dataDir = resolve(config.dataDir);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new ConfigError(`Cannot use ${dataDir} as the data directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): set GAVEL_DATA_DIR / --data-dir to a directory Gavel may write.`);
  }
  // chdb/connection is CommonJS; loading it lazily keeps the 500 MB engine out of
  // processes that only talk to a server.
  const { createChdbConnection } = await import("chdb/connection");
  let connection;
  try {
    connection = createChdbConnection({ path: dataDir });
  } catch (err) {
    throw new ConfigError(
      `Cannot open the embedded ClickHouse in ${dataDir} (GAVEL_DATA_DIR / --data-dir): ${(err as Error).message}. ` +
        "A data directory opens in one process at a time: is another Gavel, or `gavel migrate`, using it?",
    );
  }
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  return {
    client,
    mode: "embedded",
    dataDir,
    close: async () => {
      await client.close();
      // The engine is a process singleton: wait for its pending work before another path may open.
      const chdb = (await import("chdb")) as unknown as { drainPending?: () => Promise<void> };
      if (typeof chdb.drainPending === "function") await chdb.drainPending();
    },
  };
}
