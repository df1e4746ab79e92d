// Builds the extension folder for packaging:
//   - copies the TextMate grammar from ../syntaxes (VS Code packages only
//     files under the folder that holds package.json),
//   - copies the Python server package ../server/kdlens (sources and data)
//     and the launcher (launcher/launch.py) into server/,
//   - installs the server's third-party libraries into server/vendor from
//     server-requirements.lock (pip, hashes required, wheels only),
//   - bundles src/extension.ts and vscode-languageclient into out/extension.js.
// With --tests it only bundles test/*.test.ts into out-test/ for node --test.

import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
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
  const dest = path.join(client, "server");
  fs.rmSync(dest, { recursive: true, force: true });
  const count = copyTree(path.join(repo, "server", "kdlens"), path.join(dest, "kdlens"));
  if (!fs.existsSync(path.join(dest, "kdlens", "__main__.py"))) {
    fail("server/kdlens/__main__.py is missing; nothing to ship");
  }
  fs.copyFileSync(path.join(client, "launcher", "launch.py"), path.join(dest, "launch.py"));
  return count + 1;
}

// -- the server's third-party libraries (server/vendor)

const LOCK = path.join(client, "server-requirements.lock");
/** The oldest Python the extension accepts; the lock is resolved for it. */
const OLDEST_PYTHON = "3.10";

/** `name==version` pins of the lock file, keyed by normalised name. */
export function lockedVersions(text) {
  const out = new Map();
  for (const m of text.matchAll(/^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)/gm)) {
    out.set(normaliseName(m[1]), m[2]);
  }
  return out;
}

function normaliseName(name) {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** The Python that runs pip at build time: $KDLENS_BUILD_PYTHON, else python3 (python on Windows). */
function buildPython() {
  return process.env.KDLENS_BUILD_PYTHON || (process.platform === "win32" ? "python" : "python3");
}

/**
 * Installs the locked wheels into a cache folder named after the lock's
 * hash (under node_modules/.cache, so `make client-clean` drops it) and
 * returns it. pip may use the package index here, on the build machine; the
 * user's machine gets the result inside the package.
 */
function installVendor() {
  const lockText = fs.readFileSync(LOCK, "utf8");
  const key = crypto.createHash("sha256").update(lockText).digest("hex").slice(0, 16);
  const cacheRoot = path.join(client, "node_modules", ".cache", "kdlens-vendor");
  const target = path.join(cacheRoot, key);
  const stamp = path.join(target, ".kdlens-complete");
  if (fs.existsSync(stamp)) {
    return target;
  }
  fs.rmSync(cacheRoot, { recursive: true, force: true });
  fs.mkdirSync(cacheRoot, { recursive: true });
  const python = buildPython();
  const pipArgs = [
    "-m", "pip", "install",
    "--require-hashes", "--no-deps", "--only-binary=:all:",
    "--python-version", OLDEST_PYTHON,
    "--no-compile", "--disable-pip-version-check", "--no-input", "--quiet",
    "--target", target,
    "-r", LOCK,
  ];
  console.log(`build: ${python} ${pipArgs.join(" ")}`);
  const res = spawnSync(python, pipArgs, { stdio: "inherit" });
  if (res.error || res.status !== 0) {
    fail(
      `installing the server's libraries from ${rel(LOCK)} failed ` +
        `(${res.error ? res.error.message : `pip exit ${res.status}`}). The build needs a Python with ` +
        `pip (set KDLENS_BUILD_PYTHON to choose one) and access to the package index.`,
    );
  }
  fs.writeFileSync(stamp, "");
  return target;
}

/** The files of a dist-info folder that carry its licence text. */
function licenceFiles(distInfo) {
  const out = [];
  const walk = (dir, relDir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = relDir ? `${relDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(path.join(dir, entry.name), r);
      } else if (r.startsWith("licenses/") || /^(LICEN[CS]E|COPYING|NOTICE)/i.test(entry.name)) {
        out.push(r);
      }
    }
  };
  walk(distInfo, "");
  return out;
}

/**
 * Copies the installed libraries into server/vendor, leaving out byte code,
 * and checks that each locked distribution is there at its pinned version
 * with a licence file.
 */
function copyVendor(installed) {
  const dest = path.join(client, "server", "vendor");
  const locked = lockedVersions(fs.readFileSync(LOCK, "utf8"));
  let count = 0;
  const copy = (src, to) => {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
      if (entry.name === "__pycache__" || entry.name.endsWith(".pyc") || entry.name.startsWith(".kdlens")) {
        continue;
      }
      if (entry.isDirectory()) {
        copy(path.join(src, entry.name), path.join(to, entry.name));
      } else if (entry.isFile()) {
        fs.copyFileSync(path.join(src, entry.name), path.join(to, entry.name));
        count += 1;
      }
    }
  };
  copy(installed, dest);
  const found = new Map();
  for (const name of fs.readdirSync(dest)) {
    const m = /^(.+)-([^-]+)\.dist-info$/.exec(name);
    if (m) {
      found.set(normaliseName(m[1]), { version: m[2], dir: path.join(dest, name) });
    }
  }
  for (const [name, version] of locked) {
    const got = found.get(name);
    if (!got || got.version !== version) {
      fail(`${name}==${version} from ${rel(LOCK)} is not in ${rel(dest)} (found ${got ? got.version : "nothing"})`);
    }
    if (licenceFiles(got.dir).length === 0) {
      fail(`${name} ${version} has no licence file in its .dist-info folder; it cannot be shipped`);
    }
  }
  for (const name of found.keys()) {
    if (!locked.has(name)) {
      fail(`${rel(dest)} holds ${name}, which ${rel(LOCK)} does not list`);
    }
  }
  if (fs.existsSync(path.join(dest, "bin"))) {
    fail(`${rel(dest)}/bin exists: a locked library installs a program, which the package must not carry`);
  }
  return { files: count, libraries: locked.size };
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
  const vendor = copyVendor(installVendor());
  await bundleExtension();
  console.log(
    `build: grammar, ${files} server files, ${vendor.libraries} libraries (${vendor.files} files) ` +
      `and out/extension.js ready in ${Date.now() - started} ms`,
  );
}
