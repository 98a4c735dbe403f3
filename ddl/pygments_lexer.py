"""A Pygments lexer for DDL, so documentation highlights ```ddl blocks and ``pygmentize -l ddl`` works.

Registered under the ``pygments.lexers`` entry point (pyproject.toml); Pygments imports this module
only when it is asked for DDL, so it needs nothing of ddl itself.  It follows spec/syntax.md: comments,
text literals with escapes and ``${...}`` interpolation, reserved words, type names, numbers, and --
inside ``grammar`` blocks and ``Text(pattern ...)`` -- regular expressions with character classes
and repetition bounds.  tests/test_editor.py keeps its words equal to the parser's.
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, default, include, words
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

# spec/syntax.md 1.3 (the parser's RESERVED, less the type names and the literals).
KEYWORDS = (
    "allow", "and", "as", "else", "ensures", "enum", "example", "except", "family", "fn", "for", "grammar", "if",
    "import", "in", "let", "match", "not", "or", "param", "priority", "program", "rule", "table", "teach", "then",
    "type", "where",
)
CONSTANTS = ("true", "false", "none")
TYPES = ("Bool", "Decimal", "Int", "List", "Map", "Option", "Text")
# Contextual keywords (spec/syntax.md 1.3): keywords in their places, names elsewhere.
CONTEXTUAL = ("because", "max", "pattern")

_NAME = r"[a-z_][A-Za-z0-9_]*"
_TNAME = r"[A-Z][A-Za-z0-9_]*"

class DDLLexer(RegexLexer):
    """DDL, the Discrete Distillation Language (``.ddl`` files)."""

    name = "DDL"
    aliases: ClassVar[list[str]] = ["ddl"]
    filenames: ClassVar[list[str]] = ["*.ddl"]
    mimetypes: ClassVar[list[str]] = ["text/x-ddl"]
    url = "https://github.com/ddl-lang/ddl"

    tokens: ClassVar[dict[str, list]] = {  # type: ignore[type-arg]
        "common": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),
        ],
        "root": [
            include("common"),
            (r"(grammar)\b", Keyword, "grammar-head"),
            (r"(rule)(\s+)(" + _NAME + ")", bygroups(Keyword, Whitespace, Name.Function), "regex-rule"),
            # `Text(pattern R)` / `Text(max 5, pattern R)`: `pattern` is a keyword only there.
            (r"([(,])(\s*)(pattern)(\s+)(?=[^\s,)])", bygroups(Punctuation, Whitespace, Keyword, Whitespace),
             "pattern"),
            include("expression"),
        ],
        "expression": [
            (r'"', String.Double, "string"),
            (r"(family|fn|enum|type|table|param)(\s+)([A-Za-z_][A-Za-z0-9_]*)",
             bygroups(Keyword, Whitespace, Name.Function)),
            (r"(max)(\s+)(?=[0-9])", bygroups(Keyword, Whitespace)),
            (r"(because)(\s+)(?=\")", bygroups(Keyword, Whitespace)),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (r"-?[0-9]+\.[0-9]+", Number.Float),
            (r"-?[0-9]+", Number.Integer),
            (_TNAME, Name.Class),
            (_NAME + r"(?=\()", Name.Function),
            (_NAME, Name),
            (r"::|->|=>|==|!=|<=|>=|\?\?|\+\+|\.\.", Operator),
            (r"[-+*/%<>=|&~?]", Operator),
            (r"[{}()\[\],;:.]", Punctuation),
            (r".", Error),
        ],
        "string": [
            (r'\\u\{[0-9A-Fa-f]{1,6}\}', String.Escape),
            (r'\\[ntr\\"$0]', String.Escape),
            (r"\$\{", String.Interpol, "interpolation"),
            (r'[^"\\$\n]+', String.Double),
            (r"\$", String.Double),
            (r'"', String.Double, "#pop"),
            (r"\\.", Error),
            (r"\n", Error, "#pop"),
        ],
        "interpolation": [
            (r"\}", String.Interpol, "#pop"),
            (r"\{", Punctuation, "interpolation-braces"),
            include("common"),
            include("expression"),
        ],
        "interpolation-braces": [
            (r"\}", Punctuation, "#pop"),
            (r"\{", Punctuation, "#push"),
            include("common"),
            include("expression"),
        ],
        "plain-string": [  # grammars and patterns: escapes, no interpolation
            (r'\\u\{[0-9A-Fa-f]{1,6}\}', String.Escape),
            (r'\\[ntr\\"$0]', String.Escape),
            (r'[^"\\\n]+', String.Double),
            (r'"', String.Double, "#pop"),
            (r"\\.", Error),
            (r"\n", Error, "#pop"),
        ],
        # `grammar ignore_case normalize_space {`: options, then the block.
        "grammar-head": [
            include("common"),
            (r"\{", Punctuation, ("#pop", "grammar")),
            (_NAME, Name.Attribute),
            default("#pop"),
        ],
        "grammar": [
            (r"\}", Punctuation, "#pop"),
            (r"(rule)(\s+)(" + _NAME + ")", bygroups(Keyword, Whitespace, Name.Function)),
            (r"except\b", Keyword),
            (r";", Punctuation),
            (r"=", Operator),
            include("regex"),
            (r"\{", Punctuation, "settings"),  # constant settings: {tip_percent = 0}
        ],
        # A module-level `rule name(...) = regex;`.
        "regex-rule": [
            (r";", Punctuation, "#pop"),
            (r"\(", Punctuation, "regex-parens"),
            (r"=", Operator),
            include("regex"),
            (r"\{", Punctuation, "settings"),
        ],
        "settings": [
            (r"\}", Punctuation, "#pop"),
            include("common"),
            include("expression"),
        ],
        # `pattern R` inside `Text(...)`: ends at the `,` or `)` that ends the option.
        "pattern": [
            (r"[,)]", Punctuation, "#pop"),
            (r"\(", Punctuation, "regex-parens"),
            include("regex"),
        ],
        "regex-parens": [
            (r"\)", Punctuation, "#pop"),
            (r"\(", Punctuation, "#push"),
            (r"=", Operator),  # a named argument: sep = ", "
            include("regex"),
            (r"\{", Punctuation, "settings"),
        ],
        "regex": [
            include("common"),
            (r'"', String.Double, "plain-string"),
            (r"\[\^?(?:\\.|[^\]\\\n])+\]", String.Regex),  # a character class
            (r"\{[0-9]+(?:,[0-9]*)?\}", Number.Integer),  # a repetition bound
            (r"[0-9]+", Number.Integer),  # an integer argument: padded(minute, 2)
            (r"(" + _NAME + r"(?:::" + _NAME + r")?)(?=\()", Name.Function),
            (_NAME + r"::" + _NAME, Name.Function),
            (_NAME, Name.Variable),
            (r"[|&~?*+.]", Operator),
            (r",", Punctuation),
            (r"\(", Punctuation, "regex-parens"),
        ],
    }

    def analyse_text(text: str) -> float:  # type: ignore[misc]  # pygments calls it unbound
        return 0.3 if "family " in text and "program ->" in text else 0.0


__all__ = ["DDLLexer"]
