/**
 * `evaluate()`: score a data set with judges and code scorers under an evaluation run, as
 * MLflow's `mlflow.genai.evaluate`. Every row gets a trace (its own, or one made here), every
 * score is an assessment on that trace, and the run ends with the aggregate metrics stored on it.
 */
import { createHash } from "node:crypto";
import { context, trace as otelTrace, type Context, type Span } from "@opentelemetry/api";
import { AssessmentSourceType, humanExpectations, isJudge, MLFLOW_SESSION_KEY, sessionIdOf, type Feedback, type Judge } from "@gavel/judges";
import { logAssessment } from "./assessments.js";
import { ATTR_EVALUATION, ATTR_INPUTS, ATTR_SPAN_TYPE, ATTR_TRUNCATED } from "./attributes.js";
import { GavelApiError, GavelConnectionError, request } from "./client.js";
import {
  feedbackFromError,
  isCodeScorer,
  scorer as codeScorer,
  type CodeScorer,
  type CodeScorerArgs,
  type CodeScorerResult,
} from "./code-scorer.js";
import { activeExperimentId, RUN_KEY, type ActiveRun } from "./context.js";
import { evaluationMetrics } from "./eval-metrics.js";
import { DEFAULT_EXPERIMENT_ID, endRun, linkTracesToRun, MAX_TRACES_PER_LINK } from "./experiments.js";
import { flush, init } from "./init.js";
import { liveProcessors } from "./processor.js";
import { getTrace } from "./search.js";
import { compareTurns } from "./sessions.js";
import { finishError, finishOk, setPayload, TRACER_NAME } from "./trace.js";
import { Trace, type TraceJson, type TraceSpan, type TraceStatus } from "./trace-object.js";

/** One row of evaluation data. */
export interface EvalRow {
  /** Required unless `trace` is given (then the trace's inputs are used). */
  inputs?: unknown;
  outputs?: unknown;
  /** Ground truth by name, e.g. `{ expected_response: "…" }`; read by judges as {{ expectations }}. */
  expectations?: Record<string, unknown>;
  /** An existing trace to score: assessments go on it, no new trace is made. */
  trace?: Trace | TraceJson;
}

/** A judge, a `scorer({ name, fn })`, or a named function (wrapped as a code scorer). */
export type EvalScorer = Judge | CodeScorer | ((args: CodeScorerArgs) => CodeScorerResult | Promise<CodeScorerResult>);

