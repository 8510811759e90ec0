import { Readable } from "node:stream";
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { unlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import type { StoreClient } from "./clickhouse.js";
import { SPAN_COLUMNS } from "./rowbinary.js";

/**
 * Writes RowBinary-encoded otel_traces rows. The transport is the one place where
 * embedded and server mode differ:
 *
 * - chDB pastes inline INSERT data into the SQL text, and chdb 3.4 ends inline data at
 *   the first blank line and runs what follows as SQL (docs/architecture.md, "chDB traps"). Binary
 *   rows contain 0a 0a now and then, so in embedded mode they go through a file and
 *   `INSERT … FROM INFILE`, never inline.
 * - A ClickHouse server receives the body over HTTP, where it is never parsed as SQL.
 */
export interface SpanWriter {
  /** Inserts the rows into otel_traces, or into `table` (a table with otel_traces' span columns). */
  write(rowBinary: Buffer, table?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * ClickHouse refused the rows for what they contain: the same insert fails however often
 * it is retried, so the sender must be told so (400), not asked to retry (503).
 */
export class SpanRowsRejectedError extends Error {
  override name = "SpanRowsRejectedError";
}

/** Turns a ClickHouse error that depends on the rows themselves into SpanRowsRejectedError. */
function classify(err: unknown): unknown {
  const message = (err as Error)?.message ?? "";
  // otel_traces has one partition per day, and ClickHouse writes at most
  // max_partitions_per_insert_block (100) of them in one insert: a backfill of old spans.
  if (message.includes("Too many partitions for single INSERT block")) {
    return new SpanRowsRejectedError(
      "The spans start on more than 100 different days; otel_traces has one partition per day and ClickHouse writes at most 100 in one insert. Send spans of fewer days per request.",
    );
  }
  return err;
}

/** The span columns Gavel writes, in the order of its RowBinary rows, for SQL. */
export const COLUMN_LIST = SPAN_COLUMNS.map((c) => (c.includes(".") ? `\`${c}\`` : c)).join(", ");

/** The statement that inserts a file of otel_traces RowBinary rows as Gavel writes them. */
export function insertFileSql(file: string, table = "otel_traces"): string {
  return `INSERT INTO ${table} (${COLUMN_LIST}) FROM INFILE '${file}' FORMAT RowBinary`;
}

export function createSpanWriter(store: StoreClient): SpanWriter {
  if (store.mode === "server") {
    return {
      async write(body, table = "otel_traces") {
        try {
          const res = await store.ingest.exec({ query: `INSERT INTO ${table} (${COLUMN_LIST}) FORMAT RowBinary`, values: Readable.from([body]) });
          res.stream.resume();
          await new Promise<void>((ok, fail) => {
            res.stream.once("end", ok);
            res.stream.once("error", fail);
          });
        } catch (err) {
          throw classify(err);
        }
      },
      close: async () => undefined,
    };
  }
  // /dev/shm keeps the hand-off in memory; the file lives only for one insert.
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = join(base, `gavel-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let seq = 0;
  return {
    async write(body, table) {
      const file = join(dir, `spans-${++seq}.rowbinary`);
      // Synchronous on purpose: fs.promises.writeFile hands the thread pool 512 KiB at a
      // time and waits for the event loop between chunks, so while the main thread decodes
      // requests a 16 MB batch took 130–500 ms to reach tmpfs; in one call it takes ~5 ms.
      writeFileSync(file, body, { mode: 0o600 });
      try {
        await store.ingest.command({
          query: insertFileSql(file, table),
        });
      } catch (err) {
        throw classify(err);
      } finally {
        await unlink(file).catch(() => undefined);
      }
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
