import { decodeTraceRequestProtobuf } from "../../collector/src/otlp/decode-protobuf.js";
import { decodeProtobufToRowBinary, transcodeTraceRequestProtobuf } from "../../collector/src/otlp/protobuf-to-rowbinary.js";
import { RowBinaryWriter, encodeSpansRowBinary } from "../../collector/src/store/rowbinary.js";

/** The fast path on its own: the rows it writes after some bytes already in the buffer, or undefined. */
export function transcode(body: Uint8Array, maxAnyValueDepth?: number): { body: Buffer; rows: number } | undefined {
  const w = new RowBinaryWriter(64);
  // Rows are appended to a batch in progress: start mid-buffer, as the batcher does.
  w.rawFrom(PREFIX, 0, PREFIX.length);
  const rows = transcodeTraceRequestProtobuf(body, w, maxAnyValueDepth);
  return rows === undefined ? undefined : { body: Buffer.from(w.bytes().subarray(PREFIX.length)), rows };
}
const PREFIX = Buffer.from("rows of earlier requests");

export interface Agreement {
  /** Which path the receiver takes for this body. */
  path: "fast" | "decoder";
  /** Set when the transcoder's output differs from the reference decoder + row encoder. */
  problem?: string;
}

/**
 * Holds the ingest fast path (protobuf → RowBinary transcoder) to the reference path
 * (decoder → rows → RowBinary encoder): the same bytes, or the body left to the decoder.
 */
export function transcoderAgreement(body: Uint8Array, maxAnyValueDepth?: number): Agreement {
  let reference: Buffer | undefined;
  let rows = 0;
  let rejected = 0;
  let error: unknown;
  try {
    const d = decodeTraceRequestProtobuf(body, maxAnyValueDepth === undefined ? undefined : { maxAnyValueDepth });
    reference = encodeSpansRowBinary(d.rows);
    rows = d.rows.length;
    rejected = d.rejected;
  } catch (err) {
    error = err;
  }
  const fast = transcode(body, maxAnyValueDepth);
  if (fast === undefined) {
    // The receiver's fallback must then give exactly the decoder's answer.
    try {
      const viaReceiver = decodeProtobufToRowBinary(body, maxAnyValueDepth);
      if (error) return { path: "decoder", problem: `the decoder threw (${String(error)}) but decodeProtobufToRowBinary did not` };
      if (Buffer.compare(viaReceiver.body, reference!) !== 0 || viaReceiver.rows !== rows || viaReceiver.rejected !== rejected) {
        return { path: "decoder", problem: "decodeProtobufToRowBinary differs from the decoder" };
      }
    } catch (err) {
      if (!error) return { path: "decoder", problem: `decodeProtobufToRowBinary threw (${String(err)}) but the decoder did not` };
      if (String(err) !== String(error)) return { path: "decoder", problem: `different errors: ${String(err)} vs ${String(error)}` };
    }
    return { path: "decoder" };
  }
  if (error) return { path: "fast", problem: `the transcoder accepted a body the decoder refuses (${String(error)})` };
  if (rejected > 0) return { path: "fast", problem: `the transcoder kept ${rejected} span(s) the decoder rejects` };
  if (fast.rows !== rows) return { path: "fast", problem: `${fast.rows} rows, the decoder has ${rows}` };
  const at = firstDifference(fast.body, reference!);
  if (at >= 0) return { path: "fast", problem: `RowBinary differs from the decoder's at byte ${at} of ${reference!.length}` };
  return { path: "fast" };
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
