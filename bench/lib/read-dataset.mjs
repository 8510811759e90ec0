// The read benchmark's data set, generated inside the engine by INSERT … SELECT FROM numbers():
// realistic four-span LLM traces (agent root, LLM call, tool, retriever) over 27 days in several
// experiments, with sessions, errors, varied models and token counts, the judges' own one-span
// traces, and judge and human assessments stored the way Gavel stores them (assessment spans
// carrying `gen_ai.evaluation.result` events). The inserts go into `otel_traces`, so every
// materialized view of the schema runs on them exactly as on OTLP ingest; one insert per day
// (one partition each), ~150k spans an insert. Deterministic: the same arguments give the same rows.
import { createHash } from "node:crypto";

export const DAY_MS = 86_400_000;

/** Experiments and their shares of the traces, in percent. */
export const EXPERIMENTS = [
  { name: "support-bot-production", share: 55 },
  { name: "support-bot-staging", share: 20 },
  { name: "sales-assistant", share: 15 },
  { name: "nightly-regression", share: 10 },
];
export const experimentIdFor = (name) => createHash("sha256").update(name, "utf8").digest("hex").slice(0, 16);

/** The model of the LLM span: half gpt-4o-mini, the rest split between three others. */
export const MODELS = ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b"];
/** One trace in `ZEBRA_EVERY` mentions a zebra in its question (for `trace.text LIKE '%zebra%'`). */
export const ZEBRA_EVERY = 2000;
/** Traces of the first experiment with a judge assessment: one in `JUDGED_EVERY`; half of them also have a human label. */
export const JUDGED_EVERY = 137;

const WORDS = ("the a judge answer question customer refund policy order shipping delay because please thanks account " +
  "billing invoice product warranty return window days support password reset export report dashboard limit plan upgrade").split(" ");
const sqlList = (xs) => `[${xs.map((x) => `'${x}'`).join(", ")}]`;

/** SQL of the per-trace values, for trace numbers in [from, from + count). */
function traceValues(from, count, t0Ms, stepNs) {
  const exp = EXPERIMENTS.map((e) => `'${experimentIdFor(e.name)}'`);
  let acc = 0;
  const branches = EXPERIMENTS.slice(0, -1).map((e, i) => `h % 100 < ${(acc += e.share)}, ${exp[i]}`);
  const words = (salt, n) => `arrayStringConcat(arrayMap(i -> W[1 + cityHash64(n, '${salt}', i) % length(W)], range(${n})), ' ')`;
  return `SELECT n, h,
    multiIf(${branches.join(", ")}, ${exp[exp.length - 1]}) AS exp,
    lower(hex(MD5(concat('t', toString(n))))) AS tid,
    substring(lower(hex(MD5(concat('r', toString(n))))), 1, 16) AS root,
    ${sqlList(MODELS)}[1 + cityHash64(n, 'm') % ${MODELS.length}] AS model,
    concat('sess-', lower(hex(cityHash64(intDiv(n, 5), 's')))) AS sess,
    cityHash64(n, 'e') % 100 < 3 AS err,
    concat(${words("q", 14)}, if(cityHash64(n, 'z') % ${ZEBRA_EVERY} = 0, ' zebra', ''), '?') AS question,
    ${words("a", 24)} AS answer,
    200 + cityHash64(n, 'it') % 1800 AS inTok,
    20 + cityHash64(n, 'ot') % 400 AS outTok,
    toInt64(${t0Ms}) * 1000000 + toInt64(n) * ${stepNs} AS ts,
    50000000 + cityHash64(n, 'd') % 4000000000 AS llmDur
  FROM (SELECT number AS n, cityHash64(number, 'x') AS h, ${sqlList(WORDS)} AS W FROM numbers(${from}, ${count}))`;
}

const COLUMNS = "Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName, ResourceAttributes, " +
  "ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage, `Events.Timestamp`, `Events.Name`, `Events.Attributes`, " +
  "`Links.TraceId`, `Links.SpanId`, `Links.TraceState`, `Links.Attributes`";

const RESOURCE = `map('service.name', 'support-bot', 'service.version', '1.4.2', 'deployment.environment', 'production',
  'telemetry.sdk.language', 'nodejs', 'telemetry.sdk.name', 'opentelemetry', 'telemetry.sdk.version', '2.12.1',
  'host.name', 'ip-10-0-3-17', 'process.pid', '4242')`;

