import assert from "node:assert/strict";
import { test } from "node:test";

import { parseRequirements, releaseOf, satisfies, satisfiesOne, unmet } from "../src/requirements";

test("requirements lines are parsed into names and specifiers", () => {
  const reqs = parseRequirements(
    [
      "# comment",
      "",
      "pygls>=2.0,<3",
      "lsprotocol >= 2025.0.0  # trailing comment",
      "platformdirs>=4",
      "rich[jupyter]~=13.1",
      "-r other.txt",
      "symbolic>=13; sys_platform != 'win32'",
      "pefile",
    ].join("\n"),
  );
  assert.deepEqual(
    reqs.map((r) => [r.name, r.specifiers, r.hasMarker]),
    [
      ["pygls", [">=2.0", "<3"], false],
      ["lsprotocol", [">= 2025.0.0"], false],
      ["platformdirs", [">=4"], false],
      ["rich", ["~=13.1"], false],
      ["symbolic", [">=13"], true],
      ["pefile", [], false],
    ],
  );
});

test("release numbers ignore pre-release and local parts", () => {
  assert.deepEqual(releaseOf("2025.0.0rc1"), [2025, 0, 0]);
  assert.deepEqual(releaseOf("2.1"), [2, 1]);
  assert.deepEqual(releaseOf("1.0+local"), [1, 0]);
  assert.deepEqual(releaseOf("garbage"), []);
});

test("specifiers compare release numbers", () => {
  assert.equal(satisfiesOne("2.0.1", ">=2.0"), true);
  assert.equal(satisfiesOne("1.9.9", ">=2.0"), false);
  assert.equal(satisfiesOne("3.0", "<3"), false);
  assert.equal(satisfiesOne("2.99", "<3"), true);
  assert.equal(satisfiesOne("2.0", "==2"), true);
  assert.equal(satisfiesOne("2.4.1", "==2.*"), true);
  assert.equal(satisfiesOne("3.0", "==2.*"), false);
  assert.equal(satisfiesOne("3.0", "!=2.*"), true);
  assert.equal(satisfiesOne("13.4", "~=13.1"), true);
  assert.equal(satisfiesOne("14.0", "~=13.1"), false);
  assert.equal(satisfiesOne("13.1.9", "~=13.1.2"), true);
  assert.equal(satisfiesOne("13.2.0", "~=13.1.2"), false);
  assert.equal(satisfiesOne("1.0", "=>1.0"), false, "unknown operator never matches");
});

test("missing packages and marker lines are unmet", () => {
  const reqs = parseRequirements("pygls>=2.0,<3\npefile\nsymbolic>=13; sys_platform != 'win32'\n");
  assert.equal(satisfies("2.1.0", reqs[0]!), true);
  assert.equal(satisfies("1.3.1", reqs[0]!), false);
  assert.equal(satisfies(null, reqs[1]!), false);
  assert.deepEqual(
    unmet(reqs, { pygls: "2.0.0", pefile: "2024.8.26", symbolic: "13.0.0" }).map((r) => r.name),
    ["symbolic"],
  );
  assert.deepEqual(
    unmet(reqs, { pygls: "1.3.1", pefile: null }).map((r) => r.name),
    ["pygls", "pefile", "symbolic"],
  );
});
