import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { flush, init, shutdown, trace } from "@gavel/sdk";
import { sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";
import { Ledger, percentile, RequestBodies, runSenders, sleep } from "./lib/load.js";
import { MiB, mib, RssSampler, rssOf } from "./lib/rss.js";

// A queue of 8 requests of 512 spans: a handful of senders is enough to go past it.
const MAX_QUEUED_ROWS = 4096;
const SPANS = 512;
const dataDir = mkdtempSync(join(tmpdir(), "gavel-overload-"));
let gavel: GavelProcess;

beforeAll(async () => {
  gavel = await startGavelProcess({ dataDir, env: { GAVEL_MAX_QUEUED_ROWS: String(MAX_QUEUED_ROWS) } });
});
afterAll(async () => {
  await gavel?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function audit(bodies: RequestBodies, ledger: Ledger) {
  const stored = await bodies.storedPerRequest(gavel.url);
  return {
    lost: [...ledger.acked].filter((n) => stored.get(n) !== SPANS).length,
    notAcked: [...stored.keys()].filter((n) => !ledger.acked.has(n)).length,
    duplicated: [...stored.values()].filter((c) => c > SPANS).length,
  };
}

describe("overload", () => {
  it("holds sustained load without refusals, then answers 429 + Retry-After past capacity with bounded memory, and stores every acknowledged span", async () => {
    const pid = gavel.proc.pid!;
    const rss = new RssSampler(pid);

    // 1. Sustained: two closed-loop senders never queue more than 2 requests, so nothing is refused.
    const steady = new RequestBodies(SPANS, 21);
    const steadyLedger = new Ledger();
    let t = Date.now();
    await runSenders({ url: () => gavel.url, bodies: steady, ledger: steadyLedger, senders: 2, stop: () => Date.now() - t > 5000, onRefused: "exporter" });
    const steadySecs = (Date.now() - t) / 1000;
    const steadyRate = (steadyLedger.acked.size * SPANS) / steadySecs;
    const rssSteady = rssOf(pid);
    const peakSteady = rss.peak;

    // 2. Overload: 48 senders that resend 5 ms after a refusal, far past what the store takes.
    const flood = new RequestBodies(SPANS, 22);
    const floodLedger = new Ledger();
    const tFlood = rss.elapsed();
    t = Date.now();
    await runSenders({ url: () => gavel.url, bodies: flood, ledger: floodLedger, senders: 48, stop: () => Date.now() - t > 8000, onRefused: "aggressive" });
    const floodSecs = (Date.now() - t) / 1000;
    const peakFlood = rss.peakSince(tFlood);
    await sleep(1000);
    const rssAfter = rssOf(pid);
    rss.stop();

    const a1 = await audit(steady, steadyLedger);
    const a2 = await audit(flood, floodLedger);
    const refused = (floodLedger.statuses.get("429") ?? 0) + (floodLedger.statuses.get("503") ?? 0);
    console.log(
      `[overload] sustained: ${steadyLedger.acked.size * SPANS} spans in ${steadySecs.toFixed(1)} s = ${steadyRate.toFixed(0)} spans/s, 2 senders, ` +
        `p50 ${percentile(steadyLedger.latencies, 50).toFixed(0)} ms p99 ${percentile(steadyLedger.latencies, 99).toFixed(0)} ms, answers ${steadyLedger.statusSummary()}, RSS ${mib(rssSteady)} (peak ${mib(peakSteady)})\n` +
        `[overload] past capacity: 48 aggressive senders for ${floodSecs.toFixed(1)} s, GAVEL_MAX_QUEUED_ROWS=${MAX_QUEUED_ROWS}: answers ${floodLedger.statusSummary()} ` +
        `(${((refused / (refused + floodLedger.acked.size)) * 100).toFixed(0)}% refused), ${((floodLedger.acked.size * SPANS) / floodSecs).toFixed(0)} spans/s stored, ` +
        `p50 ${percentile(floodLedger.latencies, 50).toFixed(0)} ms p99 ${percentile(floodLedger.latencies, 99).toFixed(0)} ms for the 200s; ` +
        `collector RSS peak ${mib(peakFlood)}, ${mib(rssAfter)} 1 s after\n` +
        `[overload] acknowledged but lost: ${a1.lost + a2.lost} requests, stored without an acknowledgement: ${a1.notAcked + a2.notAcked}, duplicated: ${a1.duplicated + a2.duplicated}`,
    );
    expect(steadyLedger.statuses.get("200")).toBe(steadyLedger.acked.size);
    expect([...steadyLedger.statuses.keys()]).toEqual(["200"]);
    expect(floodLedger.statuses.get("429")).toBeGreaterThan(0);
    expect(floodLedger.missingRetryAfter).toEqual([]);
    expect(floodLedger.statuses.get("error")).toBeUndefined();
    expect(floodLedger.acked.size).toBeGreaterThan(0);
    // What the queue holds is bounded (8 requests); the rest is requests being read and refused.
    expect(peakFlood).toBeLessThan(peakSteady + 300 * MiB);
    expect({ ...a1, ...a2 }).toEqual({ lost: 0, notAcked: 0, duplicated: 0 });
  }, 120_000);

  it("the SDK's exporter rides out a short overload: every span ends up stored", async () => {
    // A pass-through proxy in front of the collector, to see what the SDK's exporter was told.
    const seen = new Map<number, number>();
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const r = await fetch(`${gavel.url}${req.url}`, { method: req.method, headers: { "content-type": req.headers["content-type"] ?? "" }, body: Buffer.concat(chunks) });
      seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
      const ra = r.headers.get("retry-after");
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "", ...(ra ? { "retry-after": ra } : {}) });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const nonce = randomBytes(6).toString("hex");
    init({ url: proxyUrl, serviceName: "overload-app" });
    const step = trace(function step(i: number) {
      return i * 2;
    }, { name: "step", attributes: { "rel.nonce": nonce } });

    const flood = new RequestBodies(SPANS, 23);
    const floodLedger = new Ledger();
    const OVERLOAD_MS = 3000;
    const t0 = Date.now();
    const flooding = runSenders({ url: () => gavel.url, bodies: flood, ledger: floodLedger, senders: 32, stop: () => Date.now() - t0 > OVERLOAD_MS, onRefused: "aggressive" });
    await sleep(300);
    // The app makes 1500 spans during the overload: fewer than the processor's queue (2048).
    const SDK_SPANS = 1500;
    for (let i = 0; i < SDK_SPANS; i++) {
      step(i);
      if (i % 100 === 99) await sleep(100);
    }
    await flooding;
    await flush();
    // No waiting: flush() resolves once the exporter's retries have landed.
    const [row] = await sql<{ n: string }>(gavel.url, "SELECT count() AS n FROM otel_traces WHERE SpanAttributes['rel.nonce'] = {n:String}", { n: nonce });
    await shutdown();
    await new Promise<void>((ok) => proxy.close(() => ok()));
    const a = await audit(flood, floodLedger);
    console.log(
      `[overload] SDK: ${SDK_SPANS} spans made during a ${OVERLOAD_MS / 1000} s overload (32 aggressive senders: ${floodLedger.statusSummary()}); ` +
        `the exporter was answered ${JSON.stringify(Object.fromEntries(seen))}; stored ${row!.n} of ${SDK_SPANS}`,
    );
    expect(Number(row!.n)).toBe(SDK_SPANS);
    expect(seen.get(429) ?? 0).toBeGreaterThan(0);
    expect(a).toEqual({ lost: 0, notAcked: 0, duplicated: 0 });
  }, 120_000);
});
