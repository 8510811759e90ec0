import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import type { BackfillJob } from "../worker/backfill.js";
import { parseSince } from "../worker/duration.js";
import { callApi, collectorUrl, resolveExperimentId, seg } from "./http-client.js";


function versionFlag(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`"${v}" is not a version: use a whole number from 1.`);
  return Number(v);
}

function sinceFlag(v: string): string {
  if (parseSince(v) === undefined) {
    throw new InvalidArgumentError(`"${v}" is not a time: use an ISO time (2025-01-31 or 2025-01-31T12:00:00Z) or a duration back from now (90m, 24h, 7d).`);
  }
  return v;
}

export function registerBackfillCommand(program: Command): void {
  program
    .command("backfill")
    .description("Score existing traces with a registered judge (whatever its sampleRate), through a running collector, with a progress bar")
    .requiredOption("--experiment <id|name>", "the experiment (id or name)")
    .requiredOption("--judge <name>", "the registered judge's name")
    .requiredOption("--since <time>", "traces that started since: an ISO time or a duration back from now (24h, 7d)", sinceFlag)
    .option("--version <n>", "judge version (default: the latest)", versionFlag)
    .option("--filter <filter>", "trace filter (default: the judge's registered sampling filter)")
    .option("--retry-errors", "judge again the traces whose earlier judgement by this version failed")
    .option("--no-progress", "print one line per second instead of a progress bar")
    .option("--url <url>", "collector URL (default $GAVEL_URL or http://127.0.0.1:4318)")
    .action(
      async (opts: { experiment: string; judge: string; since: string; version?: number; filter?: string; retryErrors?: boolean; progress: boolean; url?: string }) => {
        const url = collectorUrl(opts.url);
        const experimentId = await resolveExperimentId(url, opts.experiment);
        let job = await callApi<BackfillJob>(url, "POST", `/api/v1/experiments/${seg(experimentId)}/scorers/${seg(opts.judge)}/backfill`, {
          since: opts.since,
          ...(opts.version !== undefined ? { version: opts.version } : {}),
          ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
          ...(opts.retryErrors ? { retryErrors: true } : {}),
        });
        process.stderr.write(
          `Backfill ${job.jobId}: judge "${job.judge}" v${job.version} on experiment ${experimentId}, traces since ${new Date(job.sinceMs).toISOString()}\n`,
        );
        const tty = opts.progress && Boolean(process.stderr.isTTY);
        const bar = new cliProgress.SingleBar(
          {
            format: " {bar} {percentage}% | {value}/{total} traces | {failed} failed | {skipped} skipped | ETA {eta_formatted}",
            stream: process.stderr,
            hideCursor: tty,
            noTTYOutput: true,
            notTTYSchedule: 1000,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(job.total, 1), 0, { failed: 0, skipped: 0 });
        let cancelled = false;
        const onSigint = () => {
          if (cancelled) process.exit(130);
          cancelled = true;
          void callApi(url, "DELETE", `/api/v1/jobs/${seg(job.jobId)}`).catch(() => undefined);
        };
        process.on("SIGINT", onSigint);
        try {
          for (;;) {
            job = await callApi<BackfillJob>(url, "GET", `/api/v1/jobs/${seg(job.jobId)}`);
            bar.setTotal(Math.max(job.total, job.done, 1));
            bar.update(job.done, { failed: job.failed, skipped: job.skipped });
            if (job.status !== "running") break;
            await new Promise((r) => setTimeout(r, 250));
          }
        } finally {
          bar.stop();
          process.off("SIGINT", onSigint);
        }
        const secs = (((job.finishedAt ?? Date.now()) - job.startedAt) / 1000).toFixed(1);
        const summary = `${job.scored} scored, ${job.failed} failed, ${job.skipped} skipped (already judged or still receiving spans) in ${secs} s`;
        if (job.status === "succeeded" && job.failed === 0) {
          console.log(`Backfill ${job.jobId} done: ${summary}.`);
          return;
        }
        if (job.status === "succeeded") {
          console.error(`Backfill ${job.jobId} finished with failures: ${summary}. Their errors are stored on the assessments; run again with --retry-errors to judge them again.`);
        } else {
          console.error(`Backfill ${job.jobId} ${job.status}${job.error ? `: ${job.error}` : ""} (${summary}).`);
        }
        process.exitCode = 1;
      },
    );
}
