// Connect to a simjobs server with socket.io-client (the browser and Node
// client), submit a job over REST and receive its job_queued, job_started
// and job_completed events.
//
//   node compat/socketio_client.mjs URL COMMAND_JSON [polling|websocket]
//
// COMMAND_JSON is a plain command config for the job ({"command": [...]}).
// Without a transport the client's defaults apply: polling, then the
// upgrade to websocket, which must happen.
import { createRequire } from "node:module";

const require = createRequire(new URL("./node/", import.meta.url));
const { io } = require("socket.io-client");

const [url, commandJSON, transport] = process.argv.slice(2);
const jobid = `node_${transport || "default"}_${process.pid}`;
const config = { ...JSON.parse(commandJSON), jobid };
const socket = io(url, transport ? { transports: [transport] } : {});
const seen = [];

function fail(msg) {
  console.error("FAIL:", msg);
  process.exit(1);
}
setTimeout(() => fail(`timed out; events seen: ${seen.join(", ")}`), 20000).unref();

socket.on("connect_error", (e) => fail(`connect_error: ${e.message}`));
socket.on("connect", async () => {
  console.log(`connected: id ${socket.id}, transport ${socket.io.engine.transport.name}`);
  const resp = await fetch(`${url}/jobs/submit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ config, priority: 0 }),
  });
  const body = await resp.json();
  if (resp.status !== 200 || body.job_id !== jobid) fail(`submit: ${resp.status} ${JSON.stringify(body)}`);
  console.log(`submitted ${body.job_id}`);
});
for (const name of ["job_queued", "job_started", "job_completed"]) {
  socket.on(name, (data) => {
    if (data.job_id !== jobid) return;
    seen.push(name);
    console.log(`${name} ${JSON.stringify(data)}`);
    if (name !== "job_completed") return;
    const want = transport || "websocket";
    const got = socket.io.engine.transport.name;
    if (got !== want) fail(`transport ${got}, want ${want}`);
    if (seen.join(",") !== "job_queued,job_started,job_completed") fail(`events in order ${seen}`);
    if (data.status !== "completed" || data.return_code !== 0) fail(`job_completed ${JSON.stringify(data)}`);
    console.log(`all checks passed over ${got}`);
    socket.close();
    process.exit(0);
  });
}
