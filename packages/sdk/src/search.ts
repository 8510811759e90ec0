import { GavelApiError, request, seg } from "./client.js";
import { flush } from "./init.js";
import { state } from "./state.js";
import { Trace, type TraceJson } from "./trace-object.js";

export interface SearchTracesOptions {
  /** Default: the current experiment (setExperiment), else every experiment. */
  experimentIds?: string[];
  /** MLflow filter syntax, e.g. `trace.status = 'ERROR' AND tag.env = 'prod'`. */
  filter?: string;
  /** e.g. `["timestamp_ms DESC"]` (the default). */
  orderBy?: string[];
  /** Default 100, at most 1000; page with `pageToken`. */
  maxResults?: number;
  pageToken?: string;
  /**
   * Only the run's traces: those made inside it and those linked to it (linkTracesToRun), as
   * MLflow's `search_traces(run_id=…)`. Added to `filter` with AND; without `experimentIds`
   * the run's experiment is searched.
   */
  runId?: string;
}

/** An export failure is not the search's: the REST call that follows reports an unreachable collector. */
async function flushQuietly(): Promise<void> {
  try {
    await flush();
  } catch {
    // see above
  }
}

/** A string literal of the filter language. */
function quoteFilterString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Traces of a search page; `nextPageToken` is set when more traces match. */
export type TraceList = Trace[] & { nextPageToken?: string };

/**
 * Search traces, with their spans and assessments. Spans this process has ended but not yet
 * exported are flushed first, so a trace made just before is found.
 */
export async function searchTraces(opts: SearchTracesOptions = {}): Promise<TraceList> {
  await flushQuietly();
  let experimentIds = opts.experimentIds ?? (state.experimentId !== undefined ? [state.experimentId] : undefined);
  let filter = opts.filter;
  if (opts.runId !== undefined) {
    if (opts.experimentIds === undefined) {
      const run = await request<{ experimentId: string }>("GET", `/api/v1/runs/${seg(opts.runId)}`);
      experimentIds = [run.experimentId];
    }
    const byRun = `trace.run_id = ${quoteFilterString(opts.runId)}`;
    filter = filter && filter.trim() !== "" ? `${filter} AND ${byRun}` : byRun;
  }
  const r = await request<{ traces: TraceJson[]; nextPageToken?: string }>("POST", "/api/v1/traces/search", {
    experimentIds,
    filter,
    orderBy: opts.orderBy,
    maxResults: opts.maxResults,
    pageToken: opts.pageToken,
    includeSpans: true,
  });
  const list: TraceList = r.traces.map((t) => new Trace(t));
  if (r.nextPageToken) list.nextPageToken = r.nextPageToken;
  return list;
}

/** The trace with its spans, or null when the collector does not have it. */
export async function getTrace(traceId: string): Promise<Trace | null> {
  await flushQuietly();
  try {
    return new Trace(await request<TraceJson>("GET", `/api/v1/traces/${seg(traceId)}`));
  } catch (err) {
    if (err instanceof GavelApiError && err.status === 404) return null;
    throw err;
  }
}
