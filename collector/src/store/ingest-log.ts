import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";

/** One request's rows found in the log at start-up, to be stored before anything else. */
export interface LoggedRows {
  body: Buffer;
  rows: number;
}

/** What start-up found in the log: the rows to store, and what a crash cut short. */
export interface Recovery {
  segments: { segment: number; rows: LoggedRows[] }[];
  /** Records at the end of a segment that a crash left incomplete (never acknowledged). */
  droppedTails: number;
}

const INDEX_RECORD = 12; // bytes u32, rows u32, crc32 u32

/**
 * The ingest log: OTLP requests' rows on disk from the moment they are acknowledged until
 * their insert has succeeded, so that a request acknowledged before it was stored
 * (SpanBatcher, "acknowledged once logged") survives a crash of the collector.
 *
 * The log is a directory of segments, one per batch the batcher takes: `<n>.rows` holds the
 * requests' RowBinary rows back to back, `<n>.index` one 12-byte record per request (its
 * length, its row count and a CRC-32 of its bytes), written after the rows, so a record
 * exists only for rows that are complete. A segment is deleted once every request in it is
 * stored. Writes are not fsync'ed, like ClickHouse's own parts (`fsync_after_insert = 0`):
 * the log survives the collector's crash, not the machine's.
 */
export class IngestLog {
  private segment = 0;
  private rowsFd = -1;
  private indexFd = -1;
  /** Requests not stored yet, per segment. */
  private readonly open = new Map<number, number>();

  private constructor(readonly dir: string, firstSegment: number) {
    this.segment = firstSegment;
  }

  /** Opens the log in `dir` and returns what a previous run left in it. */
  static open(dir: string): { log: IngestLog; recovery: Recovery } {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const names = readdirSync(dir)
      .filter((f) => /^\d+\.index$/.test(f))
      .map((f) => Number(f.slice(0, -".index".length)))
      .sort((a, b) => a - b);
    const recovery: Recovery = { segments: [], droppedTails: 0 };
    for (const n of names) {
      const { rows, dropped } = readSegment(dir, n);
      recovery.droppedTails += dropped;
      recovery.segments.push({ segment: n, rows });
    }
    // Segments with data but no index never had a request recorded: nothing to recover.
    for (const f of readdirSync(dir)) if (/^\d+\.rows$/.test(f) && !names.includes(Number(f.slice(0, -".rows".length)))) rmSync(join(dir, f));
    return { log: new IngestLog(dir, (names.at(-1) ?? 0) + 1), recovery };
  }

  /** Deletes a recovered segment once its rows are stored. */
  removeRecovered(segment: number): void {
    this.unlinkSegment(segment);
  }

  /** Appends one request's rows to the current segment; returns the segment to pass to `stored`. */
  append(buf: Buffer, start: number, end: number, rows: number): number {
    if (this.rowsFd < 0) {
      this.rowsFd = openSync(join(this.dir, `${this.segment}.rows`), "a", 0o600);
      this.indexFd = openSync(join(this.dir, `${this.segment}.index`), "a", 0o600);
    }
    const bytes = buf.subarray(start, end);
    writeAll(this.rowsFd, bytes);
    const record = Buffer.allocUnsafe(INDEX_RECORD);
    record.writeUInt32LE(bytes.length, 0);
    record.writeUInt32LE(rows, 4);
    record.writeUInt32LE(crc32(bytes), 8);
    writeAll(this.indexFd, record);
    this.open.set(this.segment, (this.open.get(this.segment) ?? 0) + 1);
    return this.segment;
  }

  /**
   * Later appends go to a new segment (the batcher took a batch), so that a segment holds one
   * batch and goes once that batch is stored. The batcher answers a request once logged only if
   * the next batch takes all of it (SpanBatcher.append), so no request is ever left over.
   */
  rotate(): void {
    if (this.rowsFd < 0) return;
    closeSync(this.rowsFd);
    closeSync(this.indexFd);
    this.rowsFd = this.indexFd = -1;
    const done = this.segment++;
    if ((this.open.get(done) ?? 0) === 0) {
      this.open.delete(done);
      this.unlinkSegment(done);
    }
  }

  /** One request of `segment` is stored; the segment goes once all of its requests are. */
  stored(segment: number): void {
    const left = (this.open.get(segment) ?? 1) - 1;
    if (left > 0) {
      this.open.set(segment, left);
      return;
    }
    this.open.delete(segment);
    if (segment !== this.segment || this.rowsFd < 0) this.unlinkSegment(segment);
  }

  /**
   * Rows ClickHouse refused (a request acknowledged once logged cannot be answered with the
   * error any more): kept in `rejected-<time>.rows` beside the log instead of being dropped.
   */
  keepRejected(body: Buffer): string {
    const file = join(this.dir, `rejected-${Date.now()}-${process.pid}.rows`);
    const fd = openSync(file, "a", 0o600);
    try {
      writeAll(fd, body);
    } finally {
      closeSync(fd);
    }
    return file;
  }

  close(): void {
    this.rotate();
  }

  private unlinkSegment(n: number): void {
    for (const ext of [".index", ".rows"]) rmSync(join(this.dir, `${n}${ext}`), { force: true });
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** A segment's complete records; a record whose rows are missing or damaged ends it. */
function readSegment(dir: string, n: number): { rows: LoggedRows[]; dropped: number } {
  const index = readFileSync(join(dir, `${n}.index`));
  const rowsFile = join(dir, `${n}.rows`);
  const data = existsSync(rowsFile) ? readFileSync(rowsFile) : Buffer.alloc(0);
  const rows: LoggedRows[] = [];
  let off = 0;
  let i = 0;
  for (; i + INDEX_RECORD <= index.length; i += INDEX_RECORD) {
    const len = index.readUInt32LE(i);
    const body = data.subarray(off, off + len);
    if (body.length !== len || crc32(body) !== index.readUInt32LE(i + 8)) break;
    rows.push({ body, rows: index.readUInt32LE(i + 4) });
    off += len;
  }
  const dropped = Math.ceil((index.length - i) / INDEX_RECORD);
  return { rows, dropped };
}
