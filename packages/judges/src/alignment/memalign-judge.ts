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
 * MemAlignJudge for such JSON: this module registers a judge codec for the "memalign" key (the
 * package entry loads it, so every user of @gavel/judges has it).
 *
 * When the embedding model fails (after the provider client's own retries), that call retrieves
 * lexically (BM25) and says so in its Feedback's usage; the next call tries the embedding model
 * again once a backoff has passed (full jitter, growing with consecutive failures, retry.ts). A
 * judge never switches to lexical retrieval for good.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Feedback } from "../assessment.js";
import type { CallOptions } from "../complete.js";
import { GavelConfigError } from "../errors.js";
import { Judge, registerJudgeCodec, type JudgeCallArgs, type JudgeCallOptions, type JudgeConfig, type JudgeConstructor, type JudgeOptions, type SerializedJudge } from "../judge.js";
import { backoffDelay, resolveRetryOptions } from "../retry.js";
import type { ProviderOptions } from "../providers/registry.js";
import type { ChatMessage } from "../providers/types.js";
import type { TemplateVariable } from "../template.js";
import { exampleBeingJudged } from "./run.js";
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
  /** Embedding failures in a row, the last one's reason, and when to try again (ms since epoch). */
  outage?: { failures: number; reason: string; retryAt: number };
}

/** Cap of the wait between embedding attempts after failures. */
export const EMBEDDING_RETRY_MAX_DELAY_MS = 60_000;

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

  constructor(config: JudgeConfig, options: JudgeOptions = {}, memory?: MemAlignMemory, runtime?: MemAlignRuntime) {
    super(config, options);
    const m = memory ?? parseMemory({});
    Object.defineProperty(this, "memory", { value: Object.freeze({ ...m, guidelines: m.guidelines.map((g) => ({ ...g })), examples: [...m.examples] }), enumerable: false, configurable: true });
    this.#runtime = runtime ?? { vectors: new Map() };
  }

  /** How retrieval is configured: "embedding", or "lexical" (no embedding model). A failing model is retried. */
  get retrievalMode(): "embedding" | "lexical" {
    return this.memory.embeddingModel ? "embedding" : "lexical";
  }

  /** Traces this judge has learned from: alignedOn, its episodic memory and its guidelines' sources. */
  override seenTraceIds(): ReadonlySet<string> {
    const ids = new Set(super.seenTraceIds());
    for (const e of this.memory.examples) ids.add(e.traceId);
    for (const g of this.memory.guidelines) for (const id of g.sourceTraceIds) ids.add(id);
    return ids;
  }

  /** The embedding model's current outage (consecutive failures and the last reason), if any. */
  get embeddingOutage(): { failures: number; reason: string; retryAt: number } | undefined {
    return this.#runtime.outage ? { ...this.#runtime.outage } : undefined;
  }

  private embeddingFailed(err: unknown): string {
    const reason = embeddingFailure(this.memory.embeddingModel!, err);
    const failures = (this.#runtime.outage?.failures ?? 0) + 1;
    const r = resolveRetryOptions(this.options.retry);
    const delay = backoffDelay(failures, { baseDelayMs: r.baseDelayMs, maxDelayMs: Math.max(r.maxDelayMs, EMBEDDING_RETRY_MAX_DELAY_MS), random: r.random });
    this.#runtime.outage = { failures, reason, retryAt: Date.now() + delay };
    return reason;
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
    if (!o || typeof o !== "object") throw new GavelConfigError("MemAlignJudge.fromJSON: expected an object from judge.toJSON().");
    // The base validation, on a plain judge; then the memory on top.
    const { memalign: _memory, ...base } = o;
    const plain = Judge.fromJSON(base, options);
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
    const embedding = retrieved.embeddingCalls > 0 ? { embeddingCalls: retrieved.embeddingCalls, embeddingTokens: retrieved.embeddingTokens } : {};
    fb.usage = { ...(fb.usage ?? { llmCalls: 0, attempts: 0, inputTokens: 0, outputTokens: 0, latencyMs: 0 }), ...embedding, retrieval: retrieved.mode };
    fb.metadata = {
      ...fb.metadata,
      memalign: {
        retrieval: retrieved.mode,
        retrievedTraceIds: retrieved.examples.map((e) => e.traceId),
        guidelines: this.memory.guidelines.length,
        ...(retrieved.note ? { note: retrieved.note } : {}),
      },
      ...embedding,
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
    // During an alignment, the example being judged is never its own precedent.
    const self = exampleBeingJudged();
    const examples = self === undefined ? this.memory.examples : this.memory.examples.filter((e) => e.traceId !== self);
    const k = this.memory.retrievalK;
    const out: Retrieved = { examples: [], mode: "lexical", embeddingCalls: 0, embeddingTokens: 0 };
    if (examples.length === 0 || k <= 0) {
      out.mode = this.retrievalMode;
      return out;
    }
    const query = keyTextOf(values, this.templateVariables);
    const outage = this.#runtime.outage;
    const waiting = outage !== undefined && Date.now() < outage.retryAt;
    if (this.retrievalMode === "embedding" && !waiting) {
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
          this.#runtime.outage = undefined;
          return out;
        }
      } catch (err) {
        if (callOptions.signal?.aborted) throw err;
        this.embeddingFailed(err);
      }
    }
    out.mode = "lexical";
    const o = this.#runtime.outage;
    if (this.retrievalMode === "embedding" && o) {
      out.note = `${o.reason}: lexical retrieval for this call (${o.failures} failure${o.failures === 1 ? "" : "s"} in a row; the embedding model is tried again after ${new Date(o.retryAt).toISOString()})`;
    }
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
    if (this.retrievalMode === "lexical") return { mode: "lexical", calls: 0, tokens: 0 };
    const missing = [...new Set(this.memory.examples.map((e) => e.text).filter((t) => !this.hasVector(t)))];
    if (missing.length === 0) return { mode: "embedding", calls: 0, tokens: 0 };
    const first = this.#indexing === undefined;
    this.#indexing ??= (async () => {
      try {
        const r = await embedAll(missing, this.embedSettings(callOptions));
        missing.forEach((t, i) => this.#runtime.vectors.set(this.vectorKey(t), r.vectors[i]!));
        return { mode: "embedding" as const, calls: r.usage.calls, tokens: r.usage.inputTokens };
      } catch (err) {
        if (callOptions.signal?.aborted) throw err;
        return { mode: "lexical" as const, note: this.embeddingFailed(err), calls: 0, tokens: 0 };
      }
    })();
    const r = await this.#indexing;
    // A failed build is tried again by a later call (after the backoff); a finished one is done.
    if (r.mode === "lexical") this.#indexing = undefined;
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

// Judge.fromJSON / judgeFromJSON rebuild a MemAlign judge from JSON carrying its memory.
registerJudgeCodec({ key: "memalign", fromJSON: (json, options) => MemAlignJudge.fromJSON(json, options) });

export function isMemAlignJudge(x: unknown): x is MemAlignJudge {
  return x instanceof MemAlignJudge;
}
