import { context } from "@opentelemetry/api";
import type { Experiment, Run, RunKind, RunStatus } from "@gavel/api";
import { GavelApiError, request, seg } from "./client.js";
import { RUN_KEY, type ActiveRun } from "./context.js";
import { flush } from "./init.js";
import { state } from "./state.js";

export type { Experiment, Run, RunKind, RunStatus };

/** Experiment "0" ("Default") holds spans that name no experiment. */
export const DEFAULT_EXPERIMENT_ID = "0";

/** Create an experiment and return its id; an existing name returns the existing id. */
export async function createExperiment(name: string, opts: { tags?: Record<string, string> } = {}): Promise<string> {
  const r = await request<{ experimentId: string }>("POST", "/api/v1/experiments", { name, tags: opts.tags });
  return r.experimentId;
}

/** The experiment with this name, or null when there is none. */
export async function getExperimentByName(name: string): Promise<Experiment | null> {
  return orNull(request<Experiment>("GET", `/api/v1/experiments/by-name/${seg(name)}`));
}

/** The experiment with this id, or null when there is none. */
export async function getExperiment(experimentId: string): Promise<Experiment | null> {
  return orNull(request<Experiment>("GET", `/api/v1/experiments/${seg(experimentId)}`));
}

export async function listExperiments(): Promise<Experiment[]> {
  return (await request<{ experiments: Experiment[] }>("GET", "/api/v1/experiments")).experiments;
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof GavelApiError && err.status === 404) return null;
    throw err;
  }
}

/**
 * Make an experiment the current one: spans started from now on (outside startRun, which
 * names its own) carry its id.
 *
 * With `experimentId` this is synchronous and returns the id. With `experimentName` the
 * experiment is looked up, and created when missing (as MLflow's set_experiment), so it
 * returns a promise of the id; await it before tracing, or early spans go to the previous
 * experiment.
 */
export function setExperiment(opts: { experimentId: string }): string;
export function setExperiment(opts: { experimentName: string }): Promise<string>;
export function setExperiment(opts: { experimentId?: string; experimentName?: string }): string | Promise<string>;
export function setExperiment(opts: { experimentId?: string; experimentName?: string }): string | Promise<string> {
  if (opts.experimentId !== undefined) {
    if (opts.experimentId === "") throw new Error("setExperiment: experimentId must not be empty.");
    state.experimentId = opts.experimentId;
    return opts.experimentId;
  }
  if (opts.experimentName !== undefined) {
    return createExperiment(opts.experimentName).then((id) => {
      state.experimentId = id;
      return id;
    });
  }
  throw new Error("setExperiment needs experimentId or experimentName.");
}

/** The id set by setExperiment() (or GAVEL_EXPERIMENT_ID), if any. */
export function getCurrentExperimentId(): string | undefined {
  return state.experimentId;
}

export interface StartRunOptions {
  /** Default: the current experiment (setExperiment), else "0" (Default). */
  experimentId?: string;
  name?: string;
  /** "evaluation" for runs made by evaluate(); default "run". */
  kind?: RunKind;
}

export type RunHandle = ActiveRun;

/**
 * Create a run, call `fn` with the run active in the OpenTelemetry context (every span started
 * inside, by Gavel or any other instrumentation, carries `gavel.run_id` and the run's
 * experiment), then end the run FINISHED, or FAILED when `fn` throws. Returns fn's value and
 * re-throws its error.
 */
export async function startRun<T>(opts: StartRunOptions, fn: (run: RunHandle) => T | Promise<T>): Promise<T> {
  const experimentId = opts.experimentId ?? state.experimentId ?? DEFAULT_EXPERIMENT_ID;
  const created = await request<{ runId: string; name: string }>("POST", "/api/v1/runs", {
    experimentId,
    name: opts.name,
    kind: opts.kind,
  });
  const run: RunHandle = Object.freeze({ runId: created.runId, name: created.name, experimentId });
  let value: T;
  try {
    value = await context.with(context.active().setValue(RUN_KEY, run), fn, undefined, run);
  } catch (err) {
    try {
      await endRun(run.runId, "FAILED");
    } catch (endErr) {
      // The caller's error says more than a failed bookkeeping call; keep it, note the other.
      console.warn(`[gavel] could not mark run ${run.runId} FAILED: ${(endErr as Error).message}`);
    }
    throw err;
  }
  await endRun(run.runId, "FINISHED");
  return value;
}

