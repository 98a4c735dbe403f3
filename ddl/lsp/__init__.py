"""Editor support: the language server behind ``ddl lsp`` (spec/editor.md).

- :mod:`ddl.lsp.analysis`: what an editor asks of one document (declarations, scopes, hover text,
  definitions, completions, symbols), answered from the facade's parse and type check; no LSP types.
- :mod:`ddl.lsp.positions`: DDL's 1-based line/column in code points ↔ LSP positions in the client's
  code units.
- :mod:`ddl.lsp.server`: the pygls server: diagnostics on open/change (parse and types) and on save
  (every obligation, in a worker thread), hover, definition, completion, formatting, symbols.

This package is imported only by ``ddl lsp``; nothing below the commands depends on it.
"""
