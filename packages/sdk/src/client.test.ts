import { afterEach, expect, test, vi } from "vitest";
import { createExperiment, setExperiment } from "./experiments.js";
import { GavelConnectionError } from "./client.js";

afterEach(() => vi.unstubAllEnvs());

test("an unreachable collector gives an actionable error", async () => {
  vi.stubEnv("GAVEL_URL", "http://127.0.0.1:1"); // nothing listens on port 1
  const p = createExperiment("x");
  await expect(p).rejects.toBeInstanceOf(GavelConnectionError);
  await expect(p).rejects.toThrow("Gavel collector not reachable at http://127.0.0.1:1 — start it with `npm start` or set GAVEL_URL");
});

test("setExperiment with an id is synchronous; with neither it says what is missing", () => {
  expect(setExperiment({ experimentId: "42" })).toBe("42");
  expect(() => setExperiment({})).toThrow(/experimentId or experimentName/);
});