export interface EvaluateOptions {
  /** Rows `{ inputs, outputs?, expectations?, trace? }`, or the traces searchTraces() returned. */
  data: readonly (EvalRow | Trace)[];
  scorers: readonly EvalScorer[];
  /**
   * Called with each row's `inputs` inside a new trace; its return value is the row's outputs.
   * Not allowed with rows that already have a trace.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  predictFn?: (inputs: any) => unknown;
  /** Default: the current experiment, else the experiment of the data's traces, else "0". */
  experimentId?: string;
  /** Default `eval-<UTC time>`. */
  runName?: string;
  /** Rows scored at once. Default env GAVEL_EVAL_CONCURRENCY, else 8. */
  concurrency?: number;
  /** Called after each row is scored and its assessments are stored. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

/**
 * One row of `tables.evalResults`: `traceId`, `inputs`, `outputs`, `expectations` (when the row
 * has some), `error` (when predictFn failed), and per scorer `<name>/value`, `<name>/rationale`
 * and, when it failed on this row, `<name>/error`.
 */
export interface EvalResultRow {
  traceId: string;
  inputs: unknown;
  outputs: unknown;
  expectations?: Record<string, unknown>;
  error?: string;
  /** On the first trace of a session scored by session-level judges: the session, whose judgements are on this row. */
  sessionId?: string;
  [column: string]: unknown;
}

export interface EvaluationResult {
  runId: string;
  runName: string;
  experimentId: string;
  /** See eval-metrics.ts: `<name>/mean|min|max|p50|p90`, `<name>/<category>/share`, `<name>/count`, `<name>/error_count`. */
  metrics: Record<string, number>;
  tables: { evalResults: EvalResultRow[] };
}

interface PreparedScorer {
  name: string;
  judge?: Judge;
  code?: CodeScorer;
  /** A judge whose instructions use {{ trace }}. */
  judgeUsesTrace: boolean;
  /** A `{{ conversation }}` judge: scored once per session, not per row (MLflow's session-level scorer). */
  sessionLevel: boolean;
}

interface PreparedRow {
  index: number;
  inputs: unknown;
  outputs: unknown;
  expectations: Record<string, unknown> | undefined;
  trace: Trace | undefined;
}

interface RowOutcome {
  result: EvalResultRow;
  feedbacks: Feedback[];
}

const DEFAULT_CONCURRENCY = 8;
const SPAN_BATCH = 512;
/** How long a trace made here may take to become readable before its scorers go without it. */
const TRACE_FETCH_TIMEOUT_MS = 10_000;

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function looksLikeTrace(v: unknown): v is TraceJson {
  return isPlainObject(v) && isPlainObject(v.info) && typeof v.info.traceId === "string";
}

function toTrace(v: Trace | TraceJson): Trace {
  return v instanceof Trace ? v : new Trace(v);
}

function prepareScorers(scorers: readonly EvalScorer[] | undefined): PreparedScorer[] {
  if (!Array.isArray(scorers) || scorers.length === 0) {
    throw new Error("evaluate() needs at least one scorer: scorers: [judge] with a judge from makeJudge() or getScorer(), or scorer({ name, fn }) for code.");
  }
  const out: PreparedScorer[] = [];
  const seen = new Set<string>();
  scorers.forEach((s, i) => {
    let p: PreparedScorer;
    if (isJudge(s)) p = { name: s.name, judge: s, judgeUsesTrace: s.templateVariables.includes("trace"), sessionLevel: s.isSessionLevel };
    else if (isCodeScorer(s)) p = { name: s.name, code: s, judgeUsesTrace: false, sessionLevel: false };
    else if (typeof s === "function") {
      const fnName = s.name.trim();
      if (fnName === "") {
        throw new Error(`scorers[${i}] is a function without a name: wrap it as scorer({ name: "my_metric", fn }) so its assessments and metrics have a name.`);
      }
      p = { name: fnName, code: codeScorer({ name: fnName, fn: s as CodeScorer["fn"] }), judgeUsesTrace: false, sessionLevel: false };
    } else {
      throw new Error(`scorers[${i}] is not a scorer: pass a judge (makeJudge, getScorer) or scorer({ name, fn }).`);
    }
    if (typeof p.name !== "string" || p.name.trim() === "") {
      throw new Error(`scorers[${i}] has no name: give it one (scorer({ name, fn }) or makeJudge({ name, … })).`);
    }
    if (seen.has(p.name)) {
      throw new Error(
        `Two scorers are named "${p.name}": names key the assessments and metrics, so give each a distinct name (judge.clone({ name: "…" }) or scorer({ name: "…", fn })).`,
      );
    }
    seen.add(p.name);
    out.push(p);
  });
  return out;
}

/** Valid HUMAN expectation assessments of a trace, by name (MLflow passes no others to scorers). */
function traceExpectations(t: Trace): Record<string, unknown> | undefined {
  return humanExpectations(t);
}

function prepareRows(data: EvaluateOptions["data"] | undefined, hasPredictFn: boolean): PreparedRow[] {
  if (!Array.isArray(data) || data.length === 0) {
    throw new Error(
      Array.isArray(data)
        ? "evaluate() got no data: pass data: [{ inputs, outputs?, expectations? }, …] or the traces from searchTraces() (which found none)."
        : "evaluate() needs data: an array of rows { inputs, outputs?, expectations? } or the traces from searchTraces().",
    );
  }
  const traceIds = new Map<string, number>();
  return data.map((raw, index): PreparedRow => {
    const where = `data[${index}]`;
    if (!isPlainObject(raw) && !(raw instanceof Trace)) {
      throw new Error(`${where} is not a row: each row is an object { inputs, outputs?, expectations? } (or a Trace).`);
    }
    let trace: Trace | undefined;
    let row: EvalRow = {};
    if (raw instanceof Trace || looksLikeTrace(raw)) trace = toTrace(raw as Trace | TraceJson);
    else {
      row = raw as EvalRow;
      if (row.trace !== undefined) {
        if (!(row.trace instanceof Trace) && !looksLikeTrace(row.trace)) {
          throw new Error(`${where}.trace is not a trace: pass a Trace from searchTraces() or getTrace(), or leave it out.`);
        }
        trace = toTrace(row.trace);
      }
    }
    if (trace !== undefined) {
      if (hasPredictFn) {
        throw new Error(`${where} already has a trace, and predictFn would make a new one: drop predictFn to score the existing traces, or pass rows { inputs } without traces.`);
      }
      const seenAt = traceIds.get(trace.info.traceId);
      if (seenAt !== undefined) {
        throw new Error(`${where} and data[${seenAt}] are the same trace (${trace.info.traceId}): a trace gets one assessment per scorer in a run, so list it once.`);
      }
      traceIds.set(trace.info.traceId, index);
    } else if (row.inputs === undefined || row.inputs === null) {
      throw new Error(`${where} has no inputs: every row needs { inputs: { … } } (outputs and expectations are optional), or a trace.`);
    }
    if (row.expectations !== undefined && !isPlainObject(row.expectations)) {
      throw new Error(`${where}.expectations must be an object by name, e.g. { expected_response: "…" }.`);
    }
    return {
      index,
      inputs: row.inputs ?? trace?.info.inputs,
      outputs: row.outputs !== undefined ? row.outputs : trace?.info.outputs,
      expectations: row.expectations ?? (trace ? traceExpectations(trace) : undefined),
      trace,
    };
  });
}

function resolveConcurrency(n: number | undefined): number {
  if (n !== undefined) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`evaluate(): concurrency must be a whole number ≥ 1, got ${n}.`);
    return n;
  }
  const raw = process.env.GAVEL_EVAL_CONCURRENCY?.trim();
  if (!raw) return DEFAULT_CONCURRENCY;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`GAVEL_EVAL_CONCURRENCY must be a whole number ≥ 1, got "${raw}".`);
  return v;
}

