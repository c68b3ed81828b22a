"""The KDSL language server (`kcheck lsp`, needs the `lsp` extra: pygls): diagnostics, hover,
go to definition and formatting for editors. lsp/server.py speaks the protocol; analysis.py and
index.py compute the answers from the language front end."""
