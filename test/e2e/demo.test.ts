import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { REPO_ROOT } from "../support/gavel-process.js";

const run = promisify(execFile);

describe("npm run demo", () => {
  it("runs the whole workflow, steps 1–5, against the simulator when no API key is set, and says so", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, GAVEL_URL: "http://127.0.0.1:9" };
    for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"]) delete env[k];
    const { stdout } = await run(process.execPath, ["test/demo/run-demo.mjs"], { cwd: REPO_ROOT, env, timeout: 120_000 });
    expect(stdout).toMatch(/using the LOCAL LLM PROVIDER SIMULATOR/);
    expect(stdout).toMatch(/Started a collector for the demo/);
    expect(stdout).toMatch(/Step 2: 12 traces judged and labelled/);
    expect(stdout).toMatch(/Step 3: found 12 traces with both assessments/);
    expect(stdout).toMatch(/registered version 1/);
    expect(stdout).toMatch(/support_quality\/count\s+│ 2/);
    expect(stdout).toMatch(/online scoring started at sampleRate 0\.1/);
    expect(stdout.trim().endsWith("Done.")).toBe(true);
  });
});
