// Test-only helpers (excluded from the build): a simulator per test file, with the standard
// env variables pointing the real SDK clients at it.
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startProviderSimulator, type ProviderSimulator } from "../../../../test/simulator/src/index.js";
import { clearModelProviderCache } from "../providers/registry.js";
import type { RetryOptions } from "../retry.js";

const ENV_KEYS = ["OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"] as const;

export interface SimEnv {
  sim: ProviderSimulator;
  close(): Promise<void>;
}

export async function startSimEnv(extraEnv: Record<string, string> = {}): Promise<SimEnv> {
  const sim = await startProviderSimulator();
  const keys = [...ENV_KEYS, ...Object.keys(extraEnv)];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  Object.assign(process.env, sim.env(), extraEnv);
  clearModelProviderCache();
  return {
    sim,
    async close() {
      for (const k of keys) {
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

/**
 * The simulator for a whole test file: started before the tests, its environment restored after
 * them, and optionally reset (scripts, faults, recorded requests) before each test.
 */
export function useSimEnv(opts: { resetEachTest?: boolean; extraEnv?: Record<string, string> } = {}): () => SimEnv {
  let env: SimEnv | undefined;
  beforeAll(async () => {
    env = await startSimEnv(opts.extraEnv);
  });
  afterAll(async () => {
    await env?.close();
  });
  if (opts.resetEachTest) beforeEach(() => env?.sim.reset());
  return () => {
    if (!env) throw new Error("useSimEnv(): the simulator is not started yet; call the getter inside a test or hook.");
    return env;
  };
}
