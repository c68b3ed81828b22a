// Tokenizes files with the grammar of this extension as VS Code does (vscode-textmate with the
// Oniguruma regex engine) and prints, for each file, its tokens as JSON:
// [[line (0-based), start column, end column, innermost scope], ...].
// Used by tests/editors/test_textmate.py; not part of the .vsix.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

async function main() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => {
      const file = path.join(__dirname, "..", "syntaxes", "kdsl.tmLanguage.json");
      return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  const grammar = await registry.loadGrammar("source.kdsl");
  const out = {};
  for (const file of process.argv.slice(2)) {
    let state = vsctm.INITIAL;
    const tokens = [];
    fs.readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        const r = grammar.tokenizeLine(line, state);
        for (const t of r.tokens) {
          tokens.push([i, t.startIndex, Math.min(t.endIndex, line.length), t.scopes[t.scopes.length - 1]]);
        }
        state = r.ruleStack;
      });
    out[file] = tokens;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
