// Test-only helpers (excluded from the build): a simulator per test file, with the standard
// env variables pointing the real SDK clients at it.
import { startProviderSimulator, type ProviderSimulator } from "../../../../test/simulator/src/index.js";
import { clearModelProviderCache } from "../providers/registry.js";
import type { RetryOptions } from "../retry.js";

const ENV_KEYS = ["OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"] as const;

export interface SimEnv {
  sim: ProviderSimulator;
  close(): Promise<void>;
}

export async function startSimEnv(): Promise<SimEnv> {
  const sim = await startProviderSimulator();
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  Object.assign(process.env, sim.env());
  clearModelProviderCache();
  return {
    sim,
    async close() {
      for (const k of ENV_KEYS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      clearModelProviderCache();
      await sim.close();
    },
  };
}

/** Retry options that record the waits instead of sleeping. */
export function recordingRetry(overrides: RetryOptions = {}): RetryOptions & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    timeoutMs: 2000,
    random: () => 0.5,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    ...overrides,
  };
}