function defaultRunName(now = new Date()): string {
  return `eval-${now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}`;
}

/** The experiment shared by all trace rows, if they have exactly one. */
function tracesExperiment(rows: PreparedRow[]): string | undefined {
  const ids = new Set(rows.flatMap((r) => (r.trace ? [r.trace.info.experimentId] : [])));
  return ids.size === 1 ? [...ids][0] : undefined;
}

/** One id per (run, trace, scorer): a retried write replaces instead of adding a second assessment. */
export function evalAssessmentId(runId: string, traceId: string, scorerName: string): string {
  return `eval-${createHash("sha256").update(`${runId}\n${traceId}\n${scorerName}`).digest("hex").slice(0, 40)}`;
}

async function flushQuietly(): Promise<void> {
  try {
    await flush();
  } catch {
    // An export failure is reported once by the processor; the REST calls that follow say more.
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function transient(err: unknown): boolean {
  return err instanceof GavelConnectionError || (err instanceof GavelApiError && (err.status >= 500 || err.status === 429));
}

async function withRetries<T>(fn: () => Promise<T>, delaysMs = [250, 1000, 3000]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= delaysMs.length || !transient(err)) throw err;
      await sleep(delaysMs[attempt]!);
    }
  }
}

/** Unbounded pools would open one LLM call per row at once; this keeps `limit` rows in flight. */
async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
  return out;
}

type HrTime = [number, number];
const hrToNanos = (t: HrTime | undefined): string => (t ? (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString() : "0");

/**
 * The Trace of a one-span trace made here, built from the ended span, so scorers that look at
 * the trace need no round trip to the collector.
 */
function localTrace(span: Span, run: ActiveRun, inputs: unknown, outputs: unknown): Trace {
  const s = span as unknown as {
    name: string;
    startTime?: HrTime;
    endTime?: HrTime;
    attributes?: Record<string, unknown>;
    status?: { code: number; message?: string };
    resource?: { attributes?: Record<string, unknown> };
  };
  const sc = span.spanContext();
  const str = (o: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  const start = hrToNanos(s.startTime);
  const end = hrToNanos(s.endTime);
  const durationMs = Number(BigInt(end) - BigInt(start)) / 1e6;
  const status: TraceStatus = s.status?.code === 2 ? "ERROR" : s.status?.code === 1 ? "OK" : "UNSET";
  const resourceAttributes = str(s.resource?.attributes);
  const serviceName = resourceAttributes["service.name"] ?? "";
  const root: TraceSpan = {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: "",
    name: s.name,
    kind: "INTERNAL",
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    durationMs,
    status: { code: status, message: s.status?.message ?? "" },
    serviceName,
    spanType: "CHAIN",
    inputs,
    outputs,
    attributes: str(s.attributes),
    resourceAttributes,
    events: [],
  };
  return new Trace({
    info: {
      traceId: sc.traceId,
      experimentId: run.experimentId,
      runId: run.runId,
      name: s.name,
      timestampMs: Math.floor(Number(BigInt(start) / 1_000_000n)),
      executionTimeMs: durationMs,
      status,
      serviceName,
      inputs,
      outputs,
      tags: {},
      spanType: "CHAIN",
    },
    data: { spans: [root] },
  });
}

/** Reads a trace made here back from the collector, waiting for its root span to be stored. */
async function fetchTrace(traceId: string): Promise<Trace | undefined> {
  const deadline = Date.now() + TRACE_FETCH_TIMEOUT_MS;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      const t = await getTrace(traceId);
      if (t?.rootSpan !== undefined && t.rootSpan.parentSpanId === "") return t;
    } catch (err) {
      if (!transient(err)) throw err;
    }
    if (Date.now() + wait > deadline) return undefined;
    await sleep(wait);
  }
}

