import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = fileURLToPath(new URL("../../collector/dist/cli/main.js", import.meta.url));

export interface GavelProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the collector the way the README does (the built CLI's `start`), on a free
 * port, and resolves once it prints its URL.
 */
export function startGavelProcess(opts: { dataDir: string; env?: Record<string, string>; args?: string[] }): Promise<GavelProcess> {
  const proc = spawn(process.execPath, [CLI, "start", "--port", "0", "--data-dir", opts.dataDir, ...(opts.args ?? [])], {
    cwd: REPO_ROOT,
    // OTLP/gRPC stays off unless a test asks for it: its default port would clash between test files.
    env: { ...process.env, GAVEL_GRPC_PORT: "0", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start in 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Gavel listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          proc,
          output: () => out,
          stop: async (signal = "SIGTERM") => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code} before starting:\n${out}`));
    });
  });
}

export async function sql<T = Record<string, unknown>>(url: string, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const res = await fetch(`${url}/api/v1/sql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, params }),
  });
  const body = (await res.json()) as { rows: T[]; error?: { message: string } };
  if (!res.ok) throw new Error(`SQL failed (${res.status}): ${body.error?.message}`);
  return body.rows;
}

/** Polls until `check` returns a truthy value (spans reach SQL right after the 200, views included). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ""}`);
}
