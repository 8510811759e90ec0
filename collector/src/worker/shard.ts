/** Which traces a worker takes: those with `cityHash64(TraceId) % count = index`. */
export interface Shard {
  index: number;
  count: number;
}

export const ALL_TRACES: Shard = Object.freeze({ index: 0, count: 1 });

/** `i/N` with whole numbers, 0 <= i < N; throws with what to write otherwise. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`shard "${text}" is not i/N: write e.g. 0/2 and 1/2 for two workers.`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 1_000_000) throw new Error(`shard "${text}": N must be between 1 and 1000000.`);
  if (index >= count) throw new Error(`shard "${text}": i must be smaller than N (shards are numbered 0 to ${count - 1}).`);
  return { index, count };
}

export const formatShard = (s: Shard) => `${s.index}/${s.count}`;
