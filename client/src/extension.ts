// Entry point: wires content detection, the large-file warning, the two
// commands, and a language client that starts on the first WinDbg log.

import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";

import { LANGUAGE_ID, type ServerLaunch, createClient } from "./client";
import { DETECT_LINE_LIMIT, isCandidate, looksLikeDebuggerLog } from "./detect";
import { LargeFileWatcher } from "./largeFiles";
import { kdlensCommand, missingServerFiles, removeOldEnvironment } from "./launch";
import { MIN_PYTHON, NoPythonError, candidates, describe, findPython } from "./python";
import { activeInterpreter } from "./pythonExtension";

/** The extension folder lacks files it was packaged with; reinstalling is the cure. */
class DamagedInstallError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `The kdlens extension is incomplete (missing ${missing.join(", ")}); reinstall it.`,
    );
    this.name = "DamagedInstallError";
  }
}

const INSTALL_ADVICE =
  `Install Python ${MIN_PYTHON.join(".")} or newer (from python.org, the Microsoft Store or your ` +
  `package manager), or set "kdlens.server.pythonPath" to such an interpreter, then run ` +
  `"kdlens: Restart Server".`;

function expandPath(value: string): string {
  let out = value.trim();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) {
    out = out.split("${workspaceFolder}").join(folder);
  }
  if (out === "~" || out.startsWith("~/") || out.startsWith("~\\")) {
    out = path.join(os.homedir(), out.slice(1));
  }
  return out;
}

function* headOf(doc: vscode.TextDocument): Generator<string> {
  const n = Math.min(doc.lineCount, DETECT_LINE_LIMIT);
  for (let i = 0; i < n; i++) {
    yield doc.lineAt(i).text;
  }
}

