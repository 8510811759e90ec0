/**
 * The page-token codec of every keyset-paged read (trace search, the review queue): base64url
 * JSON of `{ v: 1, h, k }`, where `h` identifies the search the token belongs to and `k` holds
 * the sort-key values of the last row returned. Callers check the values' types themselves.
 */
export interface PageToken {
  v: 1;
  /** Hash of the search the token belongs to. */
  h: string;
  /** Sort-key values of the last row returned, in key order. */
  k: unknown[];
}

export function encodePageToken(hash: string, keys: unknown[]): string {
  const t: PageToken = { v: 1, h: hash, k: keys };
  return Buffer.from(JSON.stringify(t)).toString("base64url");
}

/**
 * The token's parts, or `undefined` when it is not a well-formed token of this codec (truncated,
 * edited, not base64url). Whether it belongs to the caller's search (`h`) is the caller's check.
 */
export function decodePageToken(token: string): PageToken | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let t: Partial<PageToken> | undefined;
  try {
    t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<PageToken>;
  } catch {
    return undefined;
  }
  if (!t || typeof t !== "object" || t.v !== 1 || typeof t.h !== "string" || !Array.isArray(t.k)) return undefined;
  return t as PageToken;
}
