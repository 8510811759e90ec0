import dc from "node:diagnostics_channel";
import { createServer } from "node:http";
let sockets = 0;
dc.subscribe("net.client.socket", () => sockets++);
const s = createServer((req, res) => { req.resume(); req.on("end", () => res.end("ok")); });
await new Promise((r) => s.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${s.address().port}/`;
for (let i = 0; i < 20; i++) { const r = await fetch(url, { method: "POST", body: "x" }); await r.text(); }
console.log("trivial server sockets", sockets);
s.close(); s.closeAllConnections();
