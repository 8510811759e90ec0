import type { ClickHouseClient } from "@clickhouse/client";
import type { GavelConfig } from "../config/config.js";
import { SpanBatcher } from "./span-batcher.js";
import { RequestDedup } from "./request-dedup.js";
import { openStoreClient, type StoreClient, type StoreMode } from "./clickhouse.js";
import type { SessionPool } from "./session-pool.js";
import { migrate, schemaObjectNames, type MigrateResult } from "./migrations.js";
import { COLUMN_LIST, createSpanWriter, insertFileSql, SpanRowsRejectedError, type SpanWriter } from "./span-writer.js";
import { IngestLog, type Recovery } from "./ingest-log.js";
import { join } from "node:path";

/**
 * The collector's handle on ClickHouse: one client, the migrated schema, and the
 * span batcher. The collector is the only writer of the store.
 */
export class Store {
  readonly batcher: SpanBatcher;
  /** OTLP requests acknowledged lately, so that an exporter's resend is not stored twice. */
  readonly acknowledged: RequestDedup;

  private constructor(
    private readonly sc: StoreClient,
    readonly writer: SpanWriter,
    readonly migration: MigrateResult,
    config: GavelConfig,
    private readonly log: IngestLog | undefined,
  ) {
    this.batcher = new SpanBatcher(
      writer,
      {
        batchRows: config.batchRows,
        batchWaitMs: config.batchWaitMs,
        maxQueuedRows: config.maxQueuedRows,
        ackLoggedRows: config.ackLoggedRows,
      },
      log,
    );
    this.acknowledged = new RequestDedup({ windowMs: config.dedup.windowSeconds * 1000, maxRequests: config.dedup.maxRequests });
  }

  /**
   * `ingestLog`: this process receives OTLP (the collector): it opens the ingest log and stores
   * what a crash left in it first. Other processes (a worker, a CLI command) never touch the log.
   */
  static async open(config: GavelConfig, opts: { ingestLog?: boolean } = {}): Promise<Store> {
    const sc = await openStoreClient(config);
    try {
      // A clustered store gets the clustered schema (Replicated* + Distributed), never plain tables.
      const migration = await migrate(sc.client, { cluster: config.clickhouse?.cluster });
      const writer = createSpanWriter(sc);
      const dir = !opts.ingestLog ? undefined : (config.ingestLogDir ?? (sc.mode === "embedded" && sc.dataDir ? join(sc.dataDir, "ingest-log") : undefined));
      let log: IngestLog | undefined;
      if (dir) {
        const opened = IngestLog.open(dir);
        log = opened.log;
        await storeRecovered(sc.client, writer, log, opened.recovery);
      }
      return new Store(sc, writer, migration, config, log);
    } catch (err) {
      await sc.close().catch(() => undefined);
      throw err;
    }
  }

  get client(): ClickHouseClient {
    return this.sc.client;
  }

  /** The span inserts' own session. */
  get ingestClient(): ClickHouseClient {
    return this.sc.ingest;
  }

  /** User SQL's own sessions (collector/src/sql/read-only-sql.ts). */
  get sql(): SessionPool {
    return this.sc.sql;
  }

  get mode(): StoreMode {
    return this.sc.mode;
  }

  get dataDir(): string | undefined {
    return this.sc.dataDir;
  }

  /**
   * Ready to ingest and answer: ClickHouse answers and every table and view of the schema is
   * there (a detached or dropped otel_traces makes every OTLP request fail).
   */
  async health(): Promise<{ ok: true } | { ok: false; problem: string }> {
    const expected = schemaObjectNames();
    let found: Set<string>;
    try {
      const r = await this.sc.client.query({
        query: "SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}",
        query_params: { names: expected },
        format: "JSONEachRow",
      });
      found = new Set((await r.json<{ name: string }>()).map((t) => t.name));
    } catch (err) {
      return { ok: false, problem: `ClickHouse does not answer (${(err as Error).message.split("\n")[0]}); check that it is up and reachable.` };
    }
    const missing = expected.filter((n) => !found.has(n));
    if (missing.length > 0) {
      return { ok: false, problem: `Missing from the schema: ${missing.join(", ")}. Re-attach them, or run \`gavel migrate\` (a restart migrates too).` };
    }
    return { ok: true };
  }

