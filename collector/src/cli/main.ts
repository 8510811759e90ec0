#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { registerStartCommand } from "./start-command.js";
import { registerSqlCommand } from "./sql-command.js";
import { registerMigrateCommand } from "./migrate-command.js";
import { registerWorkerCommand } from "./worker-command.js";
import { registerBackfillCommand } from "./backfill-command.js";
import { registerEvalCommand } from "./eval-command.js";
import { registerAlignCommand } from "./align-command.js";

const program = new Command();
program
  .name("gavel")
  .description("Gavel: an open platform for LLM judges on OpenTelemetry and ClickHouse")
  .showHelpAfterError("(run `gavel --help` for usage)")
  // Set before the subcommands are added, so they inherit it. Commander has printed its message;
  // usage errors (unknown command or option, a bad option value) exit 2 as POSIX tools do, and
  // --help / --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

registerStartCommand(program);
registerSqlCommand(program);
registerMigrateCommand(program);
registerWorkerCommand(program);
registerBackfillCommand(program);
registerEvalCommand(program);
registerAlignCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof InvalidArgumentError) process.exitCode = 2;
  console.error(`gavel: ${(err as Error).message}`);
  process.exitCode ||= 1;
});
