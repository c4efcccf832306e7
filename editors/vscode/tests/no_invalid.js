// Tokenises every spec given on the command line with the grammar and fails if any
// character outside a comment gets an `invalid` scope (a symbol the grammar does not know).
// Run with NODE_PATH pointing at the node_modules where vscode-tmgrammar-test is installed
// (it brings vscode-textmate and vscode-oniguruma): see docs/EDITORS.md.
'use strict';
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const onig = require('vscode-oniguruma');

const grammarPath = path.join(__dirname, '..', 'syntaxes', 'nnspec.tmLanguage.json');
const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));

async function main(files) {
  await onig.loadWASM(wasm.buffer);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p) => new onig.OnigScanner(p),
      createOnigString: (s) => new onig.OnigString(s),
    }),
    loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
  });
  const grammar = await registry.loadGrammar('source.nnspec');
  let bad = 0;
  let lines = 0;
  for (const file of files) {
    let stack = vsctm.INITIAL;
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, n) => {
      lines += 1;
      const r = grammar.tokenizeLine(line, stack);
      for (const t of r.tokens) {
        if (t.scopes.some((s) => s.startsWith('invalid'))) {
          bad += 1;
          console.log(`${file}:${n + 1}:${t.startIndex + 1}: invalid: ${JSON.stringify(line.slice(t.startIndex, t.endIndex))}`);
        }
      }
      stack = r.ruleStack;
    });
  }
  console.log(`${files.length} files, ${lines} lines, ${bad} invalid tokens`);
  process.exit(bad === 0 && files.length > 0 ? 0 : 1);
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
