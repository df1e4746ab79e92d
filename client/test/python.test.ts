import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import {
  type Interpreter,
  NoPythonError,
  type ProbeResult,
  candidates,
  findPython,
  isRecentEnough,
  parseProbeOutput,
  probe,
} from "../src/python";

const names = (list: Interpreter[]): string[] => list.map((i) => [i.command, ...i.args].join(" "));

test("an explicit setting is the only candidate", () => {
  const list = candidates({ setting: " /opt/py/bin/python3 ", fromPythonExtension: "/venv/bin/python", platform: "linux" });
  assert.deepEqual(names(list), ["/opt/py/bin/python3"]);
  assert.equal(list[0]!.source, "setting");
});

test("the Python extension's interpreter comes before python3, and py -3 on Windows", () => {
  assert.deepEqual(names(candidates({ setting: "", fromPythonExtension: "/venv/bin/python", platform: "linux" })), [
    "/venv/bin/python",
    "python3",
  ]);
  assert.deepEqual(names(candidates({ setting: "", fromPythonExtension: undefined, platform: "darwin" })), ["python3"]);
  assert.deepEqual(names(candidates({ setting: "", fromPythonExtension: undefined, platform: "win32" })), [
    "python3",
    "py -3",
    "python",
  ]);
});

test("the probe line is found among other output", () => {
  const info = parseProbeOutput(
    'sitecustomize says hello\nKDLENS-PROBE {"version": [3, 12, 1], "executable": "/usr/bin/python3.12"}\n',
  );
  assert.deepEqual(info, { version: [3, 12, 1], executable: "/usr/bin/python3.12" });
  assert.equal(parseProbeOutput("Python was not found; run without arguments to install"), undefined);
  assert.equal(parseProbeOutput("KDLENS-PROBE {broken"), undefined);
});

test("3.10 is the oldest Python accepted", () => {
  assert.equal(isRecentEnough([3, 10, 0]), true);
  assert.equal(isRecentEnough([3, 9, 18]), false);
  assert.equal(isRecentEnough([2, 7, 18]), false);
  assert.equal(isRecentEnough([4, 0, 0]), true);
});

test("findPython skips missing and old interpreters and says why when none fits", async () => {
  const fake = async (interp: Interpreter): Promise<ProbeResult> => {
    if (interp.command === "missing") {
      return { ok: false, reason: "missing could not be started (ENOENT)" };
    }
    const minor = interp.command === "old" ? 8 : 11;
    return { ok: true, info: { version: [3, minor, 0], executable: `/bin/${interp.command}` } };
  };
  const mk = (command: string): Interpreter => ({ command, args: [], source: "default" });
  const found = await findPython([mk("missing"), mk("old"), mk("good")], fake);
  assert.equal(found.info.executable, "/bin/good");

  await assert.rejects(findPython([mk("missing"), mk("old")], fake), (err: unknown) => {
    assert.ok(err instanceof NoPythonError);
    assert.match(err.message, /needs Python 3\.10 or newer/);
    assert.match(err.message, /missing could not be started/);
    assert.match(err.message, /old is Python 3\.8\.0, too old/);
    return true;
  });
});

test("probing a program that does not exist reports it", async () => {
  const res = await probe({ command: "kdlens-no-such-python-here", args: [], source: "setting" });
  assert.equal(res.ok, false);
  assert.match(res.ok ? "" : res.reason, /could not be started/);
});

const hasPython3 = spawnSync("python3", ["--version"]).status === 0;

test("probing the machine's python3 reads its version and real path", { skip: !hasPython3 && "no python3 on PATH" }, async () => {
  const res = await probe({ command: "python3", args: [], source: "default" });
  assert.ok(res.ok, res.ok ? "" : res.reason);
  assert.equal(res.info.version[0], 3);
  assert.ok(path.isAbsolute(res.info.executable), res.info.executable);
  assert.ok(fs.existsSync(res.info.executable), res.info.executable);
});
