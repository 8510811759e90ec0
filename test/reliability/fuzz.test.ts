import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { decodeTraceRequestProtobuf } from "../../collector/src/otlp/decode-protobuf.js";
import { decodeTraceRequestJson } from "../../collector/src/otlp/decode-json.js";
import { OtlpDecodeError } from "../../collector/src/otlp/errors.js";
import { encodeSpansRowBinary } from "../../collector/src/store/rowbinary.js";
import type { DecodedSpans } from "../../collector/src/store/span-row.js";
import { sql, startGavelProcess, type GavelProcess } from "../support/gavel-process.js";
import {
  badCompressionCase,
  badHeadersCase,
  bombCases,
  deepCase,
  hugeValueCase,
  int,
  invalidUtf8Case,
  jsonNotARequestCase,
  jsonRandomValueCase,
  jsonWrongTypeCase,
  manyDaysCase,
  mixedBatch,
  mutatedCase,
  pick,
  randomBytesCase,
  rng,
  truncatedCase,
  unknownFieldsCase,
  validCase,
  validRequest,
  wrongWireTypeCase,
  type Format,
  type FuzzCase,
  type Rand,
} from "./lib/fuzz-cases.js";
import { requestJson, requestPb, type KV } from "./lib/otlp-model.js";
import { MiB, mib, RssSampler, rssOf } from "./lib/rss.js";
import { transcoderAgreement } from "../support/transcoder-agreement.js";

// Fixed seeds: a failure names its case index, and the same index rebuilds the same body.
const SEED_DECODER = 0x5eed_0001;
const SEED_HTTP = 0x5eed_0002;
// GAVEL_FUZZ_DECODER_CASES / GAVEL_FUZZ_HTTP_CASES run more (or fewer) cases.
const DECODER_CASES = Number(process.env.GAVEL_FUZZ_DECODER_CASES ?? 95_000);
const HTTP_CASES = Number(process.env.GAVEL_FUZZ_HTTP_CASES ?? 5_200);
const HTTP_CONCURRENCY = 32;
const MAX_BODY = 2 * MiB;

/** What the receiver does with a body before storing it (otlp-receiver.ts `decode`). */
function decodeLikeReceiver(format: Format, body: Buffer): DecodedSpans {
  if (format === "protobuf") return decodeTraceRequestProtobuf(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new OtlpDecodeError(`not JSON: ${(err as Error).message}`);
  }
  return decodeTraceRequestJson(parsed);
}

function pools(r: Rand): Record<Format, Buffer[]> {
  const reqs = Array.from({ length: 400 }, () => validRequest(r, 8));
  return { protobuf: reqs.map(requestPb), json: reqs.map(requestJson) };
}

type Gen = (r: Rand, pool: Record<Format, Buffer[]>, marker: KV[]) => FuzzCase;
const f = (r: Rand): Format => (r() < 0.6 ? "protobuf" : "json");

/** The decoder mix: [weight, generator]. */
const DECODER_MIX: [number, Gen][] = [
  [17, (r) => randomBytesCase(r, f(r))],
  [17, (r, p) => { const fm = f(r); return truncatedCase(r, fm, p[fm]); }],
  [17, (r, p) => { const fm = f(r); return mutatedCase(r, fm, p[fm]); }],
  [7, (r) => wrongWireTypeCase(r)],
  [7, (r) => jsonWrongTypeCase(r)],
  [1, (r) => jsonNotARequestCase(r)],
  [2, (r) => jsonRandomValueCase(r)],
  [4, (r) => deepCase(r, f(r))],
  [5, (r) => invalidUtf8Case(r, f(r))],
  [12, (r) => mixedBatch(r, f(r))],
  [3, (r) => unknownFieldsCase(r, f(r))],
  [0.3, (r) => hugeValueCase(r, f(r), int(r, 64 * 1024, 1024 * 1024))],
  [5, (r) => validCase(r, f(r))],
];

