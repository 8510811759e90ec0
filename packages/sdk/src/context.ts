import { context, createContextKey, type Context } from "@opentelemetry/api";
import { state } from "./state.js";

/** The run that spans started inside startRun() belong to. */
export interface ActiveRun {
  readonly runId: string;
  readonly experimentId: string;
  readonly name: string;
}

export const RUN_KEY = createContextKey("gavel.run");

export function runFromContext(ctx: Context): ActiveRun | undefined {
  return ctx.getValue(RUN_KEY) as ActiveRun | undefined;
}

/** The run of the current OpenTelemetry context, if inside startRun(). */
export function activeRun(): ActiveRun | undefined {
  return runFromContext(context.active());
}

/** The experiment new spans are attributed to: the active run's, else setExperiment()'s. */
export function activeExperimentId(): string | undefined {
  return activeRun()?.experimentId ?? state.experimentId;
}

/**
 * Trace id of the most recently ended trace()/@trace span or local root span. Inner spans end
 * before their parents and share the trace id, so after a top-level traced call returns this is
 * that call's trace, as MLflow's get_last_active_trace_id(). Undefined before any trace ended.
 */
export function getLastActiveTraceId(): string | undefined {
  return state.lastTraceId;
}
