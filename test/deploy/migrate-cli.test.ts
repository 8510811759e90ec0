/**
 * `gavel migrate --cluster` as deploy/ runs it (compose's gavel-migrate, the Kubernetes init
 * container): the built CLI prints the clustered DDL, and refuses a cluster name that is not an
 * identifier before anything reaches ClickHouse. Runs the built CLI, like the deployments do:
 * `npm test` builds first; alone, run `npx tsc -b collector` before this file.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { allSchemaStatements } from "../../collector/src/store/migrations.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));

function gavel(...args: string[]) {
  // No GAVEL_CLICKHOUSE_URL and an unused data dir: a bug that made --print connect would fail loudly.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GAVEL_")));
  return spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...env, GAVEL_DATA_DIR: "/nonexistent/gavel-migrate-test" }, encoding: "utf8", timeout: 60_000 });
}

describe("gavel migrate --cluster", () => {
  it("is built", () => {
    expect(existsSync(CLI), "collector/dist is missing: run `npx tsc -b collector`").toBe(true);
  });

  it("--print --cluster gavel prints the clustered DDL, statement for statement what the sources render", () => {
    const r = gavel("migrate", "--print", "--cluster", "gavel");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const expected = allSchemaStatements({ cluster: "gavel" }).map((s) => `${s};\n`).join("\n");
    expect(r.stdout === expected, "collector/dist is stale: run `npx tsc -b collector`").toBe(true);
    expect(r.stdout).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/otel_traces_local', '{replica}')");
    expect(r.stdout).toContain("CREATE TABLE IF NOT EXISTS otel_traces ON CLUSTER gavel AS otel_traces_local ENGINE = Distributed('gavel', currentDatabase(), 'otel_traces_local', cityHash64(TraceId))");
  });

  it("--print without --cluster prints the single-node DDL", () => {
    const r = gavel("migrate", "--print");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/ON CLUSTER|Replicated|Distributed/);
    expect(r.stdout).toContain("CREATE TABLE IF NOT EXISTS otel_traces (");
  });

  // Each run starts a Node process (~2 s here), so a few representative names only.
  it.each([
    ["migrate", "--print", "--cluster", "bad name;"],
    ["migrate", "--print", "--cluster", "gavel; DROP TABLE otel_traces"],
    ["migrate", "--cluster", "bad name;"],
  ].map((args) => [args.map((a) => JSON.stringify(a)).join(" "), args] as const))("refuses %s with a message and a non-zero exit", (_title, args) => {
    const r = gavel(...args);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`--cluster "${args[args.length - 1]}" is not a cluster name`);
  });
});
