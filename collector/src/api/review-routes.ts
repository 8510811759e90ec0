import { z } from "zod";
import type { Store } from "../store/store.js";
import { AssessmentStore } from "../assessments/assessment-store.js";
import { REVIEW_MAX_LIMIT, reviewQueue } from "../review/review-queue.js";
import { SearchRequestError } from "../search/errors.js";
import { ApiError, parseInput } from "./errors.js";
import { route, strictRouter } from "../server/routes.js";

const Query = z
  .object({
    name: z.string().min(1).max(256).optional(),
    filter: z.string().max(10_000).optional(),
    limit: z.coerce.number().int().min(1).max(REVIEW_MAX_LIMIT, `limit is at most ${REVIEW_MAX_LIMIT}; page with pageToken`).optional(),
    pageToken: z.string().max(4096).optional(),
  })
  .strict();

/** `GET /experiments/:experimentId/review-queue`: what a human should label next (docs/rest-api.md). */
export function reviewRouter(store: Store) {
  const r = strictRouter();
  const assessments = new AssessmentStore(store);
  route(r, "GET", "/experiments/:experimentId/review-queue", "read", async (req, res) => {
    const q = parseInput(Query, req.query, "query");
    let page;
    try {
      page = await reviewQueue(store.client, { experimentId: req.params.experimentId, ...q });
    } catch (err) {
      if (err instanceof SearchRequestError) throw new ApiError(err.status, err.code, err.message, err.field);
      throw err;
    }
    const assessed = await assessments.forTraces([...new Set(page.items.map((i) => i.traceId))]);
    res.json({ ...page, items: page.items.map((i) => ({ ...i, assessments: assessed.get(i.traceId) ?? [] })) });
  });
  return r;
}
