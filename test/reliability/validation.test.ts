import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "../../collector/src/config/config.js";
import { loadWorkerSettings } from "../../collector/src/worker/settings.js";
import { useGavel } from "../support/use-gavel.js";
import { sql } from "../support/gavel-process.js";
import { manyDaysCase, rng, validCase } from "./lib/fuzz-cases.js";

process.env.GAVEL_WORKER = "off";
// A longer batching window, so that concurrent OTLP requests share one insert.
const gavelOf = useGavel({ batchWaitMs: 50 });
const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));

const T = "0af7651916cd43dd8448eb211c80319c"; // a trace id
const JUDGE = { name: "j", instructions: "Rate {{ outputs }}", model: "openai:/gpt-4o-mini" };
const SOURCE = { sourceType: "HUMAN", sourceId: "me" };

interface Answer {
  status: number;
  body: { error?: { code: string; message: string; field?: string } } & Record<string, unknown>;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const h = body === undefined ? headers : { "content-type": "application/json", ...headers };
  const res = await fetch(`${gavelOf().url}/api/v1${path}`, { method, headers: h, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : { raw: text } };
}

/** A route the collector does not mount (yet): its row is skipped and reported. */
const unmounted = (a: Answer) => a.status === 404 && /No API route/.test(a.body.error?.message ?? "");

/**
 * Every REST route that takes a body or a query string, from collector/src/api/*.ts and
 * server/app.ts: [method, path, a valid input, the input with an unknown field, that field,
 * the input with a wrong type, that field]. A path ending in `?` takes query strings.
 */
const ROUTES: [string, string, unknown, unknown, string, unknown, string][] = [
  ["POST", "/experiments", { name: "v" }, { name: "v", colour: "red" }, "colour", { name: 42 }, "name"],
  ["POST", "/experiments", { name: "v" }, { name: "v", tag: {} }, "tag", { name: "v", tags: { a: 1 } }, "tags.a"],
  ["POST", "/runs", { experimentId: "0" }, { experimentId: "0", bogus: 1 }, "bogus", { experimentId: 5 }, "experimentId"],
  ["POST", "/runs", { experimentId: "0" }, { experimentId: "0", kindd: "run" }, "kindd", { experimentId: "0", kind: "walk" }, "kind"],
  ["POST", "/runs/r1/end", { status: "FINISHED" }, { status: "FINISHED", when: 1 }, "when", { status: 1 }, "status"],
  ["POST", "/runs/r1/end", { status: "FINISHED" }, { status: "FINISHED", metric: {} }, "metric", { status: "FINISHED", metrics: { a: "b" } }, "metrics.a"],
  ["POST", "/traces/search", {}, { foo: 1 }, "foo", { maxResults: "10" }, "maxResults"],
  ["POST", "/traces/search", {}, { experimentIds: ["0"], filters: "x" }, "filters", { experimentIds: "0" }, "experimentIds"],
  ["POST", "/traces/search", {}, { includeSpans: true, spans: true }, "spans", { includeSpans: "yes" }, "includeSpans"],
  ["POST", "/traces/search", {}, { orderBy: [], order: 1 }, "order", { orderBy: [1] }, "orderBy.0"],
  ["POST", `/traces/${T}/assessments`, { name: "n", value: 1, source: SOURCE }, { name: "n", value: 1, source: SOURCE, extra: 1 }, "extra", { name: "n", value: 1, source: { sourceType: 5 } }, "source.sourceType"],
  ["POST", `/traces/${T}/assessments`, { name: "n", value: 1, source: SOURCE }, { name: "n", value: 1, source: { ...SOURCE, who: "x" } }, "who", { name: "n", value: 1, source: SOURCE, spanId: 5 }, "spanId"],
  ["POST", `/traces/${T}/assessments`, { name: "n", value: 1, source: SOURCE }, { name: "n", value: 1, source: SOURCE, error: { code: "X", message: "m", at: 1 } }, "at", { name: "n", value: 1, source: SOURCE, judgeVersion: "2" }, "judgeVersion"],
  ["POST", `/traces/${T}/assessments/a1/override`, { value: 1, source: SOURCE }, { value: 1, source: SOURCE, z: 1 }, "z", { value: 1, source: "HUMAN" }, "source"],
  ["POST", "/experiments/0/scorers", { judge: JUDGE }, { judge: JUDGE, x: 1 }, "x", { judge: "j" }, "judge"],
  ["POST", "/experiments/0/scorers", { judge: JUDGE }, { judge: JUDGE, versionn: 2 }, "versionn", { name: 5, judge: JUDGE }, "name"],
  ["POST", "/experiments/0/scorers/j/sampling", { sampleRate: 0.5 }, { sampleRate: 0.5, x: 1 }, "x", { sampleRate: "0.5" }, "sampleRate"],
  ["POST", "/experiments/0/scorers/j/sampling", { sampleRate: 0.5 }, { sampleRate: 0.5, filters: "" }, "filters", { sampleRate: 0.5, version: 1.5 }, "version"],
  ["POST", "/experiments/0/scorers/j/backfill", { since: "1h" }, { since: "1h", x: 1 }, "x", { since: true }, "since"],
  ["POST", "/experiments/0/scorers/j/backfill", { since: "1h" }, { since: "1h", retry: true }, "retry", { since: "1h", retryErrors: "yes" }, "retryErrors"],
  ["POST", "/experiments/0/alignments", { judge: "j" }, { judge: "j", x: 1 }, "x", { judge: 5 }, "judge"],
  ["POST", "/sql", { query: "SELECT 1" }, { query: "SELECT 1", limit: 3 }, "limit", { query: 5 }, "query"],
  ["POST", "/sql", { query: "SELECT 1" }, { query: "SELECT 1", param: {} }, "param", { query: "SELECT 1", params: [] }, "params"],
  ["GET", "/runs?", "experimentId=0", "experimentId=0&bogus=1", "bogus", "experimentId=a&experimentId=b", "experimentId"],
  ["GET", "/runs?", "experimentId=0", "experimentId=0&kinds=run", "kinds", "experimentId=0&kind=walk", "kind"],
  ["GET", "/experiments/0/scorers/j?", "version=1", "version=1&v=2", "v", "version=abc", "version"],
  ["DELETE", "/experiments/0/scorers/nope?", "version=1", "versions=1", "versions", "version=-1", "version"],
  ["GET", "/experiments/0/review-queue?", "limit=5", "limit=5&sort=new", "sort", "limit=abc", "limit"],
  ["GET", "/experiments/0/review-queue?", "limit=5", "names=x", "names", "limit=1&limit=2", "limit"],
];

describe("REST input validation: every route, an unknown field and a wrong type", () => {
  const skipped: string[] = [];

  it.each(ROUTES)("%s %s (valid %j; unknown %j → %s; wrong %j → %s)", async (method, path, valid, unknownInput, unknownName, wrongInput, wrongField) => {
    const isQuery = path.endsWith("?");
    const send = (input: unknown) => (isQuery ? call(method, `${path}${input as string}`) : call(method, path, input));
    const ok = await send(valid);
    if (unmounted(ok)) {
      skipped.push(`${method} ${path}`);
      return;
    }
    // The valid input passes validation (it may still be a 404 for an id that does not exist).
    expect(ok.status === 400 && ok.body.error?.code === "INVALID_REQUEST" ? ok.body.error : "passed").toBe("passed");

    const u = await send(unknownInput);
    expect(u.status).toBe(400);
    expect(u.body.error?.field?.split(".").pop()).toBe(unknownName);
    expect(u.body.error?.message).toContain(`"${unknownName}"`);

    const w = await send(wrongInput);
    expect(w.status).toBe(400);
    expect(w.body.error?.field).toBe(wrongField);
    expect(w.body.error?.message).toContain(wrongField);
  });

  it("refuses bodies that are not a JSON object, and JSON sent as another content type", async () => {
    for (const [method, path] of new Map(ROUTES.filter(([, p]) => !p.endsWith("?")).map(([m, p]) => [`${m} ${p}`, [m, p] as const])).values()) {
      const arr = await call(method, path, "[1,2]");
      if (unmounted(arr)) continue;
      expect([arr.status, arr.body.error?.code]).toEqual([400, "INVALID_REQUEST"]);
      const notJson = await call(method, path, "{oops", {});
      expect([notJson.status, notJson.body.error?.code]).toEqual([400, "INVALID_JSON"]);
      // Without the JSON content type the body would otherwise be ignored: a search with a
      // filter would answer every trace.
      const plain = await call(method, path, JSON.stringify({ filter: "trace.status = 'ERROR'" }), { "content-type": "text/plain" });
      expect([plain.status, plain.body.error?.field]).toEqual([415, "Content-Type"]);
    }
    if (skipped.length) console.log(`[validation] routes not mounted in this build, skipped: ${skipped.join(", ")}`);
  });

  it("routes that take no query string refuse one instead of ignoring it", async () => {
    const cases: [string, string][] = [
      ["POST", "/traces/search?experimentIds=0"],
      ["GET", `/traces/${T}?includeSpans=false`],
      ["GET", "/experiments?name=v"],
      ["GET", "/experiments/0/scorers?version=2"],
      ["POST", "/sql?query=SELECT%201"],
    ];
    for (const [method, path] of cases) {
      const a = await call(method, path, method === "POST" ? {} : undefined);
      const param = new URL(path, "http://x").searchParams.keys().next().value;
      expect([a.status, a.body.error?.field], `${method} ${path}`).toEqual([400, param]);
      expect(a.body.error?.message).toMatch(/takes no query parameters/);
    }
    // The routes that take query strings still do.
    expect((await call("GET", "/runs?experimentId=0")).status).toBe(200);
  });

  it("answers 400 naming the path parameter for a malformed trace id", async () => {
    for (const [method, path] of [["GET", "/traces/nope"], ["GET", "/traces/nope/assessments"], ["POST", "/traces/xyz/assessments"], ["DELETE", "/traces/123/assessments/a"]] as const) {
      const r = await call(method, path, method === "POST" ? { name: "n", value: 1, source: SOURCE } : undefined);
      expect([r.status, r.body.error?.field]).toEqual([400, "traceId"]);
    }
  });
});

describe("filters: a malformed filter is a 400 naming `filter`, wherever filters are taken", () => {
  const BAD = [
    "trace.status = ",
    "trace.status == 'OK'",
    "trace.nope = 'x'",
    "trace.status = 'OK' AND",
    "trace.status = 'unterminated",
    "trace.execution_time_ms > 'abc'",
    "feedback. = 'x'",
    "trace.status = 'OK' OR trace.status = 'ERROR'",
    "'; DROP TABLE otel_traces; --",
    "trace.status IN ()",
    "span.attributes. = 'x'",
    "tag.k LIKE",
    "x".repeat(10_001),
  ];
  it.each(BAD.map((f) => [f.length > 60 ? `${f.slice(0, 20)}… (${f.length} chars)` : f, f]))("%s", async (_label, filter) => {
    const answers = [
      await call("POST", "/traces/search", { filter }),
      await call("GET", `/experiments/0/review-queue?filter=${encodeURIComponent(filter)}`),
      await call("POST", "/experiments/0/scorers/j/sampling", { sampleRate: 0.5, filter }),
      await call("POST", "/experiments/0/scorers/j/backfill", { since: "1h", filter }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(400);
      expect(a.body.error?.field).toBe("filter");
    }
  });

  it("orderBy and pageToken are named too", async () => {
    const o = await call("POST", "/traces/search", { orderBy: ["nope DESC"] });
    expect([o.status, o.body.error?.field]).toEqual([400, "orderBy"]);
    const p = await call("POST", "/traces/search", { pageToken: "garbage" });
    expect([p.status, p.body.error?.field]).toEqual([400, "pageToken"]);
  });
});

describe("CLI flags: a bad flag exits non-zero with a message naming it", () => {
  const CASES: [string[], RegExp][] = [
    [["sql", "SELECT 1", "--param", "oops"], /--param.*"oops" is not name=value/],
    [["sql", "SELECT 1", "--param", "a-b=1"], /--param.*Parameter name "a-b"/],
    [["sql", "SELECT 1", "--format", "xml"], /--format.*'xml' is invalid.*table, json/],
    [["sql"], /missing required argument 'query'/],
    [["start", "--port", "abc"], /--port.*"abc" is not a port/],
    [["start", "--port", "70000"], /--port.*"70000" is not a port/],
    [["start", "--bogus"], /unknown option '--bogus'/],
    [["migrate", "--cluster", "x;y"], /--cluster "x;y" is not a cluster name/],
    [["migrate", "--cluster", "x;y", "--print"], /--cluster "x;y" is not a cluster name/],
    [["nosuch"], /unknown command 'nosuch'/],
    [["sql", "SELECT 1", "--url", "not-a-url"], /not reachable at not-a-url.*--url/],
  ];
  it.each(CASES)("gavel %s", async (...args) => {
    const [argv, message] = [args.slice(0, -1).flat() as string[], args[args.length - 1] as RegExp];
    const r = await run(process.execPath, [CLI, ...argv], { timeout: 30_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBeGreaterThan(0);
    expect(r.stderr).toMatch(message);
  });
});

describe("configuration: every GAVEL_* variable with a bad value stops the server with its name", () => {
  const COLLECTOR: [string, string][] = [
    ["GAVEL_PORT", "abc"],
    ["GAVEL_PORT", "70000"],
    ["GAVEL_CLICKHOUSE_URL", "not a url"],
    ["GAVEL_CLICKHOUSE_DATABASE", "x;DROP"],
    ["GAVEL_MAX_BODY_BYTES", "1k"],
    ["GAVEL_MAX_BODY_BYTES", "0"],
    ["GAVEL_MAX_QUEUED_ROWS", "lots"],
    ["GAVEL_MAX_QUEUED_ROWS", "0"],
    ["GAVEL_BATCH_ROWS", "-5"],
    ["GAVEL_BATCH_WAIT_MS", "1.5"],
    ["GAVEL_DEDUP_WINDOW_SECONDS", "10m"],
    ["GAVEL_DEDUP_WINDOW_SECONDS", "100000"],
    ["GAVEL_DEDUP_MAX_REQUESTS", "-1"],
    ["GAVEL_SQL_MAX_EXECUTION_SECONDS", "forever"],
    ["GAVEL_SQL_MAX_RESULT_ROWS", "0"],
    ["GAVEL_SQL_MAX_MEMORY_BYTES", "10"],
    ["GAVEL_API_KEYS", "short:admin"],
    ["GAVEL_API_KEYS", "0123456789abcdef0123:root"],
    ["GAVEL_API_KEYS", "no-role-separator-at-all"],
  ];
  it.each(COLLECTOR)("%s=%s", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  const WORKER: [string, string][] = [
    ["GAVEL_WORKER", "sometimes"],
    ["GAVEL_SETTLE_MS", "soon"],
    ["GAVEL_WORKER_POLL_MS", "0"],
    ["GAVEL_WORKER_LOOKBACK", "yesterday"],
    ["GAVEL_WORKER_CONCURRENCY", "many"],
    ["GAVEL_WORKER_RPM", "-1"],
    ["GAVEL_WORKER_SHARD", "3/2"],
    ["GAVEL_WORKER_BATCH", "0"],
    ["GAVEL_WORKER_DRAIN_MS", "x"],
    ["GAVEL_WORKER_WRITE_MS", "99999999"],
    // Read by the judges the worker runs; checked when the worker's settings load.
    ["GAVEL_LLM_TIMEOUT_MS", "30s"],
    ["GAVEL_LLM_MAX_RETRIES", "-1"],
    ["GAVEL_JUDGE_MAX_OUTPUT_ATTEMPTS", "three"],
    ["GAVEL_JUDGE_TRACE_MAX_CHARS", "lots"],
    ["GAVEL_MAX_PAYLOAD_BYTES", "1MB"],
    ["GAVEL_ANTHROPIC_MAX_TOKENS", "NaN"],
    ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe"],
  ];
  it.each(WORKER)("%s=%s", (name, value) => {
    expect(() => loadWorkerSettings({ [name]: value })).toThrow(ConfigError);
    expect(() => loadWorkerSettings({ [name]: value })).toThrow(name);
  });

  // Only the server finds these out, so they go through `gavel start` (a chDB data dir per process).
  it("GAVEL_HOST, GAVEL_PORT and GAVEL_DATA_DIR values that fail only when used are named too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gavel-badcfg-"));
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const start = (env: Record<string, string>, args: string[] = []) =>
      run(process.execPath, [CLI, "start", ...args], { env: { ...process.env, GAVEL_DATA_DIR: join(dir, "data"), GAVEL_PORT: "0", ...env }, timeout: 60_000 }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code: number; stderr: string }) => e,
      );
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ GAVEL_HOST: "not a host" }, ["--insecure-listen"], /GAVEL_HOST/],
      [{ GAVEL_HOST: "203.0.113.7" }, ["--insecure-listen"], /GAVEL_HOST/],
      [{ GAVEL_PORT: new URL(gavelOf().url).port }, [], /GAVEL_PORT/],
      [{ GAVEL_DATA_DIR: file }, [], /GAVEL_DATA_DIR/],
    ];
    for (const [env, args, message] of cases) {
      const r = await start(env, args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  }, 120_000);
});

