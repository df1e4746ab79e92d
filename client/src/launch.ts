// How the language server (and `kdlens check`) is started from the files
// inside the extension.
//
// The package carries the server (server/kdlens), its third-party libraries
// (server/vendor, pinned in server-requirements.lock) and a launcher
// (server/launch.py) that puts both on sys.path. The interpreter runs it in
// isolated mode (-I): the user's PYTHONPATH, user site-packages and the
// current folder cannot shadow the shipped code, and nothing is installed or
// downloaded on the user's machine.
//
// No vscode API here, so this is unit tested with node's test runner.

import * as fs from "node:fs";
import * as path from "node:path";

/** The launcher, relative to the extension folder. */
export const LAUNCHER = path.join("server", "launch.py");

/** What must be in the extension folder for the server to start. */
const SHIPPED = [LAUNCHER, path.join("server", "kdlens", "__main__.py"), path.join("server", "vendor")];

export interface Command {
  command: string;
  args: string[];
}

/** `python -I <extension>/server/launch.py ARGS...`: the server is `serve`, the CLI `check FILE`. */
export function kdlensCommand(python: string, extensionDir: string, args: readonly string[]): Command {
  return { command: python, args: ["-I", path.join(extensionDir, LAUNCHER), ...args] };
}

/** The shipped files that are missing (a damaged or half-copied extension folder). */
export function missingServerFiles(extensionDir: string): string[] {
  return SHIPPED.filter((rel) => !fs.existsSync(path.join(extensionDir, rel)));
}

/** The folder where earlier versions made a private venv, and its lock folder. */
export const OLD_VENV_NAMES = ["server-venv", "server-venv.lock"];

/**
 * Deletes the private Python environment that earlier versions of kdlens
 * made in their own global storage folder (tens of megabytes nobody uses any
 * more). Returns the folders removed; failures are left for the next start.
 */
export async function removeOldEnvironment(storageDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of OLD_VENV_NAMES) {
    const dir = path.join(storageDir, name);
    try {
      if ((await fs.promises.lstat(dir)).isDirectory()) {
        await fs.promises.rm(dir, { recursive: true, force: true });
        removed.push(dir);
      }
    } catch {
      // absent, or not removable now
    }
  }
  return removed;
}
