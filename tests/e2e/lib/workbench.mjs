// What a person does in the VS Code window, as Playwright calls.
//
// Only the keyboard shortcuts and DOM of the workbench are used (quick open,
// go to line, the status bar, the Problems panel), never the extension's
// internals, so a pass means a person would have seen the same thing.

import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; throws `what` with the last value seen. */
export async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = `error: ${err.message.split('\n')[0]}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (last seen: ${JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

export class Workbench {
  /**
   * @param {import('playwright-core').Page} page
   * @param {string} outDir where screenshots go
   */
  constructor(page, outDir) {
    this.page = page;
    this.outDir = outDir;
    this.shots = [];
  }

  async shot(name) {
    const file = path.join(this.outDir, `${name}.png`);
    await this.page.screenshot({ path: file });
    this.shots.push(path.basename(file));
    return file;
  }

  async open(url, timeoutMs) {
    await this.page.goto(url, { timeout: timeoutMs });
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: timeoutMs });
    await this.page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: timeoutMs });
  }

  /** Text of a status bar entry by its workbench id, e.g. `status.editor.mode`. */
  async status(id) {
    const item = this.page.locator(`[id="${id}"]`);
    if ((await item.count()) === 0) return '';
    return (await item.first().innerText()).replace(/\s+/g, ' ').trim();
  }

  /** Error and warning counts shown by the status bar's problems entry. */
  async problemCounts() {
    const label = (await this.page.locator('[id="status.problems"]').first().getAttribute('aria-label')) || '';
    // The label reads "Errors: 1, Warnings: 3" (or "No Problems").
    const num = (word) => Number((label.match(new RegExp(`${word}s?:?\\s*(\\d+)`, 'i')) || [0, 0])[1]);
    return { errors: num('error'), warnings: num('warning'), label };
  }

  async activeTab() {
    const tab = this.page.locator('.tabs-container .tab.active').first();
    if ((await tab.count()) === 0) return '';
    return (await tab.getAttribute('aria-label')) || (await tab.innerText());
  }

  async quickInputVisible() {
    return this.page.locator('.quick-input-widget').first().isVisible();
  }

  async escapeQuickInput() {
    for (let i = 0; i < 3 && (await this.quickInputVisible()); i++) {
      await this.page.keyboard.press('Escape');
      await sleep(150);
    }
  }

  /**
   * Ctrl+P, the file name, Enter; waits until its tab is the active one. On a
   * busy machine the list can still be filtering when Enter lands and another
   * row opens, so a tab that does not follow is retried from the start.
   */
  async quickOpen(name, timeoutMs = 30_000) {
    const isActive = async () => (await this.activeTab()).startsWith(name);
    await waitFor(
      `quick open to show and open ${name}`,
      async () => {
        await this.escapeQuickInput();
        await this.page.keyboard.press('Control+P');
        await this.page.locator('.quick-input-widget').first().waitFor({ state: 'visible', timeout: 5000 });
        await this.page.keyboard.type(name, { delay: 20 });
        const row = this.page
          .locator('.quick-input-list .monaco-list-row')
          .filter({ hasText: name })
          .first();
        try {
          await row.waitFor({ state: 'visible', timeout: 5000 });
        } catch {
          return false;
        }
        await this.page.keyboard.press('Enter');
        try {
          return await waitFor(`the ${name} tab`, isActive, { timeoutMs: 8_000 });
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 1000 },
    );
  }

  /** Ctrl+G `line:column` (both 1-based, as the status bar shows them). */
  async goToLine(line, column) {
    await this.escapeQuickInput();
    await this.focusEditor();
    await this.page.keyboard.press('Control+G');
    await this.page.locator('.quick-input-widget').first().waitFor({ state: 'visible', timeout: 5000 });
    await this.page.keyboard.type(`${line}:${column}`, { delay: 20 });
    await this.page.keyboard.press('Enter');
    await waitFor(
      `the cursor at Ln ${line}, Col ${column}`,
      async () => (await this.status('status.editor.selection')) === `Ln ${line}, Col ${column}`,
      { timeoutMs: 10_000 },
    );
  }

  async focusEditor() {
    const editor = this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
    if ((await editor.count()) === 0) return;
    const focused = await this.page.evaluate(() =>
      Boolean(document.activeElement && document.activeElement.closest('.editor-group-container.active .monaco-editor')),
    );
    if (!focused) await this.runCommand('View: Focus Active Editor Group');
  }

  /** F1, the command's title, Enter. */
  async runCommand(title) {
    await this.escapeQuickInput();
    await this.page.keyboard.press('F1');
    await this.page.locator('.quick-input-widget').first().waitFor({ state: 'visible', timeout: 5000 });
    await this.page.keyboard.type(title, { delay: 10 });
    const row = this.page.locator('.quick-input-list .monaco-list-row').filter({ hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: 10_000 });
    await this.page.keyboard.press('Enter');
  }

  /**
   * Shows the Problems panel and returns its findings: one entry per marker row,
   * with the file it is listed under. The tree renders only the rows in view
   * (related-information rows make it long), so the list is scrolled from top
   * to bottom with the mouse wheel and the rows are collected by their index.
   */
  async problems() {
    const panel = this.page.locator('.markers-panel').first();
    if (!(await panel.isVisible().catch(() => false))) {
      await this.runCommand('View: Focus Problems');
      await panel.waitFor({ state: 'visible', timeout: 10_000 });
    }
    const list = this.page.locator('.markers-panel .monaco-list').first();
    await list.waitFor({ state: 'visible', timeout: 10_000 });
    const box = await list.boundingBox();
    await this.page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 60));
    const read = () =>
      // Direct children only: the sticky header rows above the list repeat rows.
      list.locator('.monaco-list-rows > .monaco-list-row').evaluateAll((rows) =>
        rows.map((r) => ({
          index: Number(r.getAttribute('data-index')),
          label: r.getAttribute('aria-label') || '',
          text: r.innerText.replace(/\s+/g, ' ').trim(),
        })),
      );
    // Wheel scrolling is animated: read once two reads in a row agree.
    const settled = async () => {
      let prev = '';
      for (let i = 0; i < 20; i++) {
        await sleep(120);
        const rows = await read();
        const key = JSON.stringify(rows);
        if (key === prev) return rows;
        prev = key;
      }
      return read();
    };
    const toTop = async () => {
      for (let i = 0; i < 50; i++) {
        const rows = await settled();
        if (rows.some((r) => r.index === 0)) return rows;
        await this.page.mouse.wheel(0, -Math.max(100, box.height - 40));
      }
      return [];
    };
    const seen = new Map();
    await toTop();
    for (let i = 0; i < 100; i++) {
      const before = seen.size;
      for (const row of await settled()) seen.set(row.index, row);
      if (i > 0 && seen.size === before) break;
      await this.page.mouse.wheel(0, Math.max(100, box.height - 40));
    }
    await toTop(); // for the screenshots
    const rows = [...seen.values()].sort((a, b) => a.index - b.index);
    // Row labels: "N problems in file F of folder D", "Error: message at line ...",
    // "Warning: ..."; related-information rows have no severity prefix.
    const findings = [];
    let file = '';
    for (const row of rows) {
      const head = row.label.match(/^\d+ problems? in file (.+?)(?: of folder .*)?$/);
      const sev = row.label.match(/^(Error|Warning|Info):/);
      if (head) file = head[1];
      else if (sev) {
        findings.push({
          file,
          text: row.text,
          label: row.label,
          error: sev[1] === 'Error',
          warning: sev[1] === 'Warning',
        });
      }
    }
    return findings;
  }

  /**
   * Screen position of the middle of `needle` on the visible editor line whose text
   * contains `lineHas`, found through the rendered text nodes.
   */
  async textPoint(lineHas, needle) {
    return this.page.evaluate(
      ({ lineHas, needle }) => {
        const lines = document.querySelectorAll('.editor-group-container.active .monaco-editor .view-lines .view-line');
        for (const line of lines) {
          const text = line.textContent.replace(/\u00a0/g, ' ');
          if (!text.includes(lineHas)) continue;
          const start = text.indexOf(needle);
          if (start < 0) continue;
          const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
          let seen = 0;
          const range = document.createRange();
          let begun = false;
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const len = node.textContent.length;
            if (!begun && start < seen + len) {
              range.setStart(node, start - seen);
              begun = true;
            }
            if (begun && start + needle.length <= seen + len) {
              range.setEnd(node, start + needle.length - seen);
              const box = range.getBoundingClientRect();
              return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
            }
            seen += len;
          }
        }
        return null;
      },
      { lineHas, needle },
    );
  }

  /** Moves the mouse onto `needle` and returns the hover widget's text once it contains `expect`. */
  async hover(lineHas, needle, expect, timeoutMs = 30_000) {
    const widget = this.page.locator('.monaco-editor .monaco-hover').filter({ hasText: expect });
    return waitFor(
      `a hover containing ${expect}`,
      async () => {
        const at = await this.textPoint(lineHas, needle);
        if (!at) return false;
        // Leave and come back, so that each try starts a fresh hover.
        await this.page.mouse.move(at.x, at.y + 300);
        await sleep(200);
        await this.page.mouse.move(at.x - 2, at.y);
        await this.page.mouse.move(at.x, at.y, { steps: 3 });
        try {
          await widget.first().waitFor({ state: 'visible', timeout: 4000 });
        } catch {
          return false;
        }
        return (await widget.first().innerText()).trim();
      },
      { timeoutMs, intervalMs: 500 },
    );
  }

  /** Copies VS Code's log folder (extension host and output channels) next to the screenshots. */
  copyLogs(userData) {
    const src = path.join(userData, 'logs');
    if (!fs.existsSync(src)) return;
    fs.cpSync(src, path.join(this.outDir, 'logs'), { recursive: true });
  }
}
