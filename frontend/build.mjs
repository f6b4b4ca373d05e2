// Builds the browser assets into static/. Output is deterministic so that
// `make generate` reproduces the committed files byte for byte: plain
// concatenation of pinned npm files (package-lock.json) and our sources.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

mkdirSync("static", { recursive: true });

const read = (p) => readFileSync(p, "utf8");
const versionOf = (pkg) => JSON.parse(read(`node_modules/${pkg}/package.json`)).version;

writeFileSync("static/app.css", read("frontend/css/app.css"));

// htmx, its WebSocket extension, then our glue (which configures both).
const js = [
  `/* htmx.org ${versionOf("htmx.org")} (BSD-2-Clause) */`,
  read("node_modules/htmx.org/dist/htmx.min.js").trimEnd(),
  `/* htmx-ext-ws ${versionOf("htmx-ext-ws")} (BSD-2-Clause) */`,
  read("node_modules/htmx-ext-ws/dist/ws.min.js").trimEnd(),
  "/* simjobs */",
  read("frontend/js/app.js").trimEnd(),
  read("frontend/js/notify.js").trimEnd(),
  "",
].join("\n");
writeFileSync("static/app.js", js);
