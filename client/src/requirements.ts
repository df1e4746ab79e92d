// Reads requirements.txt lines and checks installed versions against them.
//
// Only what kdlens's own requirements use is supported: a name, optional
// extras, and comma-separated specifiers on release numbers. A line with an
// environment marker is treated as "cannot tell", which makes the caller fall
// back to a private environment where pip decides.

export interface Requirement {
  /** The distribution name as written. */
  name: string;
  /** Specifiers such as `>=2.0` and `<3`; empty for any version. */
  specifiers: string[];
  /** True when the line carries a marker (`; sys_platform ...`) this module does not evaluate. */
  hasMarker: boolean;
}

const LINE = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$/;
const SPECIFIER = /^(===|==|!=|~=|>=|<=|>|<)\s*([0-9][0-9A-Za-z.*+!-]*)$/;

/** The requirements in a requirements.txt text; comments, blank lines and options are skipped. */
export function parseRequirements(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line || line.startsWith("-")) {
      continue;
    }
    const m = LINE.exec(line);
    if (!m) {
      continue;
    }
    const specs = (m[2] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    out.push({ name: m[1] ?? "", specifiers: specs, hasMarker: m[3] !== undefined });
  }
  return out;
}

/** The leading release numbers of a version (`2025.0.0rc1` gives [2025, 0, 0]). */
export function releaseOf(version: string): number[] {
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(version);
  if (!m || m[1] === undefined) {
    return [];
  }
  return m[1].split(".").map((p) => Number.parseInt(p, 10));
}

function compare(a: number[], b: number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) {
      return d < 0 ? -1 : 1;
    }
  }
  return 0;
}

function startsWith(version: number[], prefix: number[]): boolean {
  return prefix.every((p, i) => (version[i] ?? 0) === p);
}

/** True when `version` meets one specifier such as `>=2.0`, `<3` or `==2.*`. */
export function satisfiesOne(version: string, specifier: string): boolean {
  const m = SPECIFIER.exec(specifier.trim());
  const have = releaseOf(version);
  if (!m || m[1] === undefined || m[2] === undefined || have.length === 0) {
    return false;
  }
  const op = m[1];
  const target = m[2];
  if (target.endsWith(".*")) {
    const prefix = releaseOf(target.slice(0, -2));
    if (op === "==") {
      return startsWith(have, prefix);
    }
    if (op === "!=") {
      return !startsWith(have, prefix);
    }
    return false;
  }
  const want = releaseOf(target);
  const c = compare(have, want);
  switch (op) {
    case "==":
    case "===":
      return c === 0;
    case "!=":
      return c !== 0;
    case ">=":
      return c >= 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case "<":
      return c < 0;
    case "~=":
      // ~=X.Y means >=X.Y and ==X.*; ~=X.Y.Z means >=X.Y.Z and ==X.Y.*
      return c >= 0 && want.length >= 2 && startsWith(have, want.slice(0, -1));
    default:
      return false;
  }
}

/** True when an installed version (or undefined for "not installed") meets a requirement. */
export function satisfies(installed: string | null | undefined, req: Requirement): boolean {
  if (installed === null || installed === undefined || req.hasMarker) {
    return false;
  }
  return req.specifiers.every((s) => satisfiesOne(installed, s));
}

/** The requirements that the installed versions do not meet. */
export function unmet(
  requirements: readonly Requirement[],
  installed: Readonly<Record<string, string | null>>,
): Requirement[] {
  return requirements.filter((r) => !satisfies(installed[r.name], r));
}
