import { envString } from "../env.js";
import { GavelConfigError } from "../errors.js";
import { AnthropicProvider, type AnthropicProviderOptions } from "./anthropic.js";
import { OpenAIProvider, type OpenAIProviderOptions } from "./openai.js";
import type { ModelProvider } from "./types.js";

/** Explicit provider settings; anything unset falls back to the standard env variables. */
export interface ProviderOptions {
  openai?: OpenAIProviderOptions;
  anthropic?: AnthropicProviderOptions;
  /** Options for providers added with registerModelProvider, by provider name. */
  [provider: string]: unknown;
}

export type ProviderFactory = (options: unknown) => ModelProvider;

const factories = new Map<string, ProviderFactory>([
  ["openai", (o) => new OpenAIProvider((o ?? {}) as OpenAIProviderOptions)],
  ["anthropic", (o) => new AnthropicProvider((o ?? {}) as AnthropicProviderOptions)],
]);

const cache = new Map<string, ModelProvider>();
const byClient = new WeakMap<object, ModelProvider>();

/**
 * Adds a provider for `name:/model` URIs (e.g. a Bedrock or Vertex adapter, or a fake in tests).
 * Pass a factory (called lazily, once per distinct options) or a ready instance.
 */
export function registerModelProvider(name: string, provider: ProviderFactory | ModelProvider): void {
  const key = name.toLowerCase();
  const factory: ProviderFactory = typeof provider === "function" ? provider : () => provider;
  factories.set(key, factory);
  for (const k of [...cache.keys()]) if (k.startsWith(`${key}|`)) cache.delete(k);
}

export function isKnownProvider(name: string): boolean {
  return factories.has(name.toLowerCase());
}

export function knownProviders(): string[] {
  return [...factories.keys()];
}

/** Forgets cached clients, e.g. after changing env variables in tests. */
export function clearModelProviderCache(): void {
  cache.clear();
}

/**
 * The provider for `name`, built lazily. Clients are cached per effective settings (which
 * include the env variables read now), so changing OPENAI_BASE_URL between calls is honoured.
 */
export function getModelProvider(name: string, options?: ProviderOptions): ModelProvider {
  const key = name.toLowerCase();
  const factory = factories.get(key);
  if (!factory) {
    throw new GavelConfigError(
      `Unknown model provider "${name}". Use one of ${knownProviders().map((p) => `"${p}:/…"`).join(", ")}, ` +
        `or add one with registerModelProvider("${name}", …).`,
    );
  }
  const opts = options?.[key] as Record<string, unknown> | undefined;
  const client = opts?.["client"];
  if (client && typeof client === "object") {
    let p = byClient.get(client);
    if (!p) {
      p = factory(opts);
      byClient.set(client, p);
    }
    return p;
  }
  const cacheKey = `${key}|${settingsKey(key, opts)}`;
  let p = cache.get(cacheKey);
  if (!p) {
    p = factory(opts);
    cache.set(cacheKey, p);
  }
  return p;
}

function settingsKey(provider: string, opts: Record<string, unknown> | undefined): string {
  const env =
    provider === "openai"
      ? [envString("OPENAI_API_KEY"), envString("OPENAI_BASE_URL"), envString("GAVEL_OPENAI_STRUCTURED_OUTPUT")]
      : provider === "anthropic"
        ? [envString("ANTHROPIC_API_KEY"), envString("ANTHROPIC_BASE_URL"), envString("GAVEL_ANTHROPIC_STRUCTURED_OUTPUT"), envString("GAVEL_ANTHROPIC_MAX_TOKENS")]
        : [];
  let o = "";
  try {
    o = JSON.stringify(opts ?? null);
  } catch {
    o = String(Math.random()); // unserialisable options: do not share a cached client
  }
  return JSON.stringify([env, o]);
}
