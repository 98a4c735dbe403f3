"""`ddl check --format sarif`: the findings as a SARIF 2.1.0 log, for code-scanning tools.

One run; one rule per diagnostic code used (its short description from the catalogue, ddl/errors.py);
one result per diagnostic: every refuted or unknown obligation, every parse, type or example
error, and every note (an ``allow`` declaration, DDL612, is a ``note`` result whose ``suppressions``
hold its reason).  Results of obligations carry ``properties`` {kind, subject, verdict, family}.  Locations use
the path as given (relative to the working directory, which is ``%SRCROOT%``); lines and columns are
1-based, columns count Unicode code points and ``endColumn`` is exclusive, as in ddl's spans.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ddl.diagnostics import Diagnostic, Span
from ddl.errors import CATALOGUE
from ddl.verify.report import Finding
from ddl.version import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The project has no published home yet; one place to change when it does.
INFORMATION_URI = "https://github.com/ddl-lang/ddl"
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
    text = CATALOGUE.get(code, "diagnostic")
    return {"id": code, "shortDescription": {"text": text}}


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
    elif path.is_absolute():
        try:
            artifact = {"uri": urllib.parse.quote(path.relative_to(root.resolve()).as_posix()), "uriBaseId": SRCROOT}
        except ValueError:
            artifact = {"uri": path.as_uri()}
    else:
        artifact = {"uri": urllib.parse.quote(path.as_posix()), "uriBaseId": SRCROOT}
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
