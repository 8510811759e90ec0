import { afterAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql, startGavelProcess } from "../support/gavel-process.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "gavel-restart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("the gavel CLI and a restart", () => {
  it("queries with `gavel sql`, shuts down on SIGTERM, and keeps every span across a restart", async () => {
    const first = await startGavelProcess({ dataDir });
    const spans = makeSpans(20, { "gavel.inputs": '"hello"' });
    const res = await fetch(`${first.url}/v1/traces`, { method: "POST", body: protobufBody(spans), headers: { "content-type": "application/x-protobuf" } });
    expect(res.status).toBe(200);

    const env = { ...process.env, GAVEL_URL: first.url };
    const json = await run(process.execPath, [CLI, "sql", "SELECT count() AS n FROM otel_traces WHERE ServiceName = {s:String}", "--param", "s=otlp-test", "--format", "json"], { env });
    expect(JSON.parse(json.stdout)).toEqual([{ n: "20" }]);
    const table = await run(process.execPath, [CLI, "sql", "SELECT Name, Inputs FROM gavel_traces ORDER BY Name LIMIT 2"], { env });
    expect(table.stdout).toMatch(/Name\s+│ Inputs/);
    expect(table.stdout).toMatch(/span-0\s+│ "hello"/);
    expect(table.stdout).toMatch(/2 rows in \d+ ms/);

    const bad = await run(process.execPath, [CLI, "sql", "DROP TABLE otel_traces"], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(1);
    expect((bad as { stderr: string }).stderr).toMatch(/Only SELECT queries/);
    const badFlag = await run(process.execPath, [CLI, "sql", "SELECT 1", "--param", "oops"], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((badFlag as { stderr: string }).stderr).toMatch(/name=value/);
    expect((badFlag as { code: number }).code).toBe(2); // a usage error
    const unknownFlag = await run(process.execPath, [CLI, "sql", "SELECT 1", "--colour"], { env }).catch((e: { code: number; stderr: string }) => e);
    expect([(unknownFlag as { code: number }).code, (unknownFlag as { stderr: string }).stderr]).toEqual([2, expect.stringMatching(/unknown option '--colour'/)]);
    expect((await run(process.execPath, [CLI, "--help"], { env })).stdout).toMatch(/Usage: gavel/);

    expect(await first.stop("SIGTERM")).toBe(0);
    expect(first.output()).toMatch(/SIGTERM received/);

    const second = await startGavelProcess({ dataDir });
    try {
      const [row] = await sql<{ n: string; t: string }>(second.url, "SELECT count() AS n, (SELECT count() FROM gavel_traces) AS t FROM otel_traces");
      expect(row).toEqual({ n: "20", t: "20" });
    } finally {
      await second.stop();
    }
  }, 180_000); // two collector processes and six CLI processes, each a Node start (~2 s idle, 4× on a loaded machine)

  it("refuses a non-loopback address without API keys, and says what to do", async () => {
    const err = await startGavelProcess({ dataDir: mkdtempSync(join(tmpdir(), "gavel-bind-")), args: ["--host", "0.0.0.0"] }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/Refusing to listen on 0\.0\.0\.0 without API keys/);
    expect((err as Error).message).toMatch(/--insecure-listen/);
  });

  it("rejects an invalid environment variable with its name", async () => {
    const err = await startGavelProcess({ dataDir, env: { GAVEL_MAX_QUEUED_ROWS: "lots" } }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/GAVEL_MAX_QUEUED_ROWS must be a whole number/);
  });
});
