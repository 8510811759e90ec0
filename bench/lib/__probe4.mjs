import dc from "node:diagnostics_channel";
import OpenAI from "openai";
import { startProviderSimulator } from "../../test/simulator/dist/index.js";
let sockets = 0;
dc.subscribe("net.client.socket", () => sockets++);
const sim = await startProviderSimulator({ latencyMs: 0 });
const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
for (let i = 0; i < 20; i++) { const r = await fetch(`${sim.openaiBaseUrl}/chat/completions`, { method: "POST", body, headers: { "content-type": "application/json" } }); await r.text(); }
console.log("plain fetch sockets", sockets); sockets = 0;
const c = new OpenAI({ apiKey: "x", baseURL: sim.openaiBaseUrl, maxRetries: 0 });
for (let i = 0; i < 20; i++) await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
console.log("openai sockets", sockets); sockets = 0;
for (let i = 0; i < 20; i++) { const ac = new AbortController(); await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] }, { signal: ac.signal, timeout: 60000 }); }
console.log("openai+signal sockets", sockets); sockets = 0;
for (let i = 0; i < 20; i++) { const ac = new AbortController(); await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }], response_format: { type: "json_schema", json_schema: { name: "x", strict: true, schema: { type: "object", properties: { result: { type: "string" } }, required: ["result"], additionalProperties: false } } } }, { signal: ac.signal, timeout: 60000 }); }
console.log("openai+schema sockets", sockets); sockets = 0;
await sim.close();
