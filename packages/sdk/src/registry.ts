import { Judge, judgeFromJSON } from "@gavel/judges";
import type { Scorer as ScorerRecord } from "@gavel/api";

export type { ScorerRecord };
import { request, seg } from "./client.js";
import { activeExperimentId } from "./context.js";

export interface SamplingConfig {
  /** Share of new traces to score, 0–1; sampling is deterministic per trace and judge. */
  sampleRate: number;
  /** searchTraces filter the traces must match, e.g. "span.type = 'LLM'". */
  filter?: string | null;
}

interface Registration {
  experimentId: string;
  version: number;
  sampling: { sampleRate: number; filter: string | null };
  report: Record<string, unknown> | null;
}

// Registration facts ride on the judge object without entering toJSON() or clone().
const registrations = new WeakMap<Judge, Registration>();

declare module "@gavel/judges" {
  interface Judge {
    /** Register this judge as a new version in the experiment's registry (version N+1). */
    register(opts?: { experimentId?: string; name?: string; report?: Record<string, unknown> | null; alignmentRunId?: string }): Promise<Judge>;
    /** Score live traffic of the experiment: the worker picks it up without a restart. */
    start(sampling: SamplingConfig): Promise<Judge>;
    update(sampling: Partial<SamplingConfig>): Promise<Judge>;
    stop(): Promise<Judge>;
    /** Set on judges returned by register() and getScorer(). */
    readonly registeredVersion: number | undefined;
    readonly registeredExperimentId: string | undefined;
    readonly sampling: { sampleRate: number; filter: string | null } | undefined;
  }
}

function experimentOrThrow(experimentId: string | undefined, what: string): string {
  const id = experimentId ?? activeExperimentId();
  if (!id) throw new Error(`${what} needs an experiment: pass { experimentId } or call setExperiment({ experimentId }) first.`);
  return id;
}

/** A judge built from a registry record, carrying its version and sampling state. */
export function judgeFromRecord(rec: ScorerRecord): Judge {
  const judge = judgeFromJSON(rec.judge);
  registrations.set(judge, { experimentId: rec.experimentId, version: rec.version, sampling: rec.sampling, report: rec.report });
  return judge;
}

const scorersPath = (experimentId: string) => `/api/v1/experiments/${seg(experimentId)}/scorers`;

Object.defineProperties(Judge.prototype, {
  registeredVersion: { get(this: Judge) { return registrations.get(this)?.version; }, configurable: true },
  registeredExperimentId: { get(this: Judge) { return registrations.get(this)?.experimentId; }, configurable: true },
  sampling: { get(this: Judge) { return registrations.get(this)?.sampling; }, configurable: true },
  alignmentReport: { get(this: Judge) { return registrations.get(this)?.report; }, configurable: true },
});

Judge.prototype.register = async function register(this: Judge, opts = {}) {
  const experimentId = experimentOrThrow(opts.experimentId, `judge.register() of "${this.name}"`);
  const rec = await request<ScorerRecord>("POST", scorersPath(experimentId), {
    name: opts.name ?? this.name,
    judge: this.toJSON(),
    // An aligned judge carries the report of the alignment that made it: store it with the version.
    ...(opts.report !== undefined ? { report: opts.report } : this.alignmentReport ? { report: this.alignmentReport } : {}),
    ...(opts.alignmentRunId ? { alignmentRunId: opts.alignmentRunId } : {}),
  });
  return judgeFromRecord(rec);
};

async function setSampling(judge: Judge, body: Record<string, unknown>): Promise<Judge> {
  const reg = registrations.get(judge);
  if (!reg) {
    throw new Error(`Judge "${judge.name}" is not registered: call \`const registered = await judge.register({ experimentId })\` and start that, or getScorer({ name, experimentId }).`);
  }
  const rec = await request<ScorerRecord>("POST", `${scorersPath(reg.experimentId)}/${seg(judge.name)}/sampling`, { ...body, version: reg.version });
  reg.sampling = rec.sampling;
  return judge;
}

Judge.prototype.start = function start(this: Judge, sampling: SamplingConfig) {
  return setSampling(this, { sampleRate: sampling.sampleRate, ...(sampling.filter !== undefined ? { filter: sampling.filter } : {}) });
};
Judge.prototype.update = function update(this: Judge, sampling: Partial<SamplingConfig>) {
  const current = registrations.get(this)?.sampling;
  return setSampling(this, {
    sampleRate: sampling.sampleRate ?? current?.sampleRate ?? 0,
    ...(sampling.filter !== undefined ? { filter: sampling.filter } : {}),
  });
};
Judge.prototype.stop = function stop(this: Judge) {
  return setSampling(this, { sampleRate: 0 });
};

export async function getScorer(o: { name: string; experimentId?: string; version?: number }): Promise<Judge> {
  const experimentId = experimentOrThrow(o.experimentId, "getScorer()");
  const q = o.version !== undefined ? `?version=${o.version}` : "";
  return judgeFromRecord(await request<ScorerRecord>("GET", `${scorersPath(experimentId)}/${seg(o.name)}${q}`));
}

export async function listScorers(o: { experimentId?: string } = {}): Promise<Judge[]> {
  const experimentId = experimentOrThrow(o.experimentId, "listScorers()");
  const { scorers } = await request<{ scorers: ScorerRecord[] }>("GET", scorersPath(experimentId));
  return scorers.map(judgeFromRecord);
}

export async function listScorerVersions(o: { name: string; experimentId?: string }): Promise<Judge[]> {
  const experimentId = experimentOrThrow(o.experimentId, "listScorerVersions()");
  const { versions } = await request<{ versions: ScorerRecord[] }>("GET", `${scorersPath(experimentId)}/${seg(o.name)}/versions`);
  return versions.map(judgeFromRecord);
}

/** Delete one version, or every version when `version` is omitted. */
export async function deleteScorer(o: { name: string; experimentId?: string; version?: number }): Promise<number> {
  const experimentId = experimentOrThrow(o.experimentId, "deleteScorer()");
  const q = o.version !== undefined ? `?version=${o.version}` : "";
  const { deleted } = await request<{ deleted: number }>("DELETE", `${scorersPath(experimentId)}/${seg(o.name)}${q}`);
  return deleted;
}
