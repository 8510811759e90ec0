/**
 * Reused buffers for request bodies. A 512-span OTLP request is ~670 KB; reading it into
 * a fresh Buffer per request (and concatenating its chunks) cost page faults and
 * external-memory garbage collections on every request under load. A body is only
 * needed until it is decoded, so a few buffers serve all requests.
 */
export class BodyBuffers {
  private readonly free: Buffer[] = [];

  constructor(
    /** Most buffers kept for reuse; with maxKeptBytes, at most 64 MiB stay allocated. */
    private readonly maxKept = 16,
    /** Larger buffers are not kept: one burst of huge requests should not pin its memory. */
    private readonly maxKeptBytes = 4 * 2 ** 20,
  ) {}

  /** A buffer of at least `n` bytes; give it back with `release` once the body is decoded. */
  take(n: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!;
      if (b.length >= n) {
        this.free.splice(i, 1);
        return b;
      }
    }
    let size = 64 * 1024;
    while (size < n) size *= 2;
    // allocUnsafeSlow: outside Node's shared pool, so a kept buffer never pins others' memory.
    return Buffer.allocUnsafeSlow(size);
  }

  release(b: Buffer): void {
    if (b.length > this.maxKeptBytes) return;
    if (this.free.length >= this.maxKept) {
      // Keep the larger buffers: they fit every request the smaller ones do.
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
      if (this.free[smallest]!.length >= b.length) return;
      this.free.splice(smallest, 1);
    }
    this.free.push(b);
  }
}
