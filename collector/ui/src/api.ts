/**
 * The UI's only way to the server: Gavel's public REST API (docs/rest-api.md), the same
 * one the SDK and CLI use. With API keys enabled, the key lives in sessionStorage only:
 * it is gone when the tab closes, and never written to localStorage or a cookie.
 */

import type { Scorer as SharedScorer } from "@gavel/api";

export type {
  AlignmentRun, Assessment, Experiment, Run, SourceType, Span, SpanEvent, SqlResult, TraceInfo, TraceJson as Trace, TraceStatus,
} from "@gavel/api";
import type { AlignmentRun, Assessment, Experiment, Run, SourceType, SqlResult, TraceInfo, TraceJson as Trace } from "@gavel/api";

export type FeedbackValueType = "string" | "boolean" | "number" | string[];

/** The shared Scorer with the judge fields the UI reads. */
export interface Scorer extends Omit<SharedScorer, "judge"> {
  judge: {
    name?: string;
    instructions?: string;
    model?: string;
    feedbackValueType?: FeedbackValueType;
    description?: string;
    [k: string]: unknown;
  };
}

export type ReviewReason = "JUDGE_ERROR" | "LOW_CONFIDENCE" | "JUDGES_DISAGREE" | "TRACE_ERROR" | "RARE_VALUE" | "OTHER";

export interface ReviewQueue {
  minLabels: number;
  judges: { name: string; judged: number; labeled: number; pending: number; needed: number; values: { value: unknown; count: number }[] }[];
  items: {
    traceId: string;
    name: string;
    reason: ReviewReason;
    judgeValue: unknown;
    valueShare: number;
    trace: TraceInfo | null;
    assessments: Assessment[];
  }[];
  nextPageToken?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const KEY = "gavel.apiKey";

export function getApiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  authListeners.forEach((l) => l());
}

// The app shows the key dialog when any call is refused, and re-fetches once a key is set.
const authListeners = new Set<() => void>();
const authRequiredListeners = new Set<(e: ApiError) => void>();
export function onAuthChange(l: () => void): () => void {
  authListeners.add(l);
  return () => authListeners.delete(l);
}
export function onAuthRequired(l: (e: ApiError) => void): () => void {
  authRequiredListeners.add(l);
  return () => authRequiredListeners.delete(l);
}

export async function request<T>(method: string, path: string, body?: unknown, init: { signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const key = getApiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: init.signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", "Cannot reach the Gavel collector. Is it running? Start it with `npm start`.");
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `${method} ${path} failed with HTTP ${res.status}.`, e?.field);
    if (res.status === 401) authRequiredListeners.forEach((l) => l(err));
    throw err;
  }
  return json as T;
}

const enc = encodeURIComponent;

/** A session: traces sharing a session id (`mlflow.trace.session`, `session.id`, `gen_ai.conversation.id`). */
export interface SessionSummary {
  sessionId: string;
  traceCount: number;
  firstMs: number;
  lastMs: number;
}

