import {
  context,
  SpanStatusCode,
  trace as otelTrace,
  type Attributes,
  type Exception,
  type Span,
  type SpanOptions,
  type Tracer,
} from "@opentelemetry/api";
import { ATTR_INPUTS, ATTR_OUTPUTS, ATTR_SPAN_TYPE, ATTR_TRUNCATED } from "./attributes.js";
import { toJson, truncateUtf8 } from "./serialize.js";
import { state } from "./state.js";

export const TRACER_NAME = "gavel";

export interface TraceOptions {
  /** Span name; default the function's (or method's) name, else "anonymous". */
  name?: string;
  /**
   * `gavel.span_type` (CHAIN, LLM, TOOL, RETRIEVER, AGENT, …; see SpanType). Unset by default,
   * which the collector reads as UNKNOWN; setting nothing keeps the hot path cheaper.
   */
  spanType?: string;
  /** Extra attributes set when the span starts. */
  attributes?: Attributes;
}

let tracer: Tracer | undefined;

/**
 * The tracer is looked up lazily and cached: a function can be wrapped at import time, before
 * init() registers a provider, and still trace once one exists.
 */
function getTracer(): Tracer {
  return (tracer ??= otelTrace.getTracer(TRACER_NAME));
}

/** Drop the cached tracer; init() and shutdown() call it when the global provider changes. */
export function resetTracer(): void {
  tracer = undefined;
}

/** Sets a payload attribute; returns true when it had to be cut to the size cap. (Also used by evaluate().) */
export function setPayload(span: Span, key: string, value: unknown): boolean {
  const json = toJson(value);
  if (json === undefined) return false;
  if (json.length > state.safeChars) {
    const cut = truncateUtf8(json, state.maxPayloadBytes);
    if (cut !== undefined) {
      span.setAttribute(key, cut);
      return true;
    }
  }
  span.setAttribute(key, json);
  return false;
}

export function finishOk(span: Span, value: unknown, inputsTruncated: boolean): void {
  if (span.isRecording()) {
    const cut = setPayload(span, ATTR_OUTPUTS, value);
    if (cut) span.setAttribute(ATTR_TRUNCATED, inputsTruncated ? "inputs,outputs" : "outputs");
  }
  state.lastTraceId = span.spanContext().traceId;
  span.end();
}

export function finishError(span: Span, err: unknown): void {
  if (span.isRecording()) {
    let message: string;
    if (err instanceof Error) {
      span.recordException(err);
      message = err.message;
    } else if (typeof err === "object" && err !== null) {
      span.recordException(err as Exception);
      const m = (err as { message?: unknown }).message;
      message = typeof m === "string" ? m : String(toJson(err) ?? err);
    } else {
      message = String(err);
      span.recordException(message);
    }
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  state.lastTraceId = span.spanContext().traceId;
  span.end();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (...args: any[]) => any;

function startOptions(opts: TraceOptions | undefined): SpanOptions | undefined {
  if (opts === undefined) return undefined;
  const attrs: Attributes = { ...opts.attributes };
  if (opts.spanType !== undefined) attrs[ATTR_SPAN_TYPE] = opts.spanType;
  return Object.keys(attrs).length === 0 ? undefined : { attributes: attrs };
}

function wrap<F extends AnyFn>(fn: F, name: string, opts: TraceOptions | undefined): F {
  const spanOpts = startOptions(opts);
  // One closure per wrapped function; per call only the span, the rest args and, for async
  // results, the two settle callbacks are allocated.
  const traced = function (this: unknown, ...args: unknown[]): unknown {
    const parent = context.active();
    const span = getTracer().startSpan(name, spanOpts, parent);
    let inputsTruncated = false;
    if (args.length !== 0 && span.isRecording()) {
      inputsTruncated = setPayload(span, ATTR_INPUTS, args.length === 1 ? args[0] : args);
      if (inputsTruncated) span.setAttribute(ATTR_TRUNCATED, "inputs");
    }
    let result: unknown;
    try {
      result = context.with(otelTrace.setSpan(parent, span), fn as AnyFn, this, ...args);
    } catch (err) {
      finishError(span, err);
      throw err;
    }
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      return (result as PromiseLike<unknown>).then(
        (value) => {
          finishOk(span, value, inputsTruncated);
          return value;
        },
        (err: unknown) => {
          finishError(span, err);
          throw err;
        },
      );
    }
    finishOk(span, result, inputsTruncated);
    return result;
  };
  Object.defineProperty(traced, "name", { value: fn.name, configurable: true });
  Object.defineProperty(traced, "length", { value: fn.length, configurable: true });
  return traced as unknown as F;
}

/** A decorator usable with both TypeScript's experimentalDecorators and TC39 standard decorators. */
export interface TraceDecorator {
  <F extends AnyFn>(value: F, context: ClassMethodDecoratorContext): F;
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

function isStandardContext(x: unknown): x is ClassMethodDecoratorContext {
  return typeof x === "object" && x !== null && typeof (x as { kind?: unknown }).kind === "string";
}

function isDescriptor(x: unknown): x is PropertyDescriptor {
  return typeof x === "object" && x !== null && ("value" in x || "get" in x || "set" in x);
}

function makeDecorator(opts: TraceOptions | undefined): TraceDecorator {
  return function decorate(a: unknown, b: unknown, c?: unknown): unknown {
    if (isStandardContext(b)) {
      if (b.kind !== "method") throw new TypeError(`@trace decorates methods, not ${b.kind}s.`);
      return wrap(a as AnyFn, opts?.name ?? String(b.name), opts);
    }
    if (isDescriptor(c) && typeof c.value === "function") {
      c.value = wrap(c.value as AnyFn, opts?.name ?? String(b), opts);
      return c;
    }
    throw new TypeError("@trace decorates methods; use trace(fn, opts) to wrap a function.");
  } as TraceDecorator;
}

/**
 * Trace a function: each call becomes a span (child of the active span), with its arguments in
 * `gavel.inputs` and its result (awaited when it is a promise) in `gavel.outputs`. A sync function
 * stays sync. Errors mark the span ERROR, are recorded as an exception event and re-thrown.
 *
 * Forms: `trace(fn, opts?)` returns the wrapped function; `@trace(opts?)` (and bare `@trace`)
 * decorates a method, with either decorator implementation.
 */
export function trace<F extends AnyFn>(fn: F, opts?: TraceOptions): F;
export function trace(opts?: TraceOptions): TraceDecorator;
export function trace<F extends AnyFn>(value: F, context: ClassMethodDecoratorContext): F;
export function trace(target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
export function trace(a?: unknown, b?: unknown, c?: unknown): unknown {
  if (typeof a === "function") {
    // Bare `@trace` on a method: standard (value, context) or legacy static (ctor, key, descriptor).
    if (isStandardContext(b) || isDescriptor(c)) return makeDecorator(undefined)(a as AnyFn, b as never, c as never);
    const opts = b as TraceOptions | undefined;
    return wrap(a as AnyFn, opts?.name ?? ((a as AnyFn).name || "anonymous"), opts);
  }
  if (a !== undefined && a !== null && typeof a === "object" && isDescriptor(c)) {
    // Bare legacy `@trace` on an instance method: (prototype, key, descriptor).
    return makeDecorator(undefined)(a, b as string | symbol, c);
  }
  return makeDecorator(a as TraceOptions | undefined);
}
