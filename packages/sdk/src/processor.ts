import type { Context } from "@opentelemetry/api";
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { ATTR_EXPERIMENT_ID, ATTR_RUN_ID } from "./attributes.js";
import { RUN_KEY, type ActiveRun } from "./context.js";
import { apiKey, collectorUrl, state } from "./state.js";

export interface GavelSpanProcessorOptions {
  /** Collector base URL (spans go to `<url>/v1/traces`); default GAVEL_URL, else http://127.0.0.1:4318. */
  url?: string;
  /** Sent as `Authorization: Bearer <key>`; default GAVEL_API_KEY. */
  apiKey?: string;
  /** Export somewhere else than OTLP/HTTP (tests: InMemorySpanExporter). */
  exporter?: SpanExporter;
}

const BRAND = Symbol.for("gavel.spanProcessor");

/** Every processor made by gavelSpanProcessor(), so flush() reaches those the user wired up. */
export const liveProcessors = new Set<GavelSpanProcessor>();

/**
 * Stamps experiment and run ids on every span at start (so spans of any instrumentation
 * inside startRun() carry them), records the last ended root span's trace id, and exports
 * through a BatchSpanProcessor.
 */
export class GavelSpanProcessor implements SpanProcessor {
  readonly [BRAND] = true;
  /** Spans ended since the last flush; lets the exit hook skip an empty flush. */
  pending = 0;
  private readonly inner: SpanProcessor;
  private readonly exporter: SpanExporter;

  constructor(exporter: SpanExporter) {
    this.exporter = reportingFailures(exporter);
    this.inner = new BatchSpanProcessor(this.exporter);
    liveProcessors.add(this);
    installExitFlush();
  }

  onStart(span: Span, parentContext: Context): void {
    const run = parentContext.getValue(RUN_KEY) as ActiveRun | undefined;
    // A value the caller set explicitly (span attributes option) wins.
    const attrs = span.attributes;
    if (run !== undefined) {
      if (attrs[ATTR_EXPERIMENT_ID] === undefined) span.setAttribute(ATTR_EXPERIMENT_ID, run.experimentId);
      if (attrs[ATTR_RUN_ID] === undefined) span.setAttribute(ATTR_RUN_ID, run.runId);
    } else if (state.experimentId !== undefined && attrs[ATTR_EXPERIMENT_ID] === undefined) {
      span.setAttribute(ATTR_EXPERIMENT_ID, state.experimentId);
    }
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const parent = span.parentSpanContext;
    if (parent === undefined || parent.isRemote === true) state.lastTraceId = span.spanContext().traceId;
    this.pending++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    this.pending = 0;
    // The batch processor exports what is queued but does not wait for an export already
    // under way (one the exporter is retrying after a 429/503, say); the exporter does.
    return this.inner.forceFlush().then(() => this.exporter.forceFlush?.());
  }

  shutdown(): Promise<void> {
    liveProcessors.delete(this);
    this.pending = 0;
    return this.inner.shutdown();
  }
}

// ExportResultCode.SUCCESS of @opentelemetry/core, which this package does not depend on.
const EXPORT_SUCCESS = 0;
let exitFlushInstalled = false;

/**
 * The batch processor's timer is unref'd, so a script that just ends would drop its last
 * batch. beforeExit fires when the event loop is empty; flushing schedules work, after which
 * it fires again with nothing pending and the process exits. (process.exit() and signals skip
 * beforeExit: call shutdown() or flush() there.)
 */
function installExitFlush(): void {
  if (exitFlushInstalled) return;
  exitFlushInstalled = true;
  process.on("beforeExit", () => {
    for (const p of liveProcessors) {
      // A failed export has already been reported by reportingFailures().
      if (p.pending > 0) p.forceFlush().catch(() => {});
    }
  });
}

let exportFailureReported = false;

/**
 * OTel reports export failures only through its diag logger, silent by default, so a down
 * collector would lose spans without a word. Say it once per process, on the console.
 */
function reportingFailures(exporter: SpanExporter): SpanExporter {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== EXPORT_SUCCESS && !exportFailureReported) {
          exportFailureReported = true;
          const why = result.error?.message ?? "unknown error";
          console.warn(
            `[gavel] could not export ${spans.length} span(s): ${why}. Is the Gavel collector running at ${collectorUrl()} ` +
              "(or the OTEL_EXPORTER_OTLP_ENDPOINT you set)? Start it with `npm start` or set GAVEL_URL. Reported once.",
          );
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

export function isGavelSpanProcessor(p: unknown): p is GavelSpanProcessor {
  return typeof p === "object" && p !== null && (p as Record<symbol, unknown>)[BRAND] === true;
}

function hasEnv(name: string): boolean {
  return (process.env[name]?.trim() ?? "") !== "";
}

/** True when OTEL_EXPORTER_OTLP_(TRACES_)HEADERS already carry an Authorization header. */
function envHasAuthorization(): boolean {
  for (const name of ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]) {
    const raw = process.env[name];
    if (!raw) continue;
    for (const pair of raw.split(",")) {
      const key = pair.split("=", 1)[0]!.trim();
      try {
        if (decodeURIComponent(key).toLowerCase() === "authorization") return true;
      } catch {
        // A malformed key is the exporter's to report.
      }
    }
  }
  return false;
}

/**
 * The OTLP/HTTP exporter for Gavel. The standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and
 * _HEADERS variables win over the Gavel URL and key, so spans can be routed through an
 * OpenTelemetry Collector while the REST API still talks to Gavel directly.
 */
export function createGavelExporter(opts: { url?: string; apiKey?: string } = {}): SpanExporter {
  const envEndpoint = hasEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || hasEnv("OTEL_EXPORTER_OTLP_ENDPOINT");
  const key = opts.apiKey ?? apiKey();
  const headers = key !== undefined && !envHasAuthorization() ? { Authorization: `Bearer ${key}` } : undefined;
  const base = (opts.url ?? collectorUrl()).replace(/\/+$/, "");
  // The exporter retries a 429/503 at most 5 times, and only within this timeout. The
  // collector asks for 5 s between tries while ClickHouse is down, so OTel's default 10 s
  // would allow one retry; 30 s lets all five ride out an outage of about 25 s.
  const envTimeout = hasEnv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") || hasEnv("OTEL_EXPORTER_OTLP_TIMEOUT");
  return new OTLPTraceExporter({
    ...(envEndpoint ? {} : { url: `${base}/v1/traces` }),
    ...(headers ? { headers } : {}),
    ...(envTimeout ? {} : { timeoutMillis: 30_000 }),
  }) as unknown as SpanExporter;
}

/**
 * Gavel's span processor, for apps that set up OpenTelemetry themselves:
 * `new NodeSDK({ spanProcessors: [gavelSpanProcessor(), ...yours] })`. It exports to the
 * Gavel collector and stamps experiment/run ids; init() afterwards will not add a second one.
 */
export function gavelSpanProcessor(opts: GavelSpanProcessorOptions = {}): SpanProcessor {
  return new GavelSpanProcessor(opts.exporter ?? createGavelExporter(opts));
}
