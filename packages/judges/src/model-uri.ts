import { GavelConfigError } from "./errors.js";

export interface ModelUri {
  /** e.g. "openai", "anthropic" */
  provider: string;
  /** The provider's model name, e.g. "gpt-4o-mini"; may contain slashes (vLLM, Ollama tags). */
  model: string;
  /** The normalised URI, `provider:/model`. */
  uri: string;
}

const URI = /^([a-z][a-z0-9_.-]*):\/([^/].*)$/i;

const EXAMPLES = `e.g. "openai:/gpt-4o-mini" or "anthropic:/claude-sonnet-4-5"`;

/** Parses `provider:/model`; throws a GavelConfigError naming the expected form. */
export function parseModelUri(uri: string): ModelUri {
  if (typeof uri !== "string" || uri.trim() === "") {
    throw new GavelConfigError(`A model URI is required: use "<provider>:/<model>", ${EXAMPLES}.`);
  }
  const m = URI.exec(uri.trim());
  if (!m) {
    throw new GavelConfigError(
      `Invalid model URI "${uri}": use "<provider>:/<model>" (one slash after the colon), ${EXAMPLES}.`,
    );
  }
  const provider = m[1]!.toLowerCase();
  const model = m[2]!.trim();
  return { provider, model, uri: `${provider}:/${model}` };
}
