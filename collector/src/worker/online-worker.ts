import { setMaxListeners } from "node:events";
import type { Judge } from "@gavel/judges";
import type { Store } from "../store/store.js";
import { activeScorers, type ScorerVersion } from "../store/queries/scorers.js";
import { countArrivals, findCandidates, type Candidate } from "./candidates.js";
import { loadJudgeInputs, loadSessionInput } from "./judge-input.js";
import { countSessionArrivals, findSessionCandidates, sessionTraces } from "./session-candidates.js";
import type { JudgementRunner, ScorerJudge } from "./judgement-runner.js";
import { sampleThreshold } from "./sampler.js";
import type { WorkerSettings } from "./settings.js";
import { formatShard } from "./shard.js";
import type { WorkerMetrics } from "./worker-metrics.js";

export type Log = (message: string) => void;

interface ActiveJudge extends ScorerJudge {
  key: string;
  /** Changes when the version, rate or filter changes; queued work of an older config is dropped. */
  config: string;
  filter: string | null;
  threshold: number;
  /** Trace ids picked and not finished: excluded from the next polls. */
  picked: Set<string>;
  /** Server-time cutoff of the last seen/sampled count. */
  countedUntilMs: number | undefined;
  /** The last poll filled its batch: more may be waiting. */
  saturated: boolean;
  /** Start of the last poll that took every candidate there was; 0 when work may be left. */
  drainedAt: number;
  /** A picked trace was given back (stopped, aborted, not stored): poll again. */
  dirty: boolean;
  lastCountAt: number;
  pausedUntil: number;
  /** A `{{ conversation }}` judge: scores sessions, and `picked` holds session ids. */
  sessionLevel: boolean;
  /** When its sessions were last looked for. */
  lastSessionPollAt: number;
}

const BROKEN_PAUSE_MS = 30_000;
/** Seen/sampled are counted at most this often. */
const COUNT_EVERY_MS = 1000;
/** Even when nothing can have changed, a judge's candidates are queried this often. */
const FULL_POLL_EVERY_MS = 10_000;

/**
 * The online-scoring loop. Each poll re-reads the registry (so start/update/stop apply
 * without a restart), then, per active judge version, takes the complete, sampled, unscored
 * traces of its experiment and shard, and hands them to the runner, which waits for a call
 * slot of the judge's model. Each model keeps four slots' worth of traces picked, so slots
 * never wait for a poll; a judge that filled its batch is polled again as soon as half of
 * that has been judged, rather than after the poll interval.
 */
export class OnlineWorker {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private readonly judges = new Map<string, ActiveJudge>();
  private readonly pickedPerModel = new Map<string, number>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private readonly brokenLogged = new Map<string, string>();
  private failures = 0;
  private externalRows = -1;
  private externalChangeAt = 0;

