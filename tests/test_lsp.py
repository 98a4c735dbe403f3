"""`ddl lsp` driven through a real client session (pytest-lsp): the server runs as `python -m ddl lsp`
in a subprocess and every answer crosses JSON-RPC over its stdin/stdout, as in an editor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPE_ERROR = """family greet {
  param name : Text(max 20)
  program -> Int = "hello ${name}"
  example { name = "ada" } => 1
}
"""

FIXED = TYPE_ERROR.replace('program -> Int = "hello ${name}"', "program -> Int = len(name)").replace("=> 1", "=> 3")

# 10 / (n - 3) fails for n = 3: a refuted `safe` obligation, found only on save.
REFUTED = """family halve {
  param n : Int in 0..10
  program -> Int = 10 / (n - 3)
  example { n = 4 } => 10
}
"""

BOOKS = (ROOT / "examples" / "books.ddl").read_text(encoding="utf-8")

UNFORMATTED = "family f {  param n : Int in 0..9\n program->Int=n+1\n example {n=1}=>2 }\n"


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "ddl", "lsp"]))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("workspace")
    lsp_client.initialized = await lsp_client.initialize_session(T.InitializeParams(  # type: ignore[attr-defined]
        capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri(),
        workspace_folders=[T.WorkspaceFolder(root.as_uri(), "workspace")]))
    lsp_client.root = root  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def published(client: LanguageClient, uri: str) -> list[T.Diagnostic]:
    """The next diagnostics the server publishes for ``uri``."""
    while True:
        params = await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == uri:
            return list(params.diagnostics)


def document(client: LanguageClient, name: str, text: str) -> str:
    """Write ``text`` to a file in the workspace and return its URI (not yet opened)."""
    path = client.root / name  # type: ignore[attr-defined]
    path.write_text(text, encoding="utf-8")
    return path.as_uri()


async def open_document(client: LanguageClient, name: str, text: str) -> tuple[str, list[T.Diagnostic]]:
    uri = document(client, name, text)
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(uri=uri, language_id="ddl", version=1, text=text)))
    return uri, await published(client, uri)


def at(text: str, needle: str, delta: int = 0) -> T.Position:
    """The LSP position of ``needle`` (+ ``delta`` characters) in ``text`` (ASCII)."""
    offset = text.index(needle) + delta
    line = text.count("\n", 0, offset)
    return T.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


async def test_the_server_announces_what_an_editor_needs_to_send(client: LanguageClient) -> None:
    result: T.InitializeResult = client.initialized  # type: ignore[attr-defined]
    assert result.server_info is not None and result.server_info.name == "ddl"
    capabilities = result.capabilities
    sync = capabilities.text_document_sync
    assert isinstance(sync, T.TextDocumentSyncOptions) and sync.open_close and sync.save  # didSave is sent
    assert capabilities.hover_provider and capabilities.definition_provider
    assert capabilities.document_formatting_provider and capabilities.document_symbol_provider
    assert capabilities.completion_provider is not None
    assert set(capabilities.completion_provider.trigger_characters or []) == {":", "."}


async def test_a_type_error_is_reported_as_you_type_and_cleared_when_fixed(client: LanguageClient) -> None:
    uri, diagnostics = await open_document(client, "greet.ddl", TYPE_ERROR)
    assert [d.code for d in diagnostics] == ["DDL202"]
    d = diagnostics[0]
    assert "expected Int" in d.message and d.source == "ddl"
    # Line 3, columns of the program's body (0-based): the text literal.
    assert d.range.start == at(TYPE_ERROR, '"hello')
    assert d.range.end == at(TYPE_ERROR, '"hello ${name}"', len('"hello ${name}"'))
    assert d.severity == T.DiagnosticSeverity.Error
    assert d.code_description is not None and d.code_description.href.endswith("errors.md#ddl202")

    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(version=2, uri=uri), [T.TextDocumentContentChangeWholeDocument(text=FIXED)]))
    assert await published(client, uri) == []


async def test_a_syntax_error_while_typing_is_a_diagnostic_at_its_place(client: LanguageClient) -> None:
    text = "family broken {\n  param n : Int\n  program -> Int = n +\n}\n"
    _, diagnostics = await open_document(client, "broken.ddl", text)
    assert [d.code for d in diagnostics] == ["DDL103"]
    assert diagnostics[0].range.start.line == 3  # the `}` where an operand was expected


async def test_save_discharges_obligations_with_the_counterexample_as_related_information(
        client: LanguageClient) -> None:
    uri, diagnostics = await open_document(client, "halve.ddl", REFUTED)
    assert diagnostics == []  # it type-checks: the division is an obligation, found on save
    client.text_document_did_save(T.DidSaveTextDocumentParams(T.TextDocumentIdentifier(uri)))
    diagnostics = await published(client, uri)
    assert [d.code for d in diagnostics] == ["DDL600"]
    d = diagnostics[0]
    assert d.range.start == at(REFUTED, "10 / (n - 3)")
    assert d.related_information is not None
    counterexample, value = d.related_information[:2]
    assert counterexample.message == "counterexample: with { n = 3 }: division by zero"
    assert counterexample.location.uri == uri and counterexample.location.range == d.range
    # ... and its value at the parameter's declaration.
    assert value.message == "counterexample: n = 3"
    assert value.location.uri == uri and value.location.range == T.Range(at(REFUTED, "n :"), at(REFUTED, "n :", 1))


async def test_hover_shows_types_of_expressions_and_docs_of_builtins(client: LanguageClient) -> None:
    uri, _ = await open_document(client, "books.ddl", BOOKS)
    ident = T.TextDocumentIdentifier(uri)
    # `subject` in the interpolation: a let-bound Text of at most 15 characters.
    hover = await client.text_document_hover_async(T.HoverParams(ident, at(BOOKS, "${subject}", 3)))
    assert hover is not None and isinstance(hover.contents, T.MarkupContent)
    assert "subject: Text(max 15)" in hover.contents.value
    assert hover.range == T.Range(at(BOOKS, "${subject}", 2), at(BOOKS, "${subject}", 9))
    # A built-in: its signature and description from the catalogue (ddl/builtins.py).
    hover = await client.text_document_hover_async(T.HoverParams(ident, at(BOOKS, "replace(text", 2)))
    assert hover is not None and isinstance(hover.contents, T.MarkupContent)
    assert "replace(t: Text, old: Text, new: Text) -> Text" in hover.contents.value
    assert "Replace every occurrence of old by new" in hover.contents.value
    # A parameter: its declared type, resolved.
    hover = await client.text_document_hover_async(T.HoverParams(ident, at(BOOKS, "show(count)", 6)))
    assert hover is not None and isinstance(hover.contents, T.MarkupContent)
    assert "param count : Int in 1..20 = 5" in hover.contents.value  # the default, as written
    hover = await client.text_document_hover_async(T.HoverParams(ident, at(BOOKS, "param decade", 7)))
    assert hover is not None and isinstance(hover.contents, T.MarkupContent)
    assert "= 2000 where decade % 10 == 0" in hover.contents.value


async def test_go_to_definition_in_the_file_and_into_the_stdlib(client: LanguageClient) -> None:
    uri, _ = await open_document(client, "books2.ddl", BOOKS)
    ident = T.TextDocumentIdentifier(uri)
    location = await client.text_document_definition_async(T.DefinitionParams(ident, at(BOOKS, "${subject}", 4)))
    assert isinstance(location, T.Location) and location.uri == uri
    assert location.range.start == at(BOOKS, "let subject", 4)
    location = await client.text_document_definition_async(T.DefinitionParams(ident, at(BOOKS, "Request {\n", 1)))
    assert isinstance(location, T.Location) and location.range.start == at(BOOKS, "type Request", 5)
    # A rule of the stdlib module `phrasing`: the server opens stdlib/phrasing.ddl.
    location = await client.text_document_definition_async(
        T.DefinitionParams(ident, at(BOOKS, "phrasing::polite", 11)))
    assert isinstance(location, T.Location) and location.uri.endswith("/stdlib/phrasing.ddl")
    phrasing = (ROOT / "stdlib" / "phrasing.ddl").read_text(encoding="utf-8")
    assert location.range.start == at(phrasing, "rule polite", 5)


async def test_completion_offers_names_builtins_keywords_and_enum_values(client: LanguageClient) -> None:
    uri, _ = await open_document(client, "books3.ddl", BOOKS)
    ident = T.TextDocumentIdentifier(uri)
    result = await client.text_document_completion_async(T.CompletionParams(ident, at(BOOKS, "Request {\n", 0)))
    assert isinstance(result, T.CompletionList)
    labels = {item.label: item for item in result.items}
    assert {"subject", "genre", "count", "replace", "starts_with", "let", "match", "Genre"} <= set(labels)
    assert labels["replace"].kind == T.CompletionItemKind.Function
    assert labels["fantasy"].kind == T.CompletionItemKind.EnumMember
    # After `Genre::` (a half-typed line that does not parse), the variants of the enum.
    typing = BOOKS.replace("teach genre = fantasy", "teach genre = Genre::")
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(version=2, uri=uri), [T.TextDocumentContentChangeWholeDocument(text=typing)]))
    await published(client, uri)
    result = await client.text_document_completion_async(
        T.CompletionParams(ident, at(typing, "Genre::\n", 7)))
    assert isinstance(result, T.CompletionList)
    assert [item.label for item in result.items] == ["fantasy", "mystery", "romance", "science_fiction"]


async def test_formatting_returns_what_ddl_fmt_prints(client: LanguageClient) -> None:
    uri, _ = await open_document(client, "unformatted.ddl", UNFORMATTED)
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(uri), T.FormattingOptions(tab_size=2, insert_spaces=True)))
    expected = subprocess.run([sys.executable, "-m", "ddl", "fmt", str(client.root / "unformatted.ddl")],  # type: ignore[attr-defined]
                              capture_output=True, text=True, check=True).stdout
    assert edits is not None and len(edits) == 1
    assert edits[0].new_text == expected
    assert edits[0].range == T.Range(T.Position(0, 0), T.Position(3, 0))
    # Formatted text needs no edit.
    uri, _ = await open_document(client, "formatted.ddl", expected)
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(uri), T.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert edits is not None and list(edits) == []


async def test_document_symbols_outline_families_and_their_declarations(client: LanguageClient) -> None:
    uri, _ = await open_document(client, "books4.ddl", BOOKS)
    symbols = await client.text_document_document_symbol_async(
        T.DocumentSymbolParams(T.TextDocumentIdentifier(uri)))
    assert symbols is not None
    top = {s.name: s for s in symbols if isinstance(s, T.DocumentSymbol)}
    assert set(top) == {"phrasing", "recommend_books"}
    family = top["recommend_books"]
    assert family.kind == T.SymbolKind.Class
    assert family.selection_range.start == at(BOOKS, "recommend_books")
    members = {s.name: s for s in family.children or []}
    assert {"Genre", "Request", "genre", "count", "decade", "noun"} <= set(members)
    assert members["genre"].kind == T.SymbolKind.Property
    assert [v.name for v in members["Genre"].children or []] == ["fantasy", "mystery", "romance", "science_fiction"]


async def test_positions_count_utf16_code_units_after_non_ascii_text(client: LanguageClient) -> None:
    # "é" is one UTF-16 code unit, "😀" two: `n` is code point 27 of its line (0-based), UTF-16 unit 28.
    text = 'family f {\n  param n : Int in 0..9\n  program -> Int = "é😀" ++ n\n}\n'
    _, diagnostics = await open_document(client, "unicode.ddl", text)
    assert [d.code for d in diagnostics] == ["DDL213"]
    assert diagnostics[0].range == T.Range(T.Position(2, 28), T.Position(2, 29))


async def test_a_request_about_a_file_that_is_gone_answers_nothing(client: LanguageClient) -> None:
    # Neither open in the editor nor on disk (deleted meanwhile): no error, no traceback, nothing to say.
    gone = T.TextDocumentIdentifier((client.root / "deleted.ddl").as_uri())  # type: ignore[attr-defined]
    assert await client.text_document_hover_async(T.HoverParams(gone, T.Position(0, 0))) is None
    assert await client.text_document_definition_async(T.DefinitionParams(gone, T.Position(0, 0))) is None
    assert not await client.text_document_document_symbol_async(T.DocumentSymbolParams(gone))
    assert not await client.text_document_formatting_async(
        T.DocumentFormattingParams(gone, T.FormattingOptions(tab_size=2, insert_spaces=True)))

