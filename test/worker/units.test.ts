import { describe, expect, it } from "vitest";
import { query } from "chdb";
import { judgeAssessmentId, judgeAssessmentIdSql } from "../../collector/src/worker/assessment-id.js";
import { parseDuration, parseSince } from "../../collector/src/worker/duration.js";
import { Semaphore, TokenBucket } from "../../collector/src/worker/limiter.js";
import { MetricsRegistry } from "../../collector/src/worker/metrics.js";
import { sampleThreshold, sampledSql } from "../../collector/src/worker/sampler.js";
import { loadWorkerSettings } from "../../collector/src/worker/settings.js";
import { parseShard } from "../../collector/src/worker/shard.js";

describe("worker building blocks", () => {
  it("computes the same assessment id in JavaScript and in ClickHouse", () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const js = judgeAssessmentId(traceId, "support quality ✓", 3);
    const sql = query(`SELECT ${judgeAssessmentIdSql(`'${traceId}'`, "'support quality ✓'", "3")} AS id`, "JSONEachRow");
    expect(JSON.parse(sql).id).toBe(js);
    expect(js).toMatch(/^j-[0-9a-f]{32}$/);
    expect(judgeAssessmentId(traceId, "support quality ✓", 4)).not.toBe(js);
  });

  it("samples by a hash of trace id and judge name", () => {
    expect(sampleThreshold(0)).toBe(0);
    expect(sampleThreshold(0.3)).toBe(300_000);
    expect(sampleThreshold(1)).toBe(1_000_000);
    const rows = query(
      `SELECT countIf(${sampledSql("toString(number)", "'a'", "300000")}) AS a, countIf(${sampledSql("toString(number)", "'b'", "300000")}) AS b,
        countIf(${sampledSql("toString(number)", "'a'", "300000")} AND ${sampledSql("toString(number)", "'b'", "300000")}) AS both
       FROM numbers(100000)`,
      "JSONEachRow",
    );
    const r = JSON.parse(rows) as { a: string; b: string; both: string };
    expect(Number(r.a) / 1e5).toBeCloseTo(0.3, 1);
    expect(Number(r.b) / 1e5).toBeCloseTo(0.3, 1);
    // Independent across names: about 9 % in both, not 30 %.
    expect(Number(r.both) / 1e5).toBeCloseTo(0.09, 1);
  });

  it("parses shards strictly, and durations and times", () => {
    expect(parseShard("1/3")).toEqual({ index: 1, count: 3 });
    for (const bad of ["3/3", "1", "1/0", "-1/2", "a/b", "1.5/2", "1/2/3"]) expect(() => parseShard(bad)).toThrow(/shard/);
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("90m")).toBe(5_400_000);
    expect(parseDuration("soon")).toBeUndefined();
    expect(parseSince("7d", 1_000_000_000_000)).toBe(1_000_000_000_000 - 7 * 86_400_000);
    expect(parseSince("2025-01-31T12:00:00Z")).toBe(Date.UTC(2025, 0, 31, 12));
    expect(parseSince("yesterday")).toBeUndefined();
  });

  it("reads worker settings from the environment, naming a bad variable", () => {
    const s = loadWorkerSettings({ GAVEL_SETTLE_MS: "300", GAVEL_WORKER_CONCURRENCY: "16,openai:/gpt-4o=4", GAVEL_WORKER_RPM: "anthropic:/claude-sonnet-4-5=50", GAVEL_WORKER_SHARD: "1/2" });
    expect(s.settleMs).toBe(300);
    expect(s.concurrency.default).toBe(16);
    expect(s.concurrency.byModel.get("openai:/gpt-4o")).toBe(4);
    expect(s.rpm.default).toBe(0);
    expect(s.rpm.byModel.get("anthropic:/claude-sonnet-4-5")).toBe(50);
    expect(s.shard).toEqual({ index: 1, count: 2 });
    expect(loadWorkerSettings({}).settleMs).toBe(5000);
    expect(loadWorkerSettings({}).sessionSettleMs).toBe(300_000);
    expect(loadWorkerSettings({ GAVEL_SESSION_SETTLE_MS: "60000" }).sessionSettleMs).toBe(60_000);
    expect(() => loadWorkerSettings({ GAVEL_SESSION_SETTLE_MS: "5m" })).toThrow(/GAVEL_SESSION_SETTLE_MS must be a whole number/);
    expect(() => loadWorkerSettings({ GAVEL_SETTLE_MS: "soon" })).toThrow(/GAVEL_SETTLE_MS/);
    expect(() => loadWorkerSettings({ GAVEL_WORKER_CONCURRENCY: "0" })).toThrow(/GAVEL_WORKER_CONCURRENCY/);
    expect(() => loadWorkerSettings({ GAVEL_WORKER_SHARD: "2/2" })).toThrow(/GAVEL_WORKER_SHARD/);
    expect(() => loadWorkerSettings({ GAVEL_WORKER: "maybe" })).toThrow(/GAVEL_WORKER/);
    expect(() => loadWorkerSettings({ GAVEL_WORKER_LOOKBACK: "10s" })).toThrow(/GAVEL_WORKER_LOOKBACK/);
  });

  it("renders Prometheus text with escaped labels, cumulative buckets and collected values", () => {
    const r = new MetricsRegistry();
    const c = r.counter("x_total", "Things\nand more", ["judge"]);
    c.inc({ judge: 'a"b\\c' }, 2);
    const h = r.histogram("lat_seconds", "Latency", ["model"], [0.1, 1]);
    h.observe({ model: "m" }, 0.05);
    h.observe({ model: "m" }, 0.5);
    h.observe({ model: "m" }, 5);
    r.gauge("depth", "Depth", [], () => [[{}, 7]]);
    expect(r.render()).toBe(
      [
        "# HELP x_total Things\\nand more",
        "# TYPE x_total counter",
        'x_total{judge="a\\"b\\\\c"} 2',
        "# HELP lat_seconds Latency",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{model="m",le="0.1"} 1',
        'lat_seconds_bucket{model="m",le="1"} 2',
        'lat_seconds_bucket{model="m",le="+Inf"} 3',
        'lat_seconds_sum{model="m"} 5.55',
        'lat_seconds_count{model="m"} 3',
        "# HELP depth Depth",
        "# TYPE depth gauge",
        "depth 7",
        "",
      ].join("\n"),
    );
    expect(() => r.counter("x_total", "again")).toThrow(/twice/);
  });

  it("hands semaphore permits out in order, and paces a token bucket", async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([s.acquire(), s.acquire()]);
    const waiting = [3, 4, 5].map((n) => s.acquire().then((rel) => (order.push(n), rel)));
    const ac = new AbortController();
    const aborted = s.acquire(ac.signal).catch(() => "aborted");
    ac.abort();
    expect(await aborted).toBe("aborted");
    releases[0]!();
    releases[1]!();
    const more = await Promise.all(waiting.slice(0, 2));
    expect(order).toEqual([3, 4]);
    expect(s.inUse).toBe(2);
    more[0]!();
    (await waiting[2]!)();
    more[1]!();
    expect(s.inUse).toBe(0);

    const bucket = new TokenBucket(600); // 10 at once, then one per 100 ms
    const t0 = performance.now();
    for (let i = 0; i < 13; i++) await bucket.take();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
  });
});
