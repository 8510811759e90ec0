import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { setJudgeTracerProvider } from "@gavel/judges";
import type { SpanBatcher } from "../store/span-batcher.js";
import { StoreSpanExporter } from "./store-span-exporter.js";

export interface SelfTracing {
  /** Exports what is pending; call before the store closes. */
  shutdown(): Promise<void>;
}

/**
 * Traces the judges this collector runs (online scoring, alignment jobs) into its own store, as
 * GenAI spans marked `gavel.judge`. It is not registered globally, so an app that hosts the
 * collector keeps its own tracing untouched.
 */
export function startSelfTracing(batcher: SpanBatcher): SelfTracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "gavel-collector" }),
    spanProcessors: [new BatchSpanProcessor(new StoreSpanExporter(batcher), { scheduledDelayMillis: 1000 })],
  });
  setJudgeTracerProvider(provider);
  return {
    async shutdown() {
      setJudgeTracerProvider(undefined);
      await provider.shutdown();
    },
  };
}
