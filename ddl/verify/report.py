"""The result of checking one file: typed, cacheable, sent between processes and projected to JSON/SARIF.

A :class:`FileResult` holds, per family, the typed :class:`Obligation` list (a
:class:`FamilyResult`), every diagnostic of the file as a :class:`Finding` (the diagnostic plus,
when it comes from an obligation, the obligation's kind, subject and verdict, used by
``--allow-unknown`` and SARIF), and -- when the file was compiled in this process -- the checked
module and its sources, so that callers that go on to run the module never compile it again.
``to_json``/``from_json`` are the cache form; the ``ddl check --format json`` document is a
projection built by the facade (``ddl.api.CheckReport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ddl.diagnostics import Diagnostic, Note, SourceMap, Span
from ddl.verify.obligations import Allowance, Obligation

if TYPE_CHECKING:
    from ddl.types.checked import CheckedModule


@attrs.frozen
class Finding:
    diagnostic: Diagnostic
    kind: str | None = None  # set when the diagnostic reports an obligation that is not proved
    subject: str | None = None
    verdict: str | None = None
    family: str | None = None
    # the reason of an in-source suppression (an `allow` declaration, DDL612): SARIF's justification
    suppression: str | None = None

    def effective(self, allow_unknown: bool = False) -> Diagnostic:
        """The diagnostic as reported: with ``--allow-unknown`` an unknown obligation is a warning."""
        if allow_unknown and self.verdict == "unknown" and self.diagnostic.severity == "error":
            return attrs.evolve(self.diagnostic, severity="warning")
        return self.diagnostic

    def to_json(self) -> dict[str, Any]:
        return {"diagnostic": diagnostic_to_json(self.diagnostic), "kind": self.kind, "subject": self.subject,
                "verdict": self.verdict, "family": self.family, "suppression": self.suppression}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Finding:
        return Finding(diagnostic_from_json(data["diagnostic"]), _opt_str(data["kind"]), _opt_str(data["subject"]),
                       _opt_str(data["verdict"]), _opt_str(data["family"]), _opt_str(data.get("suppression")))


@attrs.frozen
class FamilyResult:
    """One family's obligations, in the order ``ddl check`` discharged them."""

    name: str
    obligations: tuple[Obligation, ...]

    @property
    def ok(self) -> bool:
        return all(o.verdict == "proved" for o in self.obligations)

    def report_json(self, *, timings: bool = True) -> dict[str, Any]:
        """The family in ``ddl check --format json`` (spec/checks.md); without ``timings``, no obligation
        has its measured ``seconds`` (``--no-timings``: the same input gives the same bytes)."""
        obligations = [o.to_json() for o in self.obligations]
        if not timings:
            for item in obligations:
                del item["seconds"]
        return {"name": self.name, "obligations": obligations}


