import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";

import { LAUNCHER, kdlensCommand, missingServerFiles, removeOldEnvironment } from "../src/launch";

const made: string[] = [];
after(() => {
  for (const dir of made) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kdlens-launch-"));
  made.push(dir);
  return dir;
}

test("the server runs the shipped launcher in isolated mode, with the interpreter as it is", () => {
  const ext = path.join("opt", "ext");
  assert.deepEqual(kdlensCommand("/usr/bin/python3.12", ext, ["serve"]), {
    command: "/usr/bin/python3.12",
    args: ["-I", path.join(ext, "server", "launch.py"), "serve"],
  });
  const check = kdlensCommand("python3", ext, ["check", "--fail-on", "never", "a b.log"]);
  assert.deepEqual(check.args.slice(2), ["check", "--fail-on", "never", "a b.log"]);
  assert.ok(!check.args.includes("-m"), "no module lookup on the interpreter's own path");
});

test("a damaged extension folder is told apart from a complete one", () => {
  const ext = tempDir();
  assert.deepEqual(missingServerFiles(ext).sort(), [
    LAUNCHER,
    path.join("server", "kdlens", "__main__.py"),
    path.join("server", "vendor"),
  ].sort());
  fs.mkdirSync(path.join(ext, "server", "kdlens"), { recursive: true });
  fs.mkdirSync(path.join(ext, "server", "vendor"));
  fs.writeFileSync(path.join(ext, "server", "kdlens", "__main__.py"), "");
  assert.deepEqual(missingServerFiles(ext), [LAUNCHER]);
  fs.writeFileSync(path.join(ext, LAUNCHER), "");
  assert.deepEqual(missingServerFiles(ext), []);
});

test("the private environment of earlier versions is removed, nothing else", async () => {
  const storage = tempDir();
  fs.mkdirSync(path.join(storage, "server-venv", "bin"), { recursive: true });
  fs.writeFileSync(path.join(storage, "server-venv", "kdlens-stamp.json"), "{}");
  fs.mkdirSync(path.join(storage, "server-venv.lock"));
  fs.writeFileSync(path.join(storage, "notes.json"), "{}");
  fs.mkdirSync(path.join(storage, "other"));

  const removed = await removeOldEnvironment(storage);
  assert.deepEqual(removed.sort(), [path.join(storage, "server-venv"), path.join(storage, "server-venv.lock")]);
  assert.deepEqual(fs.readdirSync(storage).sort(), ["notes.json", "other"]);
  assert.deepEqual(await removeOldEnvironment(storage), [], "a second call finds nothing");
  assert.deepEqual(await removeOldEnvironment(path.join(storage, "missing")), []);
});

test("a file that happens to carry the old folder's name is left alone", async () => {
  const storage = tempDir();
  fs.writeFileSync(path.join(storage, "server-venv"), "not ours");
  assert.deepEqual(await removeOldEnvironment(storage), []);
  assert.equal(fs.readFileSync(path.join(storage, "server-venv"), "utf8"), "not ours");
});
