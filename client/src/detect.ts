// Decides whether a plain-text document is a debugger session log.
//
// Kept free of the vscode API so it can be unit tested with node's test runner.

/** How many lines from the top of a file are inspected. */
export const DETECT_LINE_LIMIT = 100;

/** File name endings whose content is inspected (`.xml`: Application Verifier's exported logs). */
const DETECTABLE_EXTENSIONS = [".log", ".txt", ".xml"];

/** Language ids VS Code gives such files before kdlens claims them. */
const DETECTABLE_LANGUAGES = new Set(["plaintext", "log", "xml"]);

// A prompt line: `kd>`, `lkd>`, `0: kd>`, `0:kd>`, `0:000>`, `0:000:x86>`,
// optionally indented. Line numbers such as ` 1: Kernel Version` do not match
// because a prompt always ends in `>`.
const PROMPT = /^[ \t]*(?:\d+:[ \t]?)?l?kd>|^[ \t]*\d+:\d+(?::\w+)?>/;
const BANNERS = [
  /Bugcheck Analysis/,
  /Microsoft \(R\) Windows Debugger/,
  // an Application Verifier log exported as XML (`appverif -export log`)
  /<avrf:logfile\b|xmlns:avrf=/,
];

/** True when a document of this name and language should have its first lines inspected. */
export function isCandidate(fileName: string, languageId: string): boolean {
  if (!DETECTABLE_LANGUAGES.has(languageId)) {
    return false;
  }
  const lower = fileName.toLowerCase();
  return DETECTABLE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** True when one line is a debugger prompt or one of the banners debuggers print. */
export function isTellingLine(line: string): boolean {
  return PROMPT.test(line) || BANNERS.some((re) => re.test(line));
}

/** True when any of the first `DETECT_LINE_LIMIT` lines is a prompt or a banner. */
export function looksLikeDebuggerLog(lines: Iterable<string>): boolean {
  let seen = 0;
  for (const line of lines) {
    if (seen++ >= DETECT_LINE_LIMIT) {
      return false;
    }
    if (isTellingLine(line)) {
      return true;
    }
  }
  return false;
}

