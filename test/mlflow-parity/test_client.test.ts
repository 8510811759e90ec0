/**
 * MLflow parity: the tracking client's checks, from MLflow's
 * tests/tracking/_tracking_service/test_client.py, against Gavel's SDK (`linkTracesToRun`).
 */
import { describe, expect, it } from "vitest";
import { linkTracesToRun } from "@gavel/sdk";

// No collector: these checks run in the SDK before any request, as in MLflow's client.

describe("MLflow tests/tracking/_tracking_service/test_client.py", () => {
  it("test_link_traces_to_run_validation", async () => {
    await expect(linkTracesToRun({ traceIds: ["trace1", "trace2"], runId: "" })).rejects.toThrow(/runId cannot be empty/);
    const traceIds = Array.from({ length: 101 }, (_, i) => `trace_${i}`);
    await expect(linkTracesToRun({ traceIds, runId: "run_id" })).rejects.toThrow(/cannot link more than 100 traces to a run in a single request\. Provided 101 traces/);
    // MLflow's client returns before any check when there is nothing to link.
    await expect(linkTracesToRun({ traceIds: [], runId: "" })).resolves.toEqual([]);
  });
});
