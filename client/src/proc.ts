// Runs a program without a shell and collects what it prints.

import { spawn } from "node:child_process";

export interface RunResult {
  /** Exit code, or null when the program could not start or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (for example ENOENT). */
  spawnError?: string;
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** Called with each chunk of output as it arrives (for an output channel). */
  onOutput?: (text: string) => void;
}

/** Runs `command args...` and resolves when it ends; never rejects. */
export function run(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const finish = (result: RunResult): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(result);
      }
    };
    let child;
    try {
      child = spawn(command, [...args], {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        shell: false,
        windowsHide: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (err) {
      resolve({ code: null, stdout, stderr, spawnError: String(err), timedOut });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill();
    }, opts.timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      opts.onOutput?.(chunk);
    });
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      opts.onOutput?.(chunk);
    });
    child.on("error", (err) => {
      finish({ code: null, stdout, stderr, spawnError: err.message, timedOut });
    });
    child.on("close", (code) => {
      finish({ code, stdout, stderr, timedOut });
    });
  });
}
