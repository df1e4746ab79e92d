// Finds a Python interpreter that can run the kdlens language server.
//
// No vscode API here: the caller passes in what the settings and the Python
// extension say, so the search order and the probing can be tested alone.

import { run } from "./proc";

export const MIN_PYTHON: readonly [number, number] = [3, 10];

/** How an interpreter is started: `python3`, or `py` with `-3`, or a full path. */
export interface Interpreter {
  command: string;
  args: string[];
  /** Where the choice came from, for messages. */
  source: "setting" | "python-extension" | "default";
}

/** What a probe learnt about an interpreter that started. */
export interface ProbeInfo {
  version: [number, number, number];
  /** sys.executable: the real program, used from then on. */
  executable: string;
}

export type ProbeResult = { ok: true; info: ProbeInfo } | { ok: false; reason: string };

const MARK = "KDLENS-PROBE ";

// Works on any Python that starts (even 2.x), so "too old" can be told apart
// from "not a Python at all". Nothing installed in the interpreter matters:
// the server's libraries ship inside the extension.
const PROBE_SCRIPT = [
  "import sys, json",
  "out = {'version': list(sys.version_info[:3]), 'executable': sys.executable}",
  `sys.stdout.write('${MARK}' + json.dumps(out) + '\\n')`,
].join("\n");

/** How a candidate is shown to the user: `python3`, `py -3`, a path. */
export function describe(interp: Interpreter): string {
  return [interp.command, ...interp.args].join(" ");
}

/**
 * The interpreters to try, in order. An explicit setting is the only
 * candidate: if it is wrong the user must hear about it, not get another
 * Python silently.
 */
export function candidates(opts: {
  setting: string;
  fromPythonExtension: string | undefined;
  platform: NodeJS.Platform;
}): Interpreter[] {
  const setting = opts.setting.trim();
  if (setting) {
    return [{ command: setting, args: [], source: "setting" }];
  }
  const out: Interpreter[] = [];
  if (opts.fromPythonExtension) {
    out.push({ command: opts.fromPythonExtension, args: [], source: "python-extension" });
  }
  out.push({ command: "python3", args: [], source: "default" });
  if (opts.platform === "win32") {
    out.push({ command: "py", args: ["-3"], source: "default" });
    out.push({ command: "python", args: [], source: "default" });
  }
  return out;
}

/** Reads the probe's line out of whatever the interpreter printed. */
export function parseProbeOutput(stdout: string): ProbeInfo | undefined {
  const line = stdout.split(/\r?\n/).find((l) => l.startsWith(MARK));
  if (!line) {
    return undefined;
  }
  try {
    const data: unknown = JSON.parse(line.slice(MARK.length));
    if (typeof data !== "object" || data === null) {
      return undefined;
    }
    const rec = data as Record<string, unknown>;
    const v = rec["version"];
    const exe = rec["executable"];
    if (!Array.isArray(v) || v.length < 2 || !v.every((n) => typeof n === "number")) {
      return undefined;
    }
    return {
      version: [v[0] as number, v[1] as number, (v[2] as number | undefined) ?? 0],
      executable: typeof exe === "string" ? exe : "",
    };
  } catch {
    return undefined;
  }
}

export function isRecentEnough(version: readonly number[]): boolean {
  const [major = 0, minor = 0] = version;
  const [wantMajor, wantMinor] = MIN_PYTHON;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** Starts the interpreter once to learn its version and its real path. */
export async function probe(interp: Interpreter): Promise<ProbeResult> {
  const res = await run(interp.command, [...interp.args, "-c", PROBE_SCRIPT], {
    timeoutMs: 30_000,
  });
  if (res.spawnError !== undefined) {
    return { ok: false, reason: `${describe(interp)} could not be started (${res.spawnError})` };
  }
  if (res.timedOut) {
    return { ok: false, reason: `${describe(interp)} did not answer within 30 seconds` };
  }
  const info = parseProbeOutput(res.stdout);
  if (!info) {
    const said = (res.stderr || res.stdout).trim().split(/\r?\n/).slice(-2).join(" ");
    return {
      ok: false,
      reason: `${describe(interp)} is not a working Python (exit code ${String(res.code)}${said ? `: ${said}` : ""})`,
    };
  }
  if (!info.executable) {
    info.executable = interp.command;
  }
  return { ok: true, info };
}

export interface Found {
  interpreter: Interpreter;
  info: ProbeInfo;
}

/** Why no interpreter could be used, in words for an error message. */
export class NoPythonError extends Error {
  constructor(readonly reasons: string[]) {
    super(
      `kdlens needs Python ${MIN_PYTHON.join(".")} or newer to run its language server. ` +
        (reasons.length ? `Tried: ${reasons.join("; ")}.` : ""),
    );
    this.name = "NoPythonError";
  }
}

/** The first candidate that starts and is recent enough; throws NoPythonError otherwise. */
export async function findPython(list: readonly Interpreter[], probeFn: typeof probe = probe): Promise<Found> {
  const reasons: string[] = [];
  for (const interp of list) {
    const res = await probeFn(interp);
    if (!res.ok) {
      reasons.push(res.reason);
      continue;
    }
    if (!isRecentEnough(res.info.version)) {
      reasons.push(`${describe(interp)} is Python ${res.info.version.join(".")}, too old`);
      continue;
    }
    return { interpreter: interp, info: res.info };
  }
  throw new NoPythonError(reasons);
}
