#!/usr/bin/env bash
# Tests the VS Code grammar: the `# SYNTAX TEST` files of editors/vscode/tests/ with
# vscode-tmgrammar-test, and every spec tokenised without an `invalid` scope. Installs the
# tool from npm into target/npm once (about 4 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x target/npm/node_modules/.bin/vscode-tmgrammar-test ]; then
    npm install --prefix target/npm --no-audit --no-fund --silent vscode-tmgrammar-test@0.1.3
fi
target/npm/node_modules/.bin/vscode-tmgrammar-test -g editors/vscode/syntaxes/nnspec.tmLanguage.json \
    'editors/vscode/tests/*.nn'
NODE_PATH=target/npm/node_modules node editors/vscode/tests/no_invalid.js \
    specs/*.nn tests/book/*.nn dsl/tests/data/ok/*.nn
