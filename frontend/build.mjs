// Builds the browser assets into static/. Output is deterministic so that
// `make generate` reproduces the committed files byte for byte.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

mkdirSync("static", { recursive: true });
const css = readFileSync("frontend/css/app.css", "utf8");
writeFileSync("static/app.css", css);
