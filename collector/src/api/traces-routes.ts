import { z } from "zod";
import type { Store } from "../store/store.js";
import { getSpans, getTrace, toTraceInfo, type TraceJson } from "../store/queries/traces.js";
import { searchTraceSummaries } from "../search/trace-search.js";
import { SearchRequestError } from "../search/errors.js";
import { ApiError, parseInput } from "./errors.js";
import { route, strictRouter } from "../server/routes.js";
import type { AssessmentStore } from "../assessments/assessment-store.js";

const SearchRequest = z
  .object({
    experimentIds: z.array(z.string().min(1)).max(100).optional(),
    filter: z.string().max(10_000).optional(),
    orderBy: z.array(z.string().max(100)).max(5).optional(),
    maxResults: z.number().int().min(1).max(1000, "maxResults is at most 1000; page with pageToken").optional(),
    pageToken: z.string().max(4096).optional(),
    includeSpans: z.boolean().optional(),
  })
  .strict();

export function tracesRouter(store: Store, assessments: AssessmentStore) {
  const r = strictRouter();
  route(r, "POST", "/traces/search", "read", async (req, res) => {
    const body = parseInput(SearchRequest, req.body);
    let page;
    try {
      page = await searchTraceSummaries(store.client, body);
    } catch (err) {
      if (err instanceof SearchRequestError) throw new ApiError(err.status, err.code, err.message, err.field);
      throw err;
    }
    const ids = page.rows.map((t) => t.traceId);
    const [spans, assessed] = await Promise.all([
      body.includeSpans ? getSpans(store.client, ids) : Promise.resolve(null),
      assessments.forTraces(ids),
    ]);
    const traces: TraceJson[] = page.rows.map((row) => ({
      info: toTraceInfo(row),
      data: { spans: spans?.get(row.traceId) ?? [] },
      assessments: assessed.get(row.traceId) ?? [],
    }));
    res.json({ traces, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) });
  });
  route(r, "GET", "/traces/:traceId", "read", async (req, res) => {
    const id = req.params.traceId.toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(id)) {
      throw new ApiError(400, "INVALID_TRACE_ID", `"${req.params.traceId}" is not a trace id: expected 32 hex characters.`, "traceId");
    }
    const [trace, assessed] = await Promise.all([getTrace(store.client, id), assessments.forTraces([id])]);
    if (!trace) throw new ApiError(404, "NOT_FOUND", `Trace ${id} is not stored (yet). Spans appear once the app's exporter has flushed them.`);
    res.json({ ...trace, assessments: assessed.get(id) ?? [] });
  });
  return r;
}