/** The four spans of traces [from, from + count). */
export function spansInsert(from, count, t0Ms, stepNs) {
  return `INSERT INTO otel_traces (${COLUMNS})
SELECT
  fromUnixTimestamp64Nano(ts + pos * 5000000) AS Timestamp,
  tid AS TraceId,
  if(pos = 0, root, substring(lower(hex(MD5(concat('s', toString(n), '-', toString(pos))))), 1, 16)) AS SpanId,
  if(pos = 0, '', root) AS ParentSpanId,
  '' AS TraceState,
  ['support_agent', concat('chat ', model), 'lookup_order', 'retrieve_docs'][pos + 1] AS SpanName,
  if(pos = 1, 'Client', 'Internal') AS SpanKind,
  'support-bot' AS ServiceName,
  ${RESOURCE} AS ResourceAttributes,
  'gavel' AS ScopeName, '0.1.0' AS ScopeVersion,
  multiIf(
    pos = 0, map('gavel.span_type', 'AGENT', 'gavel.experiment_id', exp, 'session.id', sess, 'gavel.tag.channel', ['web', 'email', 'chat'][1 + h % 3],
      'gavel.inputs', toJSONString(map('question', question)), 'gavel.outputs', toJSONString(map('answer', answer))),
    pos = 1, map('gavel.span_type', 'LLM', 'gavel.experiment_id', exp, 'session.id', sess,
      'gen_ai.system', if(startsWith(model, 'claude'), 'anthropic', if(startsWith(model, 'llama'), 'meta', 'openai')),
      'gen_ai.operation.name', 'chat', 'gen_ai.request.model', model, 'gen_ai.response.model', model,
      'gen_ai.request.temperature', '0.2', 'gen_ai.request.max_tokens', '1024',
      'gen_ai.usage.input_tokens', toString(inTok), 'gen_ai.usage.output_tokens', toString(outTok),
      'gen_ai.response.finish_reasons', '["stop"]',
      'gavel.inputs', concat('{"messages":[{"role":"system","content":"You are a support agent."},{"role":"user","content":', toJSONString(question), '}]}'),
      'gavel.outputs', concat('{"role":"assistant","content":', toJSONString(answer), '}')),
    pos = 2, map('gavel.span_type', 'TOOL', 'gavel.experiment_id', exp, 'session.id', sess, 'tool.name', 'lookup_order',
      'gavel.inputs', concat('{"order_id":"', toString(n % 100000), '"}'), 'gavel.outputs', concat('{"status":"', ['shipped', 'delayed', 'returned'][1 + h % 3], '"}')),
    map('gavel.span_type', 'RETRIEVER', 'gavel.experiment_id', exp, 'session.id', sess,
      'gavel.inputs', toJSONString(map('query', question)), 'gavel.outputs', concat('[{"doc":"policy-', toString(h % 40), '","score":0.8}]'))
  ) AS SpanAttributes,
  multiIf(pos = 0, llmDur + 120000000, pos = 1, llmDur, 20000000 + h % 80000000) AS Duration,
  multiIf(pos = 0 AND err, 'Error', pos = 1 AND err, 'Error', pos <= 1, 'Ok', 'Unset') AS StatusCode,
  if(pos <= 1 AND err, 'upstream timeout', '') AS StatusMessage,
  if(pos = 1, [fromUnixTimestamp64Nano(ts + 5001000), fromUnixTimestamp64Nano(ts + 5002000)], []) AS \`Events.Timestamp\`,
  if(pos = 1, ['gen_ai.content.prompt', 'gen_ai.content.completion'], []) AS \`Events.Name\`,
  if(pos = 1, [map('gen_ai.prompt', substring(question, 1, 80)), map('gen_ai.completion', substring(answer, 1, 80))], []) AS \`Events.Attributes\`,
  [] AS \`Links.TraceId\`, [] AS \`Links.SpanId\`, [] AS \`Links.TraceState\`, [] AS \`Links.Attributes\`
FROM (${traceValues(from, count, t0Ms, stepNs)})
ARRAY JOIN [0, 1, 2, 3] AS pos`;
}

/**
 * For judged traces of the first experiment: the judge's own one-span LLM trace, and the
 * assessment spans (judge; for half of them also a human) as Gavel's assessment writer makes them.
 */
