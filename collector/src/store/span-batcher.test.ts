// The batcher's bookkeeping: which bytes go into which insert, when promises settle, and how
// the two reused arenas hand over. The store side is an in-memory SpanWriter (like OTel's
// InMemorySpanExporter beside the real exporters); the real ClickHouse path is covered by the
// e2e, overload, crash and store-fault tests.
import { describe, expect, it } from "vitest";
import { OverloadedError, SpanBatcher, StoreUnavailableError } from "./span-batcher.js";
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
});
