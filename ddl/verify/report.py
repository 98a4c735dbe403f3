"""The result of checking one file, in a form that can be cached, sent between processes and rendered.

A :class:`FileResult` holds the families' obligations (their stable JSON, spec/checks.md) and
every diagnostic of the file as a :class:`Finding`: the diagnostic plus, when it comes from an
obligation, the obligation's kind, subject and verdict (used by ``--allow-unknown`` and SARIF).
"""

from __future__ import annotations

from typing import Any

import attrs

from ddl.diagnostics import Diagnostic, Note, Span


@attrs.frozen
class Finding:
    diagnostic: Diagnostic
    kind: str | None = None  # set when the diagnostic reports an obligation that is not proved
    subject: str | None = None
    verdict: str | None = None
    family: str | None = None

    def effective(self, allow_unknown: bool = False) -> Diagnostic:
        """The diagnostic as reported: with ``--allow-unknown`` an unknown obligation is a warning."""
        if allow_unknown and self.verdict == "unknown" and self.diagnostic.severity == "error":
            return attrs.evolve(self.diagnostic, severity="warning")
        return self.diagnostic

    def to_json(self) -> dict[str, Any]:
        return {"diagnostic": diagnostic_to_json(self.diagnostic), "kind": self.kind, "subject": self.subject,
                "verdict": self.verdict, "family": self.family}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Finding:
        return Finding(diagnostic_from_json(data["diagnostic"]), _opt_str(data["kind"]), _opt_str(data["subject"]),
                       _opt_str(data["verdict"]), _opt_str(data["family"]))


@attrs.frozen(eq=True, hash=False)
class FileResult:
    path: str  # as given on the command line (or found under a directory)
    families: list[dict[str, Any]]  # [{"name", "obligations": [Obligation.to_json(), ...]}]
    findings: list[Finding]
    digest: str | None = None  # sha256 of the bytes that were checked
    deps: list[str] = attrs.Factory(list)  # resolved paths of every module loaded for it (imports, stdlib)
    cacheable: bool = True  # False after an internal error

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "families": self.families, "findings": [f.to_json() for f in self.findings],
                "digest": self.digest, "deps": self.deps}

    @staticmethod
    def from_json(data: dict[str, Any]) -> FileResult:
        families = data["families"]
        if not isinstance(families, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("obligations"), list)
                for f in families):
            raise ValueError("malformed families")
        for fam in families:
            for o in fam["obligations"]:
                if not isinstance(o, dict) or o.get("verdict") not in ("proved", "refuted", "unknown"):
                    raise ValueError("malformed obligation")
        deps = data["deps"]
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ValueError("malformed deps")
        return FileResult(str(data["path"]), families, [Finding.from_json(f) for f in data["findings"]],
                          _opt_str(data["digest"]), deps)


def span_to_json(span: Span) -> dict[str, Any]:
    return attrs.asdict(span)


def span_from_json(data: dict[str, Any]) -> Span:
    return Span(str(data["path"]), *(_int(data[k]) for k in ("start", "end", "line", "col", "end_line", "end_col")))


def diagnostic_to_json(d: Diagnostic) -> dict[str, Any]:
    return {
        "code": d.code, "message": d.message, "span": span_to_json(d.span), "severity": d.severity,
        "notes": [{"message": n.message, "span": span_to_json(n.span) if n.span else None} for n in d.notes],
        "hint": d.hint,
    }


def diagnostic_from_json(data: dict[str, Any]) -> Diagnostic:
    severity = data["severity"]
    if severity not in ("error", "warning", "note"):
        raise ValueError(f"bad severity {severity!r}")
    notes = tuple(Note(str(n["message"]), span_from_json(n["span"]) if n["span"] is not None else None)
                  for n in data["notes"])
    return Diagnostic(str(data["code"]), str(data["message"]), span_from_json(data["span"]), severity, notes,
                      _opt_str(data["hint"]))


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _opt_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value
