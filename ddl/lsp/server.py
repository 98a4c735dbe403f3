"""The DDL language server (``ddl lsp``, stdio), on pygls (spec/editor.md).

Diagnostics as you type: on open and on every change the document is parsed and type-checked (the
facade's :func:`ddl.api.compile_source`, tens of milliseconds).  On save every obligation is
discharged as ``ddl check`` does (:func:`ddl.api.check_source`, on the saved text) in one worker
thread, so the server keeps answering meanwhile; its findings replace the document's diagnostics
unless the text changed in the meantime, and a refuted obligation carries its counterexample (and
the obligation's notes) as related information.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lsprotocol import types as T
from pygls.exceptions import JsonRpcServerNotInitialized
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import Workspace

from ddl.api import check_source
from ddl.diagnostics import Diagnostic, Span
from ddl.errors import help_url
from ddl.lsp.analysis import Analysis, Decl, Declarations, ImportedModules, counterexample_bindings
from ddl.lsp.positions import Lines
from ddl.syntax.fmt import format_source
from ddl.verify.report import FileResult, Finding
from ddl.version import __version__

SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning,
            "note": T.DiagnosticSeverity.Information}

SYMBOL_KIND = {
    "family": T.SymbolKind.Class, "fn": T.SymbolKind.Function, "param": T.SymbolKind.Property,
    "enum": T.SymbolKind.Enum, "variant": T.SymbolKind.EnumMember, "record": T.SymbolKind.Struct,
    "field": T.SymbolKind.Field, "alias": T.SymbolKind.TypeParameter, "table": T.SymbolKind.Constant,
    "rule": T.SymbolKind.Function, "import": T.SymbolKind.Module,
}

COMPLETION_KIND = {
    "keyword": T.CompletionItemKind.Keyword, "type": T.CompletionItemKind.Class,
    "builtin": T.CompletionItemKind.Function, "module": T.CompletionItemKind.Module,
    "import": T.CompletionItemKind.Module, "fn": T.CompletionItemKind.Function,
    "rule": T.CompletionItemKind.Function, "table": T.CompletionItemKind.Constant,
    "enum": T.CompletionItemKind.Enum, "variant": T.CompletionItemKind.EnumMember,
    "record": T.CompletionItemKind.Struct, "alias": T.CompletionItemKind.Class,
    "field": T.CompletionItemKind.Field, "param": T.CompletionItemKind.Variable,
}

# The verifier recurses deeply on deep programs (the facade raises the recursion limit); the worker
# thread that runs it needs a stack to match.
WORKER_STACK_BYTES = 256 * 1024 * 1024


class DDLServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("ddl", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.imported = ImportedModules()
        threading.stack_size(WORKER_STACK_BYTES)
        try:
            self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddl-check")
            self.checker.submit(int).result()  # its one thread starts now, with the stack size above
        finally:
            threading.stack_size(0)

    @property
    def workspace(self) -> Workspace:
        # A request before `initialize` is the protocol's ServerNotInitialized (-32002), not an
        # internal error with a traceback.
        try:
            return super().workspace
        except RuntimeError:
            raise JsonRpcServerNotInitialized() from None

    # -- documents
    def path_of(self, uri: str) -> str:
        """The file a document is (imports resolve from it); ``<input>`` for an unsaved buffer."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        return path or "<input>"

    def text_of(self, uri: str) -> str:
        """The document's text: the editor's buffer when it is open, else the file; a document that is
        neither (a request about a deleted file) is empty, so the request answers nothing rather than fail."""
        try:
            return self.workspace.get_text_document(uri).source
        except (OSError, UnicodeDecodeError):
            return ""

    def analyse(self, uri: str) -> Analysis:
        text = self.text_of(uri)
        previous = self.analyses.get(uri)
        if previous is not None and previous.text == text:
            return previous
        analysis = Analysis(text, self.path_of(uri), self.imported, previous)
        self.analyses[uri] = analysis
        return analysis

    def lines(self, text: str) -> Lines:
        return Lines(text, self.workspace.position_codec.client_num_units)

    # -- conversions
    def range_of(self, span: Span, lines: Lines) -> T.Range:
        start = lines.offset_to_client(span.start)
        end = lines.offset_to_client(max(span.end, span.start))
        return T.Range(T.Position(*start), T.Position(*end))

    def location_of(self, span: Span, uri: str, lines: Lines) -> T.Location:
        """A span in this document (``lines``) or in another file (read to count its positions)."""
        path = self.path_of(uri)
        if span.path == path or span.path == "<input>":
            return T.Location(uri, self.range_of(span, lines))
        try:
            other = self.lines(Path(span.path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return T.Location(from_fs_path(span.path) or span.path, T.Range(T.Position(0, 0), T.Position(0, 0)))
        return T.Location(from_fs_path(span.path) or span.path, self.range_of(span, other))

    def diagnostic(self, d: Diagnostic, uri: str, lines: Lines, counterexample: str | None = None,
                   params: Sequence[Decl] = ()) -> T.Diagnostic:
        related = [T.DiagnosticRelatedInformation(self.location_of(n.span, uri, lines), n.message)
                   for n in d.notes if n.span is not None]
        if counterexample is not None:
            # The counterexample at the obligation, then each of its values at its parameter.
            declared = {p.name: p for p in params}
            at_params = [T.DiagnosticRelatedInformation(self.location_of(declared[name].name_span, uri, lines),
                                                        f"counterexample: {name} = {value}")
                         for name, value in counterexample_bindings(counterexample, declared)]
            related[:0] = [T.DiagnosticRelatedInformation(self.location_of(d.span, uri, lines),
                                                          f"counterexample: {counterexample}"), *at_params]
        message = d.message
        unplaced = [n.message for n in d.notes if n.span is None]
        if unplaced:
            message += "".join(f"\nnote: {n}" for n in unplaced)
        if d.hint:
            message += f"\nhint: {d.hint}"
        return T.Diagnostic(
            range=self.range_of(d.span, lines), message=message, severity=SEVERITY.get(d.severity),
            code=d.code, source="ddl", related_information=related or None,
            code_description=T.CodeDescription(help_url(d.code)))

    def publish(self, uri: str, diagnostics: list[T.Diagnostic], version: int | None) -> None:
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri, diagnostics, version))

    def publish_analysis(self, uri: str) -> None:
        analysis = self.analyse(uri)
        lines = self.lines(analysis.text)
        doc = self.workspace.get_text_document(uri)
        self.publish(uri, [self.diagnostic(d, uri, lines) for d in analysis.diagnostics], doc.version)

    async def check_on_save(self, uri: str) -> None:
        doc = self.workspace.get_text_document(uri)
        text, version, path = doc.source, doc.version, self.path_of(uri)
        loop = asyncio.get_running_loop()
        result: FileResult = await loop.run_in_executor(self.checker, check_source, text, path)
        current = self.workspace.get_text_document(uri)
        if current.version != version or current.source != text:
            return  # edited meanwhile: its spans no longer fit; the next save checks again
        lines = self.lines(text)
        analysis = self.analyses.get(uri)
        decls = analysis.decls if analysis is not None and analysis.text == text else None
        self.publish(uri, [self.finding(f, uri, lines, decls) for f in result.findings
                           if f.diagnostic.span.path == path], version)

    def finding(self, f: Finding, uri: str, lines: Lines, decls: Declarations | None) -> T.Diagnostic:
        d = f.effective()
        if f.verdict != "refuted":
            return self.diagnostic(d, uri, lines)
        # "family: kind(subject) refuted: <evidence>": the evidence is the counterexample.
        counterexample = d.message.split(" refuted: ", 1)[-1]
        params = decls.params_of(f.family) if decls is not None and f.family is not None else []
        return self.diagnostic(d, uri, lines, counterexample, params)

    # -- answers
    def symbol(self, decl: Decl, members: list[Decl], lines: Lines, analysis: Analysis) -> T.DocumentSymbol:
        rng = self.range_of(decl.span, lines)
        selection = self.range_of(decl.name_span, lines)
        kids = [self.symbol(m, analysis.members_of(m), lines, analysis) for m in members]
        return T.DocumentSymbol(name=decl.name, kind=SYMBOL_KIND.get(decl.kind, T.SymbolKind.Variable),
                                range=rng, selection_range=selection, detail=decl.detail.split("\n")[0] or None,
                                children=kids or None)


