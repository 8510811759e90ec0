/**
 * The OTLP/gRPC receiver with API keys, and under overload (its own file: chDB opens one data
 * directory per process). Keys come from the `authorization` metadata like HTTP's header; an
 * overloaded collector answers RESOURCE_EXHAUSTED with a google.rpc.RetryInfo, as the OTLP
 * spec asks, and stores exactly what it acknowledged.
 */
import * as grpc from "@grpc/grpc-js";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { ExportResultCode } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseApiKeys } from "../../collector/src/auth/api-keys.js";
import { TRACE_SERVICE } from "../../collector/src/ingest/otlp-grpc-receiver.js";
import { startGavel, type RunningGavel } from "../../collector/src/server/gavel-server.js";
import { makeSpans, protobufBody } from "../support/otlp-bodies.js";
import { tempConfig } from "../support/temp-store.js";
import { freePort } from "./support.js";

const INGEST = "grpc-ingest-key-0000000000000001";
const READ = "grpc-read-key-00000000000000000002";
let g: RunningGavel;
const cfg = tempConfig({ apiKeys: parseApiKeys(`${INGEST}:ingest,${READ}:read`), maxQueuedRows: 10, batchWaitMs: 50 });
beforeAll(async () => {
  g = await startGavel({ ...cfg, grpcPort: await freePort() });
});
afterAll(async () => {
  await g?.close();
  cfg.cleanup();
});

type ExportClient = grpc.Client & { Export: (req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void };

function call(body: Buffer, key?: string): Promise<grpc.ServiceError | null> {
  const Ctor = grpc.makeGenericClientConstructor(TRACE_SERVICE, "TraceService");
  const c = new Ctor(g.grpcAddress!, grpc.credentials.createInsecure()) as unknown as ExportClient;
  const md = new grpc.Metadata();
  if (key) md.set("authorization", `Bearer ${key}`);
  return new Promise((resolve) =>
    c.Export(body, md, (err) => {
      c.close();
      resolve(err);
    }),
  );
}

async function storedSpans(): Promise<number> {
  const rs = await g.store.client.query({ query: "SELECT count() AS n FROM otel_traces", format: "JSONEachRow" });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

/** Reads the RetryInfo delay (seconds) out of a google.rpc.Status, the grpc-status-details-bin trailer. */
function retryDelaySeconds(status: Buffer): number | undefined {
  const fields = (b: Buffer) => {
    const out: { field: number; value: Buffer | bigint }[] = [];
    let i = 0;
    const varint = () => {
      let v = 0n;
      for (let shift = 0n; ; shift += 7n) {
        const byte = b[i++]!;
        v |= BigInt(byte & 0x7f) << shift;
        if (byte < 0x80) return v;
      }
    };
    while (i < b.length) {
      const tag = Number(varint());
      if ((tag & 7) === 0) out.push({ field: tag >> 3, value: varint() });
      else {
        const len = Number(varint());
        out.push({ field: tag >> 3, value: b.subarray(i, i + len) });
        i += len;
      }
    }
    return out;
  };
  for (const d of fields(status).filter((f) => f.field === 3)) {
    const any = fields(d.value as Buffer);
    if ((any.find((f) => f.field === 1)?.value as Buffer | undefined)?.toString() !== "type.googleapis.com/google.rpc.RetryInfo") continue;
    const retryInfo = fields(any.find((f) => f.field === 2)!.value as Buffer);
    const duration = fields(retryInfo.find((f) => f.field === 1)!.value as Buffer);
    return Number((duration.find((f) => f.field === 1)?.value as bigint | undefined) ?? 0n);
  }
  return undefined;
}

describe("OTLP/gRPC with API keys", () => {
  it("refuses a call without a key (UNAUTHENTICATED) and a key without the ingest role (PERMISSION_DENIED)", async () => {
    const body = protobufBody(makeSpans(1));
    const none = await call(body);
    expect(none?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(none?.details).toContain('"ingest" role');
    expect((await call(body, "not-a-key-of-this-gavel-000000"))?.code).toBe(grpc.status.UNAUTHENTICATED);
    const read = await call(body, READ);
    expect(read?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await storedSpans()).toBe(0);
  });

  it("the OTel gRPC exporter sends the key as authorization metadata", async () => {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${INGEST}`);
    const exporter = new GrpcExporter({ url: `http://${g.grpcAddress}`, metadata: md });
    const result = await new Promise<{ code: ExportResultCode }>((resolve) => exporter.export(makeSpans(3), resolve));
    await exporter.shutdown();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(await storedSpans()).toBe(3);
  });

  it("answers RESOURCE_EXHAUSTED with RetryInfo when more spans wait than GAVEL_MAX_QUEUED_ROWS, and stores what it acknowledged", async () => {
    const before = await storedSpans();
    const errors = await Promise.all(Array.from({ length: 6 }, () => call(protobufBody(makeSpans(8)), INGEST)));
    const codes = errors.map((e) => e?.code ?? grpc.status.OK);
    expect(codes).toContain(grpc.status.OK);
    expect(codes).toContain(grpc.status.RESOURCE_EXHAUSTED);
    for (const e of errors.filter((x) => x?.code === grpc.status.RESOURCE_EXHAUSTED)) {
      const details = e!.metadata.get("grpc-status-details-bin")[0] as Buffer;
      expect(retryDelaySeconds(details)).toBeGreaterThan(0);
    }
    expect((await storedSpans()) - before).toBe(codes.filter((c) => c === grpc.status.OK).length * 8);
  });
});
