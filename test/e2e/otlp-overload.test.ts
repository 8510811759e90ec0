import { describe, expect, it } from "vitest";
import { startGavel } from "../../collector/src/server/gavel-server.js";
import { tempConfig } from "../support/temp-store.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";
import { sql } from "../support/gavel-process.js";

// Its own file: chDB opens one data directory per process.
describe("overload", () => {
  it("answers 429 with Retry-After when more spans wait than GAVEL_MAX_QUEUED_ROWS", async () => {
    const small = tempConfig({ maxQueuedRows: 10, batchWaitMs: 50 });
    const g = await startGavel(small);
    try {
      const bodies = Array.from({ length: 6 }, () => protobufBody(makeSpans(8)));
      const answers = await Promise.all(
        bodies.map((b) => fetch(`${g.url}/v1/traces`, { method: "POST", body: b, headers: { "content-type": "application/x-protobuf" } })),
      );
      const codes = answers.map((a) => a.status);
      expect(codes).toContain(200);
      expect(codes).toContain(429);
      for (const a of answers.filter((x) => x.status === 429)) expect(Number(a.headers.get("retry-after"))).toBeGreaterThan(0);
      // Only what was acknowledged is stored, and all of it.
      const [row] = await sql<{ n: string }>(g.url, "SELECT count() AS n FROM otel_traces");
      expect(Number(row!.n)).toBe(codes.filter((c) => c === 200).length * 8);
    } finally {
      await g.close();
      small.cleanup();
    }
  });

  it("while inserts fall behind, answers once the spans are logged, and an API read still finds every one", async () => {
    // Every request that waits behind an insert is answered once logged (GAVEL_ACK_LOGGED_ROWS=1).
    const cfg = tempConfig({ ackLoggedRows: 1 });
    const g = await startGavel(cfg);
    try {
      let answered = 0;
      let readsWhilePending = 0;
      for (let round = 0; round < 5 && readsWhilePending === 0; round++) {
        const bodies = Array.from({ length: 24 }, () => protobufBody(makeSpans(64, { "overload.round": String(round) })));
        const before = answered;
        const posts = bodies.map(async (b) => {
          const a = await fetch(`${g.url}/v1/traces`, { method: "POST", body: b, headers: { "content-type": "application/x-protobuf" } });
          expect(a.status).toBe(200);
          answered += 64;
        });
        // Read as soon as some of this round's requests are answered: those answered once logged
        // may not be stored yet, and the read must still count them.
        while (answered < before + 6 * 64) await new Promise((r) => setTimeout(r, 1));
        const told = answered;
        if (g.store.batcher.stats.queuedRows > 0) readsWhilePending++;
        const [row] = await sql<{ n: string }>(g.url, "SELECT count() AS n FROM otel_traces");
        expect(Number(row!.n)).toBeGreaterThanOrEqual(told);
        await Promise.all(posts);
      }
      const [all] = await sql<{ n: string }>(g.url, "SELECT count() AS n FROM otel_traces");
      expect(Number(all!.n)).toBe(answered);
      expect(g.store.batcher.stats.loggedAcks).toBeGreaterThan(0);
      expect(readsWhilePending).toBeGreaterThan(0);
    } finally {
      await g.close();
      cfg.cleanup();
    }
  });
});
