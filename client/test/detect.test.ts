import assert from "node:assert/strict";
import { test } from "node:test";

import { DETECT_LINE_LIMIT, isCandidate, isTellingLine, looksLikeDebuggerLog } from "../src/detect";

test("prompts of every debugger shape are recognised", () => {
  for (const line of [
    "kd> !analyze -v",
    "0: kd> lm",
    "12: kd>  !thread",
    "0:kd> !deadlock",
    "lkd> dt nt!_EPROCESS",
    "0:000> k",
    "0:024> ~21s",
    "0:000:x86> kb",
    "    1: kd> !verifier 3",
    "kd>!pool 8a1f3000",
    "\t0: kd> ",
  ]) {
    assert.equal(isTellingLine(line), true, line);
  }
});

test("banners are recognised", () => {
  assert.equal(isTellingLine("*                        Bugcheck Analysis                                    *"), true);
  assert.equal(isTellingLine("Microsoft (R) Windows Debugger Version 10.0.26100.1 AMD64"), true);
});

test("ordinary text is not taken for a log", () => {
  for (const line of [
    " 1: Kernel Version 2081 MP Checked",
    "C:\\> verifier /query",
    "0> verifier.exe",
    "the kd> prompt appears later in a sentence",
    "2024-05-01 12:00:01 INFO service started",
    "<kd>",
  ]) {
    assert.equal(isTellingLine(line), false, line);
  }
});

test("only the first lines are looked at", () => {
  const filler = Array.from({ length: DETECT_LINE_LIMIT }, (_, i) => `line ${i}`);
  assert.equal(looksLikeDebuggerLog([...filler, "kd> lm"]), false);
  assert.equal(looksLikeDebuggerLog([...filler.slice(1), "kd> lm"]), true);
  assert.equal(looksLikeDebuggerLog([]), false);
});

test("lines are consumed lazily and no further than needed", () => {
  let pulled = 0;
  function* lines(): Generator<string> {
    for (;;) {
      pulled++;
      yield pulled === 3 ? "0: kd> !poolused 2" : "noise";
    }
  }
  assert.equal(looksLikeDebuggerLog(lines()), true);
  assert.equal(pulled, 3);
});

test("only .log and .txt files in plain text or log mode are candidates", () => {
  assert.equal(isCandidate("/home/user/session.log", "plaintext"), true);
  assert.equal(isCandidate("C:\\dumps\\KD.TXT", "plaintext"), true);
  assert.equal(isCandidate("/home/user/session.log", "log"), true);
  assert.equal(isCandidate("/home/user/session.log", "windbg-log"), false);
  assert.equal(isCandidate("/home/user/notes.md", "plaintext"), false);
  assert.equal(isCandidate("/home/user/build.txt", "markdown"), false);
  assert.equal(isCandidate("/home/user/logs", "plaintext"), false);
});

test("an Application Verifier XML export is a log; other XML is not", () => {
  assert.equal(isCandidate("C:/ci/appverif.xml", "xml"), true);
  assert.equal(
    looksLikeDebuggerLog([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<avrf:logfile xmlns:avrf="Application Verifier">',
    ]),
    true,
  );
  assert.equal(looksLikeDebuggerLog(['<?xml version="1.0"?>', "<project><name>x</name></project>"]), false);
});
