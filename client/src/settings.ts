// Which of the manifest's `kdlens.*` settings the server reads. Kept free of the
// vscode module so it can be unit-tested; the list of server settings itself is
// the manifest (package.json), mirrored by the server's settings table.

/** Settings of the manifest that only the extension reads; every other `kdlens.*` goes to the server. */
export const CLIENT_ONLY_SETTINGS: ReadonlySet<string> = new Set([
  "detectLogs",
  "trace.server",
  "server.pythonPath",
]);

/** The server's setting keys, read from the manifest so that a new setting needs no code here. */
export function serverSettingKeys(manifestKeys: Iterable<string>): string[] {
  const out: string[] = [];
  for (const full of manifestKeys) {
    const key = full.startsWith("kdlens.") ? full.slice("kdlens.".length) : full;
    if (!CLIENT_ONLY_SETTINGS.has(key)) {
      out.push(key);
    }
  }
  return out;
}
