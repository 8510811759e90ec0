import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import cliProgress from "cli-progress";
import { callApi, collectorUrl, resolveExperimentId } from "./http-client.js";
import { bar, confusionHeatmap } from "./report-charts.js";

interface Stats {
  n: number;
  agreement: number;
  kappa: number | null;
  confusion: { labels: string[]; matrix: number[][] };
  errors: number;
}
interface AlignmentRunJson {
  alignmentId: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED";
  progress: { phase: string; message: string; step?: number; totalSteps?: number; llmCalls: number; elapsedMs: number } | null;
  report: {
    optimizer: string;
    examples: { total: number; used: number; skipped: Record<string, unknown> };
    split: { train: number; heldOut: number; stratified: boolean; note?: string };
    before: Stats;
    after: Stats;
    returned?: "measured" | "retrained";
    retrained?: { examples: number };
    llm: { calls: number; inputTokens: number; outputTokens: number };
    wallTimeMs: number;
    instructionDiff: string;
    note?: string;
  } | null;
  registeredVersion: number | null;
  error: string | null;
}

function intFlag(v: string): number {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`"${v}" is not a whole number.`);
  return Number(v);
}

const fmtKappa = (k: number | null) => (k === null ? "n/a" : k.toFixed(2));

export function printReport(r: NonNullable<AlignmentRunJson["report"]>, out: (s: string) => void): void {
  const skipped = Object.entries(r.examples.skipped)
    .filter(([, n]) => typeof n === "number" && n > 0)
    .map(([why, n]) => `${n} ${why === "noLabel" ? "without a human label" : why === "missingField" ? "missing a field" : why === "duplicate" ? "duplicates" : why}`);
  out(`\n${r.optimizer}: ${r.examples.used} of ${r.examples.total} traces used${skipped.length > 0 ? ` (${skipped.join(", ")})` : ""}; train ${r.split.train}, held out ${r.split.heldOut}${r.split.note ? ` (${r.split.note})` : ""}`);
  if (r.returned === "retrained") out(`The aligned judge was retrained on all ${r.retrained?.examples ?? r.examples.used} labelled traces after the held-out measurement.`);
  out(`\nAgreement with humans on the held-out traces`);
  out(`  before ${bar(r.before.agreement)} ${(r.before.agreement * 100).toFixed(0).padStart(3)}%  κ ${fmtKappa(r.before.kappa)}`);
  out(`  after  ${bar(r.after.agreement)} ${(r.after.agreement * 100).toFixed(0).padStart(3)}%  κ ${fmtKappa(r.after.kappa)}`);
  for (const [name, s] of [["before", r.before], ["after", r.after]] as const) {
    out(`\nConfusion ${name} (rows: human, columns: judge)\n${confusionHeatmap(s.confusion.labels, s.confusion.matrix)}`);
  }
  out(`\nLLM calls ${r.llm.calls}, tokens in ${r.llm.inputTokens}, out ${r.llm.outputTokens}; wall time ${(r.wallTimeMs / 1000).toFixed(1)} s`);
  if (r.note) out(`Note: ${r.note}`);
  if (r.instructionDiff) out(`\nInstruction diff:\n${r.instructionDiff}`);
}

export function registerAlignCommand(program: Command): void {
  program
    .command("align")
    .description("Align a registered judge with human feedback on the collector (every human-labelled trace of the experiment), with a progress bar")
    .requiredOption("--experiment <id|name>", "the experiment (id or name)")
    .requiredOption("--judge <name>", "the registered judge to align")
    .addOption(new Option("--optimizer <name>", "alignment optimizer").choices(["simba", "memalign"]).default("simba"))
    .option("--register", "register the aligned judge as a new version")
    .option("--keep-measured", "return (and register) the judge measured on the held-out split instead of retraining it on every labelled trace")
    .option("--version <n>", "start from this registered version (default: latest)", intFlag)
    .option("--seed <n>", "seed for the split and the optimizer", intFlag)
    .option("--optimizer-model <uri>", "model for the optimizer's own calls (default: the judge's model)")
    .option("--max-steps <n>", "SIMBA steps (default 8)", intFlag)
    .option("--num-candidates <n>", "SIMBA candidates per step (default 6)", intFlag)
    .option("--batch-size <n>", "SIMBA mini-batch size (default 10)", intFlag)
    .option("--json", "print the final run as JSON")
    .option("--url <url>", "collector URL (default $GAVEL_URL or http://127.0.0.1:4318)")
    .action(async (opts: { experiment: string; judge: string; optimizer: string; register?: boolean; keepMeasured?: boolean; version?: number; seed?: number; optimizerModel?: string; maxSteps?: number; numCandidates?: number; batchSize?: number; json?: boolean; url?: string }) => {
      const url = collectorUrl(opts.url);
      const experimentId = await resolveExperimentId(url, opts.experiment);
      let run = await callApi<AlignmentRunJson>(url, "POST", `/api/v1/experiments/${encodeURIComponent(experimentId)}/alignments`, {
        judge: opts.judge,
        optimizer: opts.optimizer,
        register: Boolean(opts.register),
        ...(opts.keepMeasured ? { retrainOnAll: false } : {}),
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.optimizerModel ? { optimizerModel: opts.optimizerModel } : {}),
        ...(opts.maxSteps !== undefined || opts.numCandidates !== undefined || opts.batchSize !== undefined
          ? { simba: { maxSteps: opts.maxSteps, numCandidates: opts.numCandidates, batchSize: opts.batchSize } }
          : {}),
      });
      process.stderr.write(`Alignment ${run.alignmentId}: judge "${opts.judge}" with ${opts.optimizer} on experiment ${experimentId}\n`);
      const tty = Boolean(process.stderr.isTTY);
      const progress = new cliProgress.SingleBar(
        { format: " {bar} {phase} {value}/{total} | {llmCalls} LLM calls | {message}", stream: process.stderr, hideCursor: tty, noTTYOutput: true, notTTYSchedule: 2000 },
        cliProgress.Presets.shades_classic,
      );
      progress.start(1, 0, { phase: "prepare", llmCalls: 0, message: "" });
      try {
        while (run.status === "RUNNING") {
          await new Promise((r) => setTimeout(r, 500));
          run = await callApi<AlignmentRunJson>(url, "GET", `/api/v1/alignments/${encodeURIComponent(run.alignmentId)}`);
          const p = run.progress;
          if (p) {
            progress.setTotal(p.totalSteps ?? 1);
            progress.update(p.step ?? 0, { phase: p.phase, llmCalls: p.llmCalls, message: p.message.slice(0, 60) });
          }
        }
      } finally {
        progress.stop();
      }
      if (opts.json) process.stdout.write(JSON.stringify(run, null, 2) + "\n");
      if (run.status === "FAILED") {
        console.error(`Alignment failed: ${run.error}`);
        process.exitCode = 1;
        return;
      }
      if (!opts.json && run.report) printReport(run.report, (s) => process.stdout.write(s + "\n"));
      process.stdout.write(
        run.registeredVersion
          ? `\nRegistered "${opts.judge}" version ${run.registeredVersion}. Use it: getScorer({ name: "${opts.judge}", experimentId: "${experimentId}" }).\n`
          : `\nNot registered (pass --register to store it as a new version). The report is stored with alignment ${run.alignmentId}.\n`,
      );
    });
}
