// Protobuf bytes by hand, for tests that need exact control of the wire format
// (field order, repeated singular fields, wrong wire types, unknown fields).

export type Bytes = number[];

export function varint(v: number | bigint): Bytes {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: Bytes = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
export const tag = (field: number, wt: number): Bytes => varint(field * 8 + wt);
export const ld = (field: number, body: Bytes): Bytes => [...tag(field, 2), ...varint(body.length), ...body];
export const utf8 = (s: string): Bytes => [...Buffer.from(s, "utf8")];
export const str = (field: number, s: string): Bytes => ld(field, utf8(s));
export const vint = (field: number, v: number | bigint): Bytes => [...tag(field, 0), ...varint(v)];
export const fixed64 = (field: number, v: bigint): Bytes => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...tag(field, 1), ...b];
};
export const fixed32 = (field: number, v: number): Bytes => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return [...tag(field, 5), ...b];
};
export const dbl = (field: number, v: number): Bytes => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...tag(field, 1), ...b];
};
export const hex = (h: string): Bytes => [...Buffer.from(h, "hex")];

// OTLP messages.
export const anyStr = (s: string): Bytes => str(1, s);
export const anyInt = (v: number | bigint): Bytes => vint(3, v);
export const anyArr = (...items: Bytes[]): Bytes => ld(5, items.flatMap((i) => ld(1, i)));
export const anyKv = (...kvs: Bytes[]): Bytes => ld(6, kvs.flatMap((k) => ld(1, k)));
export const kv = (key: string, value: Bytes, junk: Bytes = []): Bytes => [...str(1, key), ...ld(2, value), ...junk];
export const req = (...resourceSpans: Bytes[]): Uint8Array => Uint8Array.from(resourceSpans.flatMap((r) => ld(1, r)));
export const rs = (resource: Bytes | undefined, ...scopeSpans: Bytes[]): Bytes => [
  ...(resource ? ld(1, resource) : []),
  ...scopeSpans.flatMap((s) => ld(2, s)),
];
export const ss = (scope: Bytes | undefined, ...spans: Bytes[]): Bytes => [
  ...(scope ? ld(1, scope) : []),
  ...spans.flatMap((s) => ld(2, s)),
];
