import type { RetryOptions } from "@gavel/judges";
import type { Store } from "../store/store.js";
import { BackfillJobs } from "./backfill.js";
import { JudgementRunner } from "./judgement-runner.js";
import { ModelLimits } from "./limiter.js";
import { OnlineWorker, type Log } from "./online-worker.js";
import type { WorkerSettings } from "./settings.js";
import { createWorkerMetrics, type WorkerMetrics } from "./worker-metrics.js";

export interface WorkerRuntimeOptions {
  /** Judges' LLM retry overrides (tests shorten the backoff). */
  retry?: RetryOptions;
  log?: Log;
}

/**
 * Everything that scores in one process: per-model limits, the runner, the metrics, backfill
 * jobs and (when enabled) the online worker. The collector holds one; `gavel worker` too.
 */
export class WorkerRuntime {
  readonly metrics: WorkerMetrics;
  readonly limits: ModelLimits;
  readonly runner: JudgementRunner;
  readonly jobs: BackfillJobs;
  private online: OnlineWorker | undefined;

  constructor(
    readonly store: Store,
    readonly settings: WorkerSettings,
    private readonly options: WorkerRuntimeOptions = {},
  ) {
    this.metrics = createWorkerMetrics(store);
    this.limits = new ModelLimits(settings.concurrency, settings.rpm);
    this.runner = new JudgementRunner(store, this.limits, this.metrics, {
      ...(options.retry ? { retry: options.retry } : {}),
      settleMs: settings.settleMs,
      writeWindowMs: settings.writeWindowMs,
    });
    this.jobs = new BackfillJobs(store, this.runner, settings.settleMs, options.log);
  }

  /** Whether the collector should run the online worker itself (GAVEL_WORKER). */
  get onlineInCollector(): boolean {
    return this.settings.mode === "on" || (this.settings.mode === "auto" && this.store.mode === "embedded");
  }

  get worker(): OnlineWorker | undefined {
    return this.online;
  }

  startOnline(): OnlineWorker {
    this.online ??= new OnlineWorker(this.store, this.runner, this.settings, this.metrics, this.options.log);
    this.online.start();
    return this.online;
  }

  /** Stops the online worker and backfill jobs; call before the store closes. */
  async stop(): Promise<void> {
    // Judgements waiting for a store that is down are given up after the drain period.
    const timer = setTimeout(() => this.runner.writer.abandon(), this.settings.drainMs + 1000);
    await Promise.all([this.online?.stop(), this.jobs.stopAll()]);
    clearTimeout(timer);
  }
}
