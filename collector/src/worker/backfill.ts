import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { Store } from "../store/store.js";
import { getScorer } from "../store/queries/scorers.js";
import { countTraces, traceStates, tracePage, type Candidate, type PageKey } from "./candidates.js";
import { loadJudgeInputs } from "./judge-input.js";
import type { JudgementRunner, ScorerJudge } from "./judgement-runner.js";

export type JobStatus = "running" | "succeeded" | "failed" | "cancelled";

/** A backfill as GET /api/v1/jobs/:jobId shows it. */
export interface BackfillJob {
  jobId: string;
  kind: "backfill";
  experimentId: string;
  judge: string;
  version: number;
  sinceMs: number;
  /** Traces that started up to the job's start are in its range. */
  untilMs: number;
  filter: string | null;
  retryErrors: boolean;
  status: JobStatus;
  /** Traces in the range; may be corrected when the job ends. */
  total: number;
  /** Traces handled: scored, failed or skipped. */
  done: number;
  scored: number;
  failed: number;
  /** Already judged by this version, or still receiving spans. */
  skipped: number;
  error?: string;
  startedAt: number;
  finishedAt?: number;
}

export class BackfillNotFoundError extends Error {
  override name = "BackfillNotFoundError";
}

export interface BackfillRequest {
  experimentId: string;
  name: string;
  version?: number;
  sinceMs: number;
  /** The judge's registered filter when undefined; null for none. */
  filter?: string | null;
  /** Judge again the traces whose stored assessment from this version has an error. */
  retryErrors?: boolean;
}

const PAGE = 200;
const STORE_RETRIES = 5;
const FINISHED_JOBS_KEPT = 100;

/**
 * Backfill jobs: a registered judge version scores the existing, complete traces of its
 * experiment since a time, whatever its sampleRate, with the same deterministic assessment
 * ids as the online worker, so neither ever duplicates the other. Jobs live in the process
 * that runs them (the collector the request reached); their state is lost on restart, and
 * running the same backfill again skips what was already judged.
 */
export class BackfillJobs {
  private readonly jobs = new Map<string, { job: BackfillJob; abort: AbortController; done: Promise<void>; broken?: string }>();

  constructor(
    private readonly store: Store,
    private readonly runner: JudgementRunner,
    private readonly settleMs: number,
    private readonly log: (m: string) => void = (m) => console.error(`[gavel backfill] ${m}`),
  ) {}

  async start(req: BackfillRequest): Promise<BackfillJob> {
    const rec = await getScorer(this.store.client, req.experimentId, req.name, req.version);
    if (!rec) {
      throw new BackfillNotFoundError(
        `No registered judge "${req.name}"${req.version ? ` version ${req.version}` : ""} in experiment ${req.experimentId}. Register it with judge.register({ experimentId }).`,
      );
    }
    const judge = this.runner.judgeFor(rec);
    if (judge instanceof Error) throw new Error(`Judge "${rec.name}" v${rec.version} cannot be built: ${judge.message}`);
    const now = Date.now();
    const job: BackfillJob = {
      jobId: `job-${randomBytes(8).toString("hex")}`,
      kind: "backfill",
      experimentId: rec.experimentId,
      judge: rec.name,
      version: rec.version,
      sinceMs: req.sinceMs,
      untilMs: now,
      filter: req.filter === undefined ? rec.sampling.filter : req.filter,
      retryErrors: req.retryErrors ?? false,
      status: "running",
      total: 0,
      done: 0,
      scored: 0,
      failed: 0,
      skipped: 0,
      startedAt: now,
    };
    const scorer: ScorerJudge = { experimentId: rec.experimentId, name: rec.name, version: rec.version, judge };
    const entry: { job: BackfillJob; abort: AbortController; done: Promise<void>; broken?: string } = { job, abort: new AbortController(), done: Promise.resolve() };
    const fail = (message: string) => {
      job.status = "failed";
      job.error = message;
      this.log(`${job.jobId} (${job.judge} v${job.version}) failed: ${message}`);
    };
    entry.done = this.run(entry, scorer)
      .then(
        () => {
          if (entry.broken !== undefined) return fail(entry.broken);
          job.status = entry.abort.signal.aborted ? "cancelled" : "succeeded";
          // The count was taken at the start; traces still receiving spans then are skipped.
          if (job.status === "succeeded") job.total = job.done;
        },
        (err: unknown) => {
          if (entry.abort.signal.aborted && entry.broken === undefined) job.status = "cancelled";
          else fail(entry.broken ?? (err as Error).message);
        },
      )
      .finally(() => {
        job.finishedAt = Date.now();
        this.prune();
      });
    this.jobs.set(job.jobId, entry);
    return { ...job };
  }