  /** Stores everything accepted so far, then closes the connection. */
  async close(): Promise<void> {
    await this.batcher.flush();
    this.batcher.stop();
    this.log?.close();
    await this.writer.close();
    await this.sc.close();
  }
}

/**
 * Stores what the last run acknowledged once logged but had not stored when it stopped, before
 * any new request: a crash loses no acknowledged span. A segment's batch may have been stored
 * just before the crash (committed, but the segment not deleted yet), so its rows go through a
 * scratch table and only the spans otel_traces does not have yet are stored. Rows ClickHouse
 * refuses are kept beside the log; any other failure stops the start (the rows stay in the log
 * for the next one).
 */
async function storeRecovered(client: ClickHouseClient, writer: SpanWriter, log: IngestLog, recovery: Recovery): Promise<void> {
  let spans = 0;
  let already = 0;
  for (const { segment, rows: logged } of recovery.segments) {
    if (logged.length > 0) {
      const body = Buffer.concat(logged.map((r) => r.body));
      const rows = logged.reduce((n, r) => n + r.rows, 0);
      try {
        const stored = await storeMissing(client, writer, body);
        spans += stored;
        already += rows - stored;
      } catch (err) {
        if (!(err instanceof SpanRowsRejectedError)) {
          throw new Error(`Could not store ${rows} spans acknowledged before the last stop (${(err as Error).message}); they stay in ${log.dir}. Make ClickHouse reachable and start again.`);
        }
        const file = log.keepRejected(body);
        console.error(`gavel: ClickHouse refused ${rows} spans acknowledged before the last stop (${err.message}); they are kept in ${file}. Fix the cause, then insert the file with ${insertFileSql(file)}.`);
      }
    }
    log.removeRecovered(segment);
  }
  if (spans > 0 || already > 0 || recovery.droppedTails > 0) {
    console.log(
      `gavel: stored ${spans} spans acknowledged before the last stop from the ingest log` +
        (already > 0 ? `; ${already} were stored already` : "") +
        (recovery.droppedTails > 0 ? ` (${recovery.droppedTails} unfinished, never acknowledged, requests left out)` : "") +
        ".",
    );
  }
}

const REPLAY_TABLE = "gavel_ingest_replay";

/** Inserts the spans of `body` that otel_traces does not hold yet (by trace and span id); returns how many. */
async function storeMissing(client: ClickHouseClient, writer: SpanWriter, body: Buffer): Promise<number> {
  await client.command({ query: `DROP TABLE IF EXISTS ${REPLAY_TABLE}` });
  await client.command({ query: `CREATE TABLE ${REPLAY_TABLE} ENGINE = Memory AS SELECT ${COLUMN_LIST} FROM otel_traces LIMIT 0` });
  try {
    await writer.write(body, REPLAY_TABLE);
    // GLOBAL: on a cluster otel_traces is Distributed and the scratch table exists on this node only.
    const missing = `FROM ${REPLAY_TABLE} WHERE (TraceId, SpanId) GLOBAL NOT IN (SELECT TraceId, SpanId FROM otel_traces WHERE TraceId GLOBAL IN (SELECT TraceId FROM ${REPLAY_TABLE}))`;
    const rs = await client.query({ query: `SELECT count() AS n ${missing}`, format: "JSONEachRow" });
    const [{ n }] = await rs.json<{ n: number | string }>();
    if (Number(n) > 0) await client.command({ query: `INSERT INTO otel_traces (${COLUMN_LIST}) SELECT ${COLUMN_LIST} ${missing}` });
    return Number(n);
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${REPLAY_TABLE}` });
  }
}
