import { Router } from "express";
import { z } from "zod";
import type { Store } from "../store/store.js";
import { createExperiment, getExperiment, getExperimentByName, listExperiments } from "../store/queries/experiments.js";
import { ApiError, parseInput } from "./errors.js";

const CreateExperiment = z
  .object({
    name: z.string().trim().min(1, "name must not be empty").max(256),
    tags: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export function experimentsRouter(store: Store): Router {
  const r = Router();
  r.post("/experiments", async (req, res) => {
    const body = parseInput(CreateExperiment, req.body);
    res.json({ experimentId: await createExperiment(store.client, body.name, body.tags) });
  });
  r.get("/experiments", async (_req, res) => {
    res.json({ experiments: await listExperiments(store.client) });
  });
  r.get("/experiments/by-name/:name", async (req, res) => {
    const e = await getExperimentByName(store.client, req.params.name);
    if (!e) throw new ApiError(404, "NOT_FOUND", `No experiment named "${req.params.name}". Create it with createExperiment(name).`);
    res.json(e);
  });
  r.get("/experiments/:id", async (req, res) => {
    const e = await getExperiment(store.client, req.params.id);
    if (!e) throw new ApiError(404, "NOT_FOUND", `No experiment with id "${req.params.id}". List them with GET /api/v1/experiments.`);
    res.json(e);
  });
  return r;
}