interface RowTrace {
  traceId: string;
  rootSpanId: string | undefined;
  outputs: unknown;
  trace: Trace | undefined;
  predictError?: { code: string; message: string };
}

function notTracing(): Error {
  return new Error(
    "evaluate() could not start a trace for a row: tracing is off (OTEL_SDK_DISABLED=true, or Gavel's span processor is not on the " +
      "registered tracer provider). Call init() before evaluate(), or add gavelSpanProcessor() to your NodeSDK.",
  );
}

/** A new root span for a row, tagged so online scoring never judges evaluation traffic. */
function startRowSpan(name: string, inputs: unknown, runCtx: Context): { span: Span; inputsTruncated: boolean } {
  const span = otelTrace.getTracer(TRACER_NAME).startSpan(name, { attributes: { [ATTR_EVALUATION]: "true", [ATTR_SPAN_TYPE]: "CHAIN" } }, runCtx);
  if (!span.isRecording() || !otelTrace.isSpanContextValid(span.spanContext())) {
    span.end();
    throw notTracing();
  }
  const inputsTruncated = setPayload(span, ATTR_INPUTS, inputs);
  if (inputsTruncated) span.setAttribute(ATTR_TRUNCATED, "inputs");
  return { span, inputsTruncated };
}

function errorOf(err: unknown): { code: string; message: string } {
  return { code: "PREDICT_ERROR", message: err instanceof Error ? err.message : String(err) };
}

async function predictRowTrace(row: PreparedRow, predictFn: NonNullable<EvaluateOptions["predictFn"]>, runCtx: Context, wantTrace: boolean): Promise<RowTrace> {
  const { span, inputsTruncated } = startRowSpan(predictFn.name || "predict_fn", row.inputs, runCtx);
  let outputs: unknown;
  let predictError: RowTrace["predictError"];
  try {
    outputs = await context.with(otelTrace.setSpan(runCtx, span), () => predictFn(row.inputs));
    finishOk(span, outputs, inputsTruncated);
  } catch (err) {
    predictError = errorOf(err);
    finishError(span, err);
  }
  const sc = span.spanContext();
  // Stored before its assessments, so they attach to a known trace of the run's experiment.
  await flushQuietly();
  // Spans of predictFn's own calls are only in the collector; read the whole tree back.
  const trace = wantTrace && !predictError ? await fetchTrace(sc.traceId) : undefined;
  return { traceId: sc.traceId, rootSpanId: sc.spanId, outputs, trace, ...(predictError ? { predictError } : {}) };
}

/** A one-span trace with the row's inputs and outputs; made synchronously, flushed by the caller. */
function rowTrace(row: PreparedRow, runCtx: Context, run: ActiveRun, wantTrace: boolean): RowTrace {
  const { span, inputsTruncated } = startRowSpan("eval_row", row.inputs, runCtx);
  finishOk(span, row.outputs, inputsTruncated);
  const sc = span.spanContext();
  return { traceId: sc.traceId, rootSpanId: sc.spanId, outputs: row.outputs, trace: wantTrace ? localTrace(span, run, row.inputs, row.outputs) : undefined };
}

