/**
 * MemAlign (after MLflow's MemAlign optimizer, mlflow/genai/judges/optimizers in mlflow/mlflow): instead of rewriting the instructions, the
 * judge gets a memory. Semantic memory: guidelines distilled from the labelled examples by a
 * reflection model. Episodic memory: the examples themselves, retrieved by similarity at each
 * call. Cheap (one distillation call per 50 examples, one embedding call) and incremental:
 * aligning a MemAlign judge again distils only the new examples.
 */
import type { CallOptions } from "../complete.js";
import { GavelConfigError } from "../errors.js";
import type { Judge } from "../judge.js";
import type { ProviderOptions } from "../providers/registry.js";
import { DEFAULT_DISTILL_PARALLELISM, distillGuidelines } from "./distill.js";
import { MemAlignJudge, renderGuidelines } from "./memalign-judge.js";
import {
  DEFAULT_EMBEDDING_DIMENSIONS,
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_RETRIEVAL_K,
  embedAll,
  embeddingFailure,
  keyTextOf,
  renderFields,
  type Guideline,
  type MemAlignMemory,
  type MemoryExample,
} from "./memory.js";
import type { AlignmentExample, AlignmentOptimizer, OptimizerContext, OptimizerResult, TrainingExample } from "./types.js";

export interface MemAlignOptions {
  /** Model that distils guidelines, `provider:/model`. Default: the judge's model. */
  reflectionModel?: string;
  /**
   * Embedding model for episodic retrieval. Default "openai:/text-embedding-3-small" (any
   * OpenAI-compatible endpoint through OPENAI_BASE_URL or `embeddingProviders`). null: lexical
   * (BM25) retrieval. When the model fails while aligning, the judge keeps it (the index is
   * built by its first call instead), the held-out calls retrieve lexically until it answers, and
   * the report says how many calls retrieved which way.
   */
  embeddingModel?: string | null;
  /** Vector size asked for; null sends none (for endpoints without `dimensions`). Default 512. */
  embeddingDimensions?: number | null;
  /** Provider settings for the embedding model only, e.g. { openai: { baseURL, apiKey } }. Not serialised. */
  embeddingProviders?: ProviderOptions;
  /** Examples retrieved per judge call. Default 5. */
  retrievalK?: number;
  /** Distillation calls in flight at most. Default 8. */
  maxParallelDistillation?: number;
  /** Guidelines written by people: always in memory, never removed by unalign(). */
  guidelines?: readonly string[];
}

export class MemAlignOptimizer implements AlignmentOptimizer {
  readonly name = "MemAlign";
  readonly minExamples = 1;
  readonly seed = undefined;
  readonly options: Readonly<MemAlignOptions>;
  #last: MemAlignJudge | undefined;

  constructor(options: MemAlignOptions = {}) {
    if (options.retrievalK !== undefined && !(Number.isInteger(options.retrievalK) && options.retrievalK >= 0)) {
      throw new GavelConfigError(`MemAlignOptimizer: "retrievalK" must be an integer ≥ 0, got ${JSON.stringify(options.retrievalK)}.`);
    }
    const d = options.embeddingDimensions;
    if (d !== undefined && d !== null && !(Number.isInteger(d) && d > 0)) {
      throw new GavelConfigError(`MemAlignOptimizer: "embeddingDimensions" must be a positive integer or null.`);
    }
    this.options = Object.freeze({ ...options });
  }

  describe(): Record<string, unknown> {
    const o = this.options;
    return {
      ...(o.reflectionModel !== undefined ? { reflectionModel: o.reflectionModel } : {}),
      embeddingModel: o.embeddingModel === undefined ? DEFAULT_EMBEDDING_MODEL : o.embeddingModel,
      embeddingDimensions: o.embeddingDimensions === undefined ? DEFAULT_EMBEDDING_DIMENSIONS : o.embeddingDimensions,
      retrievalK: o.retrievalK ?? DEFAULT_RETRIEVAL_K,
      maxParallelDistillation: o.maxParallelDistillation ?? DEFAULT_DISTILL_PARALLELISM,
    };
  }

