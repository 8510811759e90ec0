/**
 * OTLP/gRPC (`opentelemetry.proto.collector.trace.v1.TraceService/Export`) on GAVEL_GRPC_PORT,
 * the default transport of the Python, Go and Java SDKs and of the OpenTelemetry Collector.
 *
 * The service is declared with identity (de)serializers, so the request reaches the same
 * protobuf transcoder as OTLP/HTTP (otlp-receiver.ts) as the ExportTraceServiceRequest bytes,
 * and the answer is sent only once the spans are stored. gRPC message compression (gzip,
 * deflate) is grpc-js's; the size limit is GAVEL_MAX_BODY_BYTES on the decompressed message.
 * Failures use the OTLP spec's codes: bad data INVALID_ARGUMENT (not retried); overload
 * RESOURCE_EXHAUSTED and a store outage UNAVAILABLE, both with a google.rpc.RetryInfo in
 * `grpc-status-details-bin`, so exporters retry after the delay given.
 */
import * as grpc from "@grpc/grpc-js";
import type { GavelConfig } from "../config/config.js";
import type { Store } from "../store/store.js";
import { findKey, presentedKey } from "../auth/api-keys.js";
import { decodeProtobufToRowBinary, transcodeTraceRequestProtobuf } from "../otlp/protobuf-to-rowbinary.js";
import { OtlpDecodeError } from "../otlp/errors.js";
import { encodeExportResponse, encodeRpcStatusWithRetry } from "../otlp/encode-response.js";
import type { RowBinarySpans } from "../store/rowbinary.js";
import { SpanRowsRejectedError } from "../store/span-writer.js";
import { ACK_WHEN_LOGGED, OverloadedError, StoreUnavailableError } from "../store/span-batcher.js";

const identity = (b: Buffer) => b;

/** TraceService with the messages left as bytes. */
export const TRACE_SERVICE: grpc.ServiceDefinition = {
  Export: {
    path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export interface GrpcFailure {
  code: grpc.status;
  details: string;
  /** Seconds, sent as RetryInfo. */
  retryAfter?: number;
}

/** The gRPC status for an ingest failure (the same errors OTLP/HTTP maps to 400/429/503). */
export function grpcFailureOf(err: unknown): GrpcFailure {
  if (err instanceof OtlpDecodeError) return { code: grpc.status.INVALID_ARGUMENT, details: `Undecodable OTLP protobuf message: ${err.message}` };
  if (err instanceof SpanRowsRejectedError) return { code: grpc.status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof OverloadedError) return { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message, retryAfter: err.retryAfterSeconds };
  if (err instanceof StoreUnavailableError) return { code: grpc.status.UNAVAILABLE, details: err.message, retryAfter: err.retryAfterSeconds };
  return { code: grpc.status.UNAVAILABLE, details: "Internal error while storing spans; retry.", retryAfter: 5 };
}

function toServiceError(f: GrpcFailure): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (f.retryAfter !== undefined) metadata.set("grpc-status-details-bin", encodeRpcStatusWithRetry(f.code, f.details, f.retryAfter));
  return { code: f.code, details: f.details, metadata };
}

/** Stores one ExportTraceServiceRequest; resolves with the ExportTraceServiceResponse bytes. */
async function exportTraces(store: Store, body: Buffer): Promise<Buffer> {
  const full = store.batcher.refusal();
  if (full) throw full;
  // Fast path: rows go straight into the batch being filled; the reference decoder otherwise.
  let stored = store.batcher.append((w) => transcodeTraceRequestProtobuf(body, w), ACK_WHEN_LOGGED);
  let decoded: RowBinarySpans | undefined;
  if (!stored) decoded = decodeProtobufToRowBinary(body);
  if (decoded && decoded.rows > 0) stored = store.batcher.submit(decoded.body, decoded.rows, ACK_WHEN_LOGGED);
  await stored;
  return encodeExportResponse("protobuf", decoded?.rejected ?? 0, decoded?.rejectReason).body as Buffer;
}

/** Checks the `authorization` metadata like the HTTP routes do: a key with the ingest role. */
function authFailure(config: GavelConfig, metadata: grpc.Metadata): GrpcFailure | undefined {
  if (config.apiKeys.length === 0) return undefined;
  const raw = metadata.get("authorization")[0];
  const presented = presentedKey(raw === undefined ? undefined : raw.toString());
  const key = presented === undefined ? undefined : findKey(config.apiKeys, presented);
  if (!key) {
    return {
      code: grpc.status.UNAUTHENTICATED,
      details: `OTLP/gRPC export needs an API key with the "ingest" role: send the metadata "authorization: Bearer <key>" (e.g. OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20<key>).${presented === undefined ? "" : " The key sent is not one of GAVEL_API_KEYS."}`,
    };
  }
  if (!key.roles.has("ingest")) {
    return { code: grpc.status.PERMISSION_DENIED, details: `OTLP/gRPC export needs the "ingest" role; this key (${key.label}) has ${[...key.roles].sort().join(", ")}.` };
  }
  return undefined;
}

export interface OtlpGrpcServer {
  /** host:port it listens on. */
  address: string;
  port: number;
  /** Stops taking calls and waits for the calls in flight (their spans stored). */
  close(): Promise<void>;
}

export async function startOtlpGrpcServer(store: Store, config: GavelConfig): Promise<OtlpGrpcServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": config.maxBodyBytes,
  });
  server.addService(TRACE_SERVICE, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const denied = authFailure(config, call.metadata);
      if (denied) return callback(toServiceError(denied), null);
      exportTraces(store, call.request).then(
        (response) => callback(null, response),
        (err: unknown) => {
          const f = grpcFailureOf(err);
          if (f.code === grpc.status.UNAVAILABLE && !(err instanceof StoreUnavailableError)) console.error("[gavel] OTLP/gRPC ingest failed:", err);
          callback(toServiceError(f), null);
        },
      );
    },
  });
  const host = config.host.includes(":") && !config.host.startsWith("[") ? `[${config.host}]` : config.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${config.grpcPort}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // tryShutdown lets calls in flight finish; a hung client cannot hold it for ever.
        const force = setTimeout(() => server.forceShutdown(), 10_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
