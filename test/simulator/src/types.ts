export type ApiKind = "openai.chat" | "openai.embeddings" | "openai.responses" | "anthropic.messages";

/** Which requests a script entry or a fault applies to: a whole provider, one API, or all. */
export type ApiFilter = "all" | "openai" | "anthropic" | ApiKind;

export interface RecordedRequest {
  /** 1-based arrival order across all APIs. */
  seq: number;
  api: ApiKind;
  method: string;
  path: string;
  model: string | undefined;
  stream: boolean;
  // The parsed request body, as the SDK sent it.
  body: any;
  headers: Record<string, string>;
  receivedAt: number;
  /** HTTP status sent back; undefined while pending or when the request was left hanging. */
  status?: number;
  /** The injected fault that answered this request, if any. */
  fault?: Fault["kind"];
}

export interface ScriptedReply {
  /**
   * Text, or a JSON value. For a structured-output request a JSON value (or a string holding a
   * JSON object) becomes the structured answer: the OpenAI message content, the Anthropic forced
   * tool's input. Leave undefined to get the default deterministic answer.
   */
  content?: unknown;
  /** An error status (>= 400): the body is the provider's error object. */
  status?: number;
  errorMessage?: string;
  errorType?: string;
  headers?: Record<string, string>;
  /** Sent verbatim as the response body (status 200 unless `status` is set). */
  rawBody?: string;
  /** Extra delay before answering. */
  delayMs?: number;
  /** Never answer (the client times out). */
  hang?: boolean;
  usage?: { inputTokens?: number; outputTokens?: number };
  finishReason?: string;
  /** Model name reported in the response (default: the requested one). */
  model?: string;
  /** For embeddings requests: the vectors to return. */
  embeddings?: number[][];
}

export type ScriptHandler = (
  req: RecordedRequest,
) => ScriptedReply | string | undefined | Promise<ScriptedReply | string | undefined>;

export type Fault =
  | { kind: "latency"; ms: number; times?: number; api?: ApiFilter }
  | { kind: "rate_limit"; times?: number; retryAfterSeconds?: number; retryAfterMs?: number; api?: ApiFilter }
  | { kind: "server_error"; times?: number; status?: number; message?: string; api?: ApiFilter }
  | { kind: "hang"; times?: number; api?: ApiFilter }
  | { kind: "timeout"; times?: number; api?: ApiFilter }
  | { kind: "malformed_json"; times?: number; api?: ApiFilter }
  | { kind: "malformed_body"; times?: number; api?: ApiFilter };

export function matchesApi(filter: ApiFilter | undefined, api: ApiKind): boolean {
  if (filter === undefined || filter === "all") return true;
  if (filter === "openai" || filter === "anthropic") return api.startsWith(`${filter}.`);
  return filter === api;
}
