import { createHash, timingSafeEqual } from "node:crypto";

export const ROLES = ["ingest", "read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];

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

/** The key from `Authorization: Bearer <key>`, or Basic auth (key as password, or as user with no password). */
export function presentedKey(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === "bearer") return value.trim();
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return decoded;
    const pass = decoded.slice(colon + 1);
    return pass !== "" ? pass : decoded.slice(0, colon);
  }
  return undefined;
}
