/**
 * The seam between `Judge`'s registry methods (register, start, update, stop) and whoever can
 * reach a judge registry. This package does not talk to the Gavel server itself: the SDK
 * (`@gavel/sdk`) installs its REST client here when it initialises (`init()`, and whenever it
 * hands out a registered judge). Anything else, e.g. a test or another host, may install its own.
 */
import { GavelConfigError } from "./errors.js";

export interface JudgeSampling {
  sampleRate: number;
  filter: string | null;
}

/** One registered judge version, as a registry returns it. */
export interface JudgeRegistryRecord {
  experimentId: string;
  name: string;
  version: number;
  /** The judge's toJSON() form. */
  judge: Record<string, unknown>;
  sampling: JudgeSampling;
  report: Record<string, unknown> | null;
}

export interface RegisterRequest {
  /** Undefined: the client's current experiment (the SDK's setExperiment()). */
  experimentId: string | undefined;
  name: string;
  judge: Record<string, unknown>;
  report?: Record<string, unknown> | null;
  alignmentRunId?: string;
}

export interface JudgeRegistryClient {
  /** Stores a new version (N+1) of the judge; returns its record. */
  register(req: RegisterRequest): Promise<JudgeRegistryRecord>;
  /** Sets the live sampling of one registered version; returns its record. */
  setSampling(req: { experimentId: string; name: string; version: number; sampleRate: number; filter?: string | null }): Promise<JudgeRegistryRecord>;
}

let installed: JudgeRegistryClient | undefined;

/** Installs the registry client the Judge methods use (the SDK does this in init()). Returns the previous one. */
export function setJudgeRegistryClient(client: JudgeRegistryClient | undefined): JudgeRegistryClient | undefined {
  const previous = installed;
  installed = client;
  return previous;
}

/** The installed client; a GavelConfigError saying what to do when there is none. */
export function judgeRegistryClient(what: string): JudgeRegistryClient {
  if (!installed) {
    throw new GavelConfigError(
      `${what} needs a judge registry: import { init } from "@gavel/sdk" and call init({ url }) first ` +
        "(or install a client with setJudgeRegistryClient()).",
    );
  }
  return installed;
}
