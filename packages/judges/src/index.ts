export * from "./assessment.js";
export { GavelConfigError, LLMError, isGavelConfigError } from "./errors.js";
export type { LLMErrorCode, LLMErrorDetails } from "./errors.js";
export { parseModelUri } from "./model-uri.js";
export { checkJudgeEnv } from "./env.js";
export type { ModelUri } from "./model-uri.js";
export { Judge, makeJudge, judgeFromJSON, isJudge, registerJudgeCodec, DEFAULT_JUDGE_MODEL, resolveJudgeModel } from "./judge.js";
export { humanExpectations } from "./trace-expectations.js";
export { sessionIdOf, conversationOf, validateSession, MLFLOW_SESSION_KEY, SESSION_ATTRIBUTES } from "./session.js";
export type { ConversationMessage } from "./session.js";
export type { TraceWithAssessments, TraceAssessmentLike } from "./trace-expectations.js";
export type {
  JudgeCodec,
  RegisterOptions,
  SamplingConfig,
  JudgeConfig,
  JudgeOptions,
  JudgeCallArgs,
  JudgeCallOptions,
  JudgeConstructor,
  SerializedJudge,
} from "./judge.js";
export { setJudgeRegistryClient } from "./registry-client.js";
export type { JudgeRegistryClient, JudgeRegistryRecord, JudgeSampling, RegisterRequest } from "./registry-client.js";
export { TEMPLATE_VARIABLES, parseTemplateVariables } from "./template.js";
export type { TemplateVariable } from "./template.js";
export {
  categoriesFromInstructions,
  resolveFeedbackValueType,
  validateValue,
  answerSchema,
  describeValueType,
  isList,
  isDict,
} from "./value-type.js";
export type { FeedbackValueType, ValidationResult, PrimitiveValueType, ListValueType, DictValueType } from "./value-type.js";
export { renderTraceForJudge, traceInputsOutputs } from "./trace-format.js";
export type { JudgeTrace, JudgeSpan, JudgeSpanEvent, JudgeTraceInfo, TraceRenderOptions } from "./trace-format.js";
export { complete, embed } from "./complete.js";
export type { CallOptions, CompletionRequest } from "./complete.js";
export {
  getModelProvider,
  registerModelProvider,
  clearModelProviderCache,
  isKnownProvider,
  knownProviders,
} from "./providers/registry.js";
export type { ProviderOptions, ProviderFactory } from "./providers/registry.js";
export { OpenAIProvider } from "./providers/openai.js";
export type { OpenAIProviderOptions, OpenAIStructuredOutput } from "./providers/openai.js";
export { AnthropicProvider } from "./providers/anthropic.js";
export type { AnthropicProviderOptions, AnthropicStructuredOutput } from "./providers/anthropic.js";
export { classifySdkError } from "./providers/classify.js";
export type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  ChatResponse,
  EmbeddingRequest,
  EmbeddingResult,
  EmbeddingResponse,
  JsonSchemaSpec,
  ModelProvider,
  TokenUsage,
} from "./providers/types.js";
export { withRetry, resolveRetryOptions, backoffDelay, retryAfterMs, defaultSleep } from "./retry.js";
export type { RetryOptions, RetryInfo, ResolvedRetryOptions, AttemptSignal } from "./retry.js";
export {
  GenAISpan,
  captureMessageContent,
  getTracer,
  setJudgeTracerProvider,
  GAVEL_JUDGE_ATTR,
  GAVEL_SPAN_TYPE_ATTR,
  TRACER_NAME,
} from "./genai.js";
export type { GenAIMessage, GenAIPart, GenAISpanStart, GenAIResult, GenAIRequestParams } from "./genai.js";
export { instrumentOpenAI, instrumentAnthropic } from "./instrument.js";
export type { InstrumentOptions, InstrumentAnthropicOptions } from "./instrument.js";
// Alignment, and with it the MemAlign codec of Judge.fromJSON: every user of the package has both.
export * from "./alignment/index.js";