/** End a run started elsewhere (startRun ends its own), optionally storing metrics on it. */
export async function endRun(runId: string, status: "FINISHED" | "FAILED", opts: { metrics?: Record<string, number> } = {}): Promise<void> {
  await request("POST", `/api/v1/runs/${seg(runId)}/end`, { status, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
}

/** Runs of an experiment, newest first; `kind: "evaluation"` lists evaluate()'s runs only. */
export async function listRuns(experimentId: string, opts: { kind?: RunKind } = {}): Promise<Run[]> {
  const kind = opts.kind ? `&kind=${seg(opts.kind)}` : "";
  return (await request<{ runs: Run[] }>("GET", `/api/v1/runs?experimentId=${seg(experimentId)}${kind}`)).runs;
}

/** The run with this id (with its metrics), or null when there is none. */
export async function getRun(runId: string): Promise<Run | null> {
  return orNull(request<Run>("GET", `/api/v1/runs/${seg(runId)}`));
}

/** MLflow's limit: at most 100 trace ids per call. */
export const MAX_TRACES_PER_LINK = 100;

/**
 * Link traces that already exist (or are still on their way) to a run, as MLflow's
 * `MlflowClient().link_traces_to_run(trace_ids, run_id)`: `searchTraces({ runId })` and the
 * filter `trace.run_id = '…'` then return them besides the traces made inside the run. Linking
 * again is harmless, and a trace may be linked to several runs. At most 100 ids per call; an
 * empty list does nothing. Spans this process has not exported yet are flushed first.
 * Resolves to the linked ids (lower-cased, without repeats).
 */
export async function linkTracesToRun(opts: { traceIds: string[]; runId: string }): Promise<string[]> {
  if (opts.traceIds.length === 0) return [];
  if (!opts.runId) throw new Error("linkTracesToRun: runId cannot be empty. Pass the runId of startRun's run (or of listRuns()).");
  if (opts.traceIds.length > MAX_TRACES_PER_LINK) {
    throw new Error(
      `linkTracesToRun: cannot link more than ${MAX_TRACES_PER_LINK} traces to a run in a single request. Provided ${opts.traceIds.length} traces; call it once per ${MAX_TRACES_PER_LINK}.`,
    );
  }
  try {
    await flush();
  } catch {
    // an unreachable collector is reported by the request below
  }
  const r = await request<{ traceIds: string[] }>("POST", `/api/v1/runs/${seg(opts.runId)}/traces`, { traceIds: opts.traceIds });
  return r.traceIds;
}

/**
 * Undo linkTracesToRun, as MLflow's `MlflowClient().unlink_traces_from_run(trace_ids, run_id)`:
 * the traces no longer match `trace.run_id = '<runId>'`, unless they were made inside that run
 * (a trace's own run stays). Unlinking a trace that is not linked does nothing. At most 100 ids
 * per call; an empty list does nothing. Resolves to the ids (lower-cased, without repeats).
 */
export async function unlinkTracesFromRun(opts: { traceIds: string[]; runId: string }): Promise<string[]> {
  if (opts.traceIds.length === 0) return [];
  if (!opts.runId) throw new Error("unlinkTracesFromRun: runId cannot be empty. Pass the runId the traces were linked to.");
  const r = await request<{ traceIds: string[] }>("POST", `/api/v1/runs/${seg(opts.runId)}/traces/unlink`, { traceIds: opts.traceIds });
  return r.traceIds;
}
