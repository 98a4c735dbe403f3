// The VS Code side of DDL: starts `ddl lsp` (the command in the `ddl.server.command` setting) over
// stdio and hands .ddl documents to it. Highlighting comes from syntaxes/ddl.tmLanguage.json.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("ddl").get("server.command", ["ddl", "lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "ddl" }, { scheme: "untitled", language: "ddl" }],
  };
  client = new LanguageClient("ddl", "DDL language server", serverOptions, clientOptions);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `DDL: cannot start the language server (${command} ${args.join(" ")}): ${err.message}. ` +
        "Install it with `pip install ddl-lang`, or set ddl.server.command.");
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
