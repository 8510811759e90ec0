import type { ClickHouseClient } from "@clickhouse/client";
import type { GavelConfig } from "../config/config.js";
import { SpanBatcher } from "../ingest/span-batcher.js";
import { openStoreClient, type StoreClient, type StoreMode } from "./clickhouse.js";
import { migrate, type MigrateResult } from "./migrations.js";
import { createSpanWriter, type SpanWriter } from "./span-writer.js";

/**
 * The collector's handle on ClickHouse: one client, the migrated schema, and the
 * span batcher. The collector is the only writer of the store.
 */
export class Store {
  readonly batcher: SpanBatcher;

  private constructor(
    private readonly sc: StoreClient,
    readonly writer: SpanWriter,
    readonly migration: MigrateResult,
    config: GavelConfig,
  ) {
    this.batcher = new SpanBatcher(writer, {
      batchRows: config.batchRows,
      batchWaitMs: config.batchWaitMs,
      maxQueuedRows: config.maxQueuedRows,
    });
  }

  static async open(config: GavelConfig): Promise<Store> {
    const sc = await openStoreClient(config);
    try {
      // A clustered store gets the clustered schema (Replicated* + Distributed), never plain tables.
      const migration = await migrate(sc.client, { cluster: config.clickhouse?.cluster });
      return new Store(sc, createSpanWriter(sc), migration, config);
    } catch (err) {
      await sc.close().catch(() => undefined);
      throw err;
    }
  }

  get client(): ClickHouseClient {
    return this.sc.client;
  }

  get mode(): StoreMode {
    return this.sc.mode;
  }

  get dataDir(): string | undefined {
    return this.sc.dataDir;
  }

  async ping(): Promise<boolean> {
    try {
      const r = await this.sc.client.query({ query: "SELECT 1 AS ok", format: "JSONEachRow" });
      await r.json();
      return true;
    } catch {
      return false;
    }
  }

  /** Stores everything accepted so far, then closes the connection. */
  async close(): Promise<void> {
    await this.batcher.flush();
    await this.writer.close();
    await this.sc.close();
  }
}
