import { GavelConfigError, judgeFromJSON, LLMError, MLFLOW_SESSION_KEY, type Feedback, type Judge, type JudgeCallArgs, type RetryOptions } from "@gavel/judges";
import { assessmentEventAttributes, assessmentSpan, monotonicNowNs } from "../assessments/assessment-span.js";
import type { AssessmentJson } from "../assessments/assessment-types.js";
import type { Store } from "../store/store.js";
import type { ScorerVersion } from "../store/queries/scorers.js";
import { judgeAssessmentId, sessionAssessmentId } from "./assessment-id.js";
import { AssessmentWriter } from "./assessment-writer.js";
import type { Candidate } from "./candidates.js";
import type { JudgeInput } from "./judge-input.js";
import type { ModelLimits } from "./limiter.js";
import type { WorkerMetrics } from "./worker-metrics.js";

/** Feedback error codes that mean "nothing to judge" rather than a failure: counted as skipped. */
const NOT_JUDGED = new Set(["MISSING_CONTENT", "MISSING_INPUT"]);

/** A registered judge version, ready to call. */
export interface ScorerJudge {
  experimentId: string;
  name: string;
  version: number;
  judge: Judge;
}

export type ScoringMode = "online" | "backfill";

export interface ScoreTask {
  scorer: ScorerJudge;
  /** The trace the assessment goes on: for a session, its first trace. */
  candidate: Candidate;
  input: JudgeInput;
  /**
   * A session-level judgement: the Feedback goes on the candidate (the session's first trace)
   * with `mlflow.trace.session` in its metadata, under one id per session and judge version.
   */
  sessionId?: string;
  mode: ScoringMode;
  jobId?: string;
  /** Asked once a call slot is free; false drops the task (the judge was stopped or changed meanwhile). */
  wanted?: () => boolean;
  signal?: AbortSignal;
}

export type ScoreOutcome =
  | { kind: "scored" }
  /** Stored as a Feedback with `error`. */
  | { kind: "failed"; code: string }
  | { kind: "skipped"; reason: "in-flight" | "unwanted" }
  /** Not judged for want of content (MISSING_CONTENT, MISSING_INPUT): stored as a Feedback whose error says why. */
  | { kind: "not-judged"; code: string }
  /** Not stored: the judge cannot run at all (no API key, bad judge); retrying each trace would not help. */
  | { kind: "broken"; message: string }
  /** Judged, but the store did not take the assessment; the trace stays a candidate. */
  | { kind: "unstored"; message: string }
  | { kind: "aborted" };

/**
 * Scores one trace with one judge version: a call slot for the model, the judge call (whose
 * own retries handle 429/5xx/timeouts), and the assessment written under the deterministic
 * id. Shared by the online worker and backfill jobs in a process, so they share the
 * per-model limits and never judge the same trace and version at the same time.
 */
export class JudgementRunner {
  private readonly inFlight = new Set<string>();
  private readonly judges = new Map<string, { json: string; judge: Judge | Error }>();
  readonly writer: AssessmentWriter;
  private readonly retry: RetryOptions;
  private readonly settleMs: number;

  constructor(
    store: Store,
    readonly limits: ModelLimits,
    private readonly metrics: WorkerMetrics,
    opts: {
      /** Overrides for the judges' LLM retries (tests make backoff short). */
      retry?: RetryOptions;
      /** For the lag metric: a trace is complete this long after its last span arrived. */
      settleMs?: number;
      /** How long a judgement waits for others to share its insert. */
      writeWindowMs?: number;
    } = {},
  ) {
    this.retry = opts.retry ?? {};
    this.settleMs = opts.settleMs ?? 0;
    this.writer = new AssessmentWriter(store, opts.writeWindowMs ?? 500);
  }

  /** The judge of a registry version, built once per version; an Error when it cannot be built. */
  judgeFor(s: ScorerVersion): Judge | Error {
    const key = `${s.experimentId}\0${s.name}\0${s.version}`;
    const json = JSON.stringify(s.judge);
    const hit = this.judges.get(key);
    if (hit && hit.json === json) return hit.judge;
    let judge: Judge | Error;
    try {
      let model = "";
      judge = judgeFromJSON(
        { ...s.judge, name: s.name },
        {
          retry: {
            ...this.retry,
            onRetry: (info) => {
              this.metrics.retries.inc({ model, code: info.error.code });
              // One 429 holds back the calls that would start next, not just this one.
              if (info.error.code === "RATE_LIMITED") this.limits.for(model).pause(info.delayMs);
              this.retry.onRetry?.(info);
            },
          },
        },
      );
      model = judge.model;
    } catch (err) {
      judge = err instanceof Error ? err : new Error(String(err));
    }
    this.judges.set(key, { json, judge });
    return judge;
  }

