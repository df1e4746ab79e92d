// The kdlens extension in a real VS Code (code-server in Chromium): a person
// opens a KD session log next to the driver's sources and sees the leaks.
//
// Run by run.sh, which installs code-server and passes its location:
//   KDLENS_E2E_CODE_SERVER  installed code-server package folder (required)
//   KDLENS_E2E_VSIX         the extension package to test; without it only the
//                           editor itself is checked (a smoke test of the harness)
//   KDLENS_E2E_CHROMIUM     browser executable (default /usr/bin/chromium)
//   KDLENS_E2E_OUT          screenshots and logs (default ./out beside this file)
//   KDLENS_E2E_SERVER_WAIT  seconds allowed for the language server's first
//                           diagnostics (default 300)
//
// code-server runs with every Python package index unreachable (OFFLINE_ENV):
// the package carries the server's libraries, so the server must start
// without pip, and the extension's storage must hold no Python environment.
//   KDLENS_E2E_KEEP=1       keep the temporary run folder

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { CodeServer } from './lib/codeserver.mjs';
import { Workbench, waitFor } from './lib/workbench.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const SEED_LOG = path.join(REPO, 'tests', 'fixtures', 'logs', 'seed-c4-62.log');
// A user-mode session: !htrace -diff, !heap -l, a CRT leak dump and an App Verifier stop.
const USER_LOG = path.join(REPO, 'tests', 'fixtures', 'logs', 'leak-mixed.log');
const SOURCES = path.join(HERE, 'workspace');

