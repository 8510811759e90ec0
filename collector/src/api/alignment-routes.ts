import { z } from "zod";
import { AlignmentJobs, AlignmentRequestError } from "../alignment/alignment-jobs.js";
import type { Store } from "../store/store.js";
import { ApiError, parseInput } from "./errors.js";
import { assertExperimentExists } from "./experiments-routes.js";
import { route, strictRouter } from "../server/routes.js";

const StartAlignment = z
  .object({
    judge: z.string().trim().min(1, "judge (the registered judge's name) must not be empty"),
    version: z.number().int().min(1).optional(),
    optimizer: z.enum(["simba", "memalign"]).default("simba"),
    register: z.boolean().default(false),
    /** false: keep the judge measured on the split instead of retraining on every label. */
    retrainOnAll: z.boolean().default(true),
    seed: z.number().int().optional(),
    optimizerModel: z.string().regex(/^[a-z][\w-]*:\/.+$/, "optimizerModel is a model URI such as openai:/gpt-4o-mini").optional(),
    simba: z
      .object({
        maxSteps: z.number().int().min(0).max(100).optional(),
        numCandidates: z.number().int().min(1).max(32).optional(),
        batchSize: z.number().int().min(1).max(256).optional(),
        maxDemos: z.number().int().min(0).max(32).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export function alignmentRouter(store: Store, jobs: AlignmentJobs) {
  const r = strictRouter();
  route(r, "POST", "/experiments/:experimentId/alignments", "admin", async (req, res) => {
    const body = parseInput(StartAlignment, req.body);
    await assertExperimentExists(store, req.params.experimentId);
    try {
      res.status(202).json(
        await jobs.start({
          experimentId: req.params.experimentId,
          judgeName: body.judge,
          version: body.version,
          optimizer: body.optimizer,
          register: body.register,
          retrainOnAll: body.retrainOnAll,
          seed: body.seed,
          optimizerModel: body.optimizerModel,
          simba: body.simba,
        }),
      );
    } catch (err) {
      if (err instanceof AlignmentRequestError) throw new ApiError(err.status, err.code, err.message);
      throw err;
    }
  });
  route(r, "GET", "/experiments/:experimentId/alignments", "read", async (req, res) => {
    res.json({ alignments: await jobs.list(req.params.experimentId) });
  });
  route(r, "GET", "/alignments/:alignmentId", "read", async (req, res) => {
    const run = await jobs.get(req.params.alignmentId);
    if (!run) throw new ApiError(404, "NOT_FOUND", `No alignment run ${req.params.alignmentId}. List them with GET /api/v1/experiments/:id/alignments.`);
    res.json(run);
  });
  return r;
}
