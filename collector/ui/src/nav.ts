import { api } from "./api";

/**
 * The ordered list a trace was opened from (a Traces page or the review queue), kept in
 * sessionStorage so "next trace" and "previous trace" work on the trace page and after a reload.
 */
export interface NavContext {
  experimentId: string;
  ids: string[];
  /** The search that produced `ids`, to fetch the following page by keyset. */
  search?: { filter?: string; orderBy?: string[]; maxResults: number };
  nextPageToken?: string;
  backHref: string;
  label: string;
}

const KEY = "gavel.nav";

export function saveNav(ctx: NavContext): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(ctx));
  } catch {
    /* storage full or disabled: next/previous fall back to the trace list */
  }
}

export function loadNav(experimentId: string): NavContext | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const ctx = JSON.parse(raw) as NavContext;
    return ctx.experimentId === experimentId ? ctx : null;
  } catch {
    return null;
  }
}

/** The trace after or before `traceId`; fetches the next page when the list runs out. */
export async function neighbour(ctx: NavContext, traceId: string, dir: 1 | -1): Promise<string | null> {
  const i = ctx.ids.indexOf(traceId);
  if (i < 0) return null;
  const j = i + dir;
  if (j >= 0 && j < ctx.ids.length) return ctx.ids[j]!;
  if (dir === 1 && ctx.search && ctx.nextPageToken) {
    const page = await api.searchTraces({ experimentIds: [ctx.experimentId], ...ctx.search, pageToken: ctx.nextPageToken });
    const more = page.traces.map((t) => t.info.traceId).filter((id) => !ctx.ids.includes(id));
    ctx.ids.push(...more);
    ctx.nextPageToken = page.nextPageToken;
    saveNav(ctx);
    return more[0] ?? null;
  }
  return null;
}
