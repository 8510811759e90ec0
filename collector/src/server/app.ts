import express, { type Express } from "express";
import type { GavelConfig } from "../config/config.js";
import type { Store } from "../store/store.js";
import { OTLP_TRACES_PATHS, otlpTracesHandler } from "../ingest/otlp-receiver.js";
import { errorMiddleware, sendError } from "../api/errors.js";
import { refuseUnexpectedQuery } from "../api/query-strings.js";
import { installApiKeys, rolesOf } from "../auth/access-control.js";
import { declaredMethodsOnly, notFound, route, strictApp, strictRouter } from "./routes.js";
import { assertEveryRouteDeclared } from "./route-table.js";
import { hostCheck } from "./host-check.js";
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

/**
 * The collector's HTTP app. Every route is declared with the role it needs (`route()` in
 * routes.ts); a path no route matches is a JSON 404, and an app with an undeclared route
 * does not start. The role each route needs is listed in docs/production.md#security.
 */
export function createApp(store: Store, config: GavelConfig, worker?: WorkerRuntime): Express {
  const app = strictApp();
  app.use(hostCheck(config.apiKeys.length > 0, config.allowedHosts));
  app.use(declaredMethodsOnly(app));
  installApiKeys(app, config.apiKeys);

  // Lets the UI (or a script) learn whether a key is needed and what the current one may do.
  route(app, "GET", "/api/v1/auth/whoami", "open", (req, res) => {
    const roles = rolesOf(config.apiKeys, req);
    res.json({ authRequired: config.apiKeys.length > 0, roles: config.apiKeys.length === 0 ? ["admin", "write", "read", "ingest"] : roles ? [...roles].sort() : null });
  });

  // OTLP reads its own raw body: it needs the size limit before and after gunzip. Langfuse's
  // SDKs post the same OTLP to their own path: accepted as an alias, so a Langfuse user changes
  // only the base URL (docs/conventions.md).
  for (const path of OTLP_TRACES_PATHS) route(app, "POST", path, "ingest", otlpTracesHandler(store, config));

  route(app, "GET", "/healthz", "open", async (_req, res) => {
    const h = await store.health();
    res.status(h.ok ? 200 : 503).json({ status: h.ok ? "ok" : "store unavailable", ...(h.ok ? {} : { problem: h.problem }), store: store.mode, schemaVersion: store.migration.current });
  });

  if (worker) app.use(metricsRouter(worker));

  // The API's input checks. With API keys they run only for a request that presents a
  // configured key: a caller without one gets its 401 from the route's guard before its body is
  // read, let alone parsed.
  const input = strictRouter();
  input.use(express.json({ limit: "16mb" }));
  // A body that express.json() skipped for its content type would be ignored without a word,
  // filters and all: refuse it instead.
  input.use(function requireJsonBody(req, res, next) {
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    if (!hasBody || req.is("application/json")) return next();
    sendError(res, 415, "UNSUPPORTED_MEDIA_TYPE", `Send the request body as JSON with Content-Type: application/json (got "${req.headers["content-type"] ?? "no Content-Type"}").`, "Content-Type");
  });
  input.use(refuseUnexpectedQuery);
  const api = strictRouter();
  // What an OTLP sender was told is stored is there for every answer (span-batcher.ts,
  // loggedStored): a no-op unless inserts were behind and requests were acknowledged once logged.
  api.use(function acknowledgedSpansFirst(_req, _res, next) {
    store.batcher.loggedStored().then(() => next(), next);
  });
  api.use(function inputOfKeyHolders(req, res, next) {
    if (config.apiKeys.length === 0 || rolesOf(config.apiKeys, req) !== null) return input(req, res, next);
    next();
  });
  api.use(experimentsRouter(store));
  api.use(runsRouter(store));
  const assessments = new AssessmentStore(store);
  api.use(tracesRouter(store, assessments));
  api.use(assessmentsRouter(assessments));
  api.use(sessionsRouter(store, assessments));
  api.use(scorersRouter(store));
  api.use(alignmentRouter(store, new AlignmentJobs(store)));
  api.use(sqlRouter(store, config));
  api.use(reviewRouter(store));
  if (worker) api.use(jobsRouter(store, worker));
  api.use(function apiNotFound(req, res) {
    sendError(res, 404, "NOT_FOUND", `No API route ${req.method} /api/v1${req.path}. Paths are case-sensitive and have no trailing slash; see docs/rest-api.md.`);
  });
  app.use("/api/v1", api);
  app.use(uiRouter());

  app.use(notFound);
  app.use(errorMiddleware);
  assertEveryRouteDeclared(app);
  return app;
}
