import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { collectorUrl } from "./http-client.js";
import { formatTable } from "./print-table.js";

/** A row of the JSONL file, as evaluate() takes it. */
export interface EvalFileRow {
  inputs: unknown;
  outputs?: unknown;
  expectations?: Record<string, unknown>;
}

const ROW_KEYS = new Set(["inputs", "outputs", "expectations"]);
const ROW_SHAPE = '{"inputs": {…}, "outputs"?: …, "expectations"?: {…}}';

/** Parses JSONL rows; every problem names its line, so a large file is quick to fix. */
export function parseEvalJsonl(text: string, file: string): EvalFileRow[] {
  const rows: EvalFileRow[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const at = `${file}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new Error(`${at}: not valid JSON (${(err as Error).message}). Each line is one JSON object ${ROW_SHAPE}.`);
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`${at}: expected a JSON object ${ROW_SHAPE}.`);
    const o = v as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !ROW_KEYS.has(k));
    if (unknown.length > 0) throw new Error(`${at}: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")}; a row has inputs, outputs and expectations.`);
    if (o.inputs === undefined || o.inputs === null) throw new Error(`${at}: no "inputs"; each line is ${ROW_SHAPE}.`);
    const e = o.expectations;
    if (e !== undefined && (e === null || typeof e !== "object" || Array.isArray(e))) {
      throw new Error(`${at}: "expectations" must be an object by name, e.g. {"expected_response": "…"}.`);
    }
    rows.push(o as unknown as EvalFileRow);
  }
  if (rows.length === 0) throw new Error(`${file} has no rows: write one JSON object per line, ${ROW_SHAPE}.`);
  return rows;
}

function positiveInt(what: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${what} must be a whole number ≥ 1, got "${v}".`);
    return Number(v);
  };
}

const collect = (v: string, acc: string[] = []) => [...acc, v];

function formatMetric(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, "");
}

interface EvalOptions {
  experiment: string;
  judge: string[];
  version?: number;
  data: string;
  concurrency?: number;
  output?: string;
  runName?: string;
  url?: string;
}

export function registerEvalCommand(program: Command): void {
  program
    .command("eval")
    .description("Score a JSONL data set with registered judges, as evaluate() does, under a new evaluation run")
    .requiredOption("-e, --experiment <id|name>", "experiment holding the judges (and the run)")
    .requiredOption("-j, --judge <name>", "registered judge to score with (repeatable)", collect)
    .option("--version <n>", "judge version (default: the latest; only with one --judge)", positiveInt("--version"))
    .requiredOption("-d, --data <file.jsonl>", `rows, one JSON object per line: ${ROW_SHAPE}`)
    .option("-c, --concurrency <n>", "rows scored at once (default $GAVEL_EVAL_CONCURRENCY or 8)", positiveInt("--concurrency"))
    .option("-o, --output <file.json>", "write the run id, metrics and per-row results as JSON")
    .option("--run-name <name>", "name of the evaluation run (default eval-<time>)")
    .option("--url <url>", "collector URL (default $GAVEL_URL or http://127.0.0.1:4318)")
    .action(async (opts: EvalOptions) => {
      if (opts.version !== undefined && opts.judge.length > 1) {
        throw new InvalidArgumentError("--version picks one judge's version: use it with a single --judge.");
      }
      let text: string;
      try {
        text = await readFile(opts.data, "utf8");
      } catch (err) {
        throw new Error(`cannot read --data ${opts.data}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
      }
      const rows = parseEvalJsonl(text, opts.data);

      // Loaded here, not at the top, so `gavel start` does not pay for the SDK and OpenTelemetry.
      const sdk = await import("@gavel/sdk");
      const url = collectorUrl(opts.url);
      sdk.init({ url, serviceName: "gavel-eval" });
      try {
        const experiment = (await sdk.getExperiment(opts.experiment)) ?? (await sdk.getExperimentByName(opts.experiment));
        if (!experiment) {
          throw new Error(`No experiment with id or name "${opts.experiment}" at ${url}. List them with: gavel sql "SELECT ExperimentId, Name FROM gavel_experiments"`);
        }
        const scorers = [];
        for (const name of opts.judge) {
          try {
            scorers.push(await sdk.getScorer({ name, experimentId: experiment.experimentId, ...(opts.version !== undefined ? { version: opts.version } : {}) }));
          } catch (err) {
            if (err instanceof sdk.GavelApiError && err.status === 404) {
              throw new Error(
                `No judge "${name}"${opts.version !== undefined ? ` version ${opts.version}` : ""} registered in experiment "${experiment.name}" (${experiment.experimentId}). ` +
                  "Register it with `await judge.register({ experimentId })`.",
              );
            }
            throw err;
          }
        }

        const showBar = process.stderr.isTTY === true;
        const { default: cliProgress } = await import("cli-progress");
        const bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: "scoring [{bar}] {value}/{total} rows | {eta_formatted} left", hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        if (showBar) bar.start(rows.length, 0);
        let result;
        try {
          result = await sdk.evaluate({
            data: rows,
            scorers,
            experimentId: experiment.experimentId,
            ...(opts.runName ? { runName: opts.runName } : {}),
            ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
            onProgress: ({ done }) => {
              if (showBar) bar.update(done);
            },
          });
        } finally {
          if (showBar) bar.stop();
        }

        const judges = scorers.map((j) => `${j.name} v${j.registeredVersion}`).join(", ");
        process.stdout.write(`Evaluation run "${result.runName}" (${result.runId}) in experiment "${experiment.name}": ${rows.length} rows scored by ${judges}\n\n`);
        const metricRows = Object.entries(result.metrics).map(([metric, value]) => ({ metric, value: formatMetric(value) }));
        process.stdout.write(formatTable(["metric", "value"], metricRows) + "\n");
        const errors = scorers.reduce((n, j) => n + (result.metrics[`${j.name}/error_count`] ?? 0), 0);
        if (errors > 0) {
          process.stderr.write(`${errors} score${errors === 1 ? "" : "s"} failed; see the <judge>/error columns${opts.output ? ` in ${opts.output}` : " (--output file.json)"}.\n`);
        }
        if (opts.output) {
          const out = { runId: result.runId, runName: result.runName, experimentId: result.experimentId, metrics: result.metrics, evalResults: result.tables.evalResults };
          await writeFile(opts.output, JSON.stringify(out, null, 2) + "\n");
          process.stdout.write(`\nResults written to ${opts.output}\n`);
        }
      } finally {
        await sdk.shutdown();
      }
    });
}
