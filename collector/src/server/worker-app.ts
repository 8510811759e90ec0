import type { Express } from "express";
import type { GavelConfig } from "../config/config.js";
import type { WorkerRuntime } from "../worker/runtime.js";
import { formatShard } from "../worker/shard.js";
import { installApiKeys } from "../auth/access-control.js";
import { errorMiddleware } from "../api/errors.js";
import { metricsRouter } from "../api/worker-routes.js";
import { hostCheck } from "./host-check.js";
import { declaredMethodsOnly, notFound, route, strictApp } from "./routes.js";
import { assertEveryRouteDeclared } from "./route-table.js";

/** The HTTP app of `gavel worker`: its health and /metrics, with the collector's access rules. */
export function createWorkerApp(runtime: WorkerRuntime, config: GavelConfig): Express {
  const app = strictApp();
  app.use(hostCheck(config.apiKeys.length > 0, config.allowedHosts));
  app.use(declaredMethodsOnly(app));
  installApiKeys(app, config.apiKeys);
  route(app, "GET", "/healthz", "open", (_req, res) => {
    res.json({ status: "ok", shard: formatShard(runtime.settings.shard) });
  });
  app.use(metricsRouter(runtime));
  app.use(notFound);
  app.use(errorMiddleware);
  assertEveryRouteDeclared(app);
  return app;
}
