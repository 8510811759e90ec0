/**
 * The review queue against a real embedded ClickHouse: which judged traces belong to an
 * experiment, whether its assessments name the experiment (migration 10) or not (written before
 * their trace arrived, or stored before that migration).
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreClient, type StoreClient } from "../store/clickhouse.js";
import { migrate } from "../store/migrations.js";
import { reviewQueue } from "./review-queue.js";
import { recordQueries } from "../../../test/support/query-recorder.js";

const hex = (s: string, len: number) => createHash("sha256").update(s).digest("hex").slice(0, len);
const tid = (n: string) => hex(`trace:${n}`, 32);
const T0 = 1_780_000_000_000_000_000n;

let store: StoreClient;
let client: ClickHouseClient;
let dir: string;

function span(trace: string, spanId: string, parent: string, startNs: bigint, attrs: Record<string, string>, events: Record<string, string>[] = []) {
  return {
    Timestamp: startNs.toString(), TraceId: tid(trace), SpanId: hex(spanId, 16), ParentSpanId: parent ? hex(parent, 16) : "",
    SpanName: events.length ? "gavel.assessment" : "app", SpanKind: "Internal", ServiceName: events.length ? "gavel" : "svc",
    ResourceAttributes: {}, SpanAttributes: attrs, Duration: "1000000", StatusCode: "Ok", StatusMessage: "",
    "Events.Timestamp": events.map((_, i) => (startNs + BigInt(i)).toString()), "Events.Name": events.map(() => "gen_ai.evaluation.result"),
    "Events.Attributes": events,
  };
}
const judged = (id: string, value: string) => ({
  "gen_ai.evaluation.name": "quality", "gavel.assessment.id": id, "gavel.assessment.kind": "feedback",
  "gavel.assessment.source_type": "LLM_JUDGE", "gavel.assessment.value": JSON.stringify(value),
});
/** An assessment span as Gavel writes it; `experiment` absent when the trace was not stored yet. */
const assessmentSpan = (trace: string, n: number, experiment: string | undefined, value: string, known?: { startNs: bigint; status: string }) =>
  span(
    trace, `${trace}-a${n}`, `${trace}-root`, T0 + 10_000n + BigInt(n),
    {
      "gavel.assessment_span": "true",
      ...(experiment ? { "gavel.experiment_id": experiment } : {}),
      ...(known ? { "gavel.trace.start_ns": known.startNs.toString(), "gavel.trace.status": known.status } : {}),
    },
    [judged(`${trace}-a${n}`, value)],
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gavel-review-"));
  store = await openStoreClient({ dataDir: dir });
  client = store.client;
  await migrate(client);
  const rows = [
    span("A", "A-root", "", T0, { "gavel.experiment_id": "e1" }),
    span("B", "B-root", "", T0 + 1n, { "gavel.experiment_id": "e1" }),
    span("C", "C-root", "", T0 + 2n, { "gavel.experiment_id": "e2" }),
    { ...span("F", "F-root", "", T0 + 3n, { "gavel.experiment_id": "e1" }), StatusCode: "Error" },
    span("G", "G-root", "", T0 + 4n, { "gavel.experiment_id": "e1" }),
    { ...span("H", "H-root", "", T0 + 5n, { "gavel.experiment_id": "e3" }), StatusCode: "Error" },
    span("I", "I-root", "", T0 + 6n, { "gavel.experiment_id": "e3" }),
    span("J", "J-root", "", T0 + 7n, { "gavel.experiment_id": "e3" }),
    assessmentSpan("A", 1, "e1", "good"),
    // Logged before B's root arrived: the writer knew no experiment.
    assessmentSpan("B", 1, undefined, "poor"),
    assessmentSpan("C", 1, "e2", "good"),
    // Written by Gavel with the trace's start and status: read from the assessment, not the trace list.
    assessmentSpan("F", 1, "e1", "good", { startNs: T0 + 3n, status: "ERROR" }),
    assessmentSpan("G", 1, "e1", "good", { startNs: T0 + 4n, status: "OK" }),
    // An experiment whose every assessment knows its trace: the queue never reads the trace list.
    assessmentSpan("H", 1, "e3", "good", { startNs: T0 + 5n, status: "ERROR" }),
    assessmentSpan("I", 1, "e3", "good", { startNs: T0 + 6n, status: "OK" }),
    assessmentSpan("J", 1, "e3", "poor", { startNs: T0 + 7n, status: "OK" }),
    // Judged, but its trace never arrived: not in any experiment's queue.
    assessmentSpan("D", 1, undefined, "good"),
  ];
  await client.insert({ table: "otel_traces", values: rows, format: "JSONEachRow" });
});

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("reviewQueue: an experiment's judged traces", () => {
  it("stores the experiment of each assessment, or '0' when its writer did not know it", async () => {
    const rs = await client.query({ query: "SELECT TraceId, ExperimentId FROM gavel_assessments ORDER BY ExperimentId, TraceId", format: "JSONEachRow" });
    const got = Object.fromEntries((await rs.json<{ TraceId: string; ExperimentId: string }>()).map((r) => [r.TraceId, r.ExperimentId]));
    expect(got).toMatchObject({ [tid("A")]: "e1", [tid("B")]: "0", [tid("C")]: "e2", [tid("D")]: "0", [tid("F")]: "e1", [tid("G")]: "e1", [tid("H")]: "e3" });
  });

  it("queues the traces of the experiment, whether or not their assessments named it", async () => {
    const q = await reviewQueue(client, { experimentId: "e1" });
    // F failed (TRACE_ERROR first); then the rarest value (B: poor, 1 of 4); then newest first.
    expect(q.items.map((i) => [i.traceId, i.reason])).toEqual([
      [tid("F"), "TRACE_ERROR"],
      [tid("B"), "OTHER"],
      [tid("G"), "OTHER"],
      [tid("A"), "OTHER"],
    ]);
    expect(q.items.every((i) => i.trace !== null)).toBe(true);
    expect(q.judges).toMatchObject([{ name: "quality", judged: 4, pending: 4, labeled: 0 }]);
    // A filter on the traces reads them all from the trace list, with the same answer where it matches.
    const failed = await reviewQueue(client, { experimentId: "e1", filter: "trace.status = 'ERROR'" });
    expect(failed.items.map((i) => [i.traceId, i.reason])).toEqual([[tid("F"), "TRACE_ERROR"]]);
  });

  it("orders an experiment whose assessments all know their traces without reading its trace list, the same way", async () => {
    const { client: watching, seen: traceListReads } = recordQueries(client, (sql) =>
      /FROM gavel_traces AS t\s+WHERE t\.ExperimentId = \{q\d+:String\} AND NOT t\.IsJudge/.test(sql),
    );
    const q = await reviewQueue(watching, { experimentId: "e3" });
    // H failed; then J, the rarer value (poor, 1 of 3); then newest first.
    expect(q.items.map((i) => [i.traceId, i.reason])).toEqual([
      [tid("H"), "TRACE_ERROR"],
      [tid("J"), "OTHER"],
      [tid("I"), "OTHER"],
    ]);
    expect(traceListReads).toEqual([]);
    // With a filter the trace list is read, and the answer agrees.
    const filtered = await reviewQueue(watching, { experimentId: "e3", filter: "trace.status != 'ERROR'" });
    expect(filtered.items.map((i) => i.traceId)).toEqual([tid("J"), tid("I")]);
    expect(traceListReads).toHaveLength(1);
    const e2 = await reviewQueue(client, { experimentId: "e2" });
    expect(e2.items.map((i) => i.traceId)).toEqual([tid("C")]);
    expect((await reviewQueue(client, { experimentId: "0" })).items).toEqual([]);
  });
});
