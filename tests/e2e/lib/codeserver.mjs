// Starts and stops a private code-server (VS Code for the web) for one test run.
//
// Everything it writes lives in one temporary folder: user data, extensions,
// its config file and its log. The server runs in its own process group so
// that stopping it also stops the extension host and the language server that
// the extension started, even when the test itself is interrupted.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** User settings that keep first-run screens and network chatter out of the way. */
export const USER_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'editor.minimap.enabled': false,
  'editor.hover.delay': 300,
  'git.enabled': false,
  'files.autoSave': 'off',
};

/** A free TCP port on the loopback interface. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export class CodeServer {
  /**
   * @param {string} pkgDir the installed code-server package (holds out/node/entry.js)
   * @param {string} runDir an empty folder this server may own
   */
  constructor(pkgDir, runDir) {
    this.entry = path.join(pkgDir, 'out', 'node', 'entry.js');
    this.runDir = runDir;
    this.userData = path.join(runDir, 'user-data');
    this.extensions = path.join(runDir, 'extensions');
    this.config = path.join(runDir, 'config.yaml');
    this.logFile = path.join(runDir, 'code-server.log');
    this.child = null;
    this.url = null;
    fs.mkdirSync(path.join(this.userData, 'User'), { recursive: true });
    fs.mkdirSync(this.extensions, { recursive: true });
    fs.writeFileSync(
      path.join(this.userData, 'User', 'settings.json'),
      JSON.stringify(USER_SETTINGS, null, 2),
    );
    // An explicit config file keeps code-server from writing one in the home folder.
    fs.writeFileSync(this.config, 'auth: none\ncert: false\n');
  }

  baseArgs() {
    return [
      this.entry,
      '--config', this.config,
      '--user-data-dir', this.userData,
      '--extensions-dir', this.extensions,
    ];
  }

  /** Installs a .vsix with the server's own CLI; throws with its output on failure. */
  installExtension(vsix, timeoutMs) {
    const res = spawnSync(process.execPath, [...this.baseArgs(), '--force', '--install-extension', vsix], {
      encoding: 'utf8',
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out = `${res.stdout || ''}${res.stderr || ''}`.trim();
    if (res.error && res.error.code === 'ETIMEDOUT') {
      throw new Error(`installing ${path.basename(vsix)} took over ${timeoutMs / 1000}s:\n${out}`);
    }
    if (res.status !== 0 || !/successfully installed/i.test(out)) {
      throw new Error(`installing ${path.basename(vsix)} failed (exit ${res.status}):\n${out}`);
    }
    return out;
  }

  /** The extensions the server reports as installed, as `id@version` lines. */
  listExtensions() {
    const res = spawnSync(process.execPath, [...this.baseArgs(), '--list-extensions', '--show-versions'], {
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    return (res.stdout || '').split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /**
   * Starts the server on a free loopback port and waits until it answers HTTP.
   * `extraEnv` is added to its environment, which the extension host and the
   * language server inherit.
   */
  async start(timeoutMs, extraEnv = {}) {
    const port = await freePort();
    const log = fs.openSync(this.logFile, 'a');
    this.child = spawn(
      process.execPath,
      [
        ...this.baseArgs(),
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
      ],
      {
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...extraEnv, CODE_SERVER_CONFIG: this.config },
      },
    );
    fs.closeSync(log);
    let exited = null;
    this.child.once('exit', (code, signal) => {
      exited = `code-server exited (code ${code}, signal ${signal})`;
    });
    this.url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${exited}; log:\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return this.url;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`code-server did not answer on ${this.url} within ${timeoutMs / 1000}s; log:\n${this.logTail()}`);
  }

  /** The global storage folder VS Code gives an extension (`publisher.name`). */
  globalStorage(extensionId) {
    return path.join(this.userData, 'User', 'globalStorage', extensionId);
  }

  logTail(lines = 30) {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops the server and everything it started (its process group). */
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    const signal = (sig) => {
      try {
        process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    signal('SIGTERM');
    const timer = new Promise((r) => setTimeout(r, 5000, 'timeout'));
    if ((await Promise.race([gone, timer])) === 'timeout') signal('SIGKILL');
    // Processes that outlived the leader still carry the group id.
    signal('SIGKILL');
  }

  /** Synchronous last-resort stop, for process exit and signal handlers. */
  killNow() {
    if (this.child && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
