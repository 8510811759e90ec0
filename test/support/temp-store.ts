import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type GavelConfig } from "../../collector/src/config/config.js";

/** A config for a fresh embedded store in its own temp dir (chDB: one data dir per process). */
export function tempConfig(overrides: Partial<GavelConfig> = {}): GavelConfig & { cleanup(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), "gavel-test-"));
  // OTLP/gRPC off unless asked for: its default port (4317) would clash between test files.
  const config = { ...loadConfig({}, { dataDir, port: 0, grpcPort: 0 }), ...overrides };
  return { ...config, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}