  async run(task: ScoreTask): Promise<ScoreOutcome> {
    const { scorer, candidate: c, mode } = task;
    const id = task.sessionId !== undefined ? sessionAssessmentId(task.sessionId, scorer.name, scorer.version) : judgeAssessmentId(c.traceId, scorer.name, scorer.version);
    if (this.inFlight.has(id)) return { kind: "skipped", reason: "in-flight" };
    this.inFlight.add(id);
    const model = scorer.judge.model;
    const m = this.metrics;
    try {
      const fb: Feedback | ScoreOutcome =
        "missing" in task.input
          ? {
              name: scorer.name,
              value: null,
              source: { sourceType: "LLM_JUDGE", sourceId: model },
              error: { code: "MISSING_INPUT", message: `Not judged: ${task.input.missing}` },
              metadata: { model },
            }
          : await this.call(task, task.input.args);
      if ("kind" in fb) return fb;
      const u = fb.usage;
      if (u && u.llmCalls > 0) m.llmLatency.observe({ model }, u.latencyMs / 1000);
      const tin = u?.inputTokens ?? 0;
      const tout = u?.outputTokens ?? 0;
      if (tin > 0) m.tokens.inc({ judge: scorer.name, model, direction: "input" }, tin);
      if (tout > 0) m.tokens.inc({ judge: scorer.name, model, direction: "output" }, tout);

      const stored = await this.write(task, id, fb);
      if (stored !== true) {
        m.failed.inc({ judge: scorer.name, model, code: "STORE", mode });
        return { kind: "unstored", message: stored.message };
      }
      if (mode === "online") m.lag.observe({ judge: scorer.name }, Math.max(0, Date.now() - (c.lastSeenMs + this.settleMs)) / 1000);
      if (fb.error && NOT_JUDGED.has(fb.error.code)) {
        m.skipped.inc({ judge: scorer.name, reason: fb.error.code, mode });
        return { kind: "not-judged", code: fb.error.code };
      }
      if (fb.error) {
        m.failed.inc({ judge: scorer.name, model, code: fb.error.code, mode });
        return { kind: "failed", code: fb.error.code };
      }
      m.scored.inc({ judge: scorer.name, model, mode });
      return { kind: "scored" };
    } finally {
      this.inFlight.delete(id);
    }
  }

  /** The judge call, holding one of the model's call slots and within its rate limit. */
  private async call(task: ScoreTask, args: JudgeCallArgs): Promise<Feedback | ScoreOutcome> {
    const { scorer, mode } = task;
    const model = scorer.judge.model;
    const limiter = this.limits.for(model);
    const m = this.metrics;
    let release: () => void;
    m.queued.inc({ model });
    try {
      release = await limiter.acquire(task.signal);
    } catch {
      return { kind: "aborted" };
    } finally {
      m.queued.inc({ model }, -1);
    }
    m.inFlight.inc({ model });
    try {
      if (task.wanted && !task.wanted()) return { kind: "skipped", reason: "unwanted" };
      await limiter.ready(task.signal);
      return await scorer.judge(args, task.signal ? { signal: task.signal } : {});
    } catch (err) {
      if (task.signal?.aborted || (err instanceof LLMError && err.code === "ABORTED")) return { kind: "aborted" };
      m.failed.inc({ judge: scorer.name, model, code: err instanceof GavelConfigError ? "CONFIG" : "INTERNAL", mode });
      return { kind: "broken", message: err instanceof Error ? err.message : String(err) };
    } finally {
      m.inFlight.inc({ model }, -1);
      release();
    }
  }

  /**
   * The Feedback as an assessment event on an evaluation span of the trace — the one write
   * path of every assessment (assessments/assessment-span.ts). The trace's experiment comes
   * with the candidate, which saves AssessmentStore.log's lookup query.
   */
  private async write(task: ScoreTask, id: string, fb: Feedback): Promise<true | Error> {
    const { candidate: c, scorer } = task;
    const a: AssessmentJson = {
      assessmentId: id,
      traceId: c.traceId,
      // A judgement of the whole trace: no span id, as MLflow's trace-level assessments.
      name: scorer.name,
      kind: "feedback",
      value: fb.value ?? null,
      source: { sourceType: "LLM_JUDGE", sourceId: fb.source?.sourceId || scorer.judge.model },
      metadata: {
        ...fb.metadata,
        scoring: task.mode,
        ...(task.jobId ? { jobId: task.jobId } : {}),
        ...(task.sessionId !== undefined ? { [MLFLOW_SESSION_KEY]: task.sessionId } : {}),
      },
      valid: true,
      judgeVersion: scorer.version,
      createTimeMs: Date.now(),
    };
    if (fb.rationale) a.rationale = fb.rationale;
    if (fb.error) a.error = { code: fb.error.code, message: fb.error.message };
    return this.writer.write(
      assessmentSpan(c.traceId, "", [{ attrs: assessmentEventAttributes(a), timeNs: monotonicNowNs() }], c.experimentId, {
        startNs: c.summary.timestampNs,
        status: c.summary.status,
      }),
    );
  }
}
