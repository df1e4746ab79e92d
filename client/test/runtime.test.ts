import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";

import { RuntimeError, ensureVenv, readyVenv, venvAdvice, venvDir, venvPython } from "../src/runtime";

// A stand-in for Python that understands `-m venv DIR` and `-m pip install`,
// so the environment logic is tested offline and in milliseconds.
const FAKE_PYTHON = `#!/bin/sh
echo "$*" >> "$KDLENS_FAKE_LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  if [ -n "$KDLENS_FAKE_VENV_FAIL" ]; then echo "Error: ensurepip is not available" >&2; exit 1; fi
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && chmod +x "$3/bin/python"
  exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  if [ -n "$KDLENS_FAKE_PIP_FAIL" ]; then echo "ERROR: No matching distribution found for pygls" >&2; exit 1; fi
  exit 0
fi
exit 2
`;

const made: string[] = [];
after(() => {
  for (const dir of made) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function setup(): { dir: string; base: string; req: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kdlens-runtime-"));
  made.push(dir);
  const base = path.join(dir, "python-fake");
  fs.writeFileSync(base, FAKE_PYTHON, { mode: 0o755 });
  const req = path.join(dir, "requirements.txt");
  fs.writeFileSync(req, "pygls>=2.0,<3\n");
  const log = path.join(dir, "calls.log");
  process.env["KDLENS_FAKE_LOG"] = log;
  delete process.env["KDLENS_FAKE_VENV_FAIL"];
  delete process.env["KDLENS_FAKE_PIP_FAIL"];
  const calls = (): string[] => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
  return { dir, base, req, calls };
}

const posixOnly = process.platform === "win32" && "the stand-in Python is a shell script";

test("the venv is made once, reused, and remade for a new extension version", { skip: posixOnly }, async () => {
  const { dir, base, req, calls } = setup();
  const storage = path.join(dir, "storage");
  const reports: string[] = [];
  const opts = {
    storageDir: storage,
    basePython: base,
    requirementsFile: req,
    extensionVersion: "0.1.0",
    platform: process.platform,
    log: () => undefined,
    report: (m: string) => reports.push(m),
  };
  const py = await ensureVenv(opts, "3.11");
  assert.equal(py, venvPython(venvDir(storage), process.platform));
  assert.deepEqual(
    calls().map((c) => c.split(" ").slice(0, 3).join(" ")),
    ["-m venv " + venvDir(storage), "-m pip install"],
  );
  assert.equal(reports.length, 2);
  assert.ok(!fs.existsSync(`${venvDir(storage)}.lock`), "the lock is released");

  assert.equal(await ensureVenv(opts, "3.11"), py);
  assert.equal(calls().length, 2, "a stamped venv is reused without running anything");

  await ensureVenv({ ...opts, extensionVersion: "0.2.0" }, "3.11");
  assert.equal(calls().length, 4, "a new version makes a new venv");

  fs.writeFileSync(req, "pygls>=2.1,<3\n");
  assert.equal(
    readyVenv(venvDir(storage), { extensionVersion: "0.2.0", requirements: "pygls>=2.1,<3\n", basePython: base }, process.platform),
    undefined,
    "changed requirements invalidate the stamp",
  );
});

test("a failing pip leaves no stamp and explains what to do", { skip: posixOnly }, async () => {
  const { dir, base, req } = setup();
  process.env["KDLENS_FAKE_PIP_FAIL"] = "1";
  const opts = {
    storageDir: path.join(dir, "storage"),
    basePython: base,
    requirementsFile: req,
    extensionVersion: "0.1.0",
    platform: process.platform,
    log: () => undefined,
    report: () => undefined,
  };
  await assert.rejects(ensureVenv(opts, "3.11"), (err: unknown) => {
    assert.ok(err instanceof RuntimeError);
    assert.match(err.message, /could not install its Python packages \(pip failed\)/);
    assert.match(err.detail, /No matching distribution found for pygls/);
    return true;
  });
  const want = { extensionVersion: "0.1.0", requirements: "pygls>=2.0,<3\n", basePython: base };
  assert.equal(readyVenv(venvDir(opts.storageDir), want, process.platform), undefined);
});

test("a Python without ensurepip gets the Debian package named", { skip: posixOnly }, async () => {
  const { dir, base, req } = setup();
  process.env["KDLENS_FAKE_VENV_FAIL"] = "1";
  await assert.rejects(
    ensureVenv(
      {
        storageDir: path.join(dir, "storage"),
        basePython: base,
        requirementsFile: req,
        extensionVersion: "0.1.0",
        platform: process.platform,
        log: () => undefined,
        report: () => undefined,
      },
      "3.12",
    ),
    (err: unknown) => {
      assert.ok(err instanceof RuntimeError);
      assert.match(err.message, /python3\.12-venv/);
      return true;
    },
  );
  assert.equal(venvAdvice("some other failure", "3.12"), "");
});

test("venv interpreters live where venv puts them", () => {
  assert.equal(venvPython("/s/v", "linux"), "/s/v/bin/python");
  assert.equal(venvPython("C:\\s\\v", "win32"), "C:\\s\\v\\Scripts\\python.exe");
});
