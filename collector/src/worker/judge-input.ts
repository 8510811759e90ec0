import type { ClickHouseClient } from "@clickhouse/client";
import type { Judge, JudgeCallArgs, JudgeTrace } from "@gavel/judges";
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
        missing: `judge "${judge.name}" uses {{ conversation }}, which needs a whole session; online scoring judges one trace at a time. Call it with judge({ session }) on the session's traces.`,
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

/** Valid HUMAN expectations per trace as `{ name: value }` (as MLflow); the newest wins when a name repeats. */
async function loadExpectations(client: ClickHouseClient, traceIds: string[]): Promise<Map<string, Record<string, unknown>>> {
  const rs = await client.query({
    query: `SELECT TraceId, Name, Value FROM gavel_assessments FINAL
WHERE TraceId IN {ids:Array(String)} AND Kind = 'expectation' AND SourceType = 'HUMAN' AND Valid AND NOT Deleted ORDER BY CreatedAt`,
    query_params: { ids: traceIds },
    format: "JSONEachRow",
  });
  const out = new Map<string, Record<string, unknown>>();
  for (const r of await rs.json<{ TraceId: string; Name: string; Value: string }>()) {
    let m = out.get(r.TraceId);
    if (!m) out.set(r.TraceId, (m = {}));
    m[r.Name] = parsePayload(r.Value);
  }
  return out;
}
