/**
 * The stratified, seeded train / held-out split behind the report's before/after numbers.
 * Each label keeps its share in both parts, so a rare label cannot vanish from the held-out
 * split by chance and make "after" look better or worse than it is.
 */
import { roundHalfEven, SeededRandom } from "./rng.js";

/** Below this many held-out examples, agreement and kappa are noise: report on all data instead. */
export const MIN_HELD_OUT = 5;
export const DEFAULT_HELD_OUT_FRACTION = 0.2;

export interface SplitResult<T> {
  train: T[];
  heldOut: T[];
  /** True when a held-out split was made (stratified by label). */
  stratified: boolean;
  /** Why there is no separate held-out split, when there is none. */
  note?: string;
}

/**
 * `fraction` of `items` held out, stratified by label. With `eligible`, only items it accepts can
 * be held out (alignment: traces the judge has never seen); the others always train, and the
 * held-out size is `fraction` of all items, or every eligible item when there are fewer.
 */
export function stratifiedSplit<T>(
  items: readonly T[],
  labelOf: (item: T) => string,
  options: { fraction?: number; seed?: number; minTrain?: number; eligible?: (item: T) => boolean } = {},
): SplitResult<T> {
  const fraction = options.fraction ?? DEFAULT_HELD_OUT_FRACTION;
  const all = [...items];
  if (options.eligible) {
    const eligible = options.eligible;
    const fresh = all.filter((x) => eligible(x));
    const seen = all.filter((x) => !eligible(x));
    if (seen.length > 0) {
      if (!(fraction > 0)) return stratifiedSplit(all, labelOf, { ...options, eligible: undefined });
      const want = roundHalfEven(all.length * fraction);
      const minTrain = Math.max(1, options.minTrain ?? 1);
      const inner =
        fresh.length <= want
          ? ({ train: [], heldOut: fresh, stratified: true } as SplitResult<T>)
          : stratifiedSplit(fresh, labelOf, { ...options, eligible: undefined, fraction: want / fresh.length, minTrain: 1 });
      if (!inner.stratified || inner.heldOut.length < MIN_HELD_OUT || all.length - inner.heldOut.length < minTrain) {
        return {
          train: all,
          heldOut: all,
          stratified: false,
          note:
            `Too few examples the judge has not seen to hold out (${fresh.length} of ${all.length}; ${seen.length} are in its alignment already, ` +
            `and a held-out split needs at least ${MIN_HELD_OUT}): before/after are measured on all ${all.length} examples, which the optimizer also trained on, so "after" is optimistic.`,
        };
      }
      const out = new Set(inner.heldOut);
      return { train: all.filter((x) => !out.has(x)), heldOut: inner.heldOut, stratified: true };
    }
  }
  const n = items.length;
  if (!(fraction > 0)) {
    return { train: all, heldOut: all, stratified: false, note: `heldOutFraction is 0: before/after are measured on all ${n} examples, which are also the training data.` };
  }
  if (!(fraction < 1)) throw new RangeError(`heldOutFraction must be in [0, 1), got ${fraction}`);
  const nTest = roundHalfEven(n * fraction);
  const minTrain = Math.max(1, options.minTrain ?? 1);
  if (nTest < MIN_HELD_OUT || n - nTest < minTrain) {
    return {
      train: all,
      heldOut: all,
      stratified: false,
      note:
        `Too few examples to split (${n}; a held-out split at ${fraction} needs at least ${MIN_HELD_OUT} held out ` +
        `and ${minTrain} to train): before/after are measured on all ${n} examples, which the optimizer also trained on, so "after" is optimistic.`,
    };
  }

  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const l = labelOf(item);
    const g = groups.get(l);
    if (g) g.push(i);
    else groups.set(l, [i]);
  });
  const labels = [...groups.keys()].sort();
  const rng = new SeededRandom(options.seed ?? 42).fork("split");
  const shuffled = new Map(labels.map((l) => [l, rng.shuffle([...groups.get(l)!])]));

  // Largest-remainder allocation of nTest over the labels.
  const alloc = new Map<string, number>();
  let given = 0;
  for (const l of labels) {
    const q = Math.floor((groups.get(l)!.length * nTest) / n);
    alloc.set(l, q);
    given += q;
  }
  const byRemainder = labels
    .map((l) => {
      const size = groups.get(l)!.length;
      return { l, size, rem: (size * nTest) / n - alloc.get(l)! };
    })
    // A label that would lose its last training example goes last; then larger remainders,
    // then larger labels; label order breaks the remaining ties.
    .sort((a, b) => {
      const aLast = alloc.get(a.l)! + 1 >= a.size ? 1 : 0;
      const bLast = alloc.get(b.l)! + 1 >= b.size ? 1 : 0;
      return aLast - bLast || b.rem - a.rem || b.size - a.size || (a.l < b.l ? -1 : a.l > b.l ? 1 : 0);
    });
  for (let i = 0; given < nTest && byRemainder.length > 0; i = (i + 1) % byRemainder.length) {
    const { l, size } = byRemainder[i]!;
    if (alloc.get(l)! < size) {
      alloc.set(l, alloc.get(l)! + 1);
      given++;
    }
  }

  const test = new Set<number>();
  for (const l of labels) for (const i of shuffled.get(l)!.slice(0, alloc.get(l)!)) test.add(i);
  const train: T[] = [];
  const heldOut: T[] = [];
  items.forEach((item, i) => (test.has(i) ? heldOut : train).push(item));
  return { train, heldOut, stratified: true };
}
