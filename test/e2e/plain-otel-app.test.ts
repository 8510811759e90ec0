import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventually, sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";

const run = promisify(execFile);
const APP = fileURLToPath(new URL("../fixtures/plain-otel-app.mjs", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "gavel-plain-otel-"));
let gavel: GavelProcess;

beforeAll(async () => {
  gavel = await startGavelProcess({ dataDir });
});
afterAll(async () => {
  await gavel?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("an app using only the official OpenTelemetry SDK", () => {
  it("lands spans that SQL finds, with inputs and outputs extracted from OpenInference attributes", async () => {
    const { stdout } = await run(process.execPath, [APP], {
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: gavel.url },
    });
    const { traceIds } = JSON.parse(stdout.trim().split("\n").pop()!) as { traceIds: string[] };
    expect(traceIds).toHaveLength(3);

    const rows = await eventually(async () => {
      const r = await sql<{ TraceId: string; Inputs: string; Outputs: string; ExperimentId: string; SpanType: string; ServiceName: string }>(
        gavel.url,
        "SELECT TraceId, Inputs, Outputs, ExperimentId, SpanType, ServiceName FROM gavel_traces WHERE TraceId IN {ids:Array(String)} ORDER BY Inputs",
        { ids: traceIds },
      );
      return r.length === 3 ? r : null;
    });
    expect(rows.map((r) => JSON.parse(r.Inputs))).toEqual([0, 1, 2].map((i) => ({ question: `What is ${i} + ${i}?` })));
    expect(rows.map((r) => JSON.parse(r.Outputs))).toEqual([0, 1, 2].map((i) => ({ answer: String(i + i) })));
    for (const r of rows) {
      expect(r.ExperimentId).toBe("0");
      expect(r.SpanType).toBe("CHAIN");
      expect(r.ServiceName).toBe("plain-app");
    }

    const spans = await sql<{ n: string; models: string[] }>(
      gavel.url,
      "SELECT count() AS n, groupUniqArrayIf(GenAiModel, GenAiModel != '') AS models FROM otel_traces WHERE TraceId IN {ids:Array(String)}",
      { ids: traceIds },
    );
    expect(Number(spans[0]!.n)).toBe(6);
    expect(spans[0]!.models).toEqual(["gpt-4o-mini"]);

    const res = await fetch(`${gavel.url}/api/v1/traces/${traceIds[0]}`);
    expect(res.status).toBe(200);
    const trace = (await res.json()) as { info: { inputs: unknown; name: string }; data: { spans: { name: string; parentSpanId: string }[] } };
    expect(trace.info.name).toBe("answer-question");
    expect(trace.info.inputs).toEqual({ question: "What is 0 + 0?" });
    expect(trace.data.spans.map((s) => s.name).sort()).toEqual(["answer-question", "chat gpt-4o-mini"]);
  });
});
