import { Router } from "express";
import { z } from "zod";
import type { Store } from "../store/store.js";
import { getSpans, getTrace, toTraceInfo, type TraceJson } from "../store/queries/traces.js";
import { searchTraceSummaries, InvalidPageTokenError } from "../search/trace-search.js";
import { FilterSyntaxError } from "../search/filter-parser.js";
import { ApiError, parseInput } from "./errors.js";

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

export function tracesRouter(store: Store): Router {
  const r = Router();
  r.post("/traces/search", async (req, res) => {
    const body = parseInput(SearchRequest, req.body);
    let page;
    try {
      page = await searchTraceSummaries(store.client, body);
    } catch (err) {
      if (err instanceof FilterSyntaxError) throw new ApiError(400, "INVALID_FILTER", err.message, "filter");
      if (err instanceof InvalidPageTokenError) throw new ApiError(400, "INVALID_PAGE_TOKEN", err.message, "pageToken");
      throw err;
    }
    const spans = body.includeSpans ? await getSpans(store.client, page.rows.map((t) => t.traceId)) : null;
    const traces: TraceJson[] = page.rows.map((row) => ({
      info: toTraceInfo(row),
      data: { spans: spans?.get(row.traceId) ?? [] },
    }));
    res.json({ traces, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) });
  });
  r.get("/traces/:traceId", async (req, res) => {
    const id = req.params.traceId.toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(id)) {
      throw new ApiError(400, "INVALID_TRACE_ID", `"${req.params.traceId}" is not a trace id: expected 32 hex characters.`, "traceId");
    }
    const trace = await getTrace(store.client, id);
    if (!trace) throw new ApiError(404, "NOT_FOUND", `Trace ${id} is not stored (yet). Spans appear once the app's exporter has flushed them.`);
    res.json(trace);
  });
  return r;
}
