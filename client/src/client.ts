// The language client: how the server process is started and what the
// client adds on top of plain LSP (copying debugger commands).

import * as vscode from "vscode";
import manifest from "../package.json";
import { serverSettingKeys } from "./settings";
import {
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { kdlensCommand } from "./launch";

export const CLIENT_ID = "kdlens";
export const LANGUAGE_ID = "windbg-log";
export const COPY_COMMAND = "kdlens.copyCommand";

/** The settings the server reads, as plain JSON (for initializationOptions). */
export function serverSettings(): Record<string, unknown> {
  const cfg = vscode.workspace.getConfiguration("kdlens");
  const out: Record<string, unknown> = {};
  for (const key of serverSettingKeys(Object.keys(manifest.contributes.configuration.properties))) {
    out[key] = cfg.get(key);
  }
  if (!out.httpProxy) {
    // VS Code's own proxy setting, for users who set it once for every extension.
    const proxy = vscode.workspace.getConfiguration("http").get<string>("proxy");
    if (proxy) {
      out.httpProxy = proxy;
    }
  }
  return out;
}

/**
 * Options for `initialize`. The copy flag is given at the top level, as the
 * server documents, and inside the settings object too, which the server's
 * reader of that flag also looks at when a `kdlens` object is present.
 */
export function initializationOptions(): Record<string, unknown> {
  return {
    kdlens: { ...serverSettings(), clientCopiesCommands: true },
    clientCopiesCommands: true,
  };
}

/** Puts the text the server answered for kdlens.copyCommand on the clipboard. */
export async function copyToClipboard(result: unknown): Promise<void> {
  if (typeof result !== "string" || !result) {
    return;
  }
  await vscode.env.clipboard.writeText(result);
  void vscode.window.showInformationMessage(`kdlens: copied "${result}" to the clipboard.`);
}

export interface ServerLaunch {
  /** The interpreter (3.10 or newer) that runs the shipped launcher. */
  python: string;
  /** The extension's folder (holds server/launch.py, server/kdlens, server/vendor). */
  extensionDir: string;
}

export function createClient(launch: ServerLaunch, output: vscode.LogOutputChannel): LanguageClient {
  const run = {
    ...kdlensCommand(launch.python, launch.extensionDir, ["serve"]),
    transport: TransportKind.stdio,
  };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: LANGUAGE_ID }],
    outputChannel: output,
    traceOutputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions,
    synchronize: { configurationSection: "kdlens" },
    middleware: {
      executeCommand: async (command, args, next) => {
        const result: unknown = await next(command, args);
        if (command === COPY_COMMAND) {
          await copyToClipboard(result);
        }
        return result;
      },
    },
  };
  return new LanguageClient(CLIENT_ID, "kdlens", serverOptions, clientOptions);
}
