import { afterAll, beforeAll } from "vitest";
import { clearModelProviderCache } from "@gavel/judges";
import { startProviderSimulator, type ProviderSimulator } from "../simulator/src/index.js";

const ENV_KEYS = ["OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "GAVEL_LLM_MAX_RETRIES"];

/**
 * The LLM provider simulator for this test file: the real openai/@anthropic-ai SDK clients reach
 * it through their usual environment variables, which are restored afterwards. Register it
 * before anything that builds provider clients. Use the returned getter inside tests.
 */
export function useSimulator(extraEnv: Record<string, string> = {}): () => ProviderSimulator {
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  let sim: ProviderSimulator | undefined;
  beforeAll(async () => {
    sim = await startProviderSimulator();
    Object.assign(process.env, sim.env(), extraEnv);
    clearModelProviderCache();
  });
  afterAll(async () => {
    await sim?.close();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    clearModelProviderCache();
  });
  return () => {
    if (!sim) throw new Error("useSimulator(): not started yet; call the getter inside a test or hook.");
    return sim;
  };
}