  constructor(
    private readonly store: Store,
    private readonly runner: JudgementRunner,
    private readonly settings: WorkerSettings,
    private readonly metrics: WorkerMetrics,
    private readonly log: Log = (m) => console.error(`[gavel worker] ${m}`),
  ) {
    // Every picked trace waits on this one signal.
    setMaxListeners(0, this.abort.signal);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /**
   * Stops polling, lets judge calls in flight finish and store their results for up to
   * GAVEL_WORKER_DRAIN_MS, then abandons the rest (their traces stay candidates).
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeUp?.();
    await this.loopDone;
    let timer: NodeJS.Timeout | undefined;
    const drained = Promise.all([...this.tasks]).then(() => true);
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.settings.drainMs)));
    const ok = await Promise.race([drained, timeout]);
    clearTimeout(timer);
    if (!ok) {
      this.abort.abort(new Error("worker stopping"));
      this.runner.writer.abandon();
      await Promise.all([...this.tasks]);
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const t0 = performance.now();
      try {
        await this.pollOnce();
        if (this.failures > 0) this.log(`store reachable again after ${this.failures} failed poll${this.failures > 1 ? "s" : ""}; scoring resumes.`);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.metrics.pollErrors.inc();
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.log(`poll failed (${(err as Error).message}); retrying with backoff (failure ${this.failures}).`);
        }
      }
      this.metrics.pollSeconds.observe(undefined, (performance.now() - t0) / 1000);
      if (!this.running) break;
      // ClickHouse down: back off up to 30 s rather than hammer it.
      const delay = this.failures > 0 ? Math.min(30_000, this.settings.pollMs * 2 ** Math.min(this.failures, 8)) : this.settings.pollMs;
      await this.sleep(delay, this.failures === 0);
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // A stop always wakes the loop; a model with room only when polling is healthy.
      this.wakeUp = wakeable ? done : () => (this.running ? undefined : done());
    });
  }

  /** One pass: refresh the registry, then pick work for each judge. Exposed for tests. */
  async pollOnce(): Promise<void> {
    this.metrics.polls.inc();
    // Judgements that cannot be stored are money spent for nothing: wait for the store.
    const failing = this.runner.writer.failing;
    if (failing && Date.now() < failing.until) throw new Error(`the store refuses assessments (${failing.error.message})`);
    const ext = this.store.batcher.stats.insertedRows - this.runner.writer.rowsWritten;
    if (ext !== this.externalRows) {
      this.externalRows = ext;
      this.externalChangeAt = Date.now();
    }
    const versions = await activeScorers(this.store.client);
    this.refreshJudges(versions);
    this.metrics.activeJudges.set(undefined, this.judges.size);
    for (const j of this.judges.values()) {
      if (!this.running) return;
      if (j.pausedUntil > Date.now()) continue;
      await this.pollJudge(j);
    }
  }

  private refreshJudges(versions: ScorerVersion[]): void {
    const seen = new Set<string>();
    for (const v of versions) {
      const key = `${v.experimentId}\0${v.name}`;
      seen.add(key);
      const judge = this.runner.judgeFor(v);
      if (judge instanceof Error) {
        this.reportBroken(key, `judge "${v.name}" v${v.version} of experiment ${v.experimentId} cannot be built: ${judge.message}`);
        this.judges.delete(key);
        continue;
      }
      const config = `${v.version}\0${v.sampling.sampleRate}\0${v.sampling.filter ?? ""}`;
      const old = this.judges.get(key);
      if (old && old.config === config) continue;
      this.judges.set(key, this.activeJudge(key, config, v, judge, old));
    }
    for (const key of [...this.judges.keys()]) if (!seen.has(key)) this.judges.delete(key);
  }

  private activeJudge(key: string, config: string, v: ScorerVersion, judge: Judge, old: ActiveJudge | undefined): ActiveJudge {
    return {
      key,
      config,
      experimentId: v.experimentId,
      name: v.name,
      version: v.version,
      judge,
      filter: v.sampling.filter,
      threshold: sampleThreshold(v.sampling.sampleRate),
      // Picked traces stay excluded until their tasks end, whatever the config.
      picked: old?.picked ?? new Set(),
      countedUntilMs: old?.countedUntilMs,
      saturated: false,
      drainedAt: 0,
      dirty: false,
      lastCountAt: old?.lastCountAt ?? 0,
      pausedUntil: 0,
      sessionLevel: judge.templateVariables.includes("conversation"),
      lastSessionPollAt: 0,
    };
  }

  private reportBroken(key: string, message: string): void {
    if (this.brokenLogged.get(key) === message) return;
    this.brokenLogged.set(key, message);
    this.log(message);
  }

  /** Traces picked per model: four slots' worth, so a poll every half of it keeps the slots busy. */
  private capacity(model: string): number {
    return Math.max(32, 4 * this.runner.limits.concurrencyOf(model));
  }

  /**
   * With embedded ClickHouse this process writes every row, so it knows when nothing new can
   * have become complete: no span arrived (other than its own assessments) since a settle
   * period before the judge's last poll that took everything. Then the judge's candidate query
   * is skipped; an idle worker costs one registry read per poll. On a ClickHouse server other
   * collectors write too, so every poll queries.
   */
  private nothingNew(j: ActiveJudge, now: number): boolean {
    if (this.store.mode !== "embedded" || j.dirty || j.drainedAt === 0) return false;
    if (now - j.drainedAt > FULL_POLL_EVERY_MS) return false;
    const settledAt = this.externalChangeAt + this.settings.settleMs + 50;
    // The seen/sampled counts must have caught up too (they are taken at most once a second).
    return j.drainedAt > settledAt && (j.countedUntilMs ?? 0) > this.externalChangeAt + 50;
  }

  private async pollJudge(j: ActiveJudge): Promise<void> {
    if (j.sessionLevel) return this.pollSessionJudge(j);
    const model = j.judge.model;
    const s = this.settings;
    const now = Date.now();
    if (this.nothingNew(j, now)) return;
    const fromMs = now - s.lookbackMs;
    const base = { experimentId: j.experimentId, name: j.name, version: j.version, filter: j.filter, fromMs, settleMs: s.settleMs, threshold: j.threshold, shard: s.shard };

    if (now - j.lastCountAt >= COUNT_EVERY_MS) {
      j.lastCountAt = now;
      const counts = await countArrivals(this.store.client, { ...base, afterMs: j.countedUntilMs });
      j.countedUntilMs = counts.cutoffMs;
      if (counts.seen > 0) this.metrics.seen.inc({ judge: j.name }, counts.seen);
      if (counts.sampled > 0) this.metrics.sampled.inc({ judge: j.name }, counts.sampled);
    }

    const room = Math.min(s.batch, this.capacity(model) - (this.pickedPerModel.get(model) ?? 0));
    if (room <= 0) {
      j.saturated = true;
      j.drainedAt = 0;
      return;
    }
    j.dirty = false;
    this.metrics.candidateQueries.inc({ judge: j.name });
    const batch = await findCandidates(this.store.client, { ...base, exclude: [...j.picked], limit: room });
    j.saturated = batch.length >= room;
    j.drainedAt = j.saturated ? 0 : now;
    if (batch.length === 0) return;
    const inputs = await loadJudgeInputs(this.store.client, j.judge, batch);
    for (const c of batch) this.dispatch(j, c, inputs.get(c.traceId)!);
  }

  /**
   * A `{{ conversation }}` judge: complete sessions (no span for GAVEL_SESSION_SETTLE_MS),
   * sampled by session id, not scored by this version yet or with traces newer than its
   * score. Each runs the judge once on the session's traces, oldest first, and its Feedback
   * goes on the first trace. The grouped query runs at most every tenth of the settle period
   * (between the poll interval and 10 s): a session cannot complete sooner than that.
   */
  private async pollSessionJudge(j: ActiveJudge): Promise<void> {
    const s = this.settings;
    const now = Date.now();
    const every = Math.min(10_000, Math.max(s.pollMs, s.sessionSettleMs / 10));
    if (!j.dirty && now - j.lastSessionPollAt < every) return;
    j.lastSessionPollAt = now;
    const fromMs = now - s.lookbackMs;
    const base = { experimentId: j.experimentId, name: j.name, fromMs, settleMs: s.sessionSettleMs, threshold: j.threshold, shard: s.shard };
    const counts = await countSessionArrivals(this.store.client, { ...base, afterMs: j.countedUntilMs });
    j.countedUntilMs = counts.cutoffMs;
    if (counts.seen > 0) this.metrics.sessionsSeen.inc({ judge: j.name }, counts.seen);
    if (counts.sampled > 0) this.metrics.sessionsSampled.inc({ judge: j.name }, counts.sampled);

    const model = j.judge.model;
    const room = Math.min(s.batch, this.capacity(model) - (this.pickedPerModel.get(model) ?? 0));
    if (room <= 0) return;
    j.dirty = false;
    this.metrics.candidateQueries.inc({ judge: j.name });
    const found = await findSessionCandidates(this.store.client, { ...base, version: j.version, exclude: [...j.picked], limit: room });
    if (found.length === 0) return;
    // Twice the window back, so a session that began before the window keeps its first trace as anchor.
    const traces = await sessionTraces(this.store.client, { experimentId: j.experimentId, fromMs: fromMs - s.lookbackMs, sessionIds: found.map((f) => f.sessionId) });
    for (const f of found) {
      const list = traces.get(f.sessionId);
      if (!list || list.length === 0) continue;
      const input = await loadSessionInput(this.store.client, j.judge, f.sessionId, list);
      // The lag metric counts from the session's completion: its last arrival plus the session settle.
      const anchor = { ...list[0]!, lastSeenMs: f.lastSeenMs + s.sessionSettleMs - s.settleMs };
      this.dispatch(j, anchor, input, f.sessionId);
    }
  }

  private dispatch(j: ActiveJudge, c: Candidate, input: Parameters<JudgementRunner["run"]>[0]["input"], sessionId?: string): void {
    const model = j.judge.model;
    const key = sessionId ?? c.traceId;
    j.picked.add(key);
    this.pickedPerModel.set(model, (this.pickedPerModel.get(model) ?? 0) + 1);
    const config = j.config;
    const task = this.runner
      .run({
        scorer: j,
        candidate: c,
        input,
        ...(sessionId !== undefined ? { sessionId } : {}),
        mode: "online",
        signal: this.abort.signal,
        wanted: () => this.running && this.judges.get(j.key)?.config === config && !this.runner.writer.failing,
      })
      .then((outcome) => {
        if (outcome.kind === "broken") {
          // The judge cannot run at all (no API key, ...): pause it instead of failing every trace.
          const current = this.judges.get(j.key);
          if (current) current.pausedUntil = Date.now() + BROKEN_PAUSE_MS;
          this.reportBroken(j.key, `judge "${j.name}" v${j.version} paused for ${BROKEN_PAUSE_MS / 1000} s: ${outcome.message}`);
        } else if (outcome.kind === "unstored") {
          this.reportBroken(j.key, `judgement of ${sessionId !== undefined ? `session ${sessionId}` : `trace ${c.traceId}`} by "${j.name}" not stored (${outcome.message}); it will be judged again.`);
        } else if (outcome.kind === "scored" || outcome.kind === "failed" || outcome.kind === "not-judged") {
          this.brokenLogged.delete(j.key);
        }
        // The trace goes back to the candidates: the judge's next poll must look again.
        if (outcome.kind !== "scored" && outcome.kind !== "failed" && outcome.kind !== "not-judged") {
          const current = this.judges.get(j.key);
          if (current) current.dirty = true;
        }
      })
      .catch((err: unknown) => this.log(`scoring ${sessionId !== undefined ? `session ${sessionId}` : `trace ${c.traceId}`} with "${j.name}" failed unexpectedly: ${(err as Error).stack ?? err}`))
      .finally(() => {
        j.picked.delete(key);
        const n = (this.pickedPerModel.get(model) ?? 1) - 1;
        this.pickedPerModel.set(model, n);
        this.tasks.delete(task);
        // Room again for a judge that left work behind at its last poll.
        if (n <= this.capacity(model) / 2 && this.anySaturated(model)) this.wakeUp?.();
      });
    this.tasks.add(task);
  }

  private anySaturated(model: string): boolean {
    for (const j of this.judges.values()) if (j.saturated && j.judge.model === model) return true;
    return false;
  }

  /** For the startup log. */
  describe(): string {
    const s = this.settings;
    return `shard ${formatShard(s.shard)}, settle ${s.settleMs} ms, session settle ${s.sessionSettleMs} ms, poll ${s.pollMs} ms, lookback ${Math.round(s.lookbackMs / 3_600_000)} h`;
  }
}
