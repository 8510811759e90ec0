// What a crashed collector left in its ingest log is in ClickHouse (chDB) once the store opens
// again, before any new request; a request cut short by the crash is not.
import { afterEach, describe, expect, it } from "vitest";
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tempConfig } from "../../../test/support/temp-store.js";
import { makeSpans, protobufBody } from "../../../test/support/otlp-bodies.js";
import { decodeProtobufToRowBinary } from "../otlp/protobuf-to-rowbinary.js";
import { IngestLog } from "./ingest-log.js";
import { Store } from "./store.js";
import type { GavelConfig } from "../config/config.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Opens the store as the collector does (with its ingest log), keeping what it says on stdout. */
async function openCollectorStore(config: GavelConfig): Promise<{ store: Store; logs: string[] }> {
  const logs: string[] = [];
  const out = console.log;
  console.log = (...a: unknown[]) => logs.push(a.join(" "));
  let store: Store;
  try {
    store = await Store.open(config, { ingestLog: true });
  } finally {
    console.log = out;
  }
  cleanups.push(() => store.close());
  return { store, logs };
}

describe("ingest log recovery", () => {
  it("stores the logged requests of a crashed run when the store opens, and empties the log", async () => {
    const config = tempConfig();
    cleanups.push(config.cleanup);
    const dir = join(config.dataDir, "ingest-log");
    // A run that logged two requests in two segments and a third cut short, then died.
    const first = decodeProtobufToRowBinary(protobufBody(makeSpans(5, { "crash.request": "1" })));
    const second = decodeProtobufToRowBinary(protobufBody(makeSpans(3, { "crash.request": "2" })));
    const { log } = IngestLog.open(dir);
    log.append(first.body, 0, first.body.length, first.rows);
    log.rotate();
    const s = log.append(second.body, 0, second.body.length, second.rows);
    appendFileSync(join(dir, `${s}.rows`), first.body.subarray(0, 100));

    const { store, logs } = await openCollectorStore(config);
    const r = await store.client.query({
      query: "SELECT SpanAttributes['crash.request'] AS request, count() AS n FROM otel_traces GROUP BY request ORDER BY request",
      format: "JSONEachRow",
    });
    expect(await r.json()).toEqual([
      { request: "1", n: 5 },
      { request: "2", n: 3 },
    ]);
    expect(logs.join("\n")).toMatch(/stored 8 spans acknowledged before the last stop from the ingest log/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("does not store twice a batch whose insert succeeded just before the crash", async () => {
    const config = tempConfig();
    cleanups.push(config.cleanup);
    const dir = join(config.dataDir, "ingest-log");
    const storedAlready = decodeProtobufToRowBinary(protobufBody(makeSpans(4, { "crash.request": "stored" })));
    const notYet = decodeProtobufToRowBinary(protobufBody(makeSpans(2, { "crash.request": "logged" })));
    // The first run inserted the batch of the first segment, then died before deleting it.
    const before = await Store.open(config);
    await before.writer.write(storedAlready.body);
    await before.close();
    const { log } = IngestLog.open(dir);
    log.append(storedAlready.body, 0, storedAlready.body.length, storedAlready.rows);
    log.rotate();
    log.append(notYet.body, 0, notYet.body.length, notYet.rows);

    const { store, logs } = await openCollectorStore(config);
    const r = await store.client.query({
      query: `SELECT SpanAttributes['crash.request'] AS request, count() AS n, uniqExact(SpanId) AS spans
        FROM otel_traces GROUP BY request ORDER BY request`,
      format: "JSONEachRow",
    });
    expect(await r.json()).toEqual([
      { request: "logged", n: 2, spans: 2 },
      { request: "stored", n: 4, spans: 4 },
    ]);
    // Each of the six spans is its own trace's root: six summaries, none twice.
    const t = await store.client.query({ query: "SELECT count() AS n, uniqExact(TraceId) AS traces FROM gavel_traces", format: "JSONEachRow" });
    expect(await t.json()).toEqual([{ n: 6, traces: 6 }]);
    expect(logs.join("\n")).toMatch(/stored 2 spans acknowledged before the last stop from the ingest log; 4 were stored already/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