describe("OTLP: spans ClickHouse refuses for what they are", () => {
  it("answers 400 (not a retryable 503) for the request at fault, and stores the requests batched with it", async () => {
    const r = rng(7);
    const bad = manyDaysCase(r);
    const good = Array.from({ length: 6 }, () => validCase(r, "protobuf", [{ key: "rel.batch", value: { s: "with-bad" } }]));
    const post = (b: Buffer) => fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body: b, headers: { "content-type": "application/x-protobuf" } });
    const stats = gavelOf().store.batcher.stats;
    const failedBefore = stats.failedInserts;
    const [badRes, ...goodRes] = await Promise.all([post(bad.body), ...good.map((c) => post(c.body))]);
    // Two failed inserts: the shared one, then the bad request on its own.
    expect(stats.failedInserts - failedBefore).toBe(2);
    expect(badRes.status).toBe(400);
    expect(Buffer.from(await badRes.arrayBuffer()).toString("latin1")).toMatch(/more than 100 different days/);
    expect(goodRes.map((x) => x.status)).toEqual(good.map(() => 200));
    const [row] = await sql<{ n: string }>(gavelOf().url, "SELECT count() AS n FROM otel_traces WHERE SpanAttributes['rel.batch'] = 'with-bad'");
    expect(Number(row!.n)).toBe(good.reduce((n, c) => n + c.expect!.stored.length, 0));
  });
});
