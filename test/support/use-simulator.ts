import { useSimEnv } from "../../packages/judges/src/testing/sim.js";
import type { ProviderSimulator } from "../simulator/src/index.js";

/**
 * The LLM provider simulator for this test file: the real openai/@anthropic-ai SDK clients reach
 * it through their usual environment variables, which are restored afterwards. Register it
 * before anything that builds provider clients. Use the returned getter inside tests.
 */
export function useSimulator(extraEnv: Record<string, string> = {}): () => ProviderSimulator {
  const env = useSimEnv({ extraEnv });
  return () => env().sim;
}
