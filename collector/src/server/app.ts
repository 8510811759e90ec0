import express, { type Express } from "express";
import type { GavelConfig } from "../config/config.js";
import type { Store } from "../store/store.js";
import { otlpTracesHandler } from "../ingest/otlp-receiver.js";
import { errorMiddleware, sendError } from "../api/errors.js";
import { refuseUnexpectedQuery } from "../api/query-strings.js";
import { accessControl, rolesOf } from "../auth/access-control.js";
import { experimentsRouter } from "../api/experiments-routes.js";
import { runsRouter } from "../api/runs-routes.js";
import { tracesRouter } from "../api/traces-routes.js";
import { sqlRouter } from "../api/sql-routes.js";
import { assessmentsRouter } from "../api/assessments-routes.js";
import { sessionsRouter } from "../api/sessions-routes.js";
import { scorersRouter } from "../api/scorers-routes.js";
import { alignmentRouter } from "../api/alignment-routes.js";
import { AlignmentJobs } from "../alignment/alignment-jobs.js";
import { AssessmentStore } from "../assessments/assessment-store.js";
import { reviewRouter } from "../api/review-routes.js";
import { uiRouter } from "./ui-routes.js";
import { jobsRouter, metricsRouter } from "../api/worker-routes.js";
import type { WorkerRuntime } from "../worker/runtime.js";

export function createApp(store: Store, config: GavelConfig, worker?: WorkerRuntime): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use(accessControl(config.apiKeys));
  // Lets the UI (or a script) learn whether a key is needed and what the current one may do.
  app.get("/api/v1/auth/whoami", (req, res) => {
    const roles = rolesOf(config.apiKeys, req);
    res.json({ authRequired: config.apiKeys.length > 0, roles: config.apiKeys.length === 0 ? ["admin", "write", "read", "ingest"] : roles ? [...roles].sort() : null });
  });

  // OTLP reads its own raw body: it needs the size limit before and after gunzip.
  app.post("/v1/traces", otlpTracesHandler(store, config));

  app.get("/healthz", async (_req, res) => {
    const h = await store.health();
    res.status(h.ok ? 200 : 503).json({ status: h.ok ? "ok" : "store unavailable", ...(h.ok ? {} : { problem: h.problem }), store: store.mode, schemaVersion: store.migration.current });
  });

  if (worker) app.use(metricsRouter(worker));

  const api = express.Router();
  api.use(express.json({ limit: "16mb" }));
  // A body that express.json() skipped for its content type would be ignored without a word,
  // filters and all: refuse it instead.
  api.use((req, res, next) => {
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    if (!hasBody || req.is("application/json")) return next();
    sendError(res, 415, "UNSUPPORTED_MEDIA_TYPE", `Send the request body as JSON with Content-Type: application/json (got "${req.headers["content-type"] ?? "no Content-Type"}").`, "Content-Type");
  });
  api.use(refuseUnexpectedQuery);
  api.use(experimentsRouter(store));
  api.use(runsRouter(store));
  const assessments = new AssessmentStore(store);
  api.use(tracesRouter(store, assessments));
  api.use(assessmentsRouter(assessments));
  api.use(sessionsRouter(store, assessments));
  api.use(scorersRouter(store));
  api.use(alignmentRouter(new AlignmentJobs(store)));
  api.use(sqlRouter(store, config));
  api.use(reviewRouter(store));
  if (worker) api.use(jobsRouter(worker));
  api.use((req, res) => sendError(res, 404, "NOT_FOUND", `No API route ${req.method} /api/v1${req.path}. See docs/rest-api.md.`));
  app.use("/api/v1", api);
  app.use(uiRouter());

  app.use(errorMiddleware);
  return app;
}
