import { trace as otelTrace, type TracerProvider } from "@opentelemetry/api";
import { detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes, defaultResource } from "@opentelemetry/resources";
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createGavelExporter, GavelSpanProcessor, isGavelSpanProcessor, liveProcessors } from "./processor.js";
import { installRegistryClient } from "./registry.js";
import { setMaxPayloadBytes, state } from "./state.js";
import { resetTracer } from "./trace.js";

export interface InitOptions {
  /**
   * `service.name`; default OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES), else
   * unknown_service:node. Ignored when joining an app's provider, whose resource is its own.
   */
  serviceName?: string;
  /** Collector base URL; default GAVEL_URL, else http://127.0.0.1:4318. Spans go to `<url>/v1/traces`. */
  url?: string;
  /** API key sent as `Authorization: Bearer`; default GAVEL_API_KEY. */
  apiKey?: string;
  /** Replace the OTLP exporter (e.g. InMemorySpanExporter in tests). Still batched. */
  exporter?: SpanExporter;
  /** More span processors to install next to Gavel's. */
  spanProcessors?: SpanProcessor[];
  /** Cap on `gavel.inputs` / `gavel.outputs` in UTF-8 bytes; default GAVEL_MAX_PAYLOAD_BYTES, else 65536. */
  maxPayloadBytes?: number;
}

/**
 * How init() hooked into OpenTelemetry:
 * - `own`: no tracer provider was registered, Gavel registered its own.
 * - `attached`: the app's registered provider now also runs Gavel's processor.
 * - `unattached`: the app's provider could not be extended; see the warning it printed.
 * - `disabled`: OTEL_SDK_DISABLED=true.
 */
export type InitMode = "own" | "attached" | "unattached" | "disabled";

export interface InitResult {
  mode: InitMode;
  /** The provider spans go through (Gavel's own, or the app's). */
  tracerProvider: TracerProvider;
}

interface Runtime {
  result: InitResult;
  ownProvider?: NodeTracerProvider;
  /** Processors init() put into someone else's provider, removed again on shutdown. */
  attached: SpanProcessor[];
  /** The caller's spanProcessors, flushed by flush() next to Gavel's. */
  extra: SpanProcessor[];
  attachedTo?: SpanProcessor[];
}

let runtime: Runtime | undefined;

/** The real provider behind the API's global proxy. */
function registeredProvider(): TracerProvider | undefined {
  const global = otelTrace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  const delegate = typeof global.getDelegate === "function" ? global.getDelegate() : global;
  // With nothing registered the proxy hands out the API's no-op provider.
  return delegate.constructor?.name === "NoopTracerProvider" ? undefined : delegate;
}

/**
 * OTel JS 1.x had addSpanProcessor(); 2.x builds the processor list at construction. Its
 * MultiSpanProcessor keeps a plain array that every tracer reads on each span, so adding to
 * that array is the only way in. Returns the array, or undefined when it is not there.
 */
function processorArray(provider: TracerProvider): SpanProcessor[] | undefined {
  const multi = (provider as { _activeSpanProcessor?: { _spanProcessors?: unknown } })._activeSpanProcessor;
  const arr = multi?._spanProcessors;
  return Array.isArray(arr) ? (arr as SpanProcessor[]) : undefined;
}

/**
 * Set up tracing to the Gavel collector. Call once, early; call it after your own
 * OpenTelemetry SDK has started if you have one, so Gavel joins it instead of replacing it.
 */
export function init(opts: InitOptions = {}): InitResult {
  if (runtime !== undefined) {
    console.warn("[gavel] init() was already called; call shutdown() first to re-initialise. Keeping the first setup.");
    return runtime.result;
  }
  if (opts.url !== undefined) state.url = opts.url;
  if (opts.apiKey !== undefined) state.apiKey = opts.apiKey;
  // judge.register() / start() / update() / stop() go to this collector's registry.
  installRegistryClient();
  if (opts.maxPayloadBytes !== undefined) setMaxPayloadBytes(opts.maxPayloadBytes);
  resetTracer();

  if ((process.env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") {
    runtime = { result: { mode: "disabled", tracerProvider: otelTrace.getTracerProvider() }, attached: [], extra: [] };
    return runtime.result;
  }

  const extra = opts.spanProcessors ?? [];
  const existing = registeredProvider();
  if (existing !== undefined) {
    const arr = processorArray(existing);
    const addSpanProcessor = (existing as { addSpanProcessor?: (p: SpanProcessor) => void }).addSpanProcessor;
    const already = arr?.some(isGavelSpanProcessor) ?? false;
    const mine: SpanProcessor[] = already ? [...extra] : [new GavelSpanProcessor(opts.exporter ?? createGavelExporter(opts)), ...extra];
    let mode: InitMode = "attached";
    let attachedTo: SpanProcessor[] | undefined;
    if (arr !== undefined) {
      // In front, so processors of the app that read attributes in onStart see the ids.
      arr.unshift(...mine);
      attachedTo = arr;
    } else if (typeof addSpanProcessor === "function") {
      for (const p of mine) addSpanProcessor.call(existing, p);
    } else {
      mode = "unattached";
      for (const p of mine) if (isGavelSpanProcessor(p)) void p.shutdown();
      console.warn(
        `[gavel] An OpenTelemetry tracer provider (${existing.constructor?.name ?? "unknown"}) is already registered and ` +
          "Gavel cannot add its span processor to it, so spans will not reach Gavel. Add it yourself: " +
          "new NodeSDK({ spanProcessors: [gavelSpanProcessor(), ...] }) with gavelSpanProcessor from @gavel/sdk.",
      );
    }
    runtime = {
      result: { mode, tracerProvider: existing },
      attached: mode === "unattached" ? [] : mine,
      attachedTo,
      extra: mode === "unattached" ? [] : extra,
    };
  } else {
    const resource = defaultResource()
      .merge(detectResources({ detectors: [envDetector, processDetector, hostDetector] }))
      .merge(opts.serviceName !== undefined ? resourceFromAttributes({ "service.name": opts.serviceName }) : null);
    const provider = new NodeTracerProvider({
      resource,
      spanProcessors: [new GavelSpanProcessor(opts.exporter ?? createGavelExporter(opts)), ...extra],
    });
    // Also installs the AsyncLocalStorage context manager and W3C propagators.
    provider.register();
    runtime = { result: { mode: "own", tracerProvider: provider }, ownProvider: provider, attached: [], extra };
  }
  return runtime.result;
}

/** Export every span that has ended so far. Safe to call without init(). */
export async function flush(): Promise<void> {
  const jobs: Promise<void>[] = [];
  for (const p of liveProcessors) jobs.push(p.forceFlush());
  for (const p of runtime?.extra ?? []) jobs.push(p.forceFlush());
  await Promise.all(jobs);
}

/**
 * Flush and stop what init() started. The app's own provider keeps running, without Gavel's
 * processor; Gavel's own provider is unregistered so init() can run again.
 */
export async function shutdown(): Promise<void> {
  const rt = runtime;
  runtime = undefined;
  if (rt === undefined) return;
  if (rt.ownProvider) {
    await rt.ownProvider.shutdown();
    otelTrace.disable();
  } else {
    if (rt.attachedTo) {
      for (const p of rt.attached) {
        const i = rt.attachedTo.indexOf(p);
        if (i >= 0) rt.attachedTo.splice(i, 1);
      }
    }
    await Promise.all(rt.attached.map((p) => p.shutdown()));
  }
  resetTracer();
}
