import { describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { request } from "node:http";
import { useGavel } from "../support/use-gavel.js";
import { jsonBody, makeSpans, protobufBody } from "../support/otlp-bodies.js";
import { sql } from "../support/gavel-process.js";

const gavelOf = useGavel({ maxBodyBytes: 256 * 1024 });

const post = (body: Buffer, headers: Record<string, string>) =>
  fetch(`${gavelOf().url}/v1/traces`, { method: "POST", body, headers });

async function countTraces(ids: string[]): Promise<number> {
  const [row] = await sql<{ n: string }>(gavelOf().url, "SELECT count() AS n FROM otel_traces WHERE TraceId IN {ids:Array(String)}", { ids });
  return Number(row!.n);
}

describe("OTLP/HTTP receiver", () => {
  it("stores protobuf spans before answering 200", async () => {
    const spans = makeSpans(5, { "gavel.inputs": '{"q":"a\\n\\nDROP TABLE otel_traces"}' });
    const res = await post(protobufBody(spans), { "content-type": "application/x-protobuf" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-protobuf");
    // No polling: the 200 means stored.
    expect(await countTraces(spans.map((s) => s.spanContext().traceId))).toBe(5);
    const [row] = await sql<{ v: string }>(gavelOf().url, "SELECT SpanAttributes['gavel.inputs'] AS v FROM otel_traces WHERE TraceId = {t:String}", {
      t: spans[0]!.spanContext().traceId,
    });
    expect(row!.v).toBe('{"q":"a\\n\\nDROP TABLE otel_traces"}');
  });

  it("stores JSON and gzip-compressed bodies", async () => {
    const a = makeSpans(3);
    const b = makeSpans(4);
    const r1 = await post(jsonBody(a), { "content-type": "application/json" });
    const r2 = await post(gzipSync(protobufBody(b)), { "content-type": "application/x-protobuf", "content-encoding": "gzip" });
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(await r1.json()).toEqual({});
    expect(await countTraces([...a, ...b].map((s) => s.spanContext().traceId))).toBe(7);
  });

  it("answers 415 for an unknown content type or encoding", async () => {
    const r1 = await post(Buffer.from("x"), { "content-type": "text/plain" });
    expect(r1.status).toBe(415);
    expect(((await r1.json()) as { message: string }).message).toMatch(/application\/x-protobuf/);
    const r2 = await post(protobufBody(makeSpans(1)), { "content-type": "application/x-protobuf", "content-encoding": "br" });
    expect(r2.status).toBe(415);
  });

  it("answers 413 above the limit, and for a gzip bomb while it inflates", async () => {
    const big = Buffer.alloc(300 * 1024, 1);
    expect((await post(big, { "content-type": "application/x-protobuf" })).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0));
    expect(bomb.length).toBeLessThan(gavelOf().config.maxBodyBytes);
    const r = await post(bomb, { "content-type": "application/x-protobuf", "content-encoding": "gzip" });
    expect(r.status).toBe(413);
  });

  it("answers 400 with a google.rpc.Status for undecodable bodies", async () => {
    const r1 = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff]), { "content-type": "application/x-protobuf" });
    expect(r1.status).toBe(400);
    const status = Buffer.from(await r1.arrayBuffer());
    // google.rpc.Status: field 1 (code) = 3 INVALID_ARGUMENT, field 2 the message.
    expect(status[0]).toBe(0x08);
    expect(status[1]).toBe(3);
    expect(status.toString("latin1")).toMatch(/Undecodable OTLP protobuf/);
    const r2 = await post(Buffer.from("{not json"), { "content-type": "application/json" });
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { code: number; message: string }).code).toBe(3);
    const r3 = await post(Buffer.from("garbage"), { "content-type": "application/x-protobuf", "content-encoding": "gzip" });
    expect(r3.status).toBe(400);
  });

  it("stores every valid span of a mixed batch and counts the rejected ones in partial_success", async () => {
    const spans = makeSpans(4);
    const body = JSON.parse(jsonBody(spans).toString()) as { resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string }[] }[] }[] };
    const list = body.resourceSpans[0]!.scopeSpans[0]!.spans;
    list[1]!.traceId = "00000000000000000000000000000000";
    list[2]!.spanId = "abc";
    const res = await post(Buffer.from(JSON.stringify(body)), { "content-type": "application/json" });
    expect(res.status).toBe(200);
    const ans = (await res.json()) as { partialSuccess: { rejectedSpans: string | number; errorMessage: string } };
    expect(Number(ans.partialSuccess.rejectedSpans)).toBe(2);
    expect(ans.partialSuccess.errorMessage).not.toBe("");
    expect(await countTraces([list[0]!.traceId, list[3]!.traceId])).toBe(2);
  });

  it("stores a body sent without Content-Length (chunked), and never mixes one body's bytes into the next", async () => {
    // Reused body buffers: a large request, then small ones that must not see its leftovers.
    const large = makeSpans(300, { "gavel.inputs": "x".repeat(400) });
    const small = [makeSpans(1), makeSpans(2), makeSpans(1, { "gavel.inputs": "tiny" })];
    expect((await post(protobufBody(large), { "content-type": "application/x-protobuf" })).status).toBe(200);
    const answers = await Promise.all(small.map((s) => post(protobufBody(s), { "content-type": "application/x-protobuf" })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const chunked = makeSpans(3);
    const body = protobufBody(chunked);
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${gavelOf().url}/v1/traces`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/x-protobuf" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      // Three writes and no Content-Length: Node sends Transfer-Encoding: chunked.
      req.write(body.subarray(0, 10));
      req.write(body.subarray(10, 200));
      req.end(body.subarray(200));
    });
    expect(status).toBe(200);
    const all = [...large, ...small.flat(), ...chunked];
    expect(await countTraces(all.map((s) => s.spanContext().traceId))).toBe(all.length);
    const ids = small.flat().map((s) => s.spanContext().spanId);
    const rows = await sql<{ SpanId: string; inputs: string }>(gavelOf().url, "SELECT SpanId, SpanAttributes['gavel.inputs'] AS inputs FROM otel_traces WHERE SpanId IN {ids:Array(String)}", { ids });
    expect(rows.map((r) => r.inputs).sort()).toEqual(["", "", "", "tiny"]);
  });
});
