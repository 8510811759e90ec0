import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Store } from "../store/store.js";
import { runReadOnlySql, SqlRejectedError } from "./read-only-sql.js";
import { tempConfig } from "../../../test/support/temp-store.js";

const limits = { maxExecutionSeconds: 5, maxResultRows: 50, maxMemoryBytes: 1 << 30 };
const cfg = tempConfig();
let store: Store;

beforeAll(async () => {
  store = await Store.open(cfg);
  await store.client.insert({
    table: "gavel_experiments",
    values: [{ ExperimentId: "e1", Name: "one", CreatedAt: Date.now(), Tags: {}, Version: 1 }],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await store.close();
  cfg.cleanup();
});

const run = (q: string, params: Record<string, unknown> = {}) => runReadOnlySql(store.client, q, params, limits);

describe("read-only SQL", () => {
  it("runs a parameterised SELECT and returns rows with their types", async () => {
    const r = await run("SELECT Name, ExperimentId FROM gavel_experiments FINAL WHERE ExperimentId = {id:String}", { id: "e1" });
    expect(r.rows).toEqual([{ Name: "one", ExperimentId: "e1" }]);
    expect(r.meta.map((m) => m.type)).toEqual(["String", "String"]);
  });

  it.each([
    ["a second statement", "SELECT 1; DROP TABLE gavel_experiments", /Multi-statements/],
    ["an INSERT", "INSERT INTO gavel_experiments (ExperimentId) VALUES ('x')", /Only SELECT/],
    ["DDL", "DROP TABLE gavel_experiments", /Only SELECT/],
    ["ALTER ... DELETE", "ALTER TABLE gavel_experiments DELETE WHERE 1", /Only SELECT/],
    ["a nested SETTINGS that would lift readonly", "SELECT * FROM (SELECT 1 SETTINGS readonly = 0)", /SETTINGS clauses are not allowed/],
    ["a trailing SETTINGS", "SELECT 1 SETTINGS max_execution_time = 1000", /SETTINGS clauses are not allowed/],
    ["the file() table function", "SELECT * FROM file('/etc/passwd', 'LineAsString')", /file\(\) is not allowed/],
    ["the url() table function", "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')", /url\(\) is not allowed/],
    ["the remote() table function", "SELECT * FROM remote('127.0.0.1:9000', system.one)", /remote\(\) is not allowed/],
    ["system.users", "SELECT * FROM system.users", /system\.users is not readable/],
    ["system.settings in a subquery", "SELECT count() FROM (SELECT * FROM system.settings)", /system\.settings is not readable/],
    ["a FORMAT clause", "SELECT 1 FORMAT CSV", /FORMAT clause/],
    ["an empty query", "   ", /empty/],
  ])("rejects %s", async (_label, q, msg) => {
    const err = await run(q).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlRejectedError);
    expect((err as Error).message).toMatch(msg);
  });

  it("hides a comment trick: a commented-out wrapper cannot be escaped", async () => {
    const r = await run("SELECT 1 AS x -- ) SETTINGS readonly = 0\n");
    expect(r.rows).toEqual([{ x: 1 }]);
  });

  it("enforces the row limit and says the result was cut", async () => {
    const r = await run("SELECT number FROM numbers(1000)");
    expect(r.rows).toHaveLength(limits.maxResultRows);
    expect(r.truncated).toBe(true);
    const small = await run("SELECT number FROM numbers(3)");
    expect(small.truncated).toBe(false);
  });

  it("keeps later results clean after a query fails at run time", async () => {
    await expect(run("SELECT throwIf(number = 5000, 'boom') FROM numbers(10000)")).rejects.toThrow(/boom/);
    const r = await run("SELECT 7 AS seven");
    expect(r.rows).toEqual([{ seven: 7 }]);
  });

  it("names a missing placeholder", async () => {
    await expect(run("SELECT {x:String} AS v")).rejects.toThrow(/params/);
  });

  it("leaves the shared session writable after read-only queries", async () => {
    await run("SELECT 1");
    await store.client.insert({
      table: "gavel_experiments",
      values: [{ ExperimentId: "e2", Name: "two", CreatedAt: Date.now(), Tags: {}, Version: 1 }],
      format: "JSONEachRow",
    });
    const r = await run("SELECT count() AS n FROM gavel_experiments FINAL");
    expect(Number(r.rows[0]!.n)).toBeGreaterThanOrEqual(2);
    const tables = await run("SELECT name FROM system.tables WHERE name = 'gavel_experiments'");
    expect(tables.rows).toHaveLength(1);
  });
});
