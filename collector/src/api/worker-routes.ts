import { z } from "zod";
import { BackfillNotFoundError } from "../worker/backfill.js";
import { parseSince } from "../worker/duration.js";
import { PROMETHEUS_CONTENT_TYPE } from "../worker/metrics.js";
import type { WorkerRuntime } from "../worker/runtime.js";
import type { Store } from "../store/store.js";
import { ApiError, assertValidFilter, parseInput } from "./errors.js";
import { assertExperimentExists } from "./experiments-routes.js";
import { route, strictRouter } from "../server/routes.js";

/** GET /metrics, at the app root, in the Prometheus text format. */
export function metricsRouter(runtime: WorkerRuntime) {
  const r = strictRouter();
  route(r, "GET", "/metrics", "read", (_req, res) => {
    res.setHeader("Content-Type", PROMETHEUS_CONTENT_TYPE);
    res.setHeader("Cache-Control", "no-store");
    res.send(runtime.metrics.registry.render());
  });
  return r;
}

const Backfill = z
  .object({
    since: z.union([z.string().min(1), z.number().int().nonnegative()]),
    version: z.number().int().min(1).optional(),
    filter: z.string().max(10_000).nullable().optional(),
    retryErrors: z.boolean().optional(),
  })
  .strict();

/** Backfill jobs, under /api/v1 (the API's JSON parsing, errors and access control apply). */
export function jobsRouter(store: Store, runtime: WorkerRuntime) {
  const r = strictRouter();
  route(r, "POST", "/experiments/:experimentId/scorers/:name/backfill", "admin", async (req, res) => {
    const body = parseInput(Backfill, req.body);
    const sinceMs = typeof body.since === "number" ? body.since : parseSince(body.since);
    if (sinceMs === undefined) {
      throw new ApiError(400, "INVALID_REQUEST", `"since" must be an ISO time (2025-01-31T00:00:00Z), a duration back from now (24h, 7d), or unix milliseconds; got "${body.since}".`, "since");
    }
    assertValidFilter(body.filter);
    await assertExperimentExists(store, req.params.experimentId);
    try {
      const job = await runtime.jobs.start({
        experimentId: req.params.experimentId,
        name: req.params.name,
        sinceMs,
        ...(body.version !== undefined ? { version: body.version } : {}),
        ...(body.filter !== undefined ? { filter: body.filter } : {}),
        ...(body.retryErrors !== undefined ? { retryErrors: body.retryErrors } : {}),
      });
      res.status(202).json(job);
    } catch (err) {
      if (err instanceof BackfillNotFoundError) throw new ApiError(404, "NOT_FOUND", err.message);
      throw err;
    }
  });
  route(r, "GET", "/jobs", "read", (_req, res) => {
    res.json({ jobs: runtime.jobs.list() });
  });
  route(r, "GET", "/jobs/:jobId", "read", (req, res) => {
    const job = runtime.jobs.get(req.params.jobId);
    if (!job) throw new ApiError(404, "NOT_FOUND", `No job ${req.params.jobId} in this collector (jobs are kept in memory by the collector that runs them, until it restarts).`);
    res.json(job);
  });
  route(r, "DELETE", "/jobs/:jobId", "admin", async (req, res) => {
    const job = await runtime.jobs.cancel(req.params.jobId);
    if (!job) throw new ApiError(404, "NOT_FOUND", `No job ${req.params.jobId} in this collector.`);
    res.json(job);
  });
  return r;
}