  get(jobId: string): BackfillJob | undefined {
    const j = this.jobs.get(jobId)?.job;
    return j ? { ...j } : undefined;
  }

  list(): BackfillJob[] {
    return [...this.jobs.values()].map((j) => ({ ...j.job })).reverse();
  }

  /** Stops a running job: judgements in flight are abandoned, stored ones stay. */
  async cancel(jobId: string): Promise<BackfillJob | undefined> {
    const j = this.jobs.get(jobId);
    if (!j) return undefined;
    j.abort.abort(new Error("cancelled"));
    await j.done;
    return { ...j.job };
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.jobs.keys()].map((id) => this.cancel(id)));
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.job.status !== "running");
    for (const j of finished.slice(0, Math.max(0, finished.length - FINISHED_JOBS_KEPT))) this.jobs.delete(j.job.jobId);
  }

  /** A store call retried with backoff, so a ClickHouse restart does not fail the job. */
  private async retrying<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (signal.aborted || attempt >= STORE_RETRIES) throw err;
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
      }
    }
  }

  private async run(entry: { job: BackfillJob; abort: AbortController; broken?: string }, scorer: ScorerJudge): Promise<void> {
    const { job } = entry;
    const signal = entry.abort.signal;
    setMaxListeners(0, signal);
    const client = this.store.client;
    const range = { experimentId: job.experimentId, name: job.judge, version: job.version, filter: job.filter, fromMs: job.sinceMs, toMs: job.untilMs };
    job.total = await this.retrying(() => countTraces(client, range), signal);
    const limit = Math.max(8, 2 * this.runner.limits.concurrencyOf(scorer.judge.model));
    const outstanding = new Set<Promise<void>>();
    let after: PageKey | undefined;
    while (!signal.aborted) {
      const page = await this.retrying(() => tracePage(client, { ...range, limit: PAGE, ...(after ? { after } : {}) }), signal);
      if (page.length === 0) break;
      const last = page[page.length - 1]!;
      after = { timestampNs: last.summary.timestampNs, traceId: last.traceId };
      const states = await this.retrying(() => traceStates(client, page.map((c) => c.traceId), job.judge, job.version), signal);
      const todo: Candidate[] = [];
      for (const c of page) {
        const lastSeen = Math.max(c.lastSeenMs, states.lastSeenMs.get(c.traceId) ?? 0);
        const prior = states.assessed.get(c.traceId);
        const judged = prior !== undefined && !(job.retryErrors && prior !== "");
        if (judged || lastSeen > states.nowMs - this.settleMs) {
          job.skipped++;
          job.done++;
        } else {
          todo.push({ ...c, lastSeenMs: lastSeen });
        }
      }
      if (todo.length === 0) continue;
      const inputs = await this.retrying(() => loadJudgeInputs(client, scorer.judge, todo), signal);
      for (const c of todo) {
        while (outstanding.size >= limit) await Promise.race(outstanding);
        // The store refuses assessments: judging more now would be paid for and lost.
        for (let f = this.runner.writer.failing; f && !signal.aborted; f = this.runner.writer.failing) {
          await new Promise((r) => setTimeout(r, Math.max(100, f!.until - Date.now())));
          if (Date.now() >= f.until) break;
        }
        if (signal.aborted) break;
        const t: Promise<void> = this.runner
          .run({ scorer, candidate: c, input: inputs.get(c.traceId)!, mode: "backfill", jobId: job.jobId, signal })
          .then((o) => {
            if (o.kind === "aborted") return;
            job.done++;
            if (o.kind === "scored") job.scored++;
            else if (o.kind === "skipped" || o.kind === "not-judged") job.skipped++;
            else job.failed++;
            // The judge cannot run at all (no API key, ...): every other trace would fail the same way.
            if (o.kind === "broken" && entry.broken === undefined) {
              entry.broken = o.message;
              entry.abort.abort(new Error(o.message));
            }
          })
          .finally(() => outstanding.delete(t));
        outstanding.add(t);
      }
    }
    await Promise.all(outstanding);
  }
}
