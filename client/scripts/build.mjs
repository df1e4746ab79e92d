// Builds the extension folder for packaging:
//   - copies the TextMate grammar from ../syntaxes (VS Code packages only
//     files under the folder that holds package.json),
//   - copies the Python server package ../server/kdlens (sources and data),
//   - writes server/requirements.txt from pyproject.toml's dependencies,
//   - bundles src/extension.ts and vscode-languageclient into out/extension.js.
// With --tests it only bundles test/*.test.ts into out-test/ for node --test.

import { build } from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const client = path.resolve(here, "..");
// The checkout root; a test points it at an empty folder to see the build refuse.
const repo = path.resolve(process.env.KDLENS_BUILD_ROOT ?? path.join(client, ".."));
const args = new Set(process.argv.slice(2));

const GRAMMAR = "windbg-log.tmLanguage.json";
const GRAMMAR_SCOPE = "source.windbg-log";

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function rel(p) {
  return path.relative(process.cwd(), p) || ".";
}

function copyGrammar() {
  const src = path.join(repo, "syntaxes", GRAMMAR);
  if (!fs.existsSync(src)) {
    fail(
      `the TextMate grammar ${rel(src)} does not exist yet. The extension cannot be ` +
        `packaged without it; add the grammar (scope ${GRAMMAR_SCOPE}) and build again.`,
    );
  }
  let grammar;
  try {
    grammar = JSON.parse(fs.readFileSync(src, "utf8"));
  } catch (err) {
    fail(`${rel(src)} is not valid JSON: ${err.message}`);
  }
  if (grammar.scopeName !== GRAMMAR_SCOPE) {
    fail(`${rel(src)} has scopeName ${JSON.stringify(grammar.scopeName)}, expected "${GRAMMAR_SCOPE}"`);
  }
  const dest = path.join(client, "syntaxes");
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(src, path.join(dest, GRAMMAR));
}

/** Python sources, the knowledge data and the typing marker; never caches. */
function wanted(name) {
  return name.endsWith(".py") || name.endsWith(".json") || name === "py.typed";
}

function copyTree(src, dest) {
  fs.mkdirSync(dest, { recursive: true });
  let count = 0;
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "__pycache__") {
      continue;
    }
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isDirectory()) {
      count += copyTree(from, to);
    } else if (entry.isFile() && wanted(entry.name)) {
      fs.copyFileSync(from, to);
      count += 1;
    }
  }
  return count;
}

/** The strings of `dependencies = [...]` in the [project] table of pyproject.toml. */
export function projectDependencies(toml) {
  const lines = toml.split(/\r?\n/);
  let table = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      table = header[1].trim();
      continue;
    }
    if (table !== "project" || !/^dependencies\s*=\s*\[/.test(line)) {
      continue;
    }
    let text = line.slice(line.indexOf("[") + 1);
    while (!text.includes("]") && i + 1 < lines.length) {
      text += "\n" + lines[++i];
    }
    text = text.slice(0, text.indexOf("]"));
    return [...text.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => m[1] ?? m[2]);
  }
  return undefined;
}

function pythonVersion() {
  const init = fs.readFileSync(path.join(repo, "server", "kdlens", "__init__.py"), "utf8");
  const m = /^__version__\s*=\s*["']([^"']+)["']/m.exec(init);
  return m ? m[1] : undefined;
}

function copyServer() {
  const pkg = JSON.parse(fs.readFileSync(path.join(client, "package.json"), "utf8"));
  const pyVersion = pythonVersion();
  if (pyVersion !== pkg.version) {
    fail(
      `client/package.json has version ${pkg.version} but server/kdlens/__init__.py has ` +
        `${pyVersion}; the extension ships that server, so keep the two equal.`,
    );
  }
  const deps = projectDependencies(fs.readFileSync(path.join(repo, "pyproject.toml"), "utf8"));
  if (!deps || deps.length === 0) {
    fail("no dependencies = [...] found in the [project] table of pyproject.toml");
  }
  const dest = path.join(client, "server");
  fs.rmSync(dest, { recursive: true, force: true });
  const count = copyTree(path.join(repo, "server", "kdlens"), path.join(dest, "kdlens"));
  if (!fs.existsSync(path.join(dest, "kdlens", "__main__.py"))) {
    fail("server/kdlens/__main__.py is missing; nothing to ship");
  }
  const header =
    "# The kdlens language server's dependencies, installed into the extension's\n" +
    "# private Python environment. Written by client/scripts/build.mjs from\n" +
    "# pyproject.toml; do not edit.\n";
  fs.writeFileSync(path.join(dest, "requirements.txt"), header + deps.join("\n") + "\n");
  return count;
}

async function bundleExtension() {
  await build({
    entryPoints: [path.join(client, "src", "extension.ts")],
    outfile: path.join(client, "out", "extension.js"),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["vscode"],
    minify: !args.has("--dev"),
    sourcemap: args.has("--dev") ? "inline" : false,
    logLevel: "warning",
  });
}

async function bundleTests() {
  const dir = path.join(client, "test");
  const entries = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".test.ts"))
    .map((n) => path.join(dir, n));
  fs.rmSync(path.join(client, "out-test"), { recursive: true, force: true });
  await build({
    entryPoints: entries,
    outdir: path.join(client, "out-test"),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    external: ["vscode"],
    sourcemap: "inline",
    logLevel: "warning",
  });
}

const started = Date.now();
if (args.has("--tests")) {
  await bundleTests();
} else {
  copyGrammar();
  const files = copyServer();
  await bundleExtension();
  console.log(`build: grammar, ${files} server files and out/extension.js ready in ${Date.now() - started} ms`);
}
