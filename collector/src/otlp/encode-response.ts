export type OtlpFormat = "protobuf" | "json";

export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";
export const JSON_CONTENT_TYPE = "application/json";

export interface EncodedBody {
  body: Buffer | string;
  contentType: string;
}

/**
 * ExportTraceServiceResponse. partial_success is present only when spans were
 * rejected or there is a message: the OTLP spec reads a present
 * partial_success as "something was not accepted".
 */
export function encodeExportResponse(format: OtlpFormat, rejected: number, errorMessage?: string): EncodedBody {
  if (!Number.isSafeInteger(rejected) || rejected < 0) {
    throw new RangeError(`rejected must be a non-negative integer, got ${rejected}`);
  }
  const message = errorMessage ?? "";
  const partial = rejected > 0 || message !== "";
  if (format === "json") {
    if (!partial) return { body: "{}", contentType: JSON_CONTENT_TYPE };
    // Protobuf JSON: int64 as a decimal string, default values omitted.
    const ps: { rejectedSpans?: string; errorMessage?: string } = {};
    if (rejected > 0) ps.rejectedSpans = String(rejected);
    if (message !== "") ps.errorMessage = message;
    return { body: JSON.stringify({ partialSuccess: ps }), contentType: JSON_CONTENT_TYPE };
  }
  if (!partial) return { body: Buffer.alloc(0), contentType: PROTOBUF_CONTENT_TYPE };
  const inner = new ProtoWriter();
  if (rejected > 0) inner.tag(1, 0).varint(BigInt(rejected)); // rejected_spans int64
  if (message !== "") inner.tag(2, 2).string(message); // error_message
  const outer = new ProtoWriter();
  outer.tag(1, 2).bytes(inner.finish()); // partial_success
  return { body: outer.finish(), contentType: PROTOBUF_CONTENT_TYPE };
}

/** google.rpc.Status { int32 code = 1; string message = 2; }, the OTLP error body. */
export function encodeRpcStatus(format: OtlpFormat, code: number, message: string): EncodedBody {
  if (!Number.isInteger(code) || code < -2147483648 || code > 2147483647) {
    throw new RangeError(`code must be an int32, got ${code}`);
  }
  if (format === "json") {
    const status: { code?: number; message?: string } = {};
    if (code !== 0) status.code = code;
    if (message !== "") status.message = message;
    return { body: JSON.stringify(status), contentType: JSON_CONTENT_TYPE };
  }
  const w = new ProtoWriter();
  // int32 varints are sign-extended to 64 bits, so negative codes take 10 bytes.
  if (code !== 0) w.tag(1, 0).varint(BigInt.asUintN(64, BigInt(code)));
  if (message !== "") w.tag(2, 2).string(message);
  return { body: w.finish(), contentType: PROTOBUF_CONTENT_TYPE };
}

/**
 * google.rpc.Status with one google.rpc.RetryInfo detail: what an OTLP/gRPC server sends in the
 * `grpc-status-details-bin` trailer to tell the exporter when to retry (OTLP spec, "Failures").
 */
export function encodeRpcStatusWithRetry(code: number, message: string, retryAfterSeconds: number): Buffer {
  const secs = Math.max(0, Math.floor(retryAfterSeconds));
  const nanos = Math.round((Math.max(0, retryAfterSeconds) - secs) * 1e9);
  const duration = new ProtoWriter();
  if (secs > 0) duration.tag(1, 0).varint(BigInt(secs));
  if (nanos > 0) duration.tag(2, 0).varint(BigInt(nanos));
  const retryInfo = new ProtoWriter().tag(1, 2).bytes(duration.finish()).finish(); // retry_delay
  const any = new ProtoWriter().tag(1, 2).string("type.googleapis.com/google.rpc.RetryInfo").tag(2, 2).bytes(retryInfo).finish();
  const w = new ProtoWriter();
  if (code !== 0) w.tag(1, 0).varint(BigInt.asUintN(64, BigInt(code)));
  if (message !== "") w.tag(2, 2).string(message);
  w.tag(3, 2).bytes(any); // details
  return w.finish();
}

/** Just enough protobuf writing for these two small messages. */
class ProtoWriter {
  private readonly parts: Buffer[] = [];
  private readonly scratch: number[] = [];

  tag(field: number, wireType: number): this {
    return this.varint(BigInt((field << 3) | wireType));
  }

  varint(v: bigint): this {
    const out = this.scratch;
    out.length = 0;
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.parts.push(Buffer.from(out));
    return this;
  }

  bytes(b: Buffer): this {
    this.varint(BigInt(b.length));
    this.parts.push(b);
    return this;
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, "utf8"));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
