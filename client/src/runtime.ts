// The private Python environment the language server runs in.
//
// The server's own code ships inside the extension (server/kdlens) and is
// found through PYTHONPATH; only its dependencies are installed, once, into a
// venv under the extension's global storage. A stamp file written last says
// which extension version and requirements the venv was made for, so a half
// made venv (VS Code closed during pip) or an upgrade makes a new one.

import * as fs from "node:fs";
import * as path from "node:path";

import { run } from "./proc";

export interface Stamp {
  extensionVersion: string;
  requirements: string;
  basePython: string;
}

export interface VenvOptions {
  /** Folder that holds the venv (the extension's global storage). */
  storageDir: string;
  /** The interpreter the venv is made from (sys.executable of a probed Python). */
  basePython: string;
  requirementsFile: string;
  extensionVersion: string;
  platform: NodeJS.Platform;
  /** Receives everything venv and pip print. */
  log: (text: string) => void;
  /** Short progress messages for a notification. */
  report: (message: string) => void;
  /** Seconds pip may take; a slow network needs minutes. */
  pipTimeoutMs?: number;
}

/** A failure with a sentence for the user and the details for the output channel. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly detail: string = "",
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}

export const VENV_FOLDER = "server-venv";
const STAMP_FILE = "kdlens-stamp.json";
const LOCK_STALE_MS = 15 * 60 * 1000;

export function venvDir(storageDir: string): string {
  return path.join(storageDir, VENV_FOLDER);
}

export function venvPython(dir: string, platform: NodeJS.Platform): string {
  return platform === "win32"
    ? path.win32.join(dir, "Scripts", "python.exe")
    : path.posix.join(dir, "bin", "python");
}

export function readStamp(dir: string): Stamp | undefined {
  try {
    const data: unknown = JSON.parse(fs.readFileSync(path.join(dir, STAMP_FILE), "utf8"));
    if (typeof data !== "object" || data === null) {
      return undefined;
    }
    const rec = data as Record<string, unknown>;
    const { extensionVersion, requirements, basePython } = rec;
    if (typeof extensionVersion === "string" && typeof requirements === "string" && typeof basePython === "string") {
      return { extensionVersion, requirements, basePython };
    }
  } catch {
    // missing or unreadable: the venv is rebuilt
  }
  return undefined;
}

export function sameStamp(a: Stamp | undefined, b: Stamp): boolean {
  return (
    a !== undefined &&
    a.extensionVersion === b.extensionVersion &&
    a.requirements === b.requirements &&
    a.basePython === b.basePython
  );
}

/** The venv's interpreter when the venv is complete and made for `want`; undefined otherwise. */
export function readyVenv(dir: string, want: Stamp, platform: NodeJS.Platform): string | undefined {
  const py = venvPython(dir, platform);
  return sameStamp(readStamp(dir), want) && fs.existsSync(py) ? py : undefined;
}

function tail(text: string, lines = 12): string {
  return text.trim().split(/\r?\n/).slice(-lines).join("\n");
}

/** Advice for the commonest way `python -m venv` fails: Debian's split-off venv module. */
export function venvAdvice(output: string, version: string): string {
  if (/ensurepip|No module named venv/i.test(output)) {
    return (
      ` This Python has no venv/ensurepip module; on Debian or Ubuntu install it with ` +
      `"sudo apt install python${version}-venv" (or python3-venv), then run "kdlens: Restart Server".`
    );
  }
  return "";
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Takes a lock folder next to the venv so two windows do not build it at once. */
async function withLock<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw err;
      }
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) {
          fs.rmSync(lock, { recursive: true, force: true });
          continue;
        }
      } catch {
        continue; // removed between the two calls
      }
      await sleep(1000);
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The venv interpreter, making the venv and installing the requirements when
 * the stamp does not match. Throws RuntimeError with advice when it cannot.
 */
export async function ensureVenv(opts: VenvOptions, pythonVersion: string): Promise<string> {
  const dir = venvDir(opts.storageDir);
  const requirements = fs.readFileSync(opts.requirementsFile, "utf8");
  const want: Stamp = {
    extensionVersion: opts.extensionVersion,
    requirements,
    basePython: opts.basePython,
  };
  const ready = readyVenv(dir, want, opts.platform);
  if (ready) {
    return ready;
  }
  fs.mkdirSync(opts.storageDir, { recursive: true });
  return withLock(dir, async () => {
    const again = readyVenv(dir, want, opts.platform);
    if (again) {
      return again; // another window finished it while we waited
    }
    fs.rmSync(dir, { recursive: true, force: true });

    opts.report("creating a Python environment");
    opts.log(`> ${opts.basePython} -m venv ${dir}\n`);
    const made = await run(opts.basePython, ["-m", "venv", dir], { timeoutMs: 180_000, onOutput: opts.log });
    const py = venvPython(dir, opts.platform);
    if (made.code !== 0 || !fs.existsSync(py)) {
      const output = `${made.stdout}\n${made.stderr}${made.spawnError ?? ""}`;
      throw new RuntimeError(
        `kdlens could not create its Python environment with ${opts.basePython}.` +
          venvAdvice(output, pythonVersion),
        tail(output),
      );
    }

    opts.report("installing the language server's packages (pygls, lsprotocol, platformdirs, pefile)");
    const pipArgs = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", opts.requirementsFile];
    opts.log(`> ${py} ${pipArgs.join(" ")}\n`);
    const pip = await run(py, pipArgs, { timeoutMs: opts.pipTimeoutMs ?? 600_000, onOutput: opts.log });
    if (pip.code !== 0) {
      const output = `${pip.stdout}\n${pip.stderr}${pip.spawnError ?? ""}`;
      const why = pip.timedOut ? "pip did not finish within the time limit" : "pip failed";
      throw new RuntimeError(
        `kdlens could not install its Python packages (${why}). Check the network or proxy ` +
          `settings for pip, or set kdlens.server.pythonPath to a Python that already has ` +
          `the packages listed in ${opts.requirementsFile}.`,
        tail(output),
      );
    }
    fs.writeFileSync(path.join(dir, STAMP_FILE), JSON.stringify(want, null, 2));
    return py;
  });
}
