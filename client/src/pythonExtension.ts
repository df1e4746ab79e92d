// Asks the Python extension (ms-python.python), when it is installed, which
// interpreter the user selected. It is an optional companion: every failure
// here means "no answer", never an error.

import * as vscode from "vscode";

const PYTHON_EXTENSION_ID = "ms-python.python";

interface EnvironmentPath {
  id: string;
  path: string;
}

interface ResolvedEnvironment {
  executable?: { uri?: vscode.Uri };
}

/** The small part of the Python extension's API that kdlens uses. */
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
    resolveEnvironment(env: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
  };
}

async function withTimeout<T>(p: Thenable<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([Promise.resolve(p), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The selected interpreter's executable, or undefined (no extension, no selection, any error). */
export async function activeInterpreter(
  resource: vscode.Uri | undefined,
  log: (line: string) => void,
): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>(PYTHON_EXTENSION_ID);
  if (!ext) {
    return undefined;
  }
  try {
    const api = ext.isActive ? ext.exports : await withTimeout(ext.activate(), 20_000);
    const envs = api?.environments;
    if (!envs) {
      return undefined;
    }
    const active = envs.getActiveEnvironmentPath(resource);
    const resolved = await withTimeout(envs.resolveEnvironment(active), 10_000);
    const exe = resolved?.executable?.uri?.fsPath;
    return exe || active.path || undefined;
  } catch (err) {
    log(`The Python extension did not name an interpreter: ${String(err)}`);
    return undefined;
  }
}
