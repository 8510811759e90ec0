import type { Request, Response } from "express";
import { gunzip, inflate } from "node:zlib";
import { promisify } from "node:util";
import type { GavelConfig } from "../config/config.js";
import type { Store } from "../store/store.js";
import { decodeTraceRequestJson } from "../otlp/decode-json.js";
import { decodeProtobufToRowBinary, transcodeTraceRequestProtobuf } from "../otlp/protobuf-to-rowbinary.js";
import { OtlpDecodeError } from "../otlp/errors.js";
import { encodeExportResponse, encodeRpcStatus } from "../otlp/encode-response.js";
import { encodeDecodedSpans, type RowBinarySpans } from "../store/rowbinary.js";
import { ACK_WHEN_LOGGED, OverloadedError, StoreUnavailableError } from "../store/span-batcher.js";
import { BodyBuffers } from "./body-buffers.js";
import { RequestDedup, type Acknowledgement } from "../store/request-dedup.js";
import { SpanRowsRejectedError } from "../store/span-writer.js";

/** Where OTLP/HTTP traces are accepted: the OTLP path, and Langfuse's, so its SDKs need only a base URL. */
export const OTLP_TRACES_PATHS = ["/v1/traces", "/api/public/otel/v1/traces"];

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

type WireFormat = "protobuf" | "json";

// google.rpc.Code values used in Status bodies.
const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAVAILABLE = 14;

class HttpFailure extends Error {
  constructor(readonly status: number, readonly rpcCode: number, message: string, readonly retryAfter?: number) {
    super(message);
  }
}

function wireFormatOf(req: Request): WireFormat | null {
  const ct = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (ct === "application/x-protobuf" || ct === "application/protobuf") return "protobuf";
  if (ct === "application/json") return "json";
  return null;
}

interface Body {
  bytes: Buffer;
  /** Gives a pooled buffer back; call once the body has been decoded. */
  release(): void;
}

/**
 * Reads the raw body, refusing it as soon as it passes the limit instead of buffering it
 * all. With a Content-Length (what OTLP exporters send) it goes into a reused buffer.
 */
function readBody(req: Request, limit: number, pool: BodyBuffers): Promise<Body> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new HttpFailure(413, RPC_RESOURCE_EXHAUSTED, `Request body of ${declared} bytes exceeds the limit of ${limit} bytes (GAVEL_MAX_BODY_BYTES); send smaller batches.`));
  }
  const pooled = Number.isSafeInteger(declared) && declared >= 0 ? pool.take(declared) : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (e: Error) => {
      failed = true;
      if (pooled) pool.release(pooled);
      reject(e);
    };
    req.on("data", (c: Buffer) => {
      if (failed) return;
      if (size + c.length > limit) {
        fail(new HttpFailure(413, RPC_RESOURCE_EXHAUSTED, `Request body exceeds the limit of ${limit} bytes (GAVEL_MAX_BODY_BYTES); send smaller batches.`));
        return;
      }
      if (pooled) {
        // Node's HTTP parser never delivers more than Content-Length; guard anyway.
        if (size + c.length > declared) {
          fail(new HttpFailure(400, RPC_INVALID_ARGUMENT, `The body is longer than its Content-Length (${declared} bytes).`));
          return;
        }
        c.copy(pooled, size);
      } else {
        chunks.push(c);
      }
      size += c.length;
    });
    req.on("end", () => {
      if (failed) return;
      if (pooled) resolve({ bytes: pooled.subarray(0, size), release: () => pool.release(pooled) });
      else resolve({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), release: () => undefined });
    });
    req.on("error", (e) => failed || fail(e));
  });
}

async function decompress(req: Request, body: Buffer, limit: number): Promise<Buffer> {
  const enc = (req.headers["content-encoding"] ?? "identity").toString().trim().toLowerCase();
  if (enc === "identity" || enc === "") return body;
  if (enc !== "gzip" && enc !== "deflate") {
    throw new HttpFailure(415, RPC_INVALID_ARGUMENT, `Content-Encoding "${enc}" is not supported; use gzip or none.`);
  }
  try {
    // maxOutputLength stops a gzip bomb while it inflates, not after.
    return await (enc === "gzip" ? gunzipAsync : inflateAsync)(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
      throw new HttpFailure(413, RPC_RESOURCE_EXHAUSTED, `Decompressed body exceeds the limit of ${limit} bytes (GAVEL_MAX_BODY_BYTES); send smaller batches.`);
    }
    throw new HttpFailure(400, RPC_INVALID_ARGUMENT, `The body is not valid ${enc} data (${(err as Error).message}).`);
  }
}

