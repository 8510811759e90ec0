import { createHash, timingSafeEqual } from "node:crypto";

export const ROLES = ["ingest", "read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];

// RFC 6750 section 2.1: the characters of a bearer token (b64token).
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What each role may also do: admin can do everything, write can read. */
const IMPLIES: Record<Role, Role[]> = {
  ingest: ["ingest"],
  read: ["read"],
  write: ["write", "read"],
  admin: ["admin", "write", "read", "ingest"],
};

export interface ApiKey {
  /** sha256 of the key: the key itself is never kept or logged. */
  digest: Buffer;
  roles: Set<Role>;
  /** "key #2" — how errors and logs refer to it. */
  label: string;
}

export class ApiKeyConfigError extends Error {
  override name = "ApiKeyConfigError";
}

const digest = (key: string) => createHash("sha256").update(key, "utf8").digest();

/**
 * GAVEL_API_KEYS: comma-separated `<key>:<role>[+<role>…]`, e.g.
 * `k9f…:ingest,7ab…:read+write,c3d…:admin`. Keys are at least 16 characters.
 */
export function parseApiKeys(raw: string | undefined): ApiKey[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw.split(",").map((entry, i) => {
    const label = `key #${i + 1}`;
    const at = entry.lastIndexOf(":");
    if (at <= 0) throw new ApiKeyConfigError(`GAVEL_API_KEYS entry ${i + 1} is not <key>:<roles> (example: "$(openssl rand -hex 24):admin").`);
    const key = entry.slice(0, at).trim();
    const roles = entry.slice(at + 1).split("+").map((r) => r.trim().toLowerCase());
    if (key.length < 16) throw new ApiKeyConfigError(`GAVEL_API_KEYS ${label} is shorter than 16 characters; use a long random key (openssl rand -hex 24).`);
    if (!B64TOKEN.test(key)) throw new ApiKeyConfigError(`GAVEL_API_KEYS ${label} has characters a bearer token cannot carry (RFC 6750 allows letters, digits and - . _ ~ + /); use a random hex key (openssl rand -hex 24).`);
    const bad = roles.find((r) => !(ROLES as readonly string[]).includes(r));
    if (bad !== undefined) throw new ApiKeyConfigError(`GAVEL_API_KEYS ${label} has unknown role "${bad}"; roles are ${ROLES.join(", ")} (join several with +).`);
    const granted = new Set<Role>(roles.flatMap((r) => IMPLIES[r as Role]));
    return { digest: digest(key), roles: granted, label };
  });
}

/** Finds the key in constant time per configured key, comparing digests so lengths never leak. */
export function findKey(keys: ApiKey[], presented: string): ApiKey | undefined {
  const d = digest(presented);
  let found: ApiKey | undefined;
  for (const k of keys) {
    if (timingSafeEqual(k.digest, d) && !found) found = k;
  }
  return found;
}


export type Authorization = { kind: "none" } | { kind: "key"; key: string } | { kind: "malformed"; reason: string };

/**
 * The `Authorization` header, parsed strictly: `Bearer <key>` (RFC 6750: one token, nothing
 * after it) or `Basic base64(user:password)` (RFC 7617) with the key as password, or as user
 * with an empty password (what OTLP exporters configured with a user name send).
 */
export function readAuthorization(header: string | undefined): Authorization {
  if (header === undefined || header === "") return { kind: "none" };
  const m = /^([A-Za-z]+) +(\S+)$/.exec(header);
  if (!m) return { kind: "malformed", reason: 'expected "Bearer <key>" or "Basic <base64 of user:key>", with nothing after the credentials' };
  const scheme = m[1]!.toLowerCase();
  const value = m[2]!;
  if (scheme === "bearer") {
    if (!B64TOKEN.test(value)) return { kind: "malformed", reason: "the bearer token has characters RFC 6750 does not allow" };
    return { kind: "key", key: value };
  }
  if (scheme === "basic") {
    const decoded = BASE64.test(value) && value.length % 4 === 0 ? Buffer.from(value, "base64") : null;
    if (!decoded || decoded.toString("base64") !== value) return { kind: "malformed", reason: "the Basic credentials are not valid base64" };
    const text = decoded.toString("utf8");
    const colon = text.indexOf(":");
    if (colon < 0) return { kind: "malformed", reason: 'the Basic credentials are not "user:password" (RFC 7617)' };
    const user = text.slice(0, colon);
    const pass = text.slice(colon + 1);
    const key = pass !== "" ? pass : user;
    if (key === "") return { kind: "malformed", reason: "the Basic credentials hold no key" };
    return { kind: "key", key };
  }
  return { kind: "malformed", reason: `the "${m[1]}" scheme is not supported; use Bearer or Basic` };
}

/** The key a request presents, or undefined when it presents none or a malformed header. */
export function presentedKey(header: string | undefined): string | undefined {
  const auth = readAuthorization(header);
  return auth.kind === "key" ? auth.key : undefined;
}
