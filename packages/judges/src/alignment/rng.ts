/**
 * Seeded randomness for alignment. Same seed, same draws, on every platform: the optimizers'
 * results must be reproducible (issue 4: "same seed and same model answers give the same
 * result"), so nothing in alignment may use Math.random.
 *
 * The generator is sfc32 seeded through splitmix32. It does not reproduce Python's Mersenne
 * Twister streams; what is ported from DSPy is the *use* of the draws (shuffle, choices,
 * randrange, poisson), with Python's semantics where they matter (bisect in `choices`,
 * round-half-even).
 */

function splitmix32(state: number): () => number {
  let a = state | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

/** A 32-bit seed from a number (integers used as is) or a string (FNV-1a). */
export function seedOf(seed: number | string): number {
  if (typeof seed === "number" && Number.isFinite(seed)) {
    // Keep distinct seeds distinct beyond 2^32 by folding the high bits in.
    const hi = Math.floor(seed / 2 ** 32);
    return ((seed >>> 0) ^ Math.imul(hi | 0, 0x9e3779b1)) >>> 0;
  }
  let h = 0x811c9dc5;
  const s = String(seed);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  readonly seed: number;

  constructor(seed: number | string = 0) {
    this.seed = seedOf(seed);
    const sm = splitmix32(this.seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    // sfc32 needs a few rounds before its output is well mixed.
    for (let i = 0; i < 12; i++) this.next32();
  }

  /** An independent stream for a named purpose, so adding draws in one place does not shift another. */
  fork(label: string): SeededRandom {
    return new SeededRandom(seedOf(`${this.seed}:${label}`));
  }

  private next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 53 bits like Python's random(). */
  random(): number {
    const hi = this.next32() >>> 5; // 27 bits
    const lo = this.next32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Python's randrange(n): an integer in [0, n). */
  randrange(n: number): number {
    if (!(n >= 1)) throw new RangeError(`randrange(${n}): empty range`);
    return Math.floor(this.random() * Math.floor(n));
  }

  /** Python's shuffle: Fisher–Yates from the end, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randrange(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("choice() from an empty list");
    return items[this.randrange(items.length)]!;
  }

  /** Python's choices(items, weights, k=1)[0]: bisect_right on the cumulative weights. */
  weightedChoice<T>(items: readonly T[], weights: readonly number[]): T {
    if (items.length === 0 || items.length !== weights.length) throw new RangeError("weightedChoice: items and weights must be non-empty and the same length");
    const cum: number[] = [];
    let total = 0;
    for (const w of weights) {
      total += w;
      cum.push(total);
    }
    if (!(total > 0)) throw new RangeError("weightedChoice: total weight must be positive");
    const x = this.random() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x < cum[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return items[lo]!;
  }

  /**
   * A Poisson draw (numpy's rng.poisson). Knuth's multiplication method, in steps of e^500 so
   * large means do not underflow exp(-lambda).
   */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    const STEP = 500;
    let left = lambda;
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.random();
      while (p < 1 && left > 0) {
        if (left > STEP) {
          p *= Math.exp(STEP);
          left -= STEP;
        } else {
          p *= Math.exp(left);
          left = 0;
        }
      }
    } while (p > 1);
    return k - 1;
  }
}

/**
 * Python 3's round(): halves go to the even neighbour (round(2.5) == 2, round(3.5) == 4).
 * SIMBA's final selection indexes programs with it, so Math.round would pick different ones.
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** numpy.percentile with the default linear interpolation. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const frac = pos - lo;
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}