/** The request's spans as otel_traces RowBinary rows, by the reference decoders. */
function decode(format: WireFormat, body: Buffer): RowBinarySpans {
  if (format === "protobuf") return decodeProtobufToRowBinary(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new OtlpDecodeError(`The body is not valid JSON: ${(err as Error).message}`);
  }
  return encodeDecodedSpans(decodeTraceRequestJson(parsed));
}

/**
 * Queues the request's spans and resolves with the answer once they are stored. Decodes
 * synchronously (throwing OtlpDecodeError), so `body` may be reused as soon as this returns.
 */
function storeSpans(store: Store, format: WireFormat, body: Buffer): Promise<Acknowledgement> {
  // Fast path: rows go straight into the batch being filled (protobuf-to-rowbinary.ts).
  let stored = format === "protobuf" ? store.batcher.append((w) => transcodeTraceRequestProtobuf(body, w), ACK_WHEN_LOGGED) : undefined;
  let ack: Acknowledgement = { rejected: 0 };
  if (!stored) {
    const decoded = decode(format, body);
    ack = { rejected: decoded.rejected, rejectReason: decoded.rejectReason };
    stored = decoded.rows > 0 ? store.batcher.submit(decoded.body, decoded.rows, ACK_WHEN_LOGGED) : Promise.resolve();
  }
  return stored.then(() => ack);
}

function sendStatus(res: Response, format: WireFormat, f: HttpFailure): void {
  const { body, contentType } = encodeRpcStatus(format, f.rpcCode, f.message);
  if (f.retryAfter !== undefined) res.setHeader("Retry-After", String(f.retryAfter));
  res.status(f.status).type(contentType).send(body);
}

/**
 * POST /v1/traces (OTLP/HTTP). Answers 200 once the spans are in ClickHouse, or, while inserts
 * fall behind, once they are in the ingest log (store/ingest-log.ts); the batcher groups
 * concurrent requests into one insert.
 */
export function otlpTracesHandler(store: Store, config: GavelConfig) {
  const bodies = new BodyBuffers();
  const dedup = store.acknowledged;
  return async (req: Request, res: Response): Promise<void> => {
    const format = wireFormatOf(req);
    if (!format) {
      req.resume();
      return sendStatus(res, "json", new HttpFailure(415, RPC_INVALID_ARGUMENT,
        `Content-Type "${req.headers["content-type"] ?? ""}" is not supported; send application/x-protobuf or application/json.`));
    }
    try {
      // Under overload, decoding bodies only to refuse them would starve the inserts of CPU.
      const full = store.batcher.refusal();
      if (full) {
        req.resume();
        throw full;
      }
      const raw = await readBody(req, config.maxBodyBytes, bodies);
      // Rows are queued (fast path) or decoded (reference path) before the body is released.
      let outcome: Acknowledgement | Promise<Acknowledgement>;
      try {
        const body = await decompress(req, raw.bytes, config.maxBodyBytes);
        // An exporter's resend of a request already stored (or being stored) is answered
        // like the first copy, and its spans are not stored twice.
        const key = dedup.enabled ? RequestDedup.keyOf(format, body) : "";
        outcome = dedup.earlier(key) ?? dedup.first(key, () => storeSpans(store, format, body));
      } finally {
        raw.release();
      }
      const ack = await outcome;
      const out = encodeExportResponse(format, ack.rejected, ack.rejectReason);
      res.status(200).type(out.contentType).send(out.body);
    } catch (err) {
      if (err instanceof HttpFailure) return sendStatus(res, format, err);
      if (err instanceof OtlpDecodeError) return sendStatus(res, format, new HttpFailure(400, RPC_INVALID_ARGUMENT, `Undecodable OTLP ${format} body: ${err.message}`));
      if (err instanceof OverloadedError) return sendStatus(res, format, new HttpFailure(429, RPC_RESOURCE_EXHAUSTED, err.message, err.retryAfterSeconds));
      if (err instanceof StoreUnavailableError) return sendStatus(res, format, new HttpFailure(503, RPC_UNAVAILABLE, err.message, err.retryAfterSeconds));
      // Not retryable: the same spans would be refused again.
      if (err instanceof SpanRowsRejectedError) return sendStatus(res, format, new HttpFailure(400, RPC_INVALID_ARGUMENT, err.message));
      console.error("[gavel] OTLP ingest failed:", err);
      sendStatus(res, format, new HttpFailure(503, RPC_UNAVAILABLE, "Internal error while storing spans; retry.", 5));
    }
  };
}
