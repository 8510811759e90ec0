import { describe, expect, it } from "vitest";
import { useGavel } from "../support/use-gavel.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";

// Issue 11, item 4: queries that fail after they started writing output (chDB keeps that output
// for the session's next result) made concurrent SQL calls answer 400 "Expected property name…"
// and concurrent GET /api/v1/traces/:id answer 500. User SQL now runs on sessions of its own,
// one query at a time each, drained after a failure.
const gavelOf = useGavel();

async function sql(query: string) {
  const res = await fetch(`${gavelOf().url}/api/v1/sql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as { rows?: Record<string, unknown>[]; error?: { code: string; message: string } } };
}

describe("a failing user query does not reach other requests", () => {
  it("answers ~90 concurrent SQL calls, failing and good, and 10 trace reads, each with its own answer", async () => {
    const spans = makeSpans(10);
    const ingest = await fetch(`${gavelOf().url}/v1/traces`, {
      method: "POST",
      body: protobufBody(spans),
      headers: { "content-type": "application/x-protobuf" },
    });
    expect(ingest.status).toBe(200);
    const traceIds = [...new Set(spans.map((s) => s.spanContext().traceId))].slice(0, 10);

    // Each fails after the first blocks of output were written: a division by zero, a cast.
    const failing = (i: number) =>
      i % 2 === 0
        ? `SELECT number, intDiv(1, number - ${70_000 + i}) AS x FROM numbers(300000)`
        : `SELECT number, toUInt8(if(number = ${80_000 + i}, 'x', '1')) AS x FROM numbers(300000)`;
    const good = (i: number) => `SELECT ${i} AS i, number AS n, concat('row-', toString(number)) AS s FROM numbers(${(i % 7) + 1})`;

    const sqlCalls = Array.from({ length: 90 }, (_, i) => {
      const ok = i % 3 !== 0;
      return sql(ok ? good(i) : failing(i)).then((r) => ({ i, ok, r }));
    });
    const traceCalls = traceIds.map((id) =>
      fetch(`${gavelOf().url}/api/v1/traces/${id}`).then(async (res) => ({ id, status: res.status, body: (await res.json()) as Record<string, unknown> })),
    );
    const [sqlAnswers, traceAnswers] = await Promise.all([Promise.all(sqlCalls), Promise.all(traceCalls)]);

    const wrong: string[] = [];
    for (const { i, ok, r } of sqlAnswers) {
      if (ok) {
        const expected = Array.from({ length: (i % 7) + 1 }, (_, n) => ({ i, n: String(n), s: `row-${n}` }));
        if (r.status !== 200 || JSON.stringify(r.body.rows) !== JSON.stringify(expected)) wrong.push(`good ${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      } else if (r.status !== 400 || r.body.error?.code !== "SQL_ERROR" || !/Division by zero|ILLEGAL_DIVISION|Cannot parse|CANNOT_PARSE/i.test(r.body.error.message)) {
        wrong.push(`failing ${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }
    for (const t of traceAnswers) {
      if (t.status !== 200 || !JSON.stringify(t.body).includes(t.id)) wrong.push(`trace ${t.id}: ${t.status} ${JSON.stringify(t.body).slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
    expect(sqlAnswers.filter((a) => !a.ok)).toHaveLength(30);
  });
});