const env = process.env;
const CODE_SERVER = env.KDLENS_E2E_CODE_SERVER;
const VSIX = env.KDLENS_E2E_VSIX ? path.resolve(env.KDLENS_E2E_VSIX) : '';
const BROWSER = env.KDLENS_E2E_CHROMIUM || '/usr/bin/chromium';
const OUT = path.resolve(env.KDLENS_E2E_OUT || path.join(HERE, 'out'));
const SERVER_WAIT_MS = Number(env.KDLENS_E2E_SERVER_WAIT || 300) * 1000;
const EXTENSION_ID = 'kdlens.kdlens';
// A closed port on this machine: any attempt to reach an index fails at once.
const DEAD_INDEX = 'http://127.0.0.1:9/';
/** What code-server (and so the extension and its server) runs with: no package index at all. */
const OFFLINE_ENV = {
  PIP_INDEX_URL: DEAD_INDEX,
  PIP_EXTRA_INDEX_URL: DEAD_INDEX,
  PIP_FIND_LINKS: DEAD_INDEX,
  PIP_NO_INDEX: '1',
  PIP_CONFIG_FILE: os.devnull, // no pip.conf of this machine with a mirror or a wheel folder
  PIP_RETRIES: '0',
  PIP_TIMEOUT: '5',
  UV_INDEX_URL: DEAD_INDEX,
  UV_DEFAULT_INDEX: DEAD_INDEX,
  UV_OFFLINE: '1',
};
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const t0 = Date.now();
const note = (msg) => process.stderr.write(`e2e [${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

// Lines and columns (1-based, as the status bar shows them) of the tokens the test acts on.
const seedLines = fs.readFileSync(SEED_LOG, 'utf8').split(/\r?\n/);
function locate(lineHas, token) {
  const idx = seedLines.findIndex((l) => l.includes(lineHas));
  assert.ok(idx >= 0, `the seed log has no line containing ${lineHas}`);
  const col = seedLines[idx].indexOf(token);
  assert.ok(col >= 0, `line ${idx + 1} of the seed log has no ${token}`);
  return { line: idx + 1, column: col + 1, text: seedLines[idx] };
}
const CALLER = locate('0x9a3bf687  MyDriver', '0x9a3bf687');

// The crash log of the workspace: a 0xD1 whose stack names lines of queue.c.
const CRASH_LOG = path.join(SOURCES, 'crash.log');
const crashLines = fs.readFileSync(CRASH_LOG, 'utf8').split(/\r?\n/);
const FAULT_FRAME = (() => {
  const idx = crashLines.findIndex((l) => l.includes(' : mydriver!RecordCompletion+0x1e ['));
  assert.ok(idx >= 0, 'crash.log has no faulting frame row');
  return { line: idx + 1, column: crashLines[idx].indexOf('mydriver!RecordCompletion') + 1 };
})();
const STOP_LINE = crashLines.findIndex((l) => l.startsWith('DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)')) + 1;
// The line of queue.c the bug check's write is on.
const queueLines = fs.readFileSync(path.join(SOURCES, 'wdmdrivers', 'mydriver', 'queue.c'), 'utf8').split(/\r?\n/);
const FAULT_LINE = queueLines.findIndex((l) => l.includes('Queue->History[Slot] =')) + 1;
const ARG1 = locate('Arg1: 00000062', 'Arg1');
const ARG4 = locate('Arg4: 00000003', '00000003');

let server;
let browser;
let wb;
let runDir;
let blocked = ''; // set when a step leaves the window in a state later steps cannot use

function makeWorkspace(root) {
  fs.cpSync(SOURCES, root, { recursive: true });
  // A `.log` name, so that the extension has to recognise the session by its content.
  fs.copyFileSync(SEED_LOG, path.join(root, 'kd.log'));
  fs.copyFileSync(USER_LOG, path.join(root, 'app.log'));
}

/**
 * A leftover of the versions that made a private venv on first start: the
 * extension removes it on activation.
 */
function seedOldEnvironment(storage) {
  const old = path.join(storage, 'server-venv');
  fs.mkdirSync(path.join(old, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(old, 'pyvenv.cfg'), 'home = /usr/bin\n');
  fs.writeFileSync(path.join(old, 'kdlens-stamp.json'), '{"extensionVersion": "0.0.1"}\n');
}

/** Every file below `dir` (none when it does not exist). */
function filesUnder(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

/** The kdlens output channel's log file(s) that VS Code wrote for this run. */
function kdlensLogs(userData) {
  return filesUnder(path.join(userData, 'logs')).filter(
    (f) => /kdlens/i.test(path.relative(path.join(userData, 'logs'), f)) && f.endsWith('.log'),
  );
}

function step(name, timeoutMs, fn) {
  it(name, { timeout: timeoutMs }, async (t) => {
    if (blocked) {
      t.skip(`not run: ${blocked}`);
      return;
    }
    note(`step: ${name}`);
    try {
      await fn(t);
    } catch (err) {
      if (wb) await wb.shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
      throw err;
    }
  });
}

function cleanupNow() {
  if (server) server.killNow();
  if (runDir && env.KDLENS_E2E_KEEP !== '1') fs.rmSync(runDir, { recursive: true, force: true });
}
process.once('exit', cleanupNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    note(`${sig}: stopping code-server`);
    cleanupNow();
    process.exit(1);
  });
}

describe(VSIX ? 'kdlens in VS Code for the web' : 'VS Code for the web (harness smoke test, no extension)', () => {
  before(async () => {
    assert.ok(CODE_SERVER, 'KDLENS_E2E_CODE_SERVER is not set (run tests/e2e/run.sh)');
    assert.ok(fs.existsSync(BROWSER), `no browser at ${BROWSER}`);
    if (VSIX) assert.ok(fs.existsSync(VSIX), `no extension package at ${VSIX}`);
    fs.rmSync(OUT, { recursive: true, force: true });
    fs.mkdirSync(OUT, { recursive: true });
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdlens-e2e-'));
    const ws = path.join(runDir, 'workspace');
    makeWorkspace(ws);
    server = new CodeServer(CODE_SERVER, runDir);
    if (VSIX) {
      note(`installing ${path.basename(VSIX)}`);
      server.installExtension(VSIX, 180_000);
      note(`installed: ${server.listExtensions().join(', ')}`);
    }
    if (VSIX) seedOldEnvironment(server.globalStorage(EXTENSION_ID));
    const url = await server.start(90_000, OFFLINE_ENV);
    note(`code-server at ${url}`);
    browser = await chromium.launch({ executablePath: BROWSER, args: CHROMIUM_FLAGS, timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(30_000);
    wb = new Workbench(page, OUT);
    await wb.open(`${url}/?folder=${encodeURIComponent(ws)}`, 120_000);
    await wb.shot('01-workbench');
  }, { timeout: 420_000 });

  after(async () => {
    if (wb && server) wb.copyLogs(server.userData);
    if (browser) await browser.close().catch(() => {});
    if (server) {
      if (fs.existsSync(server.logFile)) fs.copyFileSync(server.logFile, path.join(OUT, 'code-server.log'));
      await server.stop();
    }
    if (runDir && env.KDLENS_E2E_KEEP !== '1') fs.rmSync(runDir, { recursive: true, force: true });
    if (wb) note(`screenshots in ${path.relative(process.cwd(), OUT) || '.'}: ${wb.shots.join(', ')}`);
  });

  step('the workspace opens and the status bar is there', 60_000, async () => {
    await waitFor('the explorer to list kd.log', async () =>
      (await wb.page.locator('.explorer-folders-view .monaco-list-row').allInnerTexts()).some((t) => t.includes('kd.log')),
    );
    if (!VSIX) {
      await wb.quickOpen('kd.log');
      const mode = await waitFor('a language mode in the status bar', () => wb.status('status.editor.mode'));
      note(`kd.log opens in "${mode}" without the extension`);
      await wb.shot('02-log-open');
    }
  });

  if (!VSIX) return;

  step('kd.log is recognised by its content: language mode "WinDbg Log"', 120_000, async () => {
    await wb.quickOpen('kd.log');
    try {
      await waitFor('the language mode "WinDbg Log"', async () => (await wb.status('status.editor.mode')) === 'WinDbg Log', {
        timeoutMs: 90_000,
      });
    } catch (err) {
      blocked = 'kd.log is not in WinDbg Log mode';
      throw err;
    }
    await wb.shot('02-log-open');
  });

  step('the language server starts and publishes the leaks', SERVER_WAIT_MS + 60_000, async () => {
    let progressShot = false;
    let lastLabel = '';
    let lastReport = Date.now();
    try {
      await waitFor(
        'the status bar to count 1 error and 3 warnings',
        async () => {
          const toast = wb.page.locator('.notifications-toasts .notification-toast');
          if (!progressShot && (await toast.count()) > 0) {
            progressShot = true;
            note(`notification: ${(await toast.first().innerText()).replace(/\s+/g, ' ').slice(0, 200)}`);
            await wb.shot('03-server-starting');
          }
          const counts = await wb.problemCounts();
          lastLabel = counts.label;
          if (Date.now() - lastReport > 30_000) {
            lastReport = Date.now();
            note(`still waiting for diagnostics: ${counts.label}`);
          }
          return counts.errors >= 1 && counts.warnings >= 3 ? counts : false;
        },
        { timeoutMs: SERVER_WAIT_MS, intervalMs: 1000 },
      );
    } catch (err) {
      blocked = 'the language server published no diagnostics';
      err.message += ` (status bar: ${lastLabel || 'no problems entry'})`;
      await wb.runCommand('kdlens: Show Output').catch(() => {});
      await wb.page.waitForTimeout(1000);
      await wb.shot('03-server-output').catch(() => {});
      throw err;
    }
  });

  step('the server ran from the package: no Python environment, no pip, index unreachable', 60_000, async () => {
    const storage = server.globalStorage(EXTENSION_ID);
    const stored = filesUnder(storage).map((f) => path.relative(storage, f));
    note(`global storage of ${EXTENSION_ID}: ${stored.length ? stored.join(', ') : '(empty)'}`);
    assert.ok(!fs.existsSync(path.join(storage, 'server-venv')), 'the old private environment is still there');
    const venvish = stored.filter((f) => /(^|[\\/])(pyvenv\.cfg|site-packages|server-venv[^\\/]*)([\\/]|$)/.test(f));
    assert.deepEqual(venvish, [], 'a Python environment was made in the extension storage');

    const logs = kdlensLogs(server.userData);
    assert.ok(logs.length > 0, 'no kdlens output log was written');
    const text = logs.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const started = text.split(/\r?\n/).find((l) => l.includes('Starting: '));
    note(`kdlens log: ${started ?? '(no start line)'}`);
    assert.ok(started, `the log does not say how the server was started:\n${text.slice(-2000)}`);
    assert.match(started, / -I \S*[\\/]server[\\/]launch\.py serve$/, 'not started through the shipped launcher');
    assert.doesNotMatch(text, /pip install|-m venv|Setting up the server's Python environment/);
    assert.doesNotMatch(text, /Traceback|did not start/);
  });

  step('the Problems panel lists three leaks and the bug check', 60_000, async () => {
    const rows = await waitFor('the Problems panel to list the findings', async () => {
      const found = await wb.problems();
      const all = found.filter((r) => r.file === 'kd.log');
      if (all.filter((r) => /Leaked/.test(r.text)).length < 3) return false;
      for (const r of found.filter((f) => f.file !== 'kd.log')) note(`also listed: ${r.file}: ${r.text.slice(0, 120)}`);
      return all;
    });
    await wb.shot('04-problems');
    for (const r of rows) note(`problem: ${r.error ? 'error' : 'warning'}: ${r.text.slice(0, 150)}`);
    const leaks = rows.filter((r) => /Leaked/.test(r.text));
    assert.equal(leaks.length, 3, rows.map((r) => r.text).join('\n'));
    assert.ok(leaks.every((r) => r.warning), `leaks are not warnings:\n${leaks.map((r) => r.text).join('\n')}`);
    for (const tag of ['VMdl', 'mdrv', 'Vfwi']) {
      assert.ok(leaks.some((r) => r.text.includes(tag)), `no leak row for tag ${tag}`);
    }
    const bugCheck = rows.filter((r) => r.error && /0xC4|DRIVER_VERIFIER_DETECTED_VIOLATION/i.test(r.text));
    assert.equal(bugCheck.length, 1, `bug check error row:\n${rows.map((r) => r.text).join('\n')}`);
    assert.ok(!rows.some((r) => /count-mismatch|Arg4 says/i.test(r.text)), 'a count mismatch before any edit');
  });

  step('hovering Arg1 explains subcode 0x62 (driver unloaded with allocations)', 90_000, async () => {
    await wb.quickOpen('kd.log');
    await wb.goToLine(ARG1.line, ARG1.column);
    const text = await wb.hover(ARG1.text.trim(), 'Arg1', '0x62', 60_000);
    await wb.shot('05-hover-arg1');
    assert.match(text, /unload/i, `hover text: ${text}`);
    await wb.page.keyboard.press('Escape');
    await wb.page.mouse.move(5, 450);
  });

  step('F12 on a caller address opens handleioctl.c at line 38', 90_000, async () => {
    await wb.quickOpen('kd.log');
    await wb.goToLine(CALLER.line, CALLER.column + 3);
    await wb.page.keyboard.press('F12');
    await waitFor('handleioctl.c to be the active tab', async () => (await wb.activeTab()).startsWith('handleioctl.c'), {
      timeoutMs: 30_000,
    });
    const where = await waitFor('the cursor on line 38', async () => {
      const sel = await wb.status('status.editor.selection');
      return /^Ln 38\b/.test(sel) ? sel : false;
    }, { timeoutMs: 15_000 });
    note(`definition: handleioctl.c ${where}`);
    await wb.shot('06-definition');
    const line38 = wb.page.locator('.editor-group-container.active .view-line').filter({ hasText: 'ExAllocatePoolWithTag' });
    assert.ok((await line38.count()) > 0, 'the allocating call is not on screen');
  });

  step('editing Arg4 to 00000004 raises a count-mismatch warning', 120_000, async () => {
    await wb.quickOpen('kd.log');
    await wb.goToLine(ARG4.line, ARG4.column);
    for (let i = 0; i < '00000003'.length; i++) await wb.page.keyboard.press('Shift+ArrowRight');
    await wb.page.keyboard.type('00000004');
    await waitFor('the edited line on screen', async () =>
      (await wb.page.locator('.editor-group-container.active .view-line').allInnerTexts()).some((t) =>
        t.replace(/\u00a0/g, ' ').includes('Arg4: 00000004'),
      ),
    );
    const rows = await waitFor('a count-mismatch row in the Problems panel', async () => {
      const all = (await wb.problems()).filter((r) => r.file === 'kd.log');
      return all.some((r) => /count-mismatch|Arg4 says 4/i.test(r.text)) ? all : false;
    }, { timeoutMs: 60_000 });
    await wb.shot('07-edited-count-mismatch');
    const mismatch = rows.filter((r) => /count-mismatch|Arg4 says 4/i.test(r.text));
    assert.equal(mismatch.length, 1, rows.map((r) => r.text).join('\n'));
    assert.ok(mismatch[0].warning, `not a warning: ${mismatch[0].text}`);
    assert.equal(rows.filter((r) => /Leaked/.test(r.text)).length, 3, 'the leaks are still listed');
  });

  step('a .kdlog file opens as WinDbg Log by its extension', 90_000, async () => {
    fs.copyFileSync(SEED_LOG, path.join(runDir, 'workspace', 'session.kdlog'));
    await wb.quickOpen('session.kdlog', 60_000);
    await waitFor('the language mode "WinDbg Log"', async () => (await wb.status('status.editor.mode')) === 'WinDbg Log');
    await wb.shot('08-kdlog-open');
  });

  step('a crash log: the triage line, the error on queue.c, F12 on the faulting frame', 240_000, async () => {
    await wb.quickOpen('crash.log', 60_000);
    await waitFor('the language mode "WinDbg Log"', async () => (await wb.status('status.editor.mode')) === 'WinDbg Log', {
      timeoutMs: 90_000,
    });
    const found = await waitFor('the crash in the Problems panel, on the log and on queue.c', async () => {
      const all = await wb.problems();
      const stop = all.filter((r) => r.file === 'crash.log' && r.error && /0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL/.test(r.text));
      const site = all.filter((r) => r.file === 'queue.c' && r.error && /here: write of paged pool/.test(r.text));
      return stop.length && site.length ? { all, stop, site } : false;
    }, { timeoutMs: 120_000, intervalMs: 1000 });
    await wb.shot('09-crash-problems');
    for (const r of found.all.filter((f) => f.file === 'crash.log' || f.file === 'queue.c')) {
      note(`problem: ${r.file}: ${r.error ? 'error' : r.warning ? 'warning' : 'info'}: ${r.text.slice(0, 160)}`);
    }
    assert.equal(found.stop.length, 1, found.stop.map((r) => r.text).join('\n'));
    assert.match(found.stop[0].text, /in mydriver\.sys: write of .* by mydriver!RecordCompletion\+0x1e \(queue\.c:37\)/);
    assert.equal(found.site.length, 1, found.site.map((r) => r.text).join('\n'));
    assert.ok(found.site[0].text.includes(`see crash.log:${STOP_LINE}`), found.site[0].text);
    const onLine = (r) => r.text.includes(`Ln ${FAULT_LINE},`) || r.label.includes(`line ${FAULT_LINE} `);
    assert.ok(onLine(found.site[0]), `not on line ${FAULT_LINE}: ${found.site[0].label}`);

    await wb.quickOpen('crash.log');
    await wb.goToLine(FAULT_FRAME.line, FAULT_FRAME.column + 3);
    await wb.page.keyboard.press('F12');
    await waitFor('queue.c to be the active tab', async () => (await wb.activeTab()).startsWith('queue.c'), {
      timeoutMs: 30_000,
    });
    const where = await waitFor(`the cursor on line ${FAULT_LINE}`, async () => {
      const sel = await wb.status('status.editor.selection');
      return new RegExp(`^Ln ${FAULT_LINE}\\b`).test(sel) ? sel : false;
    }, { timeoutMs: 15_000 });
    note(`definition: queue.c ${where}`);
    await wb.shot('10-crash-definition');
    const line = wb.page.locator('.editor-group-container.active .view-line').filter({ hasText: 'Queue->History[Slot]' });
    assert.ok((await line.count()) > 0, 'the faulting write is not on screen');
  });

  step('a user-mode leak log lists its leaks and marks the allocating lines of worker.cpp', 150_000, async () => {
    await wb.quickOpen('app.log', 60_000);
    await waitFor('the language mode "WinDbg Log"', async () => (await wb.status('status.editor.mode')) === 'WinDbg Log', {
      timeoutMs: 60_000,
    });
    const rows = await waitFor('the Problems panel to list the leaks of app.log and of worker.cpp', async () => {
      const found = await wb.problems();
      const log = found.filter((r) => r.file === 'app.log' && /Leaked/.test(r.text));
      const source = found.filter((r) => r.file === 'worker.cpp');
      return log.length >= 5 && source.length >= 2 ? { log, source } : false;
    }, { timeoutMs: 90_000 });
    await wb.shot('11-user-mode-leaks');
    for (const r of [...rows.log, ...rows.source]) note(`problem: ${r.file}: ${r.text.slice(0, 150)}`);
    assert.equal(rows.log.length, 5, rows.log.map((r) => r.text).join('\n'));
    assert.equal(rows.log.filter((r) => /Leaked handle 0x128/.test(r.text)).length, 2, 'the handle, from !htrace and from the stop');
    assert.ok(rows.log.some((r) => /Leaked heap block \(unreachable\)/.test(r.text)), 'no !heap -l leak');
    assert.equal(rows.log.filter((r) => /Leaked CRT normal block/.test(r.text)).length, 2, 'the CRT dump blocks');
    assert.ok(rows.log.every((r) => r.warning), 'leaks are warnings');
    assert.equal(rows.source.length, 2, rows.source.map((r) => r.text).join('\n'));
    assert.ok(
      rows.source.some((r) => r.text.includes('4 leaks here: 2 handles, 2 heap blocks (0x40, 0x40 bytes), see app.log:8')),
      `worker.cpp rows:\n${rows.source.map((r) => r.text).join('\n')}`,
    );
    assert.ok(rows.source.some((r) => r.text.includes('leaked heap block of 0x40 (64) bytes, see app.log:25')));
    await wb.quickOpen('worker.cpp', 60_000);
    await wb.goToLine(12, 5);
    await wb.shot('12-worker-source');
  });
});
