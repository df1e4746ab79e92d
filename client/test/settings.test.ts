import assert from "node:assert/strict";
import { test } from "node:test";

import manifest from "../package.json";
import { serverSettingKeys } from "../src/settings";

test("every manifest setting but the extension's own goes to the server", () => {
  const keys = serverSettingKeys(Object.keys(manifest.contributes.configuration.properties));
  assert.deepEqual(keys.sort(), [
    "allocatorWrappers",
    "maxDiagnostics",
    "myModules",
    "sourceMap",
    "symbolPath",
    "trustedUncHosts",
  ]);
});

test("keys are given without the kdlens prefix and client-only ones are left out", () => {
  assert.deepEqual(serverSettingKeys(["kdlens.detectLogs", "kdlens.newThing", "plain"]), [
    "newThing",
    "plain",
  ]);
});
