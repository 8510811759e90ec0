// RequestDedup's bookkeeping with a clock the test moves. The end-to-end behaviour (resends
// over HTTP into chDB, counted in SQL) is in test/e2e/otlp-resend.test.ts.
import { describe, expect, it } from "vitest";
import { RequestDedup, type Acknowledgement } from "./request-dedup.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

function setup(windowMs = 1000, maxRequests = 100) {
  let t = 0;
  const dedup = new RequestDedup({ windowMs, maxRequests, now: () => t });
  let stores = 0;
  /** The receiver's pattern: an earlier outcome, or store this copy. */
  const send = (key: string, store: () => Promise<Acknowledgement> = async () => ({ rejected: 0 })) =>
    dedup.earlier(key) ??
    dedup.first(key, () => {
      stores++;
      return store();
    });
  return { dedup, send, stores: () => stores, advance: (ms: number) => (t += ms) };
}

describe("RequestDedup", () => {
  it("keys requests by format and decompressed body", () => {
    const a = RequestDedup.keyOf("protobuf", Buffer.from("spans"));
    expect(RequestDedup.keyOf("protobuf", Buffer.from("spans"))).toBe(a);
    expect(RequestDedup.keyOf("json", Buffer.from("spans"))).not.toBe(a);
    expect(RequestDedup.keyOf("protobuf", Buffer.from("spanz"))).not.toBe(a);
  });

  it("stores a request once and answers its copies with the first answer", async () => {
    const { dedup, send, stores } = setup();
    const ack = { rejected: 2, rejectReason: "spans[1]: trace_id is missing" };
    expect(await send("k", async () => ack)).toEqual(ack);
    expect(await send("k")).toEqual(ack);
    expect(await send("k")).toEqual(ack);
    expect(await send("other")).toEqual({ rejected: 0 });
    expect(stores()).toBe(2);
    expect(dedup.stats).toEqual({ repeated: 2, joined: 0, remembered: 2 });
  });

  it("makes a copy that arrives while the first is stored wait for it and share its outcome", async () => {
    const { dedup, send, stores } = setup();
    const insert = deferred<Acknowledgement>();
    const first = send("k", () => insert.promise);
    const copy = send("k");
    let copyDone = false;
    void Promise.resolve(copy).then(() => (copyDone = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(copyDone).toBe(false);
    insert.resolve({ rejected: 0 });
    expect(await first).toEqual({ rejected: 0 });
    expect(await copy).toEqual({ rejected: 0 });
    expect(stores()).toBe(1);
    expect(dedup.stats.joined).toBe(1);
  });

  it("forgets a request whose storing failed, so its retry is stored", async () => {
    const { send, stores } = setup();
    const insert = deferred<Acknowledgement>();
    const first = send("k", () => insert.promise);
    const copy = send("k");
    insert.reject(new Error("ClickHouse is down"));
    await expect(first).rejects.toThrow("ClickHouse is down");
    await expect(copy).rejects.toThrow("ClickHouse is down");
    expect(await send("k")).toEqual({ rejected: 0 });
    expect(stores()).toBe(2);
  });

  it("forgets acknowledged requests after the window and beyond the most it keeps", async () => {
    const { dedup, send, stores, advance } = setup(1000, 3);
    await send("a");
    advance(999);
    await send("a");
    expect(stores()).toBe(1);
    advance(2);
    await send("a"); // 1001 ms after it was acknowledged
    expect(stores()).toBe(2);
    for (const k of ["b", "c", "d"]) await send(k);
    expect(dedup.stats.remembered).toBe(3);
    await send("a"); // pushed out by b, c, d
    expect(stores()).toBe(6);
  });

  it("stores every copy when turned off", async () => {
    const { dedup, send, stores } = setup(0);
    expect(dedup.enabled).toBe(false);
    await Promise.all([send("k"), send("k"), send("k")]);
    expect(stores()).toBe(3);
  });
});