class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private runtime: Promise<ServerLaunch> | undefined;
  /** Set after a failed start so that each newly opened log does not repeat the error. */
  private failed = false;
  /** Documents already switched to WinDbg Log once; a user who switches back is left alone. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
  ) {}

  dispose(): void {
    void this.stop();
  }

  // -- content detection

  async detect(doc: vscode.TextDocument): Promise<void> {
    if (!vscode.workspace.getConfiguration("kdlens").get<boolean>("detectLogs", true)) {
      return;
    }
    const key = doc.uri.toString();
    if (this.claimed.has(key) || !isCandidate(doc.fileName, doc.languageId)) {
      return;
    }
    if (!looksLikeDebuggerLog(headOf(doc))) {
      return;
    }
    this.claimed.add(key);
    this.output.info(`${doc.uri.fsPath || key} looks like a debugger log; opening it as WinDbg Log.`);
    try {
      await vscode.languages.setTextDocumentLanguage(doc, LANGUAGE_ID);
    } catch (err) {
      this.output.warn(`Could not change the language of ${key}: ${String(err)}`);
    }
  }

  // -- the Python side

  private prepareRuntime(): Promise<ServerLaunch> {
    if (!this.runtime) {
      this.runtime = this.findRuntime();
      this.runtime.catch(() => {
        this.runtime = undefined; // try again next time
      });
    }
    return this.runtime;
  }

  /**
   * Finds the interpreter. The server and every library it needs ship in
   * the extension, so any Python 3.10+ will do as it is: nothing is
   * installed, and no package index is needed.
   */
  private async findRuntime(): Promise<ServerLaunch> {
    const extensionDir = this.context.extensionPath;
    const missing = missingServerFiles(extensionDir);
    if (missing.length > 0) {
      throw new DamagedInstallError(missing);
    }
    const setting = expandPath(
      vscode.workspace.getConfiguration("kdlens").get<string>("server.pythonPath", ""),
    );
    const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    const fromExtension = setting ? undefined : await activeInterpreter(resource, (l) => this.output.info(l));
    const list = candidates({ setting, fromPythonExtension: fromExtension, platform: process.platform });
    this.output.info(`Looking for Python ${MIN_PYTHON.join(".")}+ among: ${list.map(describe).join(", ")}`);
    const { info, interpreter } = await findPython(list);
    this.output.info(
      `Using Python ${info.version.join(".")} at ${info.executable} (from ${interpreter.source}).`,
    );
    return { python: info.executable, extensionDir };
  }

  /** Frees the space of the private environment that earlier versions made; never fails. */
  async cleanUpOldEnvironment(): Promise<void> {
    for (const dir of await removeOldEnvironment(this.context.globalStorageUri.fsPath)) {
      this.output.info(`Removed ${dir}, the Python environment earlier kdlens versions made.`);
    }
  }

  // -- the language client

  /** Starts the client unless it runs, is starting, or failed since the last restart. */
  ensureStarted(): Promise<void> {
    if (this.client || this.starting || this.failed) {
      return this.starting ?? Promise.resolve();
    }
    this.starting = this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<void> {
    let client: LanguageClient | undefined;
    try {
      const runtime = await this.prepareRuntime();
      client = createClient(runtime, this.output);
      const cmd = kdlensCommand(runtime.python, runtime.extensionDir, ["serve"]);
      this.output.info(`Starting: ${[cmd.command, ...cmd.args].join(" ")}`);
      await client.start();
      this.client = client;
    } catch (err) {
      this.failed = true;
      if (client) {
        await client.dispose().catch(() => undefined);
      }
      // Not awaited: the message waits for the user, and its Retry restarts,
      // which waits for this start to finish.
      void this.report(err);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop();
      } catch (err) {
        this.output.warn(`The server did not stop cleanly: ${String(err)}`);
      }
      await client.dispose();
    }
  }

  async restart(): Promise<void> {
    if (this.starting) {
      await this.starting;
    }
    await this.stop();
    this.runtime = undefined;
    this.failed = false;
    await this.ensureStarted();
  }

  /** Restarts when the server runs or failed; otherwise the next log starts it with the new setting. */
  async settingChanged(): Promise<void> {
    this.runtime = undefined;
    if (this.client || this.failed) {
      await this.restart();
    }
  }

  private async report(err: unknown): Promise<void> {
    let message: string;
    if (err instanceof NoPythonError) {
      this.output.error(err.message);
      message = `${err.message} ${INSTALL_ADVICE}`;
    } else if (err instanceof DamagedInstallError) {
      this.output.error(err.message);
      message = err.message;
    } else {
      this.output.error(`The kdlens language server did not start: ${String(err)}`);
      message = `The kdlens language server did not start: ${err instanceof Error ? err.message : String(err)}`;
    }
    const openSettings = "Open Settings";
    const showOutput = "Show Output";
    const retry = "Retry";
    const choice = await vscode.window.showErrorMessage(message, openSettings, showOutput, retry);
    if (choice === openSettings) {
      await vscode.commands.executeCommand("workbench.action.openSettings", "kdlens.server.pythonPath");
    } else if (choice === showOutput) {
      this.output.show(true);
    } else if (choice === retry) {
      await this.restart();
    }
  }

  // -- kdlens check in a terminal, for logs the editor cannot pass on

  async runCheck(file: vscode.Uri): Promise<void> {
    let runtime: ServerLaunch;
    try {
      runtime = await this.prepareRuntime();
    } catch (err) {
      await this.report(err);
      return;
    }
    const cmd = kdlensCommand(runtime.python, runtime.extensionDir, ["check", "--fail-on", "never", file.fsPath]);
    const terminal = vscode.window.createTerminal({
      name: "kdlens check",
      shellPath: cmd.command,
      shellArgs: cmd.args,
    });
    terminal.show();
  }
}

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel("kdlens", { log: true });
  const ctl = new Controller(context, output);
  controller = ctl;
  context.subscriptions.push(output, ctl);
  void ctl.cleanUpOldEnvironment();

  context.subscriptions.push(
    vscode.commands.registerCommand("kdlens.restartServer", () => ctl.restart()),
    vscode.commands.registerCommand("kdlens.showOutput", () => output.show(true)),
    new LargeFileWatcher(
      (file) => ctl.runCheck(file),
      (line) => output.info(line),
    ),
    vscode.workspace.onDidOpenTextDocument((doc) => {
      if (doc.languageId === LANGUAGE_ID) {
        void ctl.ensureStarted();
      } else {
        void ctl.detect(doc);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("kdlens.server.pythonPath")) {
        void ctl.settingChanged();
      }
      if (e.affectsConfiguration("kdlens.detectLogs")) {
        for (const doc of vscode.workspace.textDocuments) {
          void ctl.detect(doc);
        }
      }
    }),
  );

  for (const doc of vscode.workspace.textDocuments) {
    if (doc.languageId === LANGUAGE_ID) {
      void ctl.ensureStarted();
    } else {
      void ctl.detect(doc);
    }
  }
}

export async function deactivate(): Promise<void> {
  const ctl = controller;
  controller = undefined;
  if (ctl) {
    await ctl.stop();
  }
}