server = DDLServer()


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: DDLServer, params: T.DidOpenTextDocumentParams) -> None:
    ls.publish_analysis(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: DDLServer, params: T.DidChangeTextDocumentParams) -> None:
    ls.publish_analysis(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: DDLServer, params: T.DidSaveTextDocumentParams) -> None:
    await ls.check_on_save(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: DDLServer, params: T.DidCloseTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)
    ls.publish(params.text_document.uri, [], None)


def _offset(ls: DDLServer, uri: str, position: T.Position) -> tuple[Analysis, Lines, int]:
    analysis = ls.analyse(uri)
    lines = ls.lines(analysis.text)
    return analysis, lines, lines.offset(position.line, position.character)


@server.feature(T.SHUTDOWN)
def shutdown(ls: DDLServer, params: None) -> None:
    # A check still queued is dropped; one running finishes (z3 cannot be interrupted) before exit.
    ls.checker.shutdown(wait=False, cancel_futures=True)


@server.feature(T.TEXT_DOCUMENT_HOVER)
def hover(ls: DDLServer, params: T.HoverParams) -> T.Hover | None:
    analysis, lines, offset = _offset(ls, params.text_document.uri, params.position)
    answer = analysis.hover(offset)
    if answer is None:
        return None
    rng = ls.range_of(answer.span, lines) if answer.span is not None else None
    return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, answer.markdown), rng)


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
def definition(ls: DDLServer, params: T.DefinitionParams) -> T.Location | None:
    uri = params.text_document.uri
    analysis, lines, offset = _offset(ls, uri, params.position)
    decl = analysis.definition(offset)
    if decl is None:
        return None
    return ls.location_of(decl.name_span, uri, lines)


