import { useEffect, useSyncExternalStore } from "react";
import { api, onAuthChange } from "./api";

/**
 * What the server and the current API key allow, from GET /api/v1/auth/whoami. Controls
 * that need a role the key lacks are disabled with the reason, instead of failing on click.
 */
export interface Auth {
  loaded: boolean;
  authRequired: boolean;
  /** null: no key, or a key the server does not know. */
  roles: string[] | null;
}

let state: Auth = { loaded: false, authRequired: false, roles: null };
const listeners = new Set<() => void>();
let inflight: Promise<void> | null = null;

export function refreshAuth(): Promise<void> {
  inflight ??= api
    .whoami()
    .then(
      (w) => {
        state = { loaded: true, authRequired: w.authRequired, roles: w.roles };
      },
      () => {
        state = { ...state, loaded: true };
      },
    )
    .finally(() => {
      inflight = null;
      listeners.forEach((l) => l());
    });
  return inflight;
}
onAuthChange(() => void refreshAuth());

export function useAuth(): Auth {
  const s = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
  useEffect(() => {
    if (!state.loaded) void refreshAuth();
  }, []);
  return s;
}

/** True when the key may do `role` (or the server has no keys). */
export function can(auth: Auth, role: "read" | "write" | "admin" | "ingest"): boolean {
  if (!auth.authRequired) return true;
  return auth.roles?.includes(role) ?? false;
}

export const ROLE_TEXT: Record<string, string> = {
  read: "browse experiments, traces and assessments; run read-only SQL",
  write: "add feedback (human labels) and overrides; start runs",
  admin: "everything, including deleting assessments, registering judges, sampling and alignment",
  ingest: "send traces over OTLP",
};
