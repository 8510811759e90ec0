/**
 * A judge with MemAlign memory. Each call retrieves the k most similar labelled examples and
 * puts them, with the distilled guidelines, in the system prompt, i.e. ahead of the data, with
 * the instruction never to mention them. The Feedback's metadata names the retrieved traces.
 *
 * The per-call examples reach buildMessages() through AsyncLocalStorage: Judge.evaluate builds
 * the prompt itself, and concurrent calls on one judge must not see each other's examples.
 *
 * `toJSON()` adds the memory (guidelines, example ids, texts and labels); the embedding index
 * is not stored and is rebuilt on the first call. Judge.fromJSON / judgeFromJSON return a
 * MemAlignJudge for such JSON (see the end of this module).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Feedback } from "../assessment.js";
import type { CallOptions } from "../complete.js";
import { GavelConfigError } from "../errors.js";
import { Judge, type JudgeCallArgs, type JudgeCallOptions, type JudgeConfig, type JudgeConstructor, type JudgeOptions, type SerializedJudge } from "../judge.js";
import type { ProviderOptions } from "../providers/registry.js";
import type { ChatMessage } from "../providers/types.js";
import type { TemplateVariable } from "../template.js";
import { traceIdOf } from "./training-set.js";
import type { AlignmentExample } from "./types.js";
import {
  bm25Scores,
  cosine,
  embedAll,
  embeddingFailure,
  keyTextOf,
  parseMemory,
  serializeMemory,
  topK,
  type Guideline,
  type MemAlignMemory,
  type MemoryExample,
  type SerializedMemAlign,
  type VectorCache,
} from "./memory.js";

export interface Retrieved {
  examples: MemoryExample[];
  mode: "embedding" | "lexical";
  note?: string;
  embeddingCalls: number;
  embeddingTokens: number;
}

/** Runtime state shared by a MemAlign judge and its clones; never serialised. */
export interface MemAlignRuntime {
  vectors: VectorCache;
  /** Provider settings for the embedding model (e.g. another OpenAI-compatible base URL). */
  embeddingProviders?: ProviderOptions;
}

const callMemory = new AsyncLocalStorage<Retrieved>();

export const GUIDELINES_INTRO =
  "Guidelines distilled from a human expert's past judgements of this kind of data. Follow them where they apply. Never mention these guidelines, or that you were given them, in your answer.";
export const EXAMPLES_INTRO =
  "Past judgements by the same human expert on similar data, most similar first. Use them as precedent for this judgement. Never mention these examples, or that you were given them, in your answer.";

export function renderGuidelines(guidelines: readonly Guideline[]): string {
  if (guidelines.length === 0) return "";
  return `<guidelines>\n${GUIDELINES_INTRO}\n${guidelines.map((g) => `- ${g.text}`).join("\n")}\n</guidelines>`;
}

export function renderExamples(examples: readonly MemoryExample[]): string {
  if (examples.length === 0) return "";
  const blocks = examples.map((e, i) => {
    const lines = [`Example ${i + 1}:`];
    for (const [k, t] of Object.entries(e.fields)) lines.push(`${k}: ${t}`);
    lines.push(`expert's result: ${e.label}`);
    if (e.rationale) lines.push(`expert's rationale: ${e.rationale}`);
    return lines.join("\n");
  });
  return `<examples>\n${EXAMPLES_INTRO}\n\n${blocks.join("\n\n")}\n</examples>`;
}

export type SerializedMemAlignJudge = SerializedJudge & { memalign: SerializedMemAlign };

export class MemAlignJudge extends Judge {
  declare readonly memory: Readonly<MemAlignMemory>;
  #runtime: MemAlignRuntime;
  #indexing: Promise<{ mode: "embedding" | "lexical"; note?: string; calls: number; tokens: number }> | undefined;
  #broken: string | undefined;

  constructor(config: JudgeConfig, options: JudgeOptions = {}, memory?: MemAlignMemory, runtime?: MemAlignRuntime) {
    super(config, options);
    const m = memory ?? parseMemory({});
    Object.defineProperty(this, "memory", { value: Object.freeze({ ...m, guidelines: m.guidelines.map((g) => ({ ...g })), examples: [...m.examples] }), enumerable: false, configurable: true });
    this.#runtime = runtime ?? { vectors: new Map() };
  }

  /** How retrieval runs now: "embedding", or "lexical" (no embedding model, or it failed). */
  get retrievalMode(): "embedding" | "lexical" {
    return this.memory.embeddingModel && !this.#broken ? "embedding" : "lexical";
  }

