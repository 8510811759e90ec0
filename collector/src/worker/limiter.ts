import { setTimeout as sleep } from "node:timers/promises";
import { perModel, type PerModel } from "./settings.js";

/** A FIFO counting semaphore; a waiter whose signal fires leaves the queue. */
export class Semaphore {
  private active = 0;
  private readonly waiters: { grant: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error("a semaphore needs at least one permit");
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a permit is free. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const w: (typeof this.waiters)[number] = { grant: () => resolve(this.releaser()), reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) {
        // The permit passes straight to the next waiter: `active` stays the same.
        if (next.onAbort) next.signal!.removeEventListener("abort", next.onAbort);
        next.grant();
      } else {
        this.active--;
      }
    };
  }
}

/**
 * Requests per minute as a token bucket refilled continuously, holding at most one
 * second's worth, so a limit of 600 allows 10 at once and then one every 100 ms rather
 * than 600 in a burst that a provider's per-second limits would refuse.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private readonly perMs: number;
  private readonly capacity: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, Math.ceil(perMinute / 60));
    this.tokens = this.capacity;
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Waits for a token; callers are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.chain.then(async () => {
      this.refill();
      while (this.tokens < 1) {
        await sleep(Math.ceil((1 - this.tokens) / this.perMs), undefined, signal ? { signal } : undefined);
        this.refill();
      }
      this.tokens -= 1;
    });
    this.chain = turn.catch(() => undefined);
    return turn;
  }
}

/** Concurrency, rate and back-off for one model, shared by everything that calls it in this process. */
export class ModelLimiter {
  readonly semaphore: Semaphore;
  private readonly bucket: TokenBucket | undefined;
  private pausedUntil = 0;

  constructor(readonly model: string, concurrency: number, rpm: number) {
    this.semaphore = new Semaphore(concurrency);
    this.bucket = rpm > 0 ? new TokenBucket(rpm) : undefined;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    return this.semaphore.acquire(signal);
  }

  /**
   * Waits out a provider's Retry-After and the rate limit; call it holding a permit. A 429 on
   * one call pauses the calls that start after it, instead of each learning it on its own.
   */
  async ready(signal?: AbortSignal): Promise<void> {
    for (let wait = this.pausedUntil - Date.now(); wait > 0; wait = this.pausedUntil - Date.now()) {
      await sleep(wait, undefined, signal ? { signal } : undefined);
    }
    await this.bucket?.take(signal);
  }

  /** Hold new calls for `ms` (a 429's Retry-After). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.min(ms, 120_000));
  }
}

export class ModelLimits {
  private readonly limiters = new Map<string, ModelLimiter>();

  constructor(
    private readonly concurrency: PerModel,
    private readonly rpm: PerModel,
  ) {}

  for(model: string): ModelLimiter {
    let l = this.limiters.get(model);
    if (!l) this.limiters.set(model, (l = new ModelLimiter(model, perModel(this.concurrency, model), perModel(this.rpm, model))));
    return l;
  }

  concurrencyOf(model: string): number {
    return perModel(this.concurrency, model);
  }

  all(): Iterable<ModelLimiter> {
    return this.limiters.values();
  }
}