export const api = {
  experiments: () => request<{ experiments: Experiment[] }>("GET", "/api/v1/experiments").then((r) => r.experiments),
  experiment: (id: string) => request<Experiment>("GET", `/api/v1/experiments/${enc(id)}`),
  runs: (experimentId: string, kind?: "run" | "evaluation") =>
    request<{ runs: Run[] }>("GET", `/api/v1/runs?experimentId=${enc(experimentId)}${kind ? `&kind=${kind}` : ""}`).then((r) => r.runs),
  searchTraces: (
    body: { experimentIds?: string[]; filter?: string; orderBy?: string[]; maxResults?: number; pageToken?: string; includeSpans?: boolean },
    signal?: AbortSignal,
  ) => request<{ traces: Trace[]; nextPageToken?: string }>("POST", "/api/v1/traces/search", body, { signal }),
  trace: (traceId: string, signal?: AbortSignal) => request<Trace>("GET", `/api/v1/traces/${enc(traceId)}`, undefined, { signal }),
  assessments: (traceId: string) => request<{ assessments: Assessment[] }>("GET", `/api/v1/traces/${enc(traceId)}/assessments`).then((r) => r.assessments),
  logAssessment: (
    traceId: string,
    body: { name: string; value: unknown; source: { sourceType: SourceType; sourceId: string }; rationale?: string; spanId?: string; kind?: "feedback" | "expectation" },
  ) => request<Assessment>("POST", `/api/v1/traces/${enc(traceId)}/assessments`, body),
  overrideAssessment: (traceId: string, assessmentId: string, body: { value: unknown; source: { sourceType: SourceType; sourceId: string }; rationale?: string }) =>
    request<Assessment>("POST", `/api/v1/traces/${enc(traceId)}/assessments/${enc(assessmentId)}/override`, body),
  deleteAssessment: (traceId: string, assessmentId: string) =>
    request<{ deleted: boolean }>("DELETE", `/api/v1/traces/${enc(traceId)}/assessments/${enc(assessmentId)}`),
  sessions: (experimentId: string) =>
    request<{ sessions: SessionSummary[] }>("GET", `/api/v1/experiments/${enc(experimentId)}/sessions`).then((r) => r.sessions),
  /** A session's traces, oldest first, and its session-level assessments (on its first trace, naming the session in their metadata). */
  session: (experimentId: string, sessionId: string) =>
    request<{ sessionId: string; traces: Trace[]; assessments?: Assessment[] }>("GET", `/api/v1/experiments/${enc(experimentId)}/sessions/${enc(sessionId)}`).then((r) => ({
      traces: r.traces,
      assessments: r.assessments ?? [],
    })),
  sql: (query: string, signal?: AbortSignal) => request<SqlResult>("POST", "/api/v1/sql", { query }, { signal }),
  /** Registered judges; `null` when the server has no registry (404 on the route). */
  scorers: async (experimentId: string): Promise<Scorer[] | null> => {
    try {
      return (await request<{ scorers: Scorer[] }>("GET", `/api/v1/experiments/${enc(experimentId)}/scorers`)).scorers;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
      throw err;
    }
  },
  scorerVersions: (experimentId: string, name: string) =>
    request<{ versions: Scorer[] }>("GET", `/api/v1/experiments/${enc(experimentId)}/scorers/${enc(name)}/versions`).then((r) => r.versions),
  setSampling: (experimentId: string, name: string, body: { sampleRate: number; filter?: string | null; version?: number }) =>
    request<Scorer>("POST", `/api/v1/experiments/${enc(experimentId)}/scorers/${enc(name)}/sampling`, body),
  /** Alignment runs; `null` when the server has no alignment jobs (404). */
  alignments: async (experimentId: string): Promise<AlignmentRun[] | null> => {
    try {
      return (await request<{ alignments: AlignmentRun[] }>("GET", `/api/v1/experiments/${enc(experimentId)}/alignments`)).alignments;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  },
  alignment: (alignmentId: string) => request<AlignmentRun>("GET", `/api/v1/alignments/${enc(alignmentId)}`),
  startAlignment: (experimentId: string, body: { judge: string; register?: boolean; optimizer?: "simba" | "memalign" }) =>
    request<AlignmentRun>("POST", `/api/v1/experiments/${enc(experimentId)}/alignments`, body),
  reviewQueue: (experimentId: string, q: { name?: string; filter?: string; limit?: number; pageToken?: string }) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") params.set(k, String(v));
    const qs = params.toString();
    return request<ReviewQueue>("GET", `/api/v1/experiments/${enc(experimentId)}/review-queue${qs ? `?${qs}` : ""}`);
  },
  /** Whether the server wants a key, and the roles of the current one (null: no or unknown key). */
  whoami: async (): Promise<{ authRequired: boolean; roles: string[] | null }> => {
    try {
      return await request<{ authRequired: boolean; roles: string[] | null }>("GET", "/api/v1/auth/whoami");
    } catch (err) {
      // An older server without access control: everything is open.
      if (err instanceof ApiError && err.status === 404) return { authRequired: false, roles: null };
      throw err;
    }
  },
};

/** A string literal in the searchTraces filter language. */
export function filterString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