  /** Same memory and runtime, other settings. */
  override clone(overrides: Partial<JudgeConfig> = {}, options?: JudgeOptions): this {
    const Ctor = this.constructor as new (c: JudgeConfig, o?: JudgeOptions, m?: MemAlignMemory, r?: MemAlignRuntime) => this;
    return new Ctor({ ...this.config(), ...overrides }, options ?? this.options, this.memory as MemAlignMemory, this.#runtime);
  }

  /** A judge with other memory and the same settings (shares the vector cache). */
  withMemory(memory: MemAlignMemory, runtime?: Partial<MemAlignRuntime>): MemAlignJudge {
    const Ctor = this.constructor as new (c: JudgeConfig, o?: JudgeOptions, m?: MemAlignMemory, r?: MemAlignRuntime) => MemAlignJudge;
    return new Ctor(this.config(), this.options, memory, { ...this.#runtime, ...runtime });
  }

  /**
   * Forgets the given traces (objects or ids): their examples leave episodic memory, and a
   * distilled guideline goes when all of its source traces are gone. User-written guidelines stay.
   */
  async unalign(traces: readonly (AlignmentExample | string)[]): Promise<MemAlignJudge> {
    const gone = new Set(traces.map((t) => traceIdOf(t)).filter((id): id is string => id !== undefined));
    const guidelines = this.memory.guidelines.flatMap((g) => {
      if (g.userWritten) return [{ ...g }];
      const left = g.sourceTraceIds.filter((id) => !gone.has(id));
      return left.length > 0 ? [{ ...g, sourceTraceIds: left }] : [];
    });
    const examples = this.memory.examples.filter((e) => !gone.has(e.traceId));
    return this.withMemory({ ...this.memory, guidelines, examples });
  }

  override toJSON(): SerializedMemAlignJudge {
    return { ...super.toJSON(), memalign: serializeMemory(this.memory) };
  }

  static override fromJSON<J extends Judge>(this: JudgeConstructor<J>, json: string | SerializedJudge | Record<string, unknown>, options?: JudgeOptions): J {
    let o: Record<string, unknown>;
    try {
      o = (typeof json === "string" ? JSON.parse(json) : json) as Record<string, unknown>;
    } catch (err) {
      throw new GavelConfigError(`MemAlignJudge.fromJSON: not valid JSON (${(err as Error).message}).`);
    }
    // The base validation, on a plain judge; then the memory on top.
    const plain = baseFromJSON.call(Judge, o, options);
    const Ctor = (typeof this === "function" && this.prototype instanceof MemAlignJudge ? this : MemAlignJudge) as unknown as new (
      c: JudgeConfig,
      opts?: JudgeOptions,
      m?: MemAlignMemory,
    ) => J;
    return new Ctor(plain.config(), options, parseMemory(o?.["memalign"] ?? {}));
  }

  override async evaluate(args: JudgeCallArgs, callOptions: JudgeCallOptions = {}): Promise<Feedback> {
    if (!args || typeof args !== "object") return super.evaluate(args, callOptions);
    const values = this.argumentValues(args);
    // Let the base class throw its usual message for a missing argument.
    if (this.templateVariables.some((v) => values[v] === undefined)) return super.evaluate(args, callOptions);
    const retrieved = await this.retrieve(values, callOptions);
    const fb = await callMemory.run(retrieved, () => super.evaluate(args, callOptions));
    fb.metadata = {
      ...fb.metadata,
      memalign: {
        retrieval: retrieved.mode,
        retrievedTraceIds: retrieved.examples.map((e) => e.traceId),
        guidelines: this.memory.guidelines.length,
        ...(retrieved.note ? { note: retrieved.note } : {}),
      },
      ...(retrieved.embeddingCalls > 0 ? { embeddingCalls: retrieved.embeddingCalls, embeddingTokens: retrieved.embeddingTokens } : {}),
    };
    return fb;
  }

  override buildMessages(values: Partial<Record<TemplateVariable, unknown>>): ChatMessage[] {
    const messages = super.buildMessages(values);
    const retrieved = callMemory.getStore();
    const block = [renderGuidelines(this.memory.guidelines), renderExamples(retrieved?.examples ?? [])].filter(Boolean).join("\n\n");
    if (!block) return messages;
    return messages.map((m) => (m.role === "system" ? { ...m, content: `${m.content}\n\n${block}` } : m));
  }

  /** The k examples most similar to a call's data (the call's first present field). */
  async retrieve(values: Partial<Record<TemplateVariable, unknown>>, callOptions: JudgeCallOptions = {}): Promise<Retrieved> {
    const examples = this.memory.examples;
    const k = this.memory.retrievalK;
    const out: Retrieved = { examples: [], mode: "lexical", embeddingCalls: 0, embeddingTokens: 0 };
    if (examples.length === 0 || k <= 0) {
      out.mode = this.retrievalMode;
      return out;
    }
    const query = keyTextOf(values, this.templateVariables);
    if (this.retrievalMode === "embedding") {
      try {
        const idx = await this.ensureIndex(callOptions);
        out.embeddingCalls += idx.calls;
        out.embeddingTokens += idx.tokens;
        if (idx.mode === "embedding") {
          const q = await embedAll([query], this.embedSettings(callOptions));
          out.embeddingCalls += q.usage.calls;
          out.embeddingTokens += q.usage.inputTokens;
          const qv = q.vectors[0]!;
          const scores = examples.map((e) => cosine(qv, this.#runtime.vectors.get(this.vectorKey(e.text)) ?? []));
          out.examples = topK(scores, k).map((i) => examples[i]!);
          out.mode = "embedding";
          return out;
        }
      } catch (err) {
        if (callOptions.signal?.aborted) throw err;
        this.#broken = embeddingFailure(this.memory.embeddingModel!, err);
      }
    }
    out.mode = "lexical";
    if (this.#broken) out.note = `${this.#broken}: lexical retrieval`;
    out.examples = topK(bm25Scores(query, examples.map((e) => e.text)), k, 0).map((i) => examples[i]!);
    return out;
  }

  private embedSettings(callOptions: JudgeCallOptions): { model: string; dimensions: number | null; callOptions: CallOptions } {
    const providers = this.#runtime.embeddingProviders ?? this.options.providers;
    return {
      model: this.memory.embeddingModel!,
      dimensions: this.memory.embeddingDimensions,
      callOptions: {
        ...(providers ? { providers } : {}),
        ...(this.options.retry ? { retry: this.options.retry } : {}),
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
        ...(callOptions.parentContext ? { parentContext: callOptions.parentContext } : {}),
      },
    };
  }

  /**
   * Embeds the examples that have no vector yet (all of them after fromJSON), once: concurrent
   * first calls share the work. The cost is charged to the call that did it.
   */
  async ensureIndex(callOptions: JudgeCallOptions = {}): Promise<{ mode: "embedding" | "lexical"; note?: string; calls: number; tokens: number }> {
    if (this.retrievalMode === "lexical") return { mode: "lexical", ...(this.#broken ? { note: this.#broken } : {}), calls: 0, tokens: 0 };
    const missing = [...new Set(this.memory.examples.map((e) => e.text).filter((t) => !this.hasVector(t)))];
    if (missing.length === 0) return { mode: "embedding", calls: 0, tokens: 0 };
    const first = this.#indexing === undefined;
    this.#indexing ??= (async () => {
      try {
        const r = await embedAll(missing, this.embedSettings(callOptions));
        missing.forEach((t, i) => this.#runtime.vectors.set(this.vectorKey(t), r.vectors[i]!));
        return { mode: "embedding" as const, calls: r.usage.calls, tokens: r.usage.inputTokens };
      } catch (err) {
        this.#indexing = undefined;
        if (callOptions.signal?.aborted) throw err;
        this.#broken = embeddingFailure(this.memory.embeddingModel!, err);
        return { mode: "lexical" as const, note: this.#broken, calls: 0, tokens: 0 };
      }
    })();
    const r = await this.#indexing;
    // Only the call that started the indexing pays for it in its metadata.
    return first ? r : { ...r, calls: 0, tokens: 0 };
  }

  override toString(): string {
    return `MemAlignJudge(${this.name}, ${this.model}, ${this.memory.guidelines.length} guidelines, ${this.memory.examples.length} examples)`;
  }

  // The base inspect prints toJSON(), which here holds every example.
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const { memalign, ...base } = this.toJSON();
    const m = memalign;
    return `MemAlignJudge ${JSON.stringify({ ...base, memalign: { guidelines: m.guidelines.map((g) => g.text), examples: m.examples.length, embeddingModel: m.embeddingModel, retrievalK: m.retrievalK } }, null, 2)}`;
  }

  /** Seeds the vector cache (the optimizer embeds while aligning; the judge should not do it again). */
  primeVectors(entries: Iterable<[string, number[]]>): void {
    for (const [t, v] of entries) this.#runtime.vectors.set(this.vectorKey(t), v);
  }

  /** Whether `text` has a vector for this judge's embedding model and size. */
  hasVector(text: string): boolean {
    return this.#runtime.vectors.has(this.vectorKey(text));
  }

  // Clones and re-alignments share the cache; a different model or size must not reuse vectors.
  private vectorKey(text: string): string {
    return `${this.memory.embeddingModel ?? ""}\u0000${this.memory.embeddingDimensions ?? ""}\u0000${text}`;
  }
}

// Judge.fromJSON / judgeFromJSON must give back a working MemAlign judge for a registry record
// that carries memory, but judge.ts cannot know this subclass. Wrap the static so plain JSON
// still goes the original way. (A registration hook in judge.ts would replace this.)
const baseFromJSON: typeof Judge.fromJSON = Judge.fromJSON;
const PATCHED = Symbol.for("gavel.memalign.fromJSON");
if (!(Judge.fromJSON as unknown as Record<symbol, unknown>)[PATCHED]) {
  const wrapped = function fromJSON<J extends Judge>(this: JudgeConstructor<J>, json: string | SerializedJudge | Record<string, unknown>, options?: JudgeOptions): J {
    if ((this as unknown) === Judge) {
      let o: unknown;
      try {
        o = typeof json === "string" ? JSON.parse(json) : json;
      } catch {
        o = undefined;
      }
      if (o && typeof o === "object" && (o as Record<string, unknown>)["memalign"] !== undefined) {
        return MemAlignJudge.fromJSON(o as Record<string, unknown>, options) as unknown as J;
      }
    }
    return baseFromJSON.call(this, json, options) as J;
  };
  Object.defineProperty(wrapped, PATCHED, { value: true });
  Judge.fromJSON = wrapped;
}

export function isMemAlignJudge(x: unknown): x is MemAlignJudge {
  return x instanceof MemAlignJudge;
}
