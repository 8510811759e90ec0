import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError, type GavelConfig } from "../config/config.js";
import { SessionPool } from "./session-pool.js";

export type StoreMode = "embedded" | "server";

/**
 * Three ways into the same store, so that ingest, the REST API and user SQL never queue behind
 * each other. On chDB each is its own engine session on the one data directory: a session runs
 * one query at a time, and sessions run in parallel (but every *parameterised* query of the
 * process goes through one chain in chdb, so only `client` binds parameters).
 */
export interface StoreClient {
  /** The REST API's reads and writes, migrations, the worker. */
  client: ClickHouseClient;
  /** Span inserts only (never parameterised). */
  ingest: ClickHouseClient;
  /** User SQL, one query per session at a time (never parameterised). */
  sql: SessionPool;
  mode: StoreMode;
  /** Where the embedded engine keeps its data; undefined on a server. */
  dataDir?: string;
  close(): Promise<void>;
}

/**
 * @clickhouse/client over either connection: chDB in-process (default, one session per client)
 * or a ClickHouse server over HTTP. Everything above this module is identical in both modes.
 */
export async function openStoreClient(
  config: Pick<GavelConfig, "dataDir" | "clickhouse"> & { sql?: { sessions: number } },
): Promise<StoreClient> {
  const sqlSessions = config.sql?.sessions ?? 2;
  if (config.clickhouse) {
    const ch = config.clickhouse;
    const open = () =>
      createClient({
        url: ch.url,
        username: ch.user,
        password: ch.password,
        database: ch.database,
        request_timeout: 60_000,
        compression: { request: false, response: true },
      });
    // A server runs queries concurrently; user SQL gets its own client so its sockets are its own.
    const client = open();
    const sqlClient = open();
    const sql = new SessionPool(Array.from({ length: sqlSessions }, () => sqlClient), async () => sqlClient);
    return {
      client,
      ingest: client,
      sql,
      mode: "server",
      close: async () => {
        await sql.close();
        await Promise.all([client.close(), sqlClient.close()]);
      },
    };
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
  const open = () => createClient({ connection: createChdbConnection({ path: dataDir }) } as Parameters<typeof createClient>[0]);
  let client: ClickHouseClient;
  try {
    client = open();
  } catch (err) {
    throw new ConfigError(
      `Cannot open the embedded ClickHouse in ${dataDir} (GAVEL_DATA_DIR / --data-dir): ${(err as Error).message}. ` +
        "A data directory opens in one process at a time: is another Gavel, or `gavel migrate`, using it?",
    );
  }
  // Same path: these join the engine the first one started.
  const ingest = open();
  const sqlClients = Array.from({ length: sqlSessions }, open);
  const all = new Set([client, ingest, ...sqlClients]);
  const sql = new SessionPool(sqlClients, async (broken) => {
    all.delete(broken);
    await broken.close().catch(() => undefined);
    const fresh = open();
    all.add(fresh);
    return fresh;
  });
  return {
    client,
    ingest,
    sql,
    mode: "embedded",
    dataDir,
    close: async () => {
      await sql.close();
      await Promise.all([...all].map((c) => c.close()));
      // The engine is a process singleton: wait for its pending work before another path may open.
      const chdb = (await import("chdb")) as unknown as { drainPending?: () => Promise<void> };
      if (typeof chdb.drainPending === "function") await chdb.drainPending();
    },
  };
}
