import type { Request, Response } from "express";
import { z } from "zod";
import type { Store } from "../store/store.js";
import { createRun, getRun, listRuns, updateRun } from "../store/queries/runs.js";
import { MAX_LINKS_PER_REQUEST, setTraceRunLinks } from "../store/queries/run-links.js";
import { ApiError, parseInput } from "./errors.js";
import { assertExperimentExists } from "./experiments-routes.js";
import { route, strictRouter } from "../server/routes.js";

const CreateRun = z
  .object({
    experimentId: z.string().min(1, "experimentId must not be empty").max(128),
    name: z.string().min(1).max(256).optional(),
    kind: z.enum(["run", "evaluation"]).optional(),
  })
  .strict();
const MetricName = z.string().min(1, "metric names must not be empty").max(512);
const EndRun = z
  .object({
    status: z.enum(["FINISHED", "FAILED"]),
    // JSON has no NaN or Infinity, so finite() only guards hand-written bodies.
    metrics: z.record(MetricName, z.number().finite()).optional(),
  })
  .strict();
const LinkTraces = z.object({ traceIds: z.array(z.string().max(128)).max(10_000) }).strict();
const ListRuns = z.object({ experimentId: z.string().min(1), kind: z.enum(["run", "evaluation"]).optional() }).strict();

export function runsRouter(store: Store) {
  const r = strictRouter();
  route(r, "POST", "/runs", "write", async (req, res) => {
    const body = parseInput(CreateRun, req.body);
    await assertExperimentExists(store, body.experimentId);
    const run = await createRun(store.client, body);
    res.json({ runId: run.runId, name: run.name });
  });
  route(r, "GET", "/runs", "read", async (req, res) => {
    const q = parseInput(ListRuns, req.query, "query");
    res.json({ runs: await listRuns(store.client, q.experimentId, q.kind) });
  });
  route(r, "GET", "/runs/:runId", "read", async (req, res) => {
    const run = await getRun(store.client, req.params.runId);
    if (!run) throw new ApiError(404, "NOT_FOUND", `No run with id "${req.params.runId}".`);
    res.json(run);
  });
  route(r, "POST", "/runs/:runId/end", "write", async (req, res) => {
    const { status, metrics } = parseInput(EndRun, req.body);
    const run = await updateRun(store.client, req.params.runId, { status, endTime: Date.now(), ...(metrics ? { metrics } : {}) });
    if (!run) throw new ApiError(404, "NOT_FOUND", `No run with id "${req.params.runId}". Start one with POST /api/v1/runs.`);
    res.json({ runId: run.runId, status: run.status, metrics: run.metrics });
  });
  /** Links (or unlinks) traces to the run: MLflow's link_traces_to_run / unlink_traces_from_run. */
  const setLinks = (linked: boolean) =>
    async (req: Request<{ runId: string }>, res: Response): Promise<void> => {
      const { traceIds } = parseInput(LinkTraces, req.body);
      const runId = req.params.runId;
      // As MLflow's client: nothing to (un)link returns at once.
      if (traceIds.length === 0) {
        res.json({ runId, traceIds: [] });
        return;
      }
      if (traceIds.length > MAX_LINKS_PER_REQUEST) {
        throw new ApiError(
          400,
          "TOO_MANY_TRACES",
          `Cannot ${linked ? "link" : "unlink"} more than ${MAX_LINKS_PER_REQUEST} traces ${linked ? "to" : "from"} a run in a single request. Provided ${traceIds.length} traces. Send them in several requests.`,
          "traceIds",
        );
      }
      const ids = [...new Set(traceIds.map((t) => t.toLowerCase()))];
      const bad = ids.find((t) => !/^[0-9a-f]{32}$/.test(t));
      if (bad !== undefined) throw new ApiError(400, "INVALID_TRACE_ID", `"${bad}" is not a trace id: expected 32 hex characters.`, "traceIds");
      const run = await getRun(store.client, runId);
      if (!run) throw new ApiError(404, "NOT_FOUND", `Run with id=${runId} not found. Start one with POST /api/v1/runs (startRun in the SDK) and use its runId.`);
      await setTraceRunLinks(store.client, run.runId, run.experimentId, ids, linked);
      res.json({ runId, traceIds: ids });
    };
  route(r, "POST", "/runs/:runId/traces", "write", setLinks(true));
  route(r, "POST", "/runs/:runId/traces/unlink", "write", setLinks(false));
  return r;
}
