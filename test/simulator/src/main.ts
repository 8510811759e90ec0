/**
 * Standalone simulator: `node test/simulator/dist/main.js [--port 0] [--host 127.0.0.1] [--latency-ms 0]`.
 * The first stdout line is the base URL, so a parent process can read it and set
 * OPENAI_BASE_URL=<url>/v1 and ANTHROPIC_BASE_URL=<url>.
 */
import { startProviderSimulator } from "./server.js";

function arg(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const port = Number(arg("port") ?? process.env["PORT"] ?? 0);
const latencyMs = Number(arg("latency-ms") ?? 0);
const sim = await startProviderSimulator({ port, host: arg("host") ?? "127.0.0.1", latencyMs });
process.stdout.write(`${sim.url}\n`);
process.stderr.write(
  `provider simulator listening; OPENAI_BASE_URL=${sim.openaiBaseUrl} ANTHROPIC_BASE_URL=${sim.anthropicBaseUrl}\n`,
);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