export function judgementsInsert(from, count, t0Ms, stepNs) {
  const e1 = experimentIdFor(EXPERIMENTS[0].name);
  const judged = `SELECT * FROM (${traceValues(from, count, t0Ms, stepNs)}) WHERE exp = '${e1}' AND cityHash64(n, 'j') % ${JUDGED_EVERY} = 0`;
  // The judge's verdict: mostly good, some poor; humans agree four times in five.
  const attrs = (source) => {
    const value = source === "HUMAN"
      ? "if(cityHash64(n, 'agree') % 5 = 0, ['good', 'ok', 'poor'][1 + cityHash64(n, 'hv') % 3], jv)"
      : "jv";
    return `map('gen_ai.evaluation.name', 'quality',
      'gavel.assessment.id', concat('${source === "HUMAN" ? "h" : "j"}-', tid),
      'gavel.assessment.kind', 'feedback',
      'gavel.assessment.source_type', '${source}',
      'gavel.assessment.source_id', '${source === "HUMAN" ? "reviewer@example.com" : "quality"}',
      'gavel.assessment.value', toJSONString(${value}),
      'gen_ai.evaluation.score.label', ${value},
      'gavel.assessment.valid', 'true',
      'gavel.assessment.created_ms', toString(intDiv(ts, 1000000) + ${source === "HUMAN" ? 7200000 : 60000}),
      'gavel.assessment.metadata', ${source === "HUMAN" ? "'{}'" : "concat('{\"confidence\":', toString(round(0.4 + (cityHash64(n, 'c') % 60) / 100, 2)), '}')"},
      'gavel.assessment.judge_version', '1',
      'gen_ai.evaluation.explanation', 'The answer addresses the question.')`;
  };
  const assessmentSpan = (source, offsetNs) => `SELECT
    fromUnixTimestamp64Nano(ts + ${offsetNs}) AS Timestamp, tid AS TraceId,
    substring(lower(hex(MD5(concat('${source}', tid)))), 1, 16) AS SpanId, root AS ParentSpanId, '' AS TraceState,
    'gavel.assessment' AS SpanName, 'Internal' AS SpanKind, 'gavel' AS ServiceName, map('service.name', 'gavel') AS ResourceAttributes,
    'gavel.collector' AS ScopeName, '' AS ScopeVersion,
    map('gavel.assessment_span', 'true', 'gavel.experiment_id', exp,
      'gavel.trace.start_ns', toString(ts), 'gavel.trace.status', if(err, 'ERROR', 'OK')) AS SpanAttributes, toUInt64(0) AS Duration, 'Unset' AS StatusCode, '' AS StatusMessage,
    [fromUnixTimestamp64Nano(ts + ${offsetNs})] AS \`Events.Timestamp\`, ['gen_ai.evaluation.result'] AS \`Events.Name\`, [${attrs(source)}] AS \`Events.Attributes\`,
    [] AS \`Links.TraceId\`, [] AS \`Links.SpanId\`, [] AS \`Links.TraceState\`, [] AS \`Links.Attributes\`
  FROM (SELECT *, ['good', 'good', 'good', 'ok', 'ok', 'poor'][1 + cityHash64(n, 'jv') % 6] AS jv FROM (${judged}))`;
  const judgeTrace = `SELECT
    fromUnixTimestamp64Nano(ts + 30000000000) AS Timestamp, lower(hex(MD5(concat('judge', tid)))) AS TraceId,
    substring(lower(hex(MD5(concat('judge-root', tid)))), 1, 16) AS SpanId, '' AS ParentSpanId, '' AS TraceState,
    'judge quality' AS SpanName, 'Client' AS SpanKind, 'gavel' AS ServiceName, map('service.name', 'gavel') AS ResourceAttributes,
    'gavel.judges' AS ScopeName, '' AS ScopeVersion,
    map('gavel.judge', 'true', 'gavel.span_type', 'LLM', 'gavel.experiment_id', exp, 'gen_ai.request.model', 'gpt-4o',
      'gen_ai.usage.input_tokens', toString(inTok + 400), 'gen_ai.usage.output_tokens', '60',
      'gavel.inputs', toJSONString(map('question', question)), 'gavel.outputs', '{"value":"good"}') AS SpanAttributes,
    toUInt64(900000000) AS Duration, 'Ok' AS StatusCode, '' AS StatusMessage,
    [] AS \`Events.Timestamp\`, [] AS \`Events.Name\`, [] AS \`Events.Attributes\`,
    [] AS \`Links.TraceId\`, [] AS \`Links.SpanId\`, [] AS \`Links.TraceState\`, [] AS \`Links.Attributes\`
  FROM (${judged})`;
  return `INSERT INTO otel_traces (${COLUMNS})
${judgeTrace}
UNION ALL ${assessmentSpan("LLM_JUDGE", 60_000_000_000)}
UNION ALL SELECT * FROM (${assessmentSpan("HUMAN", 7_200_000_000_000)}) WHERE cityHash64(TraceId, 'labelled') % 2 = 0`;
}

/** The registered experiments (the first screen lists them by name). */
export function experimentsInsert(createdMs) {
  return `INSERT INTO gavel_experiments (ExperimentId, Name, CreatedAt, Tags, Version)
SELECT id, name, fromUnixTimestamp64Milli(toInt64(${createdMs})), map('team', 'support'), 1
FROM (SELECT arrayJoin(${`[${EXPERIMENTS.map((e) => `('${experimentIdFor(e.name)}', '${e.name}')`).join(", ")}]`}) AS p, p.1 AS id, p.2 AS name)`;
}
