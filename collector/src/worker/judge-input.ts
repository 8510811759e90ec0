import type { ClickHouseClient } from "@clickhouse/client";
import { MLFLOW_SESSION_KEY, type Judge, type JudgeCallArgs, type JudgeTrace } from "@gavel/judges";
import { getSpans, parsePayload, toTraceInfo } from "../store/queries/traces.js";
import { fillTracePayloads } from "../store/queries/trace-io.js";
import type { Candidate } from "./candidates.js";

/** What a judge is called with for one trace, or why it cannot be. */
export type JudgeInput = { args: JudgeCallArgs } | { missing: string };

/**
 * The judge's arguments for a batch of traces, in one query per kind of data: inputs and
 * outputs come with the candidates; expectations (the trace's expectation assessments,
 * by name) and the full span tree are read only when the instructions use them.
 */
export async function loadJudgeInputs(client: ClickHouseClient, judge: Judge, batch: Candidate[]): Promise<Map<string, JudgeInput>> {
  const ids = batch.map((c) => c.traceId);
  // Inputs/outputs the root span did not carry come from the trace's other spans.
  await fillTracePayloads(client, batch.map((c) => c.summary));
  const vars = judge.templateVariables;
  const [expectations, spans] = await Promise.all([
    vars.includes("expectations") ? loadExpectations(client, ids) : undefined,
    vars.includes("trace") ? getSpans(client, ids) : undefined,
  ]);
  const out = new Map<string, JudgeInput>();
  for (const c of batch) {
    if (vars.includes("conversation")) {
      out.set(c.traceId, {
        missing: `judge "${judge.name}" uses {{ conversation }}, which needs a whole session; a backfill judges one trace at a time. The online worker scores its sessions once they settle (GAVEL_SESSION_SETTLE_MS, docs/online-scoring.md); for older sessions call evaluate() on their traces.`,
      });
      continue;
    }
    const args: JudgeCallArgs = { inputs: parsePayload(c.summary.inputs), outputs: parsePayload(c.summary.outputs) };
    if (expectations) {
      const e = expectations.get(c.traceId);
      if (!e) {
        out.set(c.traceId, { missing: `the trace has no expectations by a person (HUMAN source), and judge "${judge.name}" uses {{ expectations }}. Log one with logExpectation().` });
        continue;
      }
      args.expectations = e;
    }
    // The trace's info goes along even when {{ trace }} is not used: a judge that finds no
    // content then says where in the trace Gavel looked (and is not called).
    const trace: JudgeTrace = { info: toTraceInfo(c.summary), ...(spans ? { data: { spans: spans.get(c.traceId) ?? [] } } : {}) };
    args.trace = trace;
    out.set(c.traceId, { args });
  }
  return out;
}

interface ExpectationRow {
  TraceId: string;
  Name: string;
  Value: string;
  Metadata: string;
}

/** The valid HUMAN expectation assessments of these traces, oldest first. */
async function humanExpectations(client: ClickHouseClient, traceIds: string[]): Promise<ExpectationRow[]> {
  const rs = await client.query({
    query: `SELECT TraceId, Name, Value, Metadata FROM gavel_assessments FINAL
WHERE TraceId IN {ids:Array(String)} AND Kind = 'expectation' AND SourceType = 'HUMAN' AND Valid AND NOT Deleted ORDER BY CreatedAt`,
    query_params: { ids: traceIds },
    format: "JSONEachRow",
  });
  return rs.json<ExpectationRow>();
}

/** Valid HUMAN expectations per trace as `{ name: value }` (as MLflow); the newest wins when a name repeats. */
async function loadExpectations(client: ClickHouseClient, traceIds: string[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of await humanExpectations(client, traceIds)) {
    let m = out.get(r.TraceId);
    if (!m) out.set(r.TraceId, (m = {}));
    m[r.Name] = parsePayload(r.Value);
  }
  return out;
}

/**
 * The argument of a `{{ conversation }}` judge for one session: `session`, its traces oldest
 * first as evaluate() passes them (info with inputs, outputs and metadata; the trace's
 * expectation assessments when the instructions use {{ expectations }}).
 */
export async function loadSessionInput(client: ClickHouseClient, judge: Judge, sessionId: string, traces: Candidate[]): Promise<JudgeInput> {
  await fillTracePayloads(client, traces.map((c) => c.summary));
  const ids = traces.map((c) => c.traceId);
  const vars = judge.templateVariables;
  const [assessments, spans] = await Promise.all([
    vars.includes("expectations") ? loadSessionExpectations(client, ids) : undefined,
    vars.includes("trace") ? getSpans(client, ids) : undefined,
  ]);
  // The session id as MLflow's metadata key, also for turns that carry it as session.id or
  // gen_ai.conversation.id (the judge checks every turn names the same session).
  const session = traces.map((c) => ({
    info: { ...toTraceInfo(c.summary), metadata: { ...c.summary.metadata, [MLFLOW_SESSION_KEY]: sessionId } },
    data: { spans: spans?.get(c.traceId) ?? [] },
    ...(assessments ? { assessments: assessments.get(c.traceId) ?? [] } : {}),
  }));
  return { args: { session } as JudgeCallArgs };
}

/** Valid HUMAN expectations of these traces with their metadata (session-scoped ones name the session there). */
async function loadSessionExpectations(client: ClickHouseClient, traceIds: string[]): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const r of await humanExpectations(client, traceIds)) {
    let list = out.get(r.TraceId);
    if (!list) out.set(r.TraceId, (list = []));
    list.push({ kind: "expectation", name: r.Name, value: parsePayload(r.Value), valid: true, source: { sourceType: "HUMAN" }, metadata: parsePayload(r.Metadata) ?? {} });
  }
  return out;
}