async function runScorer(s: PreparedScorer, row: PreparedRow, outputs: unknown, trace: Trace | undefined, runCtx: Context): Promise<Feedback> {
  try {
    if (s.judge) {
      const fb = await s.judge(
        {
          inputs: row.inputs,
          outputs,
          ...(row.expectations !== undefined ? { expectations: row.expectations } : {}),
          ...(s.judgeUsesTrace && trace !== undefined ? { trace } : {}),
        },
        // The judge's spans form their own trace in the run, never part of the judged one.
        { parentContext: runCtx },
      );
      return { ...fb, name: s.name };
    }
    return await context.with(runCtx, () => s.code!({ inputs: row.inputs, outputs, expectations: row.expectations, trace }));
  } catch (err) {
    return s.judge ? feedbackFromError(s.name, err, AssessmentSourceType.LLM_JUDGE, s.judge.model) : feedbackFromError(s.name, err);
  }
}

function resultRow(traceId: string, row: PreparedRow, outputs: unknown, predictError: RowTrace["predictError"], feedbacks: Feedback[]): EvalResultRow {
  const r: EvalResultRow = { traceId, inputs: row.inputs, outputs };
  if (row.expectations !== undefined) r.expectations = row.expectations;
  if (predictError) r.error = predictError.message;
  addFeedbackColumns(r, feedbacks);
  return r;
}

/** A scorer's columns in a results row: `<name>/value`, `<name>/rationale`, and `<name>/error` when it failed. */
function addFeedbackColumns(r: EvalResultRow, feedbacks: Feedback[]): void {
  for (const fb of feedbacks) {
    r[`${fb.name}/value`] = fb.value;
    r[`${fb.name}/rationale`] = fb.rationale ?? null;
    if (fb.error) r[`${fb.name}/error`] = `${fb.error.code}: ${fb.error.message}`;
  }
}

async function evaluateRow(
  row: PreparedRow,
  made: RowTrace | undefined,
  scorers: PreparedScorer[],
  opts: EvaluateOptions,
  run: ActiveRun,
  runCtx: Context,
): Promise<RowOutcome> {
  const rt: RowTrace = row.trace
    ? // No spanId: the collector anchors to the root it stored, which a partial span list may not show.
      { traceId: row.trace.info.traceId, rootSpanId: undefined, outputs: row.outputs, trace: row.trace }
    : (made ?? (await predictRowTrace(row, opts.predictFn!, runCtx, wantsTrace(scorers))));

  const feedbacks: Feedback[] = [];
  // Scorers of one row run one after another: the pool bounds LLM calls by rows in flight.
  for (const s of scorers) {
    if (rt.predictError) {
      feedbacks.push({
        name: s.name,
        value: null,
        source: s.judge ? { sourceType: AssessmentSourceType.LLM_JUDGE, sourceId: s.judge.model } : { sourceType: AssessmentSourceType.CODE, sourceId: s.name },
        metadata: {},
        error: { code: "PREDICT_ERROR", message: `predictFn failed, nothing to score: ${rt.predictError.message}` },
      });
      continue;
    }
    feedbacks.push(await runScorer(s, row, rt.outputs, rt.trace, runCtx));
  }

  await storeFeedbacks(feedbacks, scorers, run, rt.traceId, rt.rootSpanId);
  return { result: resultRow(rt.traceId, row, rt.outputs, rt.predictError, feedbacks), feedbacks };
}

/**
 * Stores each scorer's Feedback on the trace under the run, with an id per run, trace and name
 * (a retried store writes the same assessment). A scorer that returned nothing (null) has no
 * opinion: an assessment needs a value or an error (MLflow's rule), so nothing is stored and the
 * results table shows null.
 */
async function storeFeedbacks(feedbacks: Feedback[], scorers: PreparedScorer[], run: ActiveRun, traceId: string, spanId?: string): Promise<void> {
  await Promise.all(
    feedbacks.map((fb, i) => {
      if ((fb.value === null || fb.value === undefined) && !fb.error) return Promise.resolve(undefined);
      const judgeVersion = scorers[i]!.judge?.registeredVersion;
      return withRetries(() =>
        logAssessment({
          traceId,
          assessment: fb,
          ...(spanId ? { spanId } : {}),
          assessmentId: evalAssessmentId(run.runId, traceId, fb.name),
          runId: run.runId,
          ...(judgeVersion !== undefined ? { judgeVersion } : {}),
        }),
      );
    }),
  );
}