function chooser(mix: [number, Gen][]): (r: Rand) => Gen {
  const total = mix.reduce((n, [w]) => n + w, 0);
  return (r) => {
    let x = r() * total;
    for (const [w, g] of mix) if ((x -= w) < 0) return g;
    return mix[mix.length - 1]![1];
  };
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

interface ClassStats {
  cases: number;
  refused: number;
  accepted: number;
  spans: number;
  rejectedSpans: number;
}
const bump = (m: Map<string, ClassStats>, k: string) => {
  let s = m.get(k);
  if (!s) m.set(k, (s = { cases: 0, refused: 0, accepted: 0, spans: 0, rejectedSpans: 0 }));
  s.cases++;
  return s;
};
function table(m: Map<string, ClassStats>): string {
  return [...m.entries()]
    .sort()
    .map(([k, s]) => `  ${k.padEnd(26)} ${String(s.cases).padStart(6)} cases: ${s.accepted} accepted (${s.spans} valid spans, ${s.rejectedSpans} rejected in partial_success), ${s.refused} refused`)
    .join("\n");
}

describe("fuzzing the OTLP decoders and the HTTP receiver", () => {
  it(`decodes ${DECODER_CASES} generated bodies in-process: a result or an OtlpDecodeError, nothing else`, () => {
    const r = rng(SEED_DECODER);
    const pool = pools(r);
    const choose = chooser(DECODER_MIX);
    const stats = new Map<string, ClassStats>();
    const bugs: string[] = [];
    const paths = { fast: 0, decoder: 0 };
    const t0 = performance.now();
    for (let i = 0; i < DECODER_CASES; i++) {
      const c = choose(r)(r, pool, []);
      const s = bump(stats, `${c.cls}/${c.format}`);
      const where = `case ${i} (${c.cls}/${c.format}, ${c.body.length} bytes)`;
      if (c.format === "protobuf") {
        // The receiver's fast path must store exactly what the decoder would.
        const a = transcoderAgreement(c.body);
        paths[a.path]++;
        if (a.problem) bugs.push(`${where}: ${a.problem}`);
      }
      let d: DecodedSpans;
      try {
        d = decodeLikeReceiver(c.format, c.body);
      } catch (err) {
        if (!(err instanceof OtlpDecodeError)) bugs.push(`${where}: ${(err as Error).stack}`);
        else if (c.expect) bugs.push(`${where}: a well-formed body was refused: ${err.message}`);
        s.refused++;
        continue;
      }
      s.accepted++;
      s.spans += d.rows.length;
      s.rejectedSpans += d.rejected;
      if (c.mustFail) bugs.push(`${where}: decoded, but must be refused`);
      if (c.expect) {
        const got = d.rows.map((row) => `${row.traceId}:${row.spanId}`).sort();
        if (JSON.stringify(got) !== JSON.stringify([...c.expect.stored].sort())) bugs.push(`${where}: stored ${got.length} spans, want ${c.expect.stored.length}`);
        if (d.rejected !== c.expect.rejected) bugs.push(`${where}: rejected ${d.rejected}, want ${c.expect.rejected}`);
      }
      for (const row of d.rows) {
        if (!HEX32.test(row.traceId) || !HEX16.test(row.spanId) || !(row.parentSpanId === "" || HEX16.test(row.parentSpanId))) {
          bugs.push(`${where}: malformed ids in a row: ${row.traceId} ${row.spanId} ${row.parentSpanId}`);
        }
      }
      try {
        encodeSpansRowBinary(d.rows);
      } catch (err) {
        bugs.push(`${where}: RowBinary encoding threw: ${(err as Error).stack}`);
      }
      if (bugs.length > 20) break;
    }
    const ms = performance.now() - t0;
    console.log(`[fuzz] decoders: ${DECODER_CASES} cases in ${(ms / 1000).toFixed(1)} s (seed ${SEED_DECODER.toString(16)}); ` +
      `protobuf bodies: ${paths.fast} on the fast path, ${paths.decoder} left to the decoder\n${table(stats)}`);
    expect(bugs).toEqual([]);
    expect(paths.fast).toBeGreaterThan(DECODER_CASES / 50);
  }, 120_000);

  describe("over HTTP against a collector process", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gavel-fuzz-"));
    let gavel: GavelProcess | undefined;
    afterAll(async () => {
      await gavel?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(`answers ${HTTP_CASES}+ hostile requests with 200/400/413/415 only, stays up, keeps its memory, stores exactly the valid spans`, async () => {
      gavel = await startGavelProcess({ dataDir, env: { GAVEL_MAX_BODY_BYTES: String(MAX_BODY) } });
      const pid = gavel.proc.pid!;
      const r = rng(SEED_HTTP);
      const pool = pools(r);
      const marker: KV[] = [{ key: "fuzz.mark", value: { s: "1" } }];
      const bombs = bombCases(MAX_BODY);
      const mix: [number, Gen][] = [
        [8, (r, _p, m) => validCase(r, f(r), m)],
        [15, (r, _p, m) => mixedBatch(r, f(r), m)],
        [6, (r, _p, m) => invalidUtf8Case(r, f(r), m)],
        [4, (r, _p, m) => unknownFieldsCase(r, f(r), m)],
        [6, (r, _p, m) => deepCase(r, f(r), m)],
        [6, (r) => wrongWireTypeCase(r)],
        [6, (r) => jsonWrongTypeCase(r)],
        [2, (r) => jsonNotARequestCase(r)],
        [15, (r) => randomBytesCase(r, f(r))],
        [11, (r, p) => { const fm = f(r); return truncatedCase(r, fm, p[fm]); }],
        [11, (r, p) => { const fm = f(r); return mutatedCase(r, fm, p[fm]); }],
        [3, (r) => jsonRandomValueCase(r)],
        [0.8, (r, _p, m) => (r() < 0.6 ? hugeValueCase(r, f(r), int(r, 256 * 1024, 1536 * 1024), m) : { ...hugeValueCase(r, "json", int(r, MAX_BODY + 1, 2 * MAX_BODY)), expect: undefined, status: [413] })],
        [1.2, (r) => pick(r, bombs)],
        [2, (r) => badCompressionCase(r)],
        [2, (r) => badHeadersCase(r)],
        [0.3, (r) => manyDaysCase(r)],
        [2, (r, _p, m) => { const c = validCase(r, "protobuf", m); return { ...c, cls: "gzip-valid", body: gzipSync(c.body), headers: { "content-encoding": "gzip" } }; }],
      ];
      const choose = chooser(mix);
      const stats = new Map<string, ClassStats>();
      const statuses = new Map<number, number>();
      const bugs: string[] = [];
      const expected = new Set<string>();
      const rss = new RssSampler(pid);
      let next = 0;
      let rssWarm = 0;
      const checkpoints: number[] = [];
      const WARMUP = 600;

      const send = async (i: number, c: FuzzCase) => {
        const s = bump(stats, `${c.cls}/${c.format}`);
        const headers = { "content-type": c.format === "protobuf" ? "application/x-protobuf" : "application/json", ...c.headers };
        let res: Response;
        let text: string;
        try {
          res = await fetch(`${gavel!.url}/v1/traces`, { method: "POST", body: c.body, headers, signal: AbortSignal.timeout(30_000) });
          text = Buffer.from(await res.arrayBuffer()).toString("latin1");
        } catch (err) {
          bugs.push(`case ${i} (${c.cls}): no answer: ${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ""}`);
          return;
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const allowed = c.status ?? (c.mustFail ? [400] : c.expect ? [200] : [200, 400, 413, 415]);
        if (!allowed.includes(res.status)) bugs.push(`case ${i} (${c.cls}/${c.format}): HTTP ${res.status}, want ${allowed.join("/")}: ${text.slice(0, 300)}`);
        if (res.status !== 200) {
          s.refused++;
          return;
        }
        s.accepted++;
        if (c.expect) {
          for (const k of c.expect.stored) expected.add(k);
          s.spans += c.expect.stored.length;
          s.rejectedSpans += c.expect.rejected;
          let rejected = 0;
          if (c.format === "json") rejected = Number((JSON.parse(text) as { partialSuccess?: { rejectedSpans?: string } }).partialSuccess?.rejectedSpans ?? 0);
          else rejected = rejectedSpansPb(Buffer.from(text, "latin1"));
          if (rejected !== c.expect.rejected) bugs.push(`case ${i} (${c.cls}/${c.format}): partialSuccess.rejectedSpans ${rejected}, want ${c.expect.rejected}`);
        }
      };

      const t0 = performance.now();
      const worker = async () => {
        for (;;) {
          const i = next++;
          if (i >= HTTP_CASES) return;
          // Generation is serial (one seeded stream) so that case i is the same body on every run.
          await send(i, choose(r)(r, pool, marker));
          if (i === WARMUP) {
            await new Promise((ok) => setTimeout(ok, 300));
            rssWarm = rssOf(pid);
          }
          if (i % 1000 === 999) checkpoints.push(rssOf(pid));
        }
      };
      // Bombs and 413s first, so the warm-up has seen every code path.
      for (const b of bombs) await send(-1, b);
      await Promise.all(Array.from({ length: HTTP_CONCURRENCY }, worker));
      const secs = (performance.now() - t0) / 1000;
      await new Promise((ok) => setTimeout(ok, 1000));
      const rssAfter = rssOf(pid);
      rss.stop();

      expect(gavel.proc.exitCode).toBeNull();
      expect((await fetch(`${gavel.url}/healthz`)).status).toBe(200);
      const stored = await sql<{ k: string }>(gavel.url, "SELECT concat(TraceId, ':', SpanId) AS k FROM otel_traces WHERE SpanAttributes['fuzz.mark'] = '1'");
      const got = new Set(stored.map((x) => x.k));
      const missing = [...expected].filter((k) => !got.has(k));
      const unexpected = [...got].filter((k) => !expected.has(k));
      const log = gavel.output();

      console.log(
        `[fuzz] HTTP: ${HTTP_CASES + bombs.length} requests in ${secs.toFixed(1)} s, ${HTTP_CONCURRENCY} concurrent; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n` +
          `${table(stats)}\n` +
          `[fuzz] valid spans sent in accepted requests: ${expected.size}, stored: ${got.size}, missing: ${missing.length}, unexpected: ${unexpected.length}\n` +
          `[fuzz] collector RSS: after warm-up ${mib(rssWarm)}, after the run ${mib(rssAfter)}, peak ${mib(rss.peak)}; every 1000 requests: ${checkpoints.map(mib).join(", ")}`,
      );
      if (bugs.length) console.log(`[fuzz] ${bugs.length} failures, first ones:\n${bugs.slice(0, 20).join("\n")}`);
      expect(bugs.slice(0, 20)).toEqual([]);
      expect(missing.length).toBe(0);
      expect(unexpected.length).toBe(0);
      expect(stored.length).toBe(got.size); // no duplicates
      expect(rssAfter).toBeLessThan(2 * rssWarm + 100 * MiB);
      expect(log).not.toMatch(/internal error|ingest failed/i);
    }, 300_000);
  });
});

/** ExportTraceServiceResponse.partial_success.rejected_spans (0 when absent). */
function rejectedSpansPb(b: Buffer): number {
  const varint = (at: number): [number, number] => {
    let n = 0;
    let mul = 1;
    for (let i = at; i < b.length; i++) {
      n += (b[i]! & 0x7f) * mul;
      mul *= 128;
      if (b[i]! < 0x80) return [n, i + 1];
    }
    throw new Error("truncated varint in the response");
  };
  // The collector writes one partial_success (field 1, LEN) whose field 1 is the count.
  if (b.length === 0) return 0;
  if (b[0] !== 0x0a) throw new Error(`unexpected response ${b.toString("hex")}`);
  const [, start] = varint(1);
  if (b[start] !== 0x08) return 0;
  return varint(start + 1)[0];
}
