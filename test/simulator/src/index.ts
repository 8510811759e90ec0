/**
 * LLM provider simulator: a local HTTP server that speaks the OpenAI chat-completions,
 * responses and embeddings wire formats and the Anthropic messages wire format, so tests and
 * demos run the official SDK clients unchanged. See README.md.
 */
export { startProviderSimulator } from "./server.js";
export type { ProviderSimulator, SimulatorOptions } from "./server.js";
export type { ApiFilter, ApiKind, Fault, RecordedRequest, ScriptedReply, ScriptHandler } from "./types.js";
export { embedText, fnv1a, pickCategory, synthesizeFromSchema } from "./behaviour.js";
export { promptParts, structuredOf, MALFORMED_OUTPUT } from "./wire.js";
