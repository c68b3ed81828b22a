// The KDSL extension: syntax highlighting comes from syntaxes/ (declared in package.json); this
// client starts `kcheck lsp` over stdio for diagnostics, hover, go to definition and formatting.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration("kdsl").get("kcheckPath") || "kcheck";
  return { command, args: ["lsp"] };
}

async function start(context) {
  client = new LanguageClient("kdsl", "KDSL (kcheck lsp)", serverOptions(), {
    documentSelector: [{ scheme: "file", language: "kdsl" }, { scheme: "untitled", language: "kdsl" }],
  });
  try {
    await client.start();
  } catch (err) {
    const path = serverOptions().command;
    vscode.window.showErrorMessage(
      `KDSL: could not start \`${path} lsp\` (${err}). Install kcheck with its lsp extra ` +
        "(pip install 'kcheck[lsp]') or set kdsl.kcheckPath to its executable."
    );
  }
}

async function activate(context) {
  await start(context);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("kdsl.kcheckPath")) {
        if (client) {
          await client.stop();
        }
        await start(context);
      }
    })
  );
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
