import { Judge, setJudgeRegistryClient, type JudgeRegistryClient } from "@gavel/judges";
import type { Scorer as ScorerRecord } from "@gavel/api";

export type { ScorerRecord };
export type { SamplingConfig } from "@gavel/judges";
import { request, seg } from "./client.js";
import { activeExperimentId } from "./context.js";

function experimentOrThrow(experimentId: string | undefined, what: string): string {
  const id = experimentId ?? activeExperimentId();
  if (!id) throw new Error(`${what} needs an experiment: pass { experimentId } or call setExperiment({ experimentId }) first.`);
  return id;
}

const scorersPath = (experimentId: string) => `/api/v1/experiments/${seg(experimentId)}/scorers`;

/** The judge registry over the collector's REST API: what Judge.register/start/update/stop call. */
export const restRegistryClient: JudgeRegistryClient = {
  async register(req) {
    const experimentId = experimentOrThrow(req.experimentId, `judge.register() of "${req.name}"`);
    return request<ScorerRecord>("POST", scorersPath(experimentId), {
      name: req.name,
      judge: req.judge,
      ...(req.report !== undefined ? { report: req.report } : {}),
      ...(req.alignmentRunId ? { alignmentRunId: req.alignmentRunId } : {}),
    });
  },
  async setSampling(req) {
    return request<ScorerRecord>("POST", `${scorersPath(req.experimentId)}/${seg(req.name)}/sampling`, {
      sampleRate: req.sampleRate,
      ...(req.filter !== undefined ? { filter: req.filter } : {}),
      version: req.version,
    });
  },
};

/** Makes Judge's registry methods use this SDK's REST client (init() calls it). */
export function installRegistryClient(): void {
  setJudgeRegistryClient(restRegistryClient);
}

/** A judge built from a registry record, carrying its version and sampling state. */
export function judgeFromRecord(rec: ScorerRecord): Judge {
  // A judge handed out by the SDK can be started and stopped through it.
  installRegistryClient();
  return Judge.fromRegistryRecord(rec);
}

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
