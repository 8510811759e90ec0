import { z } from "zod";
import type { Store } from "../store/store.js";
import { deleteScorer, getScorer, listScorers, listScorerVersions, registerScorer, setSampling } from "../store/queries/scorers.js";
import { ApiError, assertValidFilter, parseInput } from "./errors.js";
import { assertExperimentExists } from "./experiments-routes.js";
import { route, strictRouter } from "../server/routes.js";

const Name = z.string().trim().min(1, "name must not be empty").max(256);
const SerializedJudge = z
  .object({ type: z.literal("gavel.judge").optional(), name: z.string(), instructions: z.string().min(1), model: z.string().min(1) })
  .passthrough();
const Register = z
  .object({
    name: Name.optional(),
    judge: SerializedJudge,
    report: z.record(z.string(), z.unknown()).nullable().optional(),
    alignmentRunId: z.string().max(128).nullable().optional(),
  })
  .strict();
const Sampling = z
  .object({
    sampleRate: z.number().min(0, "sampleRate is between 0 and 1").max(1, "sampleRate is between 0 and 1"),
    filter: z.string().max(10_000).nullable().optional(),
    version: z.number().int().min(1).optional(),
  })
  .strict();
const VersionQuery = z.object({ version: z.coerce.number().int().min(1).optional() }).strict();

export function scorersRouter(store: Store) {
  const r = strictRouter();
  const base = "/experiments/:experimentId/scorers";
  route(r, "POST", base, "admin", async (req, res) => {
    const body = parseInput(Register, req.body);
    const name = body.name ?? body.judge.name;
    if (!name) throw new ApiError(400, "INVALID_REQUEST", "The judge has no name: pass `name`.", "name");
    await assertExperimentExists(store, req.params.experimentId);
    res.json(await registerScorer(store.client, { experimentId: req.params.experimentId, name, judge: body.judge, report: body.report, alignmentRunId: body.alignmentRunId }));
  });
  route(r, "GET", base, "read", async (req, res) => {
    res.json({ scorers: await listScorers(store.client, req.params.experimentId) });
  });
  route(r, "GET", `${base}/:name`, "read", async (req, res) => {
    const { version } = parseInput(VersionQuery, req.query, "query");
    const s = await getScorer(store.client, req.params.experimentId, req.params.name, version);
    if (!s) {
      throw new ApiError(404, "NOT_FOUND", `No registered judge "${req.params.name}"${version ? ` version ${version}` : ""} in experiment ${req.params.experimentId}. Register one with judge.register({ experimentId }).`);
    }
    res.json(s);
  });
  route(r, "GET", `${base}/:name/versions`, "read", async (req, res) => {
    res.json({ versions: await listScorerVersions(store.client, req.params.experimentId, req.params.name) });
  });
  route(r, "DELETE", `${base}/:name`, "admin", async (req, res) => {
    const { version } = parseInput(VersionQuery, req.query, "query");
    const n = await deleteScorer(store.client, req.params.experimentId, req.params.name, version);
    if (n === 0) throw new ApiError(404, "NOT_FOUND", `No registered judge "${req.params.name}"${version ? ` version ${version}` : ""} to delete.`);
    res.json({ deleted: n });
  });
  route(r, "POST", `${base}/:name/sampling`, "admin", async (req, res) => {
    const body = parseInput(Sampling, req.body);
    assertValidFilter(body.filter);
    await assertExperimentExists(store, req.params.experimentId);
    const s = await setSampling(store.client, req.params.experimentId, req.params.name, body);
    if (!s) throw new ApiError(404, "NOT_FOUND", `No registered judge "${req.params.name}" to sample with; register it first.`);
    res.json(s);
  });
  return r;
}
