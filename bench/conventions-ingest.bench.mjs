// What reading every client's conventions costs at insert time: the same RowBinary files of
// realistic LLM spans (bench/lib/llm-spans.mjs) inserted back to back into otel_traces with
// the schema before @gavel/conventions (baseline: the five-convention input/output/type
// expressions, GenAiModel = gen_ai.request.model, no token columns) and
// with the current schema (migration 6). Each variant runs in its own process with its own
// chDB, alternating, and the ratio current / baseline is printed per round.
//
//   npm run bench -- conventions [-- --seconds 10 --rounds 2]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildProtobufRequests } from "./lib/llm-spans.mjs";

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const SECONDS = Number(arg("seconds", "10"));
const ROUNDS = Number(arg("rounds", "2"));
const variant = arg("variant", "");

// The expressions before @gavel/conventions (collector/src/store/schema.ts at 786f719).
const A = (k) => `SpanAttributes['${k}']`;
const firstOf = (exprs) => `multiIf(${exprs.flatMap((e) => [`${e} != ''`, e]).join(", ")}, '')`;
const OLD_INPUTS = firstOf(["gavel.inputs", "mlflow.spanInputs", "input.value", "gen_ai.input.messages", "traceloop.entity.input"].map(A));
const OLD_OUTPUTS = firstOf(["gavel.outputs", "mlflow.spanOutputs", "output.value", "gen_ai.output.messages", "traceloop.entity.output"].map(A));
const OLD_SPAN_TYPE = firstOf([A("gavel.span_type"), `trim(BOTH '"' FROM ${A("mlflow.spanType")})`, `upper(${A("openinference.span.kind")})`, `upper(${A("gen_ai.operation.name")})`]);

async function child(kind) {
  const { openStoreClient } = await import("../collector/dist/store/clickhouse.js");
  const { migrate } = await import("../collector/dist/store/migrations.js");
  const { gavelTracesMv, INPUTS_EXPR, OUTPUTS_EXPR } = await import("../collector/dist/store/schema.js");
  const { decodeTraceRequestProtobuf } = await import("../collector/dist/otlp/decode-protobuf.js");
  const { encodeSpansRowBinary, SPAN_COLUMNS } = await import("../collector/dist/store/rowbinary.js");
  const dir = mkdtempSync(join(tmpdir(), "gavel-bench-conv-"));
  const shm = mkdtempSync(join("/dev/shm", "gavel-bench-conv-"));
  const sc = await openStoreClient({ dataDir: dir });
  const client = sc.client;
  await migrate(client);
  if (kind === "no-tokens") for (const c of ["TotalTokens", "InputTokens", "OutputTokens"]) await client.command({ query: `ALTER TABLE otel_traces DROP COLUMN ${c}` });
  if (kind === "baseline") {
    for (const q of [
      "ALTER TABLE otel_traces DROP COLUMN IF EXISTS TotalTokens", "ALTER TABLE otel_traces DROP COLUMN IF EXISTS InputTokens", "ALTER TABLE otel_traces DROP COLUMN IF EXISTS OutputTokens",
      `ALTER TABLE otel_traces MODIFY COLUMN SpanType LowCardinality(String) MATERIALIZED ${OLD_SPAN_TYPE}`,
      `ALTER TABLE otel_traces MODIFY COLUMN GenAiModel LowCardinality(String) MATERIALIZED ${A("gen_ai.request.model")}`,
      "DROP VIEW IF EXISTS gavel_traces_mv",
      `CREATE MATERIALIZED VIEW gavel_traces_mv TO gavel_traces AS ${gavelTracesMv.select.replace(INPUTS_EXPR, OLD_INPUTS).replace(OUTPUTS_EXPR, OLD_OUTPUTS)}`,
    ]) await client.command({ query: q });
  }
  const rows = buildProtobufRequests(40, 512).flatMap((b) => decodeTraceRequestProtobuf(b).rows);
  const files = [];
  for (let i = 0; i < rows.length; i += 10_000) {
    const f = join(shm, `b-${files.length}.bin`);
    writeFileSync(f, encodeSpansRowBinary(rows.slice(i, i + 10_000)));
    files.push({ f, n: Math.min(10_000, rows.length - i) });
  }
  const cols = SPAN_COLUMNS.map((c) => (c.includes(".") ? `\`${c}\`` : c)).join(", ");
  const insert = (b) => client.command({ query: `INSERT INTO otel_traces (${cols}) FROM INFILE '${b.f}' FORMAT RowBinary` });
  await insert(files[0]); // warm-up
  // chDB runs in this process: its CPU time is the engine's work, less bent by a busy machine than wall time.
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  let n = 0;
  for (let i = 0; performance.now() - t < SECONDS * 1000; i++) {
    const b = files[i % files.length];
    await insert(b);
    n += b.n;
  }
  const rate = n / ((performance.now() - t) / 1000);
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerSpan = (cpu.user + cpu.system) / n;
  await sc.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(shm, { recursive: true, force: true });
  console.log(JSON.stringify({ rate, cpuUsPerSpan }));
}

if (variant) {
  await child(variant);
} else {
  const me = fileURLToPath(import.meta.url);
  const run = (kind) => {
    const r = spawnSync(process.execPath, [me, "--variant", kind, "--seconds", String(SECONDS)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop());
  };
  console.log(`otel_traces inserts of 10 000 LLM spans (RowBinary files, engine only), ${SECONDS} s per variant and round.\n`);
  console.log("| round | baseline (before @gavel/conventions): spans/s, CPU µs/span | current schema: spans/s, CPU µs/span | spans/s current / baseline | CPU current / baseline |");
  console.log("| ---: | ---: | ---: | ---: | ---: |");
  for (let round = 1; round <= ROUNDS; round++) {
    const b = run("baseline");
    const c = run("current");
    console.log(`| ${round} | ${Math.round(b.rate)}, ${b.cpuUsPerSpan.toFixed(0)} | ${Math.round(c.rate)}, ${c.cpuUsPerSpan.toFixed(0)} | ${(c.rate / b.rate).toFixed(2)}× | ${(c.cpuUsPerSpan / b.cpuUsPerSpan).toFixed(2)}× |`);
  }
}
