import assert from "node:assert/strict";
import { test } from "node:test";

import manifest from "../package.json";
import { serverSettingKeys } from "../src/settings";

test("every manifest setting but the extension's own goes to the server", () => {
  const all = Object.keys(manifest.contributes.configuration.properties);
  const keys = serverSettingKeys(all);
  for (const own of ["detectLogs", "trace.server", "server.pythonPath"]) {
    assert.ok(all.includes(`kdlens.${own}`), own);
    assert.ok(!keys.includes(own), own);
  }
  assert.ok(keys.includes("symbolPath") && keys.includes("sourceMap"));
  assert.equal(keys.length, all.length - 3);
});

test("keys are given without the kdlens prefix and client-only ones are left out", () => {
  assert.deepEqual(serverSettingKeys(["kdlens.detectLogs", "kdlens.newThing", "plain"]), [
    "newThing",
    "plain",
  ]);
});
