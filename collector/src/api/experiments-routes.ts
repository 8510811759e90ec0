import { z } from "zod";
import type { Store } from "../store/store.js";
import { createExperiment, experimentExists, getExperiment, getExperimentByName, listExperiments } from "../store/queries/experiments.js";
import { route, strictRouter } from "../server/routes.js";
import { ApiError, parseInput } from "./errors.js";

const CreateExperiment = z
  .object({
    name: z.string().trim().min(1, "name must not be empty").max(256),
    tags: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/**
 * Refuses work for an experiment that does not exist (a typo would otherwise create runs and
 * judges nobody can find): 404 saying how to list and create experiments.
 */
export async function assertExperimentExists(store: Store, experimentId: string): Promise<void> {
  if (await experimentExists(store.client, experimentId)) return;
  throw new ApiError(
    404,
    "NOT_FOUND",
    `No experiment with id "${experimentId}". List experiments with GET /api/v1/experiments; create one with POST /api/v1/experiments {"name": "…"} (SDK: createExperiment(name) or setExperiment(name)).`,
    "experimentId",
  );
}

export function experimentsRouter(store: Store) {
  const r = strictRouter();
  route(r, "POST", "/experiments", "admin", async (req, res) => {
    const body = parseInput(CreateExperiment, req.body);
    res.json({ experimentId: await createExperiment(store.client, body.name, body.tags) });
  });
  route(r, "GET", "/experiments", "read", async (_req, res) => {
    res.json({ experiments: await listExperiments(store.client) });
  });
  route(r, "GET", "/experiments/by-name/:name", "read", async (req, res) => {
    const e = await getExperimentByName(store.client, req.params.name);
    if (!e) throw new ApiError(404, "NOT_FOUND", `No experiment named "${req.params.name}". Create it with createExperiment(name).`);
    res.json(e);
  });
  route(r, "GET", "/experiments/:id", "read", async (req, res) => {
    const e = await getExperiment(store.client, req.params.id);
    if (!e) throw new ApiError(404, "NOT_FOUND", `No experiment with id "${req.params.id}". List them with GET /api/v1/experiments.`);
    res.json(e);
  });
  return r;
}