  async align(judge: Judge, trainset: readonly TrainingExample[], ctx: OptimizerContext): Promise<OptimizerResult> {
    const o = this.options;
    const prior = judge instanceof MemAlignJudge ? judge.memory : undefined;
    const embeddingModel = o.embeddingModel !== undefined ? o.embeddingModel : prior ? prior.embeddingModel ?? DEFAULT_EMBEDDING_MODEL : DEFAULT_EMBEDDING_MODEL;
    const embeddingDimensions = o.embeddingDimensions !== undefined ? o.embeddingDimensions : prior?.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
    const retrievalK = o.retrievalK ?? prior?.retrievalK ?? DEFAULT_RETRIEVAL_K;
    const reflectionModel = o.reflectionModel ?? judge.model;
    const callOptions: CallOptions = {
      ...(judge.options.providers ? { providers: judge.options.providers } : {}),
      ...(judge.options.retry ? { retry: judge.options.retry } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    };

    // Episodic memory: what was there, with new or relabelled examples replacing old ones.
    const examples: MemoryExample[] = [];
    const byId = new Map<string, MemoryExample>();
    for (const e of prior?.examples ?? []) {
      const copy = { ...e };
      examples.push(copy);
      byId.set(e.traceId, copy);
    }
    const toDistill: MemoryExample[] = [];
    let added = 0;
    const relabelled = new Set<string>();
    for (const ex of trainset) {
      const m = toMemoryExample(ex, judge);
      const old = byId.get(ex.traceId);
      if (old) {
        const changed = old.label !== m.label || old.rationale !== m.rationale;
        if (!changed && old.distilled !== false) continue;
        if (changed) {
          Object.assign(old, m);
          if (!("rationale" in m)) delete old.rationale;
          relabelled.add(old.traceId);
        }
        delete old.distilled;
        toDistill.push(old);
      } else {
        examples.push(m);
        byId.set(m.traceId, m);
        added++;
        toDistill.push(m);
      }
    }
    // Examples whose distillation failed last time are distilled again.
    for (const e of examples) {
      if (e.distilled === false && !toDistill.includes(e)) {
        delete e.distilled;
        toDistill.push(e);
      }
    }

    // Semantic memory.
    // A relabelled trace no longer supports what was distilled from its old label.
    const guidelines: Guideline[] = (prior?.guidelines ?? []).flatMap((g) => {
      const sourceTraceIds = g.sourceTraceIds.filter((id) => !relabelled.has(id));
      return g.userWritten || sourceTraceIds.length > 0 ? [{ ...g, sourceTraceIds }] : [];
    });
    for (const text of o.guidelines ?? []) {
      const t = text.replace(/\s+/g, " ").trim();
      if (t && !guidelines.some((g) => g.text === t)) guidelines.push({ text: t, sourceTraceIds: [], userWritten: true });
    }
    const before = guidelines.length;
    let distill: Awaited<ReturnType<typeof distillGuidelines>> | undefined;
    if (toDistill.length > 0) {
      ctx.progress({ message: `MemAlign: distilling guidelines from ${toDistill.length} example${toDistill.length === 1 ? "" : "s"}` });
      distill = await distillGuidelines(judge, reflectionModel, guidelines, toDistill, {
        parallelism: o.maxParallelDistillation ?? DEFAULT_DISTILL_PARALLELISM,
        callOptions,
        record: (u) => ctx.record(u),
        onBatch: (done, total) => ctx.progress({ message: `MemAlign: distilled batch ${done}/${total}`, step: done, totalSteps: total }),
      });
      const failed = new Set(distill.failed.flatMap((f) => f.traceIds));
      for (const e of toDistill) if (failed.has(e.traceId)) e.distilled = false;
    }

    // The embedding index: embedded now, so the first judge call does not pay for it.
    const notes: string[] = [];
    const model: string | null = embeddingModel;
    let indexed = model !== null;
    const vectors: [string, number[]][] = [];
    const priorJudge = judge instanceof MemAlignJudge ? judge : undefined;
    if (model === null) {
      notes.push("MemAlign: no embedding model configured: lexical (BM25) retrieval.");
    } else {
      // Vectors the judge already has (same model and size) are reused.
      const probe = priorJudge && priorJudge.memory.embeddingModel === model && priorJudge.memory.embeddingDimensions === embeddingDimensions ? priorJudge : undefined;
      const texts = [...new Set(examples.map((e) => e.text))].filter((t) => !probe?.hasVector(t));
      ctx.progress({ message: `MemAlign: embedding ${texts.length} examples with ${model}` });
      if (texts.length > 0) {
        try {
          const r = await embedAll(texts, { model, dimensions: embeddingDimensions, callOptions: { ...callOptions, ...(o.embeddingProviders ? { providers: o.embeddingProviders } : {}) } });
          ctx.record(r.usage);
          texts.forEach((t, i) => vectors.push([t, r.vectors[i]!]));
        } catch (err) {
          if (ctx.signal?.aborted) throw err;
          // The judge keeps its embedding model: a later call builds the index (with backoff
          // between failed attempts); until then calls retrieve lexically and say so.
          notes.push(
            `MemAlign: ${embeddingFailure(model, err)} while aligning; the judge keeps ${model} and builds its index on a later call; ` +
              `until the model answers, calls fall back to lexical (BM25) retrieval (see retrieval in the report).`,
          );
          ctx.record({ calls: 1 });
          indexed = false;
        }
      }
    }
    if (distill && distill.failed.length > 0) {
      notes.push(
        `MemAlign: ${distill.failed.length} of ${distill.calls} distillation call${distill.calls === 1 ? "" : "s"} failed (${distill.failed[0]!.error.slice(0, 160)}); ` +
          `their ${distill.failed.reduce((s, f) => s + f.traceIds.length, 0)} examples are in episodic memory and will be distilled by the next align().`,
      );
    }

    const memory: MemAlignMemory = { guidelines, examples, embeddingModel: model, embeddingDimensions, retrievalK };
    const config = judge.config();
    const aligned = priorJudge
      ? priorJudge.withMemory(memory, o.embeddingProviders ? { embeddingProviders: o.embeddingProviders } : {})
      : new MemAlignJudge(config, judge.options, memory, { vectors: new Map(), ...(o.embeddingProviders ? { embeddingProviders: o.embeddingProviders } : {}) });
    aligned.primeVectors(vectors);
    this.#last = aligned;

    const guidelineBlock = renderGuidelines(guidelines);
    return {
      judge: aligned,
      ...(notes.length > 0 ? { note: notes.join(" ") } : {}),
      effectiveInstructions: guidelineBlock ? `${judge.instructions.trimEnd()}\n\n${guidelineBlock}` : judge.instructions,
      details: {
        retrieval: model === null ? "lexical" : "embedding",
        embeddingIndexBuilt: indexed,
        embeddingModel: model,
        embeddingDimensions,
        retrievalK,
        reflectionModel,
        guidelines: guidelines.length,
        newGuidelines: guidelines.length - before,
        droppedGuidelines: distill?.dropped ?? { empty: 0, unsourced: 0, duplicate: 0 },
        examples: examples.length,
        newExamples: added,
        relabelledExamples: relabelled.size,
        distillationCalls: distill?.calls ?? 0,
        failedDistillationCalls: distill?.failed.length ?? 0,
      },
    };
  }

  /** Every label used: continues from the measured judge, so only the held-out examples are new. */
  retrain(_judge: Judge, measured: Judge, all: readonly TrainingExample[], ctx: OptimizerContext): Promise<OptimizerResult> {
    return this.align(measured, all, ctx);
  }

  /**
   * Forgets traces (objects or ids) in `judge`, default the judge this optimizer aligned last:
   * their examples go, and guidelines whose sources are all gone. User-written guidelines stay.
   */
  async unalign(traces: readonly (AlignmentExample | string)[], judge?: Judge): Promise<MemAlignJudge> {
    const target = judge ?? this.#last;
    if (!(target instanceof MemAlignJudge)) {
      throw new GavelConfigError(
        judge ? `unalign: judge "${judge.name}" has no MemAlign memory (align it with MemAlignOptimizer first).` : "unalign: this optimizer has not aligned a judge yet; pass the judge: optimizer.unalign(traces, judge).",
      );
    }
    const out = await target.unalign(traces);
    if (!judge || judge === this.#last) this.#last = out;
    return out;
  }
}

function toMemoryExample(ex: TrainingExample, judge: Judge): MemoryExample {
  return {
    traceId: ex.traceId,
    label: ex.label,
    ...(ex.rationale !== undefined ? { rationale: ex.rationale } : {}),
    fields: renderFields(ex.fields, judge.templateVariables),
    text: keyTextOf(ex.fields, judge.templateVariables),
  };
}
