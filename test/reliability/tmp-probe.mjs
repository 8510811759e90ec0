import { startGavel } from "../../collector/dist/server/gavel-server.js";
import { loadConfig } from "../../collector/dist/config/config.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const dataDir = mkdtempSync(join(tmpdir(), "gavel-probe-"));
const g = await startGavel({ ...loadConfig({}, { dataDir, port: 0 }) });
function span(i, day) {
  const t = BigInt(Date.UTC(2020, 0, 1) + day * 86400000) * 1000000n;
  return { traceId: (i+1).toString(16).padStart(32, "a"), spanId: (i+1).toString(16).padStart(16, "b"), name: "s", startTimeUnixNano: t.toString(), endTimeUnixNano: (t+1000n).toString() };
}
const body = { resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: 150 }, (_, i) => span(i, i)) }] }] };
let r = await fetch(`${g.url}/v1/traces`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
console.log(r.status, r.headers.get("retry-after"), await r.text());
// extreme timestamps
const body2 = { resourceSpans: [{ scopeSpans: [{ spans: [ { ...span(500, 0), startTimeUnixNano: "18446744073709551615" }, { ...span(501, 0), startTimeUnixNano: "9223372036854775807" }, { ...span(502,0), startTimeUnixNano: "1" } ] }] }] };
r = await fetch(`${g.url}/v1/traces`, { method: "POST", body: JSON.stringify(body2), headers: { "content-type": "application/json" } });
console.log(r.status, await r.text());
await g.close();
