// VS Code shows files over 50 MB in the editor but never hands their text to
// extensions, so kdlens (and its language server) cannot see them. Such a
// tab has no TextDocument; when one appears for a log, say so and point to
// the command line.

import * as path from "node:path";
import * as vscode from "vscode";

/** VS Code's limit for handing a document to extensions. */
export const SYNC_LIMIT_BYTES = 50 * 1024 * 1024;
const LOG_EXTENSIONS = [".log", ".kdlog", ".dbglog"];
/** Time for the document (if VS Code does sync it) to reach the extension host. */
const SETTLE_MS = 1500;

export function isLogName(fsPath: string): boolean {
  const lower = fsPath.toLowerCase();
  return LOG_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** What the warning's "Run in Terminal" button needs. */
export type CheckRunner = (file: vscode.Uri) => Promise<void>;

function hasDocument(uri: vscode.Uri): boolean {
  const key = uri.toString();
  return vscode.workspace.textDocuments.some((d) => d.uri.toString() === key);
}

function tabUri(tab: vscode.Tab): vscode.Uri | undefined {
  return tab.input instanceof vscode.TabInputText ? tab.input.uri : undefined;
}

export class LargeFileWatcher implements vscode.Disposable {
  private readonly warned = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly runCheck: CheckRunner,
    private readonly log: (line: string) => void,
  ) {
    this.disposables.push(
      vscode.window.tabGroups.onDidChangeTabs((e) => {
        for (const tab of [...e.opened, ...e.changed]) {
          this.consider(tabUri(tab));
        }
      }),
    );
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        this.consider(tabUri(tab));
      }
    }
  }

  dispose(): void {
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  private consider(uri: vscode.Uri | undefined): void {
    if (!uri || uri.scheme === "untitled" || !isLogName(uri.path) || this.warned.has(uri.toString())) {
      return;
    }
    setTimeout(() => void this.check(uri), SETTLE_MS);
  }

  private async check(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    if (this.warned.has(key) || hasDocument(uri)) {
      return;
    }
    let size: number;
    try {
      size = (await vscode.workspace.fs.stat(uri)).size;
    } catch {
      return;
    }
    if (size <= SYNC_LIMIT_BYTES || hasDocument(uri) || this.warned.has(key)) {
      return;
    }
    this.warned.add(key);
    const file = uri.scheme === "file" ? uri.fsPath : uri.toString();
    const name = path.basename(uri.path);
    const mb = Math.round(size / (1024 * 1024));
    const command = `kdlens check "${file}"`;
    this.log(`${file} is ${mb} MB; VS Code does not pass it to extensions.`);
    const runIt = "Run in Terminal";
    const copyIt = "Copy Command";
    const actions = uri.scheme === "file" ? [runIt, copyIt] : [copyIt];
    const choice = await vscode.window.showWarningMessage(
      `kdlens cannot see ${name} (${mb} MB): VS Code does not give files over 50 MB to extensions. ` +
        `Analyse it in a terminal with: ${command}`,
      ...actions,
    );
    if (choice === runIt) {
      await this.runCheck(uri);
    } else if (choice === copyIt) {
      await vscode.env.clipboard.writeText(command);
    }
  }
}
