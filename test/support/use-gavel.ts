import { afterAll, beforeAll } from "vitest";
import { startGavel, type RunningGavel } from "../../collector/src/server/gavel-server.js";
import type { GavelConfig } from "../../collector/src/config/config.js";
import { tempConfig } from "./temp-store.js";

/**
 * A collector in this test file's process, on a fresh embedded store, for the whole file
 * (chDB opens one data directory per process). Use the returned getter inside tests.
 */
export function useGavel(overrides: Partial<GavelConfig> = {}): () => RunningGavel {
  const cfg = tempConfig(overrides);
  let gavel: RunningGavel | undefined;
  beforeAll(async () => {
    gavel = await startGavel(cfg);
  });
  afterAll(async () => {
    await gavel?.close();
    cfg.cleanup();
  });
  return () => {
    if (!gavel) throw new Error("useGavel(): the collector is not started yet; call the getter inside a test or hook.");
    return gavel;
  };
}
