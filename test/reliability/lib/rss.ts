import { readFileSync } from "node:fs";

export const MiB = 2 ** 20;

/** Resident set size of a process, from /proc (what the kernel charges it, engine included). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every `everyMs` until stopped; keeps the peak and the samples. */
export class RssSampler {
  peak = 0;
  readonly samples: { t: number; rss: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(private readonly pid: number, everyMs = 100) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  sample(): number {
    try {
      const rss = rssOf(this.pid);
      this.peak = Math.max(this.peak, rss);
      this.samples.push({ t: Date.now() - this.t0, rss });
      return rss;
    } catch {
      return 0; // the process is gone
    }
  }

  /** Milliseconds since the sampler started, for peakSince(). */
  elapsed(): number {
    return Date.now() - this.t0;
  }

  /** Peak over samples taken from `fromMs` (since the sampler started) on. */
  peakSince(fromMs: number): number {
    return this.samples.filter((s) => s.t >= fromMs).reduce((m, s) => Math.max(m, s.rss), 0);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(0)} MiB`;
