// Packages the extension as ../kdlens-<version>.vsix with vsce. The bundle
// already holds every JavaScript dependency, so vsce is told not to look for
// node_modules; its vscode:prepublish step rebuilds the folder first.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const client = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(fs.readFileSync(path.join(client, "package.json"), "utf8"));
const out = path.resolve(client, "..", `${pkg.name}-${pkg.version}.vsix`);
const vsce = path.join(path.dirname(createRequire(import.meta.url).resolve("@vscode/vsce/package.json")), "vsce");

const started = Date.now();
const res = spawnSync(
  process.execPath,
  [vsce, "package", "--no-dependencies", "--allow-missing-repository", "--out", out],
  { cwd: client, stdio: "inherit" },
);
if (res.status !== 0) {
  console.error(`package: vsce failed (exit ${res.status ?? res.signal})`);
  process.exit(1);
}
console.log(`package: ${path.relative(process.cwd(), out)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