interface SessionOutcome {
  sessionId: string;
  /** The session's first trace, which holds its session-level assessments. */
  traceId: string;
  feedbacks: Feedback[];
}

/**
 * The rows' traces grouped by session id (rows without a trace or a session id are in none),
 * each group oldest first, as MLflow's group_traces_by_session.
 */
function sessionsOf(rows: PreparedRow[]): Map<string, Trace[]> {
  const groups = new Map<string, Trace[]>();
  for (const row of rows) {
    if (!row.trace) continue;
    const sid = sessionIdOf(row.trace);
    if (sid === undefined) continue;
    groups.set(sid, [...(groups.get(sid) ?? []), row.trace]);
  }
  for (const list of groups.values()) list.sort(compareTurns);
  return groups;
}

/**
 * Runs the session-level judges on one session and stores each Feedback as MLflow does: on the
 * session's first trace, with `mlflow.trace.session` in its metadata. A judge that fails gives a
 * Feedback with the error, stored the same way.
 */
async function evaluateSession(sessionId: string, traces: Trace[], scorers: PreparedScorer[], run: ActiveRun, runCtx: Context): Promise<SessionOutcome> {
  const traceId = traces[0]!.info.traceId;
  const feedbacks: Feedback[] = [];
  for (const s of scorers) {
    let fb: Feedback;
    try {
      fb = { ...(await s.judge!({ session: traces }, { parentContext: runCtx })), name: s.name };
    } catch (err) {
      fb = feedbackFromError(s.name, err, AssessmentSourceType.LLM_JUDGE, s.judge!.model);
    }
    feedbacks.push({ ...fb, metadata: { ...(fb.metadata ?? {}), [MLFLOW_SESSION_KEY]: sessionId } });
  }
  await storeFeedbacks(feedbacks, scorers, run, traceId);
  return { sessionId, traceId, feedbacks };
}

function wantsTrace(scorers: PreparedScorer[]): boolean {
  return scorers.some((s) => s.code !== undefined || s.judgeUsesTrace);
}

/** Make sure spans reach Gavel: init() with defaults when the app has not wired Gavel in. */
function ensureTracing(): void {
  if (liveProcessors.size === 0) init();
}

