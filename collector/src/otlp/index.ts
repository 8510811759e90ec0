export { OtlpDecodeError } from "./errors.js";
export { decodeTraceRequestProtobuf, type DecodeOptions } from "./decode-protobuf.js";
export { decodeTraceRequestJson } from "./decode-json.js";
export {
  encodeExportResponse,
  encodeRpcStatus,
  JSON_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  type EncodedBody,
  type OtlpFormat,
} from "./encode-response.js";
