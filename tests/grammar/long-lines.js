#!/usr/bin/env node
// Tokenizes long lines with the same engine VS Code uses (vscode-textmate + Oniguruma),
// as a check on top of the Python regex probe in test_grammar.py.
// Usage: node long-lines.js GRAMMAR < lines.json   (a JSON object: name -> line)
// Prints one JSON record per line: {"name", "ms", "tokens"}.
'use strict';

const fs = require('fs');
const path = require('path');
const tm = require('vscode-textmate');
const onig = require('vscode-oniguruma');

const grammarPath = process.argv[2];
const lines = JSON.parse(fs.readFileSync(0, 'utf8'));
const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));

const registry = new tm.Registry({
  onigLib: onig.loadWASM(wasm.buffer).then(() => ({
    createOnigScanner: (patterns) => new onig.OnigScanner(patterns),
    createOnigString: (text) => new onig.OnigString(text),
  })),
  loadGrammar: async () => tm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
});

registry.loadGrammar('source.windbg-log').then((grammar) => {
  for (const [name, line] of Object.entries(lines)) {
    const start = process.hrtime.bigint();
    const result = grammar.tokenizeLine(line, tm.INITIAL);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    process.stdout.write(JSON.stringify({ name, ms, tokens: result.tokens.length }) + '\n');
  }
});