@server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[":", "."]))
def completion(ls: DDLServer, params: T.CompletionParams) -> T.CompletionList:
    analysis, _, offset = _offset(ls, params.text_document.uri, params.position)
    items = [T.CompletionItem(c.label, kind=COMPLETION_KIND.get(c.kind, T.CompletionItemKind.Variable),
                              detail=c.detail or None,
                              documentation=T.MarkupContent(T.MarkupKind.Markdown, c.doc) if c.doc else None)
             for c in analysis.completions(offset)]
    return T.CompletionList(is_incomplete=False, items=items)


@server.feature(T.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: DDLServer, params: T.DocumentFormattingParams) -> list[T.TextEdit] | None:
    uri = params.text_document.uri
    text = ls.text_of(uri)
    formatted, _ = format_source(text, ls.path_of(uri))
    if formatted is None:
        return None  # does not parse: the diagnostics say why; nothing to format
    if formatted == text:
        return []
    lines = ls.lines(text)
    end = lines.offset_to_client(len(text))
    return [T.TextEdit(T.Range(T.Position(0, 0), T.Position(*end)), formatted)]


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(ls: DDLServer, params: T.DocumentSymbolParams) -> list[T.DocumentSymbol]:
    analysis = ls.analyse(params.text_document.uri)
    lines = ls.lines(analysis.text)
    return [ls.symbol(decl, members, lines, analysis) for decl, members in analysis.symbols()]


class OneLine(logging.Formatter):
    """A log record as one line on stderr (an editor's output panel): what failed and why, no traceback;
    the client is also told through window/showMessage (pygls)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"ddl lsp: {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            line += f": {type(err).__name__}: {err}"
        return line


def serve(**_: Any) -> None:
    """Serve one client over stdin/stdout until it exits."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    server.start_io()
    if sys.stdout.closed:  # pygls closes it at exit; whatever flushes it later must find an open stream
        sys.stdout = open(os.devnull, "w")  # lives as long as the process
