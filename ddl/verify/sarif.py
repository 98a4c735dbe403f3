"""`ddl check --format sarif`: the findings as a SARIF 2.1.0 log, for code-scanning tools.

One run; one rule per diagnostic code used (its short description from the catalogue, ddl/errors.py);
each rule carries ``shortDescription`` (the title), ``fullDescription``, ``help`` (text and markdown)
and ``helpUri``: the code's row of the error catalogue, spec/errors.md, whose rows carry the anchors
(``#ddl504``).  One result per diagnostic: every refuted or unknown obligation, every parse, type or
example error, and every note (an ``allow`` declaration, DDL612, is a ``note`` result whose
``suppressions`` hold its reason).  Results of obligations carry ``properties`` {kind, subject, verdict,
family}.  A file under the working directory (``%SRCROOT%``) is located by its relative path; any other
file by its absolute ``file:///`` URI (never ``..``); lines and columns are 1-based, columns count
Unicode code points and ``endColumn`` is exclusive, as in ddl's spans.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ddl.diagnostics import Diagnostic, Span
from ddl.errors import CATALOGUE, PROJECT_URL, help_url
from ddl.verify.report import Finding
from ddl.version import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = PROJECT_URL
_RANGES = {"1": "syntax", "2": "names, declarations and types", "3": "runtime failures", "4": "examples and checks",
           "5": "grammars", "6": "verifier obligations", "7": "the handler", "9": "input/output and internal errors"}
SRCROOT = "%SRCROOT%"

_LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def sarif_log(findings: Sequence[Finding], allow_unknown: bool = False,
              cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    root = Path(cwd) if cwd is not None else Path.cwd()
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in findings:
        diag = finding.effective(allow_unknown)
        if diag.code not in rule_index:
            rule_index[diag.code] = len(rules)
            rules.append(_rule(diag.code))
        results.append(_result(finding, diag, rule_index[diag.code], root))
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "ddl", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": rules}},
        "originalUriBaseIds": {SRCROOT: {"uri": root.resolve().as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"version": "2.1.0", "$schema": SCHEMA, "runs": [run]}


def _rule(code: str) -> dict[str, Any]:
    title = CATALOGUE.get(code, "diagnostic")
    kind = _RANGES.get(code[3:4], "diagnostics")
    uri = help_url(code)
    full = f"{code}: {title} ({code[3]}xx, {kind}). The error catalogue says when ddl reports it, with an example."
    return {"id": code, "name": _name(title),
            "shortDescription": {"text": title},
            "fullDescription": {"text": full},
            "help": {"text": f"{code}: {title}. See {uri} for when ddl reports it, an example and the test that "
                             "produces it.",
                     "markdown": f"**{code}**: {title}. See [{code} in the error catalogue]({uri}) for when ddl "
                                 "reports it, an example and the test that produces it."},
            "helpUri": uri}


def _name(title: str) -> str:
    """A rule's ``name``: its title in PascalCase (SARIF's convention for a rule's readable identifier)."""
    return "".join(word[:1].upper() + word[1:] for word in title.replace("-", " ").split() if word.isalnum())


def _result(finding: Finding, diag: Diagnostic, index: int, root: Path) -> dict[str, Any]:
    message = diag.message + (f" (hint: {diag.hint})" if diag.hint else "")
    result: dict[str, Any] = {
        "ruleId": diag.code,
        "ruleIndex": index,
        "level": _LEVEL.get(diag.severity, "error"),
        "message": {"text": message},
        "locations": [_location(diag.span, root)],
    }
    related = [_location(n.span, root, i, n.message) for i, n in enumerate(diag.notes) if n.span is not None]
    if related:
        result["relatedLocations"] = related
    if finding.suppression is not None:  # an `allow` declaration (DDL612): reported, and suppressed in source
        result["suppressions"] = [{"kind": "inSource", "justification": finding.suppression}]
    if finding.kind is not None:
        result["properties"] = {"kind": finding.kind, "subject": finding.subject, "verdict": finding.verdict,
                                "family": finding.family}
    return result


def _location(span: Span, root: Path, ident: int | None = None, message: str | None = None) -> dict[str, Any]:
    artifact: dict[str, Any]
    path = Path(span.path)
    if span.path.startswith("<"):
        artifact = {"uri": span.path}
    else:  # relative to %SRCROOT% when under it; any other file by its absolute file: URI (spec/checks.md)
        full = Path(os.path.abspath(root / path))
        try:
            artifact = {"uri": urllib.parse.quote(full.relative_to(os.path.abspath(root)).as_posix()),
                        "uriBaseId": SRCROOT}
        except ValueError:
            artifact = {"uri": full.as_uri()}
    region = {"startLine": max(1, span.line), "startColumn": max(1, span.col),
              "endLine": max(1, span.end_line, span.line), "endColumn": max(1, span.end_col)}
    if region["endLine"] == region["startLine"] and region["endColumn"] < region["startColumn"]:
        region["endColumn"] = region["startColumn"]
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact, "region": region}}
    if ident is not None:
        location["id"] = ident
    if message is not None:
        location["message"] = {"text": message}
    return location
