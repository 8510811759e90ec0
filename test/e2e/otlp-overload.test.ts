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
});
