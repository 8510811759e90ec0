import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { REPO_ROOT } from "../support/gavel-process.js";

const run = promisify(execFile);

describe("@gavel/sdk from plain Node ESM JavaScript", () => {
  it("imports the built package and traces a function", async () => {
    const script = `
      import { init, trace, flush, getLastActiveTraceId, makeJudge, AssessmentSourceType } from "@gavel/sdk";
      import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
      const exporter = new InMemorySpanExporter();
      init({ serviceName: "plain-js", exporter });
      const add = trace(function add(a, b) { return a + b; });
      const sum = add(2, 3);
      await flush();
      const [span] = exporter.getFinishedSpans();
      console.log(JSON.stringify({ sum, name: span.name, inputs: span.attributes["gavel.inputs"], outputs: span.attributes["gavel.outputs"],
        traceId: getLastActiveTraceId() === span.spanContext().traceId, judge: typeof makeJudge, human: AssessmentSourceType.HUMAN }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: REPO_ROOT });
    expect(JSON.parse(stdout.trim())).toEqual({ sum: 5, name: "add", inputs: "[2,3]", outputs: "5", traceId: true, judge: "function", human: "HUMAN" });
  });
});
