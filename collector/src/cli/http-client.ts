/** The CLI talks to a running collector over HTTP (a chDB data dir opens in one process only). */
export function collectorUrl(flag?: string): string {
  return (flag ?? process.env.GAVEL_URL ?? "http://127.0.0.1:4318").replace(/\/+$/, "");
}

export async function callApi<T>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (process.env.GAVEL_API_KEY) headers.authorization = `Bearer ${process.env.GAVEL_API_KEY}`;
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new Error(`Gavel collector not reachable at ${baseUrl}. Start it with \`npm start\` or set GAVEL_URL / --url.`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = (json as { error?: { message?: string } }).error;
    throw new Error(e?.message ?? `${method} ${path} failed with HTTP ${res.status}.`);
  }
  return json as T;
}

/** Percent-encode one URL path segment. */
export const seg = (s: string) => encodeURIComponent(s);

/** An experiment id, or else a name; errors other than "not found" are the answer. */
export async function resolveExperimentId(url: string, idOrName: string): Promise<string> {
  for (const path of [`/api/v1/experiments/${seg(idOrName)}`, `/api/v1/experiments/by-name/${seg(idOrName)}`]) {
    try {
      return (await callApi<{ experimentId: string }>(url, "GET", path)).experimentId;
    } catch (err) {
      if (!/^No experiment/.test((err as Error).message)) throw err;
    }
  }
  throw new Error(`No experiment with id or name "${idOrName}". List them with: gavel sql "SELECT ExperimentId, Name FROM gavel_experiments FINAL"`);
}