/**
 * Score `data` with `scorers` under a new evaluation run.
 *
 * Rows without a trace get one (a root span with their inputs and outputs, or predictFn's call),
 * tagged `gavel.evaluation` so online scoring skips it; rows with a trace (and searchTraces()
 * results) are scored on that trace. Every assessment is logged on its row's trace with the run
 * id. A scorer that fails on a row is recorded on that row (value null, `<name>/error`) and the
 * evaluation goes on. The run ends FINISHED with the metrics stored on it, or FAILED when
 * evaluate() itself fails.
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvaluationResult> {
  if (!isPlainObject(opts)) throw new Error("evaluate() needs { data, scorers, predictFn?, experimentId?, runName? }.");
  if (opts.predictFn !== undefined && typeof opts.predictFn !== "function") {
    throw new Error("evaluate(): predictFn must be a function that takes a row's inputs and returns its outputs.");
  }
  const allScorers = prepareScorers(opts.scorers);
  const scorers = allScorers.filter((s) => !s.sessionLevel);
  const sessionScorers = allScorers.filter((s) => s.sessionLevel);
  if (sessionScorers.length > 0 && opts.predictFn !== undefined) {
    // MLflow's validate_session_level_evaluation_inputs.
    throw new Error(
      `evaluate(): session-level judges ({{ conversation }}) do not work with predictFn: ${sessionScorers.map((s) => s.name).join(", ")}. ` +
        "Pass the existing traces of the sessions as data (e.g. data: await searchTraces({ … })), without predictFn.",
    );
  }
  const rows = prepareRows(opts.data, opts.predictFn !== undefined);
  const concurrency = resolveConcurrency(opts.concurrency);
  if (opts.runName !== undefined && (typeof opts.runName !== "string" || opts.runName.trim() === "")) {
    throw new Error("evaluate(): runName must be a non-empty string (or leave it out for eval-<time>).");
  }
  if (opts.experimentId !== undefined && (typeof opts.experimentId !== "string" || opts.experimentId === "")) {
    throw new Error("evaluate(): experimentId must be a non-empty string.");
  }
  ensureTracing();

  const experimentId = opts.experimentId ?? activeExperimentId() ?? tracesExperiment(rows) ?? DEFAULT_EXPERIMENT_ID;
  const created = await request<{ runId: string; name: string }>("POST", "/api/v1/runs", {
    experimentId,
    name: opts.runName ?? defaultRunName(),
    kind: "evaluation",
  });
  const run: ActiveRun = Object.freeze({ runId: created.runId, name: created.name, experimentId });
  // No active span: evaluate() called inside a traced function must not nest the rows' traces.
  const runCtx = otelTrace.deleteSpan(context.active()).setValue(RUN_KEY, run);

  let outcomes: RowOutcome[];
  let sessionOutcomes: SessionOutcome[] = [];
  try {
    // Rows without a trace or predictFn get theirs up front, flushed a batch at a time, so
    // their assessments find them stored without one export per row. Batches stay below the
    // batch processor's queue (2048 by default), which drops spans beyond it.
    const made = new Map<number, RowTrace>();
    if (!opts.predictFn) {
      const wantTrace = wantsTrace(scorers);
      let pending = 0;
      for (const row of rows) {
        if (row.trace) continue;
        made.set(row.index, rowTrace(row, runCtx, run, wantTrace));
        if (++pending === SPAN_BATCH) {
          await flushQuietly();
          pending = 0;
        }
      }
      if (pending > 0) await flushQuietly();
    }
    let done = 0;
    outcomes = await context.with(runCtx, () =>
      mapPool(rows, concurrency, async (row) => {
        const o = await evaluateRow(row, made.get(row.index), scorers, opts, run, runCtx);
        done++;
        try {
          opts.onProgress?.({ done, total: rows.length });
        } catch {
          // A progress display that breaks must not fail the evaluation.
        }
        return o;
      }),
    );
    // Existing traces that were scored join the run, as MLflow's evaluate() links them: the run's
    // traces (trace.run_id, the Evaluations page) are then every row, not only those made here.
    const scoredTraceIds = rows.flatMap((r) => (r.trace ? [r.trace.info.traceId] : []));
    for (let i = 0; i < scoredTraceIds.length; i += MAX_TRACES_PER_LINK) {
      const chunk = scoredTraceIds.slice(i, i + MAX_TRACES_PER_LINK);
      await withRetries(() => linkTracesToRun({ traceIds: chunk, runId: run.runId }));
    }
    if (sessionScorers.length > 0) {
      sessionOutcomes = await context.with(runCtx, () =>
        mapPool([...sessionsOf(rows)], concurrency, ([sid, traces]) => evaluateSession(sid, traces, sessionScorers, run, runCtx)),
      );
    }
    await flushQuietly();
  } catch (err) {
    await flushQuietly();
    try {
      await endRun(run.runId, "FAILED");
    } catch (endErr) {
      console.warn(`[gavel] could not mark evaluation run ${run.runId} FAILED: ${(endErr as Error).message}`);
    }
    throw err;
  }

  const outcomeOf = (fb: Feedback) => (fb.error ? { error: fb.error } : { value: fb.value });
  const categoriesOf = (s: PreparedScorer) => (s.judge && Array.isArray(s.judge.feedbackValueType) ? { categories: s.judge.feedbackValueType as readonly string[] } : {});
  const metrics = evaluationMetrics([
    ...scorers.map((s, i) => ({ name: s.name, outcomes: outcomes.map((o) => outcomeOf(o.feedbacks[i]!)), ...categoriesOf(s) })),
    // A session-level judge counts once per session.
    ...sessionScorers.map((s, i) => ({ name: s.name, outcomes: sessionOutcomes.map((o) => outcomeOf(o.feedbacks[i]!)), ...categoriesOf(s) })),
  ]);
  await withRetries(() => endRun(run.runId, "FINISHED", { metrics }));
  // As MLflow's results: a session's judgements are on the row of its first trace.
  const evalResults = outcomes.map((o) => o.result);
  for (const so of sessionOutcomes) {
    const row = evalResults.find((r) => r.traceId === so.traceId);
    if (!row) continue;
    row.sessionId = so.sessionId;
    addFeedbackColumns(row, so.feedbacks);
  }
  return { runId: run.runId, runName: run.name, experimentId, metrics, tables: { evalResults } };
}
