import { z } from "zod";
import type { Store } from "../store/store.js";
import { createRun, getRun, listRuns, updateRun } from "../store/queries/runs.js";
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
  return r;
}