@attrs.frozen(eq=False)
class FileResult:
    path: str  # as given on the command line (or found under a directory)
    families: tuple[FamilyResult, ...]
    findings: tuple[Finding, ...]
    digest: str | None = None  # sha256 of the bytes that were checked
    deps: tuple[str, ...] = ()  # resolved paths of every module loaded for it (imports, stdlib)
    cacheable: bool = True  # False after an internal error or an unknown verdict
    # The checked module compiled from exactly the bytes of ``digest`` (None when the file does not
    # compile, or when the result came from the cache or another process without it) and its sources.
    module: CheckedModule | None = attrs.field(default=None, repr=False)
    sources: SourceMap | None = attrs.field(default=None, repr=False)
    from_cache: bool = False  # the obligations were read from the result cache, not discharged now
    # ``deps`` → the digest of the bytes that were compiled for this result (None: missing), as read once
    # for it; the cache key and the registry's version hash are made of these, never of a later read.
    dep_digests: tuple[tuple[str, str | None], ...] = ()
    imports: str = ""  # where imports were confined to (``ImportScope.key``): part of the cache key
    # Instead of ``module``, from a cache read lazily: the module's sealed entry, verified and loaded on first
    # use (``ddl.verify.cache.PickledModule``; a registry opened for one query loads one module).
    pickled: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def ok(self) -> bool:
        """No error diagnostic (unknown obligations count as errors)."""
        return not any(f.effective().is_error for f in self.findings)

    def family(self, name: str) -> FamilyResult | None:
        return next((f for f in self.families if f.name == name), None)

    def without_module(self) -> FileResult:
        return attrs.evolve(self, module=None, sources=None, pickled=None)

    def to_json(self) -> dict[str, Any]:
        """The cache form: lossless (full spans, codes, notes and hints of the obligations)."""
        return {"path": self.path,
                "families": [{"name": f.name, "obligations": [obligation_to_json(o) for o in f.obligations]}
                             for f in self.families],
                "findings": [f.to_json() for f in self.findings], "digest": self.digest, "deps": list(self.deps)}

    @staticmethod
    def from_json(data: dict[str, Any], obligations: bool = True) -> FileResult:
        """The result :meth:`to_json` wrote; without ``obligations``, the families' obligations are left out
        (a registry needs the findings, not the proofs: most of the entry, and of the time to read it)."""
        families = data["families"]
        if not isinstance(families, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("obligations"), list)
                for f in families):
            raise ValueError("malformed families")
        typed = tuple(FamilyResult(f["name"], tuple(obligation_from_json(o) for o in f["obligations"])
                                   if obligations else ()) for f in families)
        deps = data["deps"]
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ValueError("malformed deps")
        return FileResult(str(data["path"]), typed, tuple(Finding.from_json(f) for f in data["findings"]),
                          _opt_str(data["digest"]), tuple(deps))


def obligation_to_json(o: Obligation) -> dict[str, Any]:
    return {"kind": o.kind, "subject": o.subject, "verdict": o.verdict, "evidence": o.evidence,
            "span": span_to_json(o.span), "seconds": o.seconds, "code": o.code,
            "notes": [_note_to_json(n) for n in o.notes], "hint": o.hint,
            "allowed": [{"text": a.text, "reason": a.reason, "span": span_to_json(a.span)} for a in o.allowed]}


def obligation_from_json(data: Any) -> Obligation:
    if not isinstance(data, dict) or data.get("verdict") not in ("proved", "refuted", "unknown"):
        raise ValueError("malformed obligation")
    seconds = data["seconds"]
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise ValueError("malformed seconds")
    return Obligation(str(data["kind"]), str(data["subject"]), data["verdict"], str(data["evidence"]),
                      span_from_json(data["span"]), float(seconds), _opt_str(data["code"]),
                      tuple(_note_from_json(n) for n in data["notes"]), _opt_str(data["hint"]),
                      tuple(_allowance_from_json(a) for a in data.get("allowed", [])))


def _allowance_from_json(data: Any) -> Allowance:
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not isinstance(data.get("reason"), str):
        raise ValueError("malformed allowance")
    return Allowance(data["text"], data["reason"], span_from_json(data["span"]))


def _note_to_json(n: Note) -> dict[str, Any]:
    return {"message": n.message, "span": span_to_json(n.span) if n.span else None}


def _note_from_json(n: Any) -> Note:
    return Note(str(n["message"]), span_from_json(n["span"]) if n["span"] is not None else None)


def span_to_json(span: Span) -> dict[str, Any]:
    return attrs.asdict(span)


def span_from_json(data: dict[str, Any]) -> Span:
    return Span(str(data["path"]), *(_int(data[k]) for k in ("start", "end", "line", "col", "end_line", "end_col")))


def diagnostic_to_json(d: Diagnostic) -> dict[str, Any]:
    return {
        "code": d.code, "message": d.message, "span": span_to_json(d.span), "severity": d.severity,
        "notes": [_note_to_json(n) for n in d.notes],
        "hint": d.hint,
    }


def diagnostic_from_json(data: dict[str, Any]) -> Diagnostic:
    severity = data["severity"]
    if severity not in ("error", "warning", "note"):
        raise ValueError(f"bad severity {severity!r}")
    notes = tuple(_note_from_json(n) for n in data["notes"])
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
