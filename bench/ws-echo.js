// The Node `ws` anchor for `mote bench`: an echo server keeping opcodes.
"use strict";
const { WebSocketServer } = require("ws");
const port = parseInt(process.argv[2] || "7683", 10);
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on("listening", () => console.log(`listening on http://127.0.0.1:${port}/`));
process.on("SIGTERM", () => process.exit(0));
