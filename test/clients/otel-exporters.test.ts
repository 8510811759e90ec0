/**
 * The OpenTelemetry SDK's own exporters → Gavel: issue 12's rows "OTLP/HTTP JSON exporter" and
 * "OTLP/gRPC exporter" (the default of the Python, Go and Java SDKs and the OTel Collector),
 * with `@opentelemetry/exporter-trace-otlp-http` and `@opentelemetry/exporter-trace-otlp-grpc`,
 * the app's LLM call (real `openai` client, recorded with GenAI semantic-convention attributes)
 * answered by the provider simulator. Also the gRPC receiver's failure codes.
 */
import * as grpc from "@grpc/grpc-js";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as HttpJsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TRACE_SERVICE } from "../../collector/src/ingest/otlp-grpc-receiver.js";
import { startGavel, type RunningGavel } from "../../collector/src/server/gavel-server.js";
import { tempConfig } from "../support/temp-store.js";
import { useSimulator } from "../support/use-simulator.js";
import { clientTracing, freePort, judgePrompt, onlyTraceId, spanColumns, storedTrace } from "./support.js";

let grpcPort = 0;
let running: RunningGavel | undefined;
const cfg = tempConfig({ maxBodyBytes: 256 * 1024 });
beforeAll(async () => {
  // A free port rather than 4317, which another collector on this machine may hold.
  grpcPort = await freePort();
  running = await startGavel({ ...cfg, grpcPort });
});
afterAll(async () => {
  await running?.close();
  cfg.cleanup();
});
const gavel = () => running!;
const sim = useSimulator();

const QUESTION = "What is the speed of light in vacuum?";
const ANSWER = "About 299,792 kilometres per second.";

/**
 * The app: its own span around a chat completion, which it records by hand with the current
 * GenAI semantic-convention attributes (what the Python, Go and Java GenAI instrumentations write).
 */
async function app(exporter: SpanExporter): Promise<string> {
  const t = clientTracing(gavel().url, "otel-app", exporter);
  const tracer = t.provider.getTracer("app");
  const client = new OpenAI({ baseURL: sim().openaiBaseUrl, apiKey: "sk-test" });
  sim().script([ANSWER], { api: "openai" });
  await tracer.startActiveSpan("handle-request", async (span) => {
    const messages = [{ role: "user" as const, content: QUESTION }];
    await tracer.startActiveSpan("chat gpt-4o-mini", async (llm) => {
      const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages });
      llm.setAttributes({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.input.messages": JSON.stringify(messages.map((m) => ({ role: m.role, parts: [{ type: "text", content: m.content }] }))),
        "gen_ai.output.messages": JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: res.choices[0]!.message.content }] }]),
        "gen_ai.usage.input_tokens": res.usage!.prompt_tokens,
        "gen_ai.usage.output_tokens": res.usage!.completion_tokens,
      });
      llm.end();
    });
    span.end();
  });
  await t.flush();
  const id = onlyTraceId(t.memory.getFinishedSpans());
  await t.shutdown();
  return id;
}

async function expectStored(traceId: string): Promise<void> {
  const trace = await storedTrace(gavel().url, traceId, 2);
  // The app span records nothing: the GenAI messages of the LLM span are the trace's.
  expect(JSON.stringify(trace.info.inputs)).toContain(QUESTION);
  expect(JSON.stringify(trace.info.outputs)).toContain(ANSWER);
  const cols = await spanColumns(gavel().store.client, traceId);
  const llm = cols.find((c) => c.SpanType === "LLM");
  expect(llm, JSON.stringify(cols)).toBeDefined();
  expect(llm!.GenAiModel).toBe("gpt-4o-mini");
  expect(llm!.InputTokens).toBeGreaterThan(0);
  expect(llm!.OutputTokens).toBeGreaterThan(0);
  expect(llm!.TotalTokens).toBe(llm!.InputTokens + llm!.OutputTokens);
  const { prompt, error } = await judgePrompt(sim(), trace);
  expect(error).toBeUndefined();
  expect(prompt).toContain(QUESTION);
  expect(prompt).toContain(ANSWER);
}

describe("OpenTelemetry SDK exporters", () => {
  it("OTLP/HTTP JSON exporter", async () => {
    await expectStored(await app(new HttpJsonExporter({ url: `${gavel().url}/v1/traces` })));
  });

  it("OTLP/gRPC exporter on GAVEL_GRPC_PORT, gzip-compressed", async () => {
    expect(gavel().grpcAddress).toBe(`127.0.0.1:${grpcPort}`);
    const exporter = new GrpcExporter({ url: `http://${gavel().grpcAddress}`, compression: CompressionAlgorithm.GZIP });
    await expectStored(await app(exporter));
  });
});

describe("OTLP/gRPC receiver", () => {
  function client(options: grpc.ChannelOptions = {}): grpc.Client & { Export: (req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void } {
    const Ctor = grpc.makeGenericClientConstructor(TRACE_SERVICE, "TraceService");
    return new Ctor(gavel().grpcAddress!, grpc.credentials.createInsecure(), options) as never;
  }
  const call = (req: Buffer, options: grpc.ChannelOptions = {}) =>
    new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) => {
      const c = client(options);
      c.Export(req, new grpc.Metadata(), (err, res) => {
        c.close();
        resolve({ err, ...(res ? { res } : {}) });
      });
    });

  it("answers an empty request with an empty ExportTraceServiceResponse", async () => {
    const { err, res } = await call(Buffer.alloc(0));
    expect(err).toBeNull();
    expect(res!.length).toBe(0);
  });

  it("refuses bytes that are not an ExportTraceServiceRequest with INVALID_ARGUMENT, saying why", async () => {
    const { err } = await call(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/Undecodable OTLP protobuf message/);
  });

  it("refuses a message over GAVEL_MAX_BODY_BYTES with RESOURCE_EXHAUSTED", async () => {
    const { err } = await call(Buffer.alloc(300 * 1024, 0));
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("compressed bodies that inflate past the limit are refused too (no gzip bomb)", async () => {
    // 300 KiB of zeros compresses to a few hundred bytes.
    expect(gzipSync(Buffer.alloc(300 * 1024)).length).toBeLessThan(2000);
    // grpc-js compresses each message with gzip on this channel (grpc-encoding: gzip).
    const { err } = await call(Buffer.alloc(300 * 1024, 0), { "grpc.default_compression_algorithm": 2 });
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });
});
