import { describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { encodeExportResponse, encodeRpcStatus } from "./encode-response.js";

// Decoded with independent implementations: the OTel JS exporter's own
// response reader, and protobufjs for google.rpc.Status.
const Status = protobuf
  .parse(`syntax = "proto3"; package google.rpc;
    message Status { int32 code = 1; string message = 2; repeated bytes details = 3; }`)
  .root.lookupType("google.rpc.Status");

describe("encodeExportResponse", () => {
  it("protobuf with partial_success is read back by the OTel exporter", () => {
    const { body, contentType } = encodeExportResponse("protobuf", 3, "3 spans had bad ids\n\n");
    expect(contentType).toBe("application/x-protobuf");
    expect(ProtobufTraceSerializer.deserializeResponse(body as Buffer)).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: "3 spans had bad ids\n\n" },
    });
  });

  it("large counts and message-only partial success", () => {
    const big = encodeExportResponse("protobuf", 2 ** 40);
    expect(ProtobufTraceSerializer.deserializeResponse(big.body as Buffer)).toEqual({ partialSuccess: { rejectedSpans: 2 ** 40 } });
    const msgOnly = encodeExportResponse("protobuf", 0, "warning");
    expect(ProtobufTraceSerializer.deserializeResponse(msgOnly.body as Buffer)).toEqual({ partialSuccess: { errorMessage: "warning" } });
  });

  it("full success is an empty message: no partial_success at all", () => {
    const pb = encodeExportResponse("protobuf", 0);
    expect((pb.body as Buffer).length).toBe(0);
    expect(encodeExportResponse("protobuf", 0, "").body).toHaveLength(0);
    const json = encodeExportResponse("json", 0);
    expect(json).toEqual({ body: "{}", contentType: "application/json" });
  });

  it("JSON uses protobuf JSON names and an int64 string", () => {
    const { body, contentType } = encodeExportResponse("json", 2, "bad ids");
    expect(contentType).toBe("application/json");
    expect(JSON.parse(body as string)).toEqual({ partialSuccess: { rejectedSpans: "2", errorMessage: "bad ids" } });
  });

  it("refuses a negative or fractional count", () => {
    expect(() => encodeExportResponse("json", -1)).toThrow(RangeError);
    expect(() => encodeExportResponse("protobuf", 1.5)).toThrow(RangeError);
  });
});

describe("encodeRpcStatus", () => {
  it("protobuf round-trips through protobufjs", () => {
    const { body, contentType } = encodeRpcStatus("protobuf", 3, "truncated varint at byte offset 7");
    expect(contentType).toBe("application/x-protobuf");
    expect(Status.toObject(Status.decode(body as Buffer))).toEqual({ code: 3, message: "truncated varint at byte offset 7" });
  });

  it("negative codes are sign-extended int32 varints", () => {
    const { body } = encodeRpcStatus("protobuf", -5, "");
    expect((body as Buffer).length).toBe(11); // tag + 10-byte varint
    expect(Status.toObject(Status.decode(body as Buffer))).toEqual({ code: -5 });
  });

  it("JSON has code and message", () => {
    const { body, contentType } = encodeRpcStatus("json", 8, "slow down");
    expect(contentType).toBe("application/json");
    expect(JSON.parse(body as string)).toEqual({ code: 8, message: "slow down" });
  });
});
