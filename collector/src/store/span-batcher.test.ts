// The batcher's bookkeeping: which bytes go into which insert, when promises settle, and how
// the two reused arenas hand over. The store side is an in-memory SpanWriter (like OTel's
// InMemorySpanExporter beside the real exporters); the real ClickHouse path is covered by the
// e2e, overload, crash and store-fault tests.
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACK_WHEN_LOGGED, OverloadedError, SpanBatcher, StoreUnavailableError } from "./span-batcher.js";
import { IngestLog } from "./ingest-log.js";
import { SpanRowsRejectedError, type SpanWriter } from "./span-writer.js";

/** Records each insert's bytes (copied: the batcher reuses its buffers). */
class InMemoryWriter implements SpanWriter {
  inserts: string[] = [];
  /** Called before an insert completes; may throw to fail it. */
  onWrite: (body: string) => Promise<void> | void = () => undefined;
  async write(body: Buffer): Promise<void> {
    const s = body.toString("latin1");
    await this.onWrite(s);
    this.inserts.push(s);
  }
  async close(): Promise<void> {}
}

const opts = { batchRows: 100, batchWaitMs: 0, maxQueuedRows: 1000 };
const rowsOf = (tag: string, n: number) => tag.repeat(n);

describe("SpanBatcher", () => {
  it("stores the requests that arrive during an insert as the next insert, in order", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, opts);
    let release!: () => void;
    w.onWrite = (s) => (s === "a" ? new Promise<void>((r) => (release = r)) : undefined);
    const first = b.submit(Buffer.from("a"), 1);
    await new Promise((r) => setTimeout(r, 5)); // the first insert is running
    const later = ["b", "c", "d"].map((t) => b.submit(Buffer.from(rowsOf(t, 3)), 3));
    const appended = b.append((out) => {
      out.rawFrom(Buffer.from("eeee"), 0, 4);
      return 4;
    })!;
    release();
    await Promise.all([first, ...later, appended]);
    expect(w.inserts).toEqual(["a", "bbbcccdddeeee"]);
    expect(b.stats).toMatchObject({ inserts: 2, insertedRows: 14, queuedRows: 0 });
  });

  it("drops what an encoder wrote when it declines, and resolves an empty request at once", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, opts);
    const kept = b.submit(Buffer.from("xx"), 2);
    const declined = b.append((out) => {
      out.rawFrom(Buffer.from("garbage"), 0, 7);
      return undefined;
    });
    expect(declined).toBeUndefined();
    await expect(b.append(() => 0)).resolves.toBeUndefined();
    await kept;
    expect(w.inserts).toEqual(["xx"]);
  });

  it("splits a backlog larger than a batch and moves the rest to the next arena intact", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, { ...opts, batchRows: 10 });
    let release!: () => void;
    w.onWrite = (s) => (s === "0" ? new Promise<void>((r) => (release = r)) : undefined);
    const first = b.submit(Buffer.from("0"), 1);
    await new Promise((r) => setTimeout(r, 5));
    const tags = "abcdefghij";
    const pending = [...tags].map((t) => b.submit(Buffer.from(rowsOf(t, 4)), 4));
    release();
    await Promise.all([first, ...pending]);
    // 4-row requests in batches of at most 10 rows: two per insert, bytes never mixed up.
    expect(w.inserts).toEqual(["0", "aaaabbbb", "ccccdddd", "eeeeffff", "gggghhhh", "iiiijjjj"]);
  });

  it("refuses a request that would pass the queue limit, and says when the queue is full", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, { ...opts, maxQueuedRows: 10 });
    let release!: () => void;
    w.onWrite = () => new Promise<void>((r) => (release = r));
    const first = b.submit(Buffer.from(rowsOf("a", 8)), 8);
    await new Promise((r) => setTimeout(r, 5)); // in flight: its rows still count as queued
    await expect(b.submit(Buffer.from(rowsOf("b", 3)), 3)).rejects.toBeInstanceOf(OverloadedError);
    const fits = b.submit(Buffer.from(rowsOf("c", 2)), 2);
    expect(b.refusal()).toBeInstanceOf(OverloadedError);
    release();
    await first;
    w.onWrite = () => undefined;
    await fits;
    expect(w.inserts).toEqual(["aaaaaaaa", "cc"]);
    expect(b.refusal()).toBeUndefined();
    expect(b.stats.refusedRequests).toBe(2);
  });

  it("when ClickHouse refuses one request's rows, stores the others of its batch alone", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, opts);
    w.onWrite = (s) => {
      if (s.includes("X")) throw new SpanRowsRejectedError("too many partitions");
    };
    const results = await Promise.allSettled([b.submit(Buffer.from("aa"), 2), b.submit(Buffer.from("XX"), 2), b.submit(Buffer.from("cc"), 2)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(SpanRowsRejectedError);
    expect(w.inserts).toEqual(["aa", "cc"]);
  });

  it("fails the whole batch with 503 semantics when the store is down, then recovers", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, opts);
    w.onWrite = () => {
      throw new Error("Connection refused");
    };
    const failed = await Promise.allSettled([b.submit(Buffer.from("a"), 1), b.submit(Buffer.from("b"), 1)]);
    for (const r of failed) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    w.onWrite = () => undefined;
    await b.submit(Buffer.from("c"), 1);
    expect(w.inserts).toEqual(["c"]);
    expect(b.stats.queuedRows).toBe(0);
  });

  it("reuses its two arenas: a steady load allocates no new batch buffers", async () => {
    const w = new InMemoryWriter();
    const b = new SpanBatcher(w, opts);
    const seen = new Set<ArrayBufferLike>();
    w.write = async (body) => {
      seen.add(body.buffer);
      w.inserts.push("x");
    };
    const big = Buffer.alloc(300_000, 1);
    for (let i = 0; i < 20; i++) await Promise.all([b.submit(big, 1), b.submit(big, 1)]);
    expect(w.inserts.length).toBe(20);
    expect(seen.size).toBeLessThanOrEqual(2);
  });

  describe("acknowledged once logged, while inserts fall behind", () => {
    const roots: string[] = [];
    afterEach(() => {
      for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
    });
    /**
     * A batcher with a log whose first insert ("a") runs until `release()`; `fail` may throw for
     * the later inserts. Requests submitted after this returns wait behind that insert.
     */
    async function behindAnInsert(options: Partial<typeof opts> & { ackLoggedRows: number }, fail: (body: string) => void = () => undefined) {
      const root = mkdtempSync(join(tmpdir(), "gavel-batcher-log-"));
      roots.push(root);
      const dir = join(root, "log");
      const w = new InMemoryWriter();
      const b = new SpanBatcher(w, { ...opts, ...options }, IngestLog.open(dir).log);
      let release!: () => void;
      w.onWrite = (s) => (s === "a" ? new Promise<void>((r) => (release = r)) : fail(s));
      const first = b.submit(Buffer.from("a"), 1, ACK_WHEN_LOGGED);
      await new Promise((r) => setTimeout(r, 5)); // the first insert is running
      return { b, w, dir, first, release: () => release() };
    }
    const settled = async (p: Promise<unknown>) => {
      let done = false;
      void p.then(() => (done = true), () => (done = true));
      await new Promise((r) => setTimeout(r, 5));
      return done;
    };

    it("answers a request once logged only when enough rows wait behind the insert, and reads wait for it", async () => {
      const { b, w, dir, first, release } = await behindAnInsert({ ackLoggedRows: 4 });
      const waits = b.submit(Buffer.from("bbbb"), 4, ACK_WHEN_LOGGED); // nothing waited before it
      const internal = b.submit(Buffer.from("cccc"), 4); // may not be answered early
      const early = b.submit(Buffer.from("dd"), 2, ACK_WHEN_LOGGED);
      expect(await settled(early)).toBe(true);
      expect(await settled(waits)).toBe(false);
      expect(await settled(internal)).toBe(false);
      expect(b.stats.loggedAcks).toBe(1);
      // Its rows are on disk, and an API read waits until they are stored.
      expect(readdirSync(dir).some((f) => f.endsWith(".rows") && readFileSync(join(dir, f), "latin1") === "dd")).toBe(true);
      const read = b.loggedStored();
      expect(await settled(read)).toBe(false);
      release();
      await Promise.all([first, waits, internal, read]);
      expect(w.inserts).toEqual(["a", "bbbbccccdd"]);
      expect(readdirSync(dir)).toEqual([]);
      // Nothing unstored: reads do not wait at all.
      expect(await settled(b.loggedStored())).toBe(true);
    });

    it("does not answer early past one batch of waiting rows: the senders wait for the store again", async () => {
      const { b, first, release } = await behindAnInsert({ batchRows: 10, ackLoggedRows: 1 });
      const queued = [b.submit(Buffer.from("b"), 1, ACK_WHEN_LOGGED)];
      for (let i = 0; i < 3; i++) queued.push(b.submit(Buffer.from("ccccc"), 5, ACK_WHEN_LOGGED));
      const answered = await Promise.all(queued.map(settled));
      // "b" had nothing waiting before it; 1 + 5 rows fit a batch of 10, another 5 would not.
      expect(answered).toEqual([false, true, false, false]);
      release();
      await Promise.all([first, ...queued]);
    });

    it("tries logged rows again until the store takes them, while waiting senders get 503", async () => {
      let down = 2;
      const { b, w, dir, first, release } = await behindAnInsert({ ackLoggedRows: 1 }, () => {
        if (down-- > 0) throw new Error("connection refused");
      });
      const waiting = b.submit(Buffer.from("b"), 1, ACK_WHEN_LOGGED);
      await b.submit(Buffer.from("c"), 1, ACK_WHEN_LOGGED);
      release();
      await first;
      await expect(waiting).rejects.toBeInstanceOf(StoreUnavailableError);
      // The retry comes a second after each failure; the read waits for it.
      await b.loggedStored(5000);
      expect(w.inserts).toEqual(["a", "c"]);
      expect(readdirSync(dir)).toEqual([]);
      expect(b.stats.queuedRows).toBe(0);
    });

    it("keeps logged rows that ClickHouse refuses in a file beside the log", async () => {
      const errors: unknown[] = [];
      const error = console.error;
      console.error = (...a: unknown[]) => errors.push(a.join(" "));
      try {
        const { b, w, dir, first, release } = await behindAnInsert({ ackLoggedRows: 1 }, (s) => {
          if (s.includes("X")) throw new SpanRowsRejectedError("bad rows");
        });
        const waiting = b.submit(Buffer.from("b"), 1, ACK_WHEN_LOGGED);
        await b.submit(Buffer.from("XX"), 2, ACK_WHEN_LOGGED);
        release();
        await Promise.all([first, waiting, b.loggedStored(5000)]);
        expect(w.inserts).toEqual(["a", "b"]);
        const kept = readdirSync(dir);
        expect(kept).toHaveLength(1);
        expect(readFileSync(join(dir, kept[0]!), "latin1")).toBe("XX");
        expect(String(errors[0])).toMatch(/refused 2 acknowledged spans .*kept in .*INSERT INTO otel_traces \(Timestamp.*FROM INFILE/);
      } finally {
        console.error = error;
      }
    });
  });
});
