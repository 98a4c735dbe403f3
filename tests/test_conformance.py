"""Run the conformance cases of spec/tests (format: spec/README.md), one test per file.

Parse cases need only :func:`ddl.syntax.parse_source`.  Types and eval cases use the later
phases, imported inside the tests so that parse cases run on their own (when those phases
are missing, the types and eval cases fail; they never skip):

* ``ddl.api.compile_source(text, path) -> (CheckedModule | None, list[Diagnostic])``;
* ``ddl.api.check_examples(module) -> list[Diagnostic]`` (every family's examples);
* ``ddl.eval.validate_theta(family, evaluator, raw) -> (θ | None, problems)``;
* ``ddl.eval.Evaluator(module).run(family, θ) -> Ok(value) | Err(EvalFailure)``;
* ``ddl.api.check_source(data, path) -> FileResult`` (check cases: every family's obligations, the
  findings in the order ``ddl check`` reports them, and the checked module to replay a counterexample).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from ddl.errors import CATALOGUE
from ddl.syntax import ast as A
from ddl.syntax import parse_source

SPEC_TESTS = Path(__file__).resolve().parent.parent / "spec" / "tests"
PHASES = ("parse", "types", "eval", "grammar", "check")
OUTCOMES = ("success", "failure")
PLACEHOLDER = b"{{repeat}}"

_ERROR_RE = re.compile(r"^error:\s*(DDL\d{3})\s+line\s+(\d+)(?:\s+col\s+(\d+))?\s*$")
_RUN_ERROR_RE = re.compile(r"^error\s+(DDL\d{3})\s+line\s+(\d+)\s*$")
_NAMED_RE = re.compile(r"^(shape|type|grammar)\s+([A-Za-z_][A-Za-z0-9_]*):\s?(.*)$")
_REPEAT_RE = re.compile(r"^repeat\s+(\d+)\s+(\".*\")\s*$")
_NOTE_RE = re.compile(r"^note:\s*(DDL\d{3})\s+line\s+(\d+)\s*$")
_DIRECTIVE_WORDS = ("error", "shape", "type", "grammar", "run", "examples", "repeat", "utterance",
                    "refuted", "unknown", "also-refuted", "note")
# check cases: `# refuted: depends(genre)`, `# unknown: ensures(no dashes)`, `# also-refuted: safe`
_OBLIGATION_RE = re.compile(r"^(refuted|unknown|also-refuted):\s*(.*?)\s*$")
_TARGET_RE = re.compile(r"^(?P<kind>[a-z-]+)(?:\((?P<subject>[^()]*(?:\[[^\]]*\])?)\))?$")
# The obligation kinds of spec/checks.md.
OBLIGATION_KINDS = (
    "typed", "examples", "grammar-nonempty", "grammar-covers", "grammar-sound", "unambiguous",
    "budget", "safe", "depends", "no-leak", "reachable", "ensures",
)


@attrs.frozen
class Expected:
    """An expected diagnostic or failure: code, line and optionally column."""

    code: str
    line: int
    col: int | None = None


@attrs.frozen
class Target:
    """An obligation named in a check case: its kind and, optionally, its subject (None: any subject)."""

    kind: str
    subject: str | None = None

    def matches(self, kind: str | None, subject: str | None) -> bool:
        return kind == self.kind and (self.subject is None or subject == self.subject)

    def __str__(self) -> str:
        return self.kind if self.subject is None else f"{self.kind}({self.subject})"


def parse_target(text: str) -> Target:
    m = _TARGET_RE.match(text.strip())
    if m is None:
        raise ValueError(f"malformed obligation {text!r}: write kind or kind(subject)")
    if m["kind"] not in OBLIGATION_KINDS:
        raise ValueError(f"unknown obligation kind {m['kind']!r}")
    return Target(m["kind"], m["subject"])


@attrs.frozen
class Run:
    family: str
    theta: dict[str, Any]
    output: Any = None  # the expected JSON output (when neither error nor invalid)
    error: Expected | None = None  # a runtime failure
    invalid: bool = False  # θ is rejected by validation


@attrs.frozen
class Case:
    phase: str
    outcome: str
    path: Path
    error: Expected | None
    shapes: tuple[tuple[str, str], ...]
    grammars: tuple[tuple[str, str], ...]
    types: tuple[tuple[str, str], ...]
    runs: tuple[Run, ...]
    examples_error: Expected | None
    repeat: tuple[int, str] | None
    problems: tuple[str, ...]  # malformed header lines
    utterances: tuple[tuple[str, Any], ...] = ()  # (utterance, θ as JSON or None for "nomatch")
    refuted: Target | None = None  # check/failure: the obligation the defect must refute
    unknown: Target | None = None  # check/failure: ... or the obligation that must stay unknown
    also_refuted: tuple[Target, ...] = ()  # check/failure: natural consequences of the defect
    notes: tuple[Expected, ...] = ()  # check: the note diagnostics ddl check reports (DDL612), exactly

    @property
    def id(self) -> str:
        return f"{self.phase}/{self.outcome}/{self.path.stem}"

    def source(self) -> bytes:
        raw = self.path.read_bytes()
        if self.repeat is not None:
            count, text = self.repeat
            raw = raw.replace(PLACEHOLDER, text.encode("utf-8") * count, 1)
        return raw

    def text(self) -> str:
        return self.source().decode("utf-8")

    def expected_codes(self) -> list[str]:
        found = [e.code for e in (self.error, self.examples_error) if e is not None]
        found.extend(r.error.code for r in self.runs if r.error is not None)
        found.extend(n.code for n in self.notes)
        return found


def _header_lines(raw: bytes) -> Iterator[str]:
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            return
        yield line[1:].strip()


def _parse_run(body: str) -> Run:
    """``fam {θ} => output-json``, ``fam {θ} => error DDLnnn line L`` or ``fam {θ} => invalid``."""
    family, _, rest = body.partition(" ")
    rest = rest.lstrip()
    theta, end = json.JSONDecoder().raw_decode(rest)
    if not isinstance(theta, dict):
        raise ValueError("θ must be a JSON object")
    rest = rest[end:].lstrip()
    if not rest.startswith("=>"):
        raise ValueError("expected '=>' after θ")
    rest = rest[2:].strip()
    m = _RUN_ERROR_RE.match(rest)
    if m:
        return Run(family, theta, error=Expected(m.group(1), int(m.group(2))))
    if rest == "invalid":
        return Run(family, theta, invalid=True)
    return Run(family, theta, output=json.loads(rest))


def load_case(phase: str, outcome: str, path: Path) -> Case:
    error = examples_error = None
    shapes: list[tuple[str, str]] = []
    grammars: list[tuple[str, str]] = []
    types: list[tuple[str, str]] = []
    runs: list[Run] = []
    repeat = None
    problems: list[str] = []
    utterances: list[tuple[str, Any]] = []
    verdicts: dict[str, Target] = {}
    also_refuted: list[Target] = []
    notes: list[Expected] = []
    for line in _header_lines(path.read_bytes()):
        word = re.split(r"[\s:]", line, maxsplit=1)[0]
        if word not in _DIRECTIVE_WORDS:
            continue  # a free description
        try:
            if word == "error":
                m = _ERROR_RE.match(line)
                if not m:
                    raise ValueError("expected 'error: DDLnnn line L [col C]'")
                if error is not None:
                    raise ValueError("more than one error expectation")
                error = Expected(m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None)
            elif word == "note":
                m = _NOTE_RE.match(line)
                if not m:
                    raise ValueError("expected 'note: DDLnnn line L'")
                notes.append(Expected(m.group(1), int(m.group(2))))
            elif word == "run":
                runs.append(_parse_run(line[len("run"):].strip()))
            elif word == "utterance":
                body = line[len("utterance"):].strip()
                text, end = json.JSONDecoder().raw_decode(body)
                rest = body[end:].strip()
                if not isinstance(text, str) or not rest.startswith("=>"):
                    raise ValueError('expected \'utterance "text" => {θ} | nomatch\'')
                rest = rest[2:].strip()
                utterances.append((text, None if rest == "nomatch" else json.loads(rest)))
            elif word == "examples":
                m = _RUN_ERROR_RE.match(line[len("examples"):].strip().removeprefix("=>").strip())
                if not m:
                    raise ValueError("expected 'examples => error DDLnnn line L'")
                examples_error = Expected(m.group(1), int(m.group(2)))
            elif word in ("refuted", "unknown", "also-refuted"):
                m = _OBLIGATION_RE.match(line)
                if not m:
                    raise ValueError(f"expected '{word}: kind' or '{word}: kind(subject)'")
                target = parse_target(m.group(2))
                if word == "also-refuted":
                    also_refuted.append(target)
                elif verdicts:
                    raise ValueError("more than one 'refuted:' or 'unknown:' expectation")
                else:
                    verdicts[word] = target
            elif word == "repeat":
                m = _REPEAT_RE.match(line)
                if not m:
                    raise ValueError("expected 'repeat N \"json text\"'")
                repeat = (int(m.group(1)), json.loads(m.group(2)))
            else:
                m = _NAMED_RE.match(line)
                if not m:
                    raise ValueError(f"expected '{word} name: ...'")
                {"shape": shapes, "grammar": grammars, "type": types}[m.group(1)].append(
                    (m.group(2), m.group(3).strip())
                )
        except ValueError as err:
            problems.append(f"{line!r}: {err}")
    return Case(
        phase, outcome, path, error, tuple(shapes), tuple(grammars), tuple(types), tuple(runs),
        examples_error, repeat, tuple(problems), tuple(utterances),
        verdicts.get("refuted"), verdicts.get("unknown"), tuple(also_refuted), tuple(notes),
    )


def collect_cases() -> list[Case]:
    cases = []
    for phase in PHASES:
        for outcome in OUTCOMES:
            for path in sorted((SPEC_TESTS / phase / outcome).glob("*.ddl")):
                cases.append(load_case(phase, outcome, path))
    return cases


CASES = collect_cases()


def _params(phase: str) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in CASES if c.phase == phase]


# ---------------------------------------------------------------------------- case hygiene


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_case_is_well_formed(case: Case) -> None:
    assert not case.problems, f"malformed header lines: {case.problems}"
    if case.outcome == "failure":
        if case.phase == "eval":
            assert case.examples_error or any(r.error or r.invalid for r in case.runs), "no failure expectation"
            assert case.error is None, "eval cases use '# run ... => error' or '# examples => error'"
        else:
            assert case.error is not None, "a failure case needs exactly one '# error:' line"
    else:
        assert case.error is None and case.examples_error is None, "a success case expects no error"
        assert not any(r.error or r.invalid for r in case.runs), "a success case expects no failing run"
    if case.phase != "parse":
        assert not case.shapes and not case.grammars, "shape/grammar expectations belong to parse cases"
    if case.phase != "types":
        assert not case.types, "type expectations belong to types cases"
    if case.phase != "check":
        assert not case.notes, "note expectations belong to check cases"
    if case.phase != "eval":
        assert not case.runs and case.examples_error is None, "run expectations belong to eval cases"
    if case.phase != "grammar":
        assert not case.utterances, "utterance expectations belong to grammar cases"
    if case.phase != "check" or case.outcome == "success":
        assert case.refuted is None and case.unknown is None and not case.also_refuted, (
            "refuted/unknown/also-refuted expectations belong to check/failure cases"
        )
    elif case.outcome == "failure":
        assert (case.refuted is None) != (case.unknown is None), (
            "a check/failure case needs exactly one '# refuted:' or '# unknown:' line"
        )
    if case.repeat is not None:
        assert PLACEHOLDER in case.path.read_bytes(), "a '# repeat' case needs the {{repeat}} placeholder"
    for code in case.expected_codes():
        assert code in CATALOGUE, f"{code} is not in ddl/errors.py CATALOGUE"


def test_every_folder_has_cases() -> None:
    for phase in PHASES:
        for outcome in OUTCOMES:
            assert any(c.phase == phase and c.outcome == outcome for c in CASES), f"{phase}/{outcome} is empty"


# ---------------------------------------------------------------------------- parse


@pytest.mark.parametrize("case", _params("parse"))
def test_parse(case: Case) -> None:
    module, diagnostics = parse_source(case.source(), str(case.path))
    if case.outcome == "failure":
        assert module is None
        assert diagnostics, "expected a syntax error, the file parsed"
        _assert_diagnostic(diagnostics[0], case.error)
        return
    assert diagnostics == [], "\n".join(d.render() for d in diagnostics)
    assert module is not None
    for fn_name, expected in case.shapes:
        assert render_expr(_find_fn(module, fn_name).body) == expected
    for family_name, expected in case.grammars:
        grammar = _find_grammar(module, family_name)
        assert render_regex(grammar.body) == expected


def _assert_diagnostic(diag: Any, expected: Expected | None) -> None:
    assert expected is not None
    got = (diag.code, diag.span.line) + ((diag.span.col,) if expected.col is not None else ())
    want = (expected.code, expected.line) + ((expected.col,) if expected.col is not None else ())
    assert got == want, f"first diagnostic: {diag.render()}"


def _find_fn(module: A.Module, name: str) -> A.FnDecl:
    found = [i for i in module.items if isinstance(i, A.FnDecl) and i.name == name]
    for fam in module.families:
        found += [i for i in fam.items if isinstance(i, A.FnDecl) and i.name == name]
    assert len(found) == 1, f"expected exactly one function {name!r}"
    return found[0]


def _find_grammar(module: A.Module, family: str) -> A.GrammarDecl:
    fams = [f for f in module.families if f.name == family]
    assert len(fams) == 1, f"expected exactly one family {family!r}"
    grammars = fams[0].of_kind(A.GrammarDecl)
    assert len(grammars) == 1, f"family {family!r} has no grammar"
    return grammars[0]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- types


@pytest.mark.parametrize("case", _params("types"))
def test_types(case: Case) -> None:
    from ddl.api import compile_source

    checked, diagnostics = compile_source(case.text(), str(case.path))
    errors = [d for d in diagnostics if d.is_error]
    if case.outcome == "failure":
        assert errors, "expected an error, the module checked"
        _assert_diagnostic(errors[0], case.error)
        return
    assert not errors, "\n".join(d.render() for d in errors)
    assert checked is not None
    for fn_name, expected in case.types:
        assert str(_body_type(checked, fn_name)) == expected, f"type of {fn_name}'s body"


def _body_type(checked: Any, fn_name: str) -> Any:
    from ddl.types import ir

    fns = [f for f in checked.functions.values() if f.name == fn_name]
    assert len(fns) == 1, f"expected exactly one function {fn_name!r}"
    body = fns[0].body
    while isinstance(body, (ir.Narrow, ir.Widen)):
        body = body.inner
    return body.type


# ---------------------------------------------------------------------------- eval


@pytest.mark.parametrize("case", _params("eval"))
def test_eval(case: Case) -> None:
    from ddl.api import check_examples, compile_source
    from ddl.eval import Err, Evaluator, validate_theta
    from ddl.values import to_json

    checked, diagnostics = compile_source(case.text(), str(case.path))
    errors = [d for d in diagnostics if d.is_error]
    assert not errors, "\n".join(d.render() for d in errors)
    assert checked is not None
    evaluator = Evaluator(checked)
    for run in case.runs:
        label = f"run {run.family} {json.dumps(run.theta, ensure_ascii=False)}"
        assert run.family in checked.families, f"{label}: no such family"
        theta, problems = validate_theta(checked.families[run.family], evaluator, run.theta)
        if run.invalid:
            assert theta is None, f"{label}: expected θ to be rejected, it was accepted"
            continue
        assert theta is not None, f"{label}: θ rejected: {problems}"
        outcome = evaluator.run(run.family, theta)
        if run.error is not None:
            assert isinstance(outcome, Err), f"{label}: expected {run.error.code}, got {outcome!r}"
            failure = outcome.failure
            assert (failure.code, failure.span.line) == (run.error.code, run.error.line), (
                f"{label}: {failure.to_diagnostic().render()}"
            )
        else:
            assert not isinstance(outcome, Err), f"{label}: {outcome.failure.to_diagnostic().render()}"
            assert to_json(outcome.value) == run.output, label
    example_diagnostics = [d for d in check_examples(checked) if d.is_error]
    if case.examples_error is not None:
        assert example_diagnostics, "expected an example to fail"
        _assert_diagnostic(example_diagnostics[0], case.examples_error)
    else:
        assert not example_diagnostics, "\n".join(d.render() for d in example_diagnostics)


# ---------------------------------------------------------------------------- grammar


@pytest.mark.parametrize("case", _params("grammar"))
def test_grammar(case: Case) -> None:
    from ddl.api import compile_source
    from ddl.eval import Evaluator, validate_theta
    from ddl.grammar.compile import CompiledGrammar
    from ddl.values import to_json
    from ddl.verify.family import check_family

    checked, diagnostics = compile_source(case.text(), str(case.path))
    errors = [d for d in diagnostics if d.is_error]
    if case.outcome == "failure" and errors:
        _assert_diagnostic(errors[0], case.error)
        return
    assert not errors, "\n".join(d.render() for d in errors)
    assert checked is not None
    evaluator = Evaluator(checked)
    failed = []
    for fam in checked.families.values():
        for o in check_family(checked, fam, evaluator):
            diag = o.diagnostic(fam.name)
            if diag is not None:
                failed.append(diag)
    if case.outcome == "failure":
        assert failed, "expected a grammar obligation to fail"
        _assert_diagnostic(failed[0], case.error)
        return
    assert not failed, "\n".join(d.render() for d in failed)
    (fam,) = checked.families.values()
    grammar = CompiledGrammar(fam, evaluator)
    for utterance, expected in case.utterances:
        result = grammar.match(utterance)
        if expected is None:
            assert not result.ok, f"{utterance!r} should not match"
            continue
        assert result.ok, f"{utterance!r}: {result.error}"
        theta, problems = validate_theta(fam, evaluator, result.values or {}, values=True)
        assert theta is not None, problems
        assert {k: to_json(v) for k, v in theta.items()} == expected, utterance


# ---------------------------------------------------------------------------- check

# A counterexample's θ in its evidence: "with { room = single, nights = 1 }: division by zero".
_THETA_RE = re.compile(r"with \{ (.*?) \}")
_BINDING_RE = re.compile(r'([a-z][A-Za-z0-9_]*) = ("(?:[^"\\]|\\.)*"|[^,]+)(?:, |$)')


def _describe(obligations: Any) -> str:
    return "\n".join(f"  {o.kind}({o.subject}): {o.verdict}: {o.evidence}" for o in obligations)


@pytest.mark.parametrize("case", _params("check"))
def test_check(case: Case) -> None:
    from ddl.api import check_source

    result = check_source(case.source(), str(case.path))
    rendered = "\n".join(f.diagnostic.render() for f in result.findings)
    assert not any(f.diagnostic.code[:4] in ("DDL1", "DDL2") for f in result.findings), rendered
    assert result.module is not None, rendered
    assert len(result.families) == 1, "a check case holds exactly one family"
    (family,) = result.families
    obligations = family.obligations
    errors = [f for f in result.findings if f.diagnostic.is_error]
    notes = [(f.diagnostic.code, f.diagnostic.span.line) for f in result.findings if f.diagnostic.severity == "note"]
    assert notes == [(n.code, n.line) for n in case.notes], f"notes: {notes}; the case expects {list(case.notes)}"
    if case.outcome == "success":
        not_proved = [o for o in obligations if o.verdict != "proved"]
        assert not not_proved, _describe(not_proved)
        assert not errors and result.ok, rendered
        params = {p.name for p in result.module.families[family.name].params}
        proved_depends = {o.subject for o in obligations if o.kind == "depends"}
        assert params <= proved_depends, f"no depends obligation for {sorted(params - proved_depends)}"
        return
    target = case.refuted or case.unknown
    assert target is not None
    verdict = "refuted" if case.refuted is not None else "unknown"
    hits = [o for o in obligations if o.verdict == verdict and target.matches(o.kind, o.subject)]
    assert hits, f"{target} is not {verdict}:\n{_describe(obligations)}"
    assert all(o.evidence.strip() for o in hits), _describe(hits)
    unknown = [o for o in obligations if o.verdict == "unknown" and not (verdict == "unknown" and o in hits)]
    assert not unknown, _describe(unknown)
    allowed = [t for t in (case.refuted, *case.also_refuted) if t is not None]
    stray = [o for o in obligations if o.verdict == "refuted" and not any(t.matches(o.kind, o.subject) for t in allowed)]
    assert not stray, f"refuted besides {', '.join(map(str, allowed)) or 'nothing'}:\n{_describe(stray)}"
    assert errors and not result.ok, "expected an error, the check passed"
    first = errors[0]
    _assert_diagnostic(first.diagnostic, case.error)
    assert first.verdict == verdict and target.matches(first.kind, first.subject), (
        f"the first error is not the {verdict} {target}: {first.diagnostic.render()}"
    )
    if verdict == "refuted" and target.kind in ("safe", "budget"):
        for o in hits:
            _replay_failure(result, family.name, o)


def _replay_failure(result: Any, family_name: str, obligation: Any) -> None:
    """A safe (or budget) counterexample is real: running the family on its θ (DDL syntax, as `ddl run --param`
    reads it) fails with a run-time error (DDL3xx) at the refuted operation."""
    from ddl.api import Program, parse_params
    from ddl.eval import Err, validate_theta

    m = _THETA_RE.search(obligation.evidence)
    assert m is not None, f"no θ in the evidence: {obligation.evidence}"
    items = [name + "=" + (json.loads(value) if value.startswith('"') else value)
             for name, value in _BINDING_RE.findall(m.group(1))]
    program = Program(result.module, result.sources)
    family = program.family(family_name).checked
    given, problems = parse_params(family, items)
    assert not problems, (items, problems)
    theta, problems = validate_theta(family, program.evaluator, given, values=True)
    assert theta is not None, (items, problems)
    outcome = program.compiled(family_name)(theta)
    assert isinstance(outcome, Err), f"{items}: the run succeeded: {outcome!r}"
    failure = outcome.failure
    assert re.fullmatch(r"DDL3\d\d", failure.code), f"{items}: {failure.to_diagnostic().render()}"
    assert (failure.span.line, failure.span.col) == (obligation.span.line, obligation.span.col), (
        f"{items}: fails elsewhere: {failure.to_diagnostic().render()}"
    )


def _check_cases(outcome: str) -> list[Case]:
    return [c for c in CASES if c.phase == "check" and c.outcome == outcome]


def test_check_suite_sizes() -> None:
    """The verifier's proof of power: many realistic families, correct and defective."""
    assert len(_check_cases("success")) >= 20
    assert len(_check_cases("failure")) >= 20


def test_check_failures_cover_every_obligation_kind() -> None:
    kinds = {c.refuted.kind for c in _check_cases("failure") if c.refuted is not None}
    for kind in ("budget", "safe", "depends", "no-leak", "reachable", "ensures", "grammar-nonempty", "grammar-covers",
                 "grammar-sound", "unambiguous", "examples"):
        assert kind in kinds, f"no check/failure case refutes {kind}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in _check_cases("success")])
def test_check_success_is_realistic(case: Case) -> None:
    """Proved families are worth proving: a grammar, postconditions, at least two spoken examples."""
    source = case.text()
    assert re.search(r"^  grammar\b", source, re.MULTILINE), "no grammar"
    assert re.search(r"^  ensures\b", source, re.MULTILINE), "no ensures"
    assert len(re.findall(r'^  example "', source, re.MULTILINE)) >= 2, "fewer than two examples with utterances"


@pytest.mark.parametrize("case", _params("check"))
def test_check_case_is_formatted(case: Case) -> None:
    from ddl.syntax.fmt import format_source

    text, diagnostics = format_source(case.source(), str(case.path))
    assert text is not None, diagnostics
    assert text == case.text(), f"not formatted: run `ddl fmt --write {case.path}`"


def test_check_directives(tmp_path: Path) -> None:
    src = tmp_path / "f.ddl"
    src.write_text("# error: DDL400 line 6\n# refuted: examples(example[2])\n# also-refuted: safe\n"
                   "# also-refuted: no-leak(genre)\n# A description.\nfamily f {}\n# refuted: depends(x)\n")
    case = load_case("check", "failure", src)
    assert not case.problems and case.error == Expected("DDL400", 6)
    assert case.refuted == Target("examples", "example[2]") and case.unknown is None
    assert case.also_refuted == (Target("safe"), Target("no-leak", "genre"))
    assert case.refuted.matches("examples", "example[2]") and not case.refuted.matches("examples", "utterance[2]")
    assert case.also_refuted[0].matches("safe", "division at 3:4")
    src.write_text("# error: DDL606 line 3\n# unknown: ensures(no dashes)\nfamily f {}\n")
    case = load_case("check", "failure", src)
    assert case.unknown == Target("ensures", "no dashes") and case.refuted is None
    src.write_text("# refuted: sound\n# refuted: safe\n# unknown: safe\n# refuted: safe(\nfamily f {}\n")
    problems = load_case("check", "failure", src).problems
    assert len(problems) == 3 and "unknown obligation kind 'sound'" in problems[0], problems
    assert "more than one" in problems[1] and "malformed obligation" in problems[2]


# ---------------------------------------------------------------------------- rendering


def render_type(t: A.TypeExpr) -> str:
    if isinstance(t, A.IntType):
        return "Int" if t.lo is None else f"Int in {t.lo}..{t.hi}"
    if isinstance(t, A.DecimalType):
        return f"Decimal({t.scale})" + ("" if t.lo is None else f" in {t.lo}..{t.hi}")
    if isinstance(t, A.TextType):
        opts = ([f"max {t.max_len}"] if t.max_len is not None else []) + (
            [f"pattern {render_regex(t.pattern)}"] if t.pattern is not None else []
        )
        return "Text" + (f"({', '.join(opts)})" if opts else "")
    if isinstance(t, A.ListType):
        return f"List[{render_type(t.elem)}" + (f", max {t.max_len}]" if t.max_len is not None else "]")
    if isinstance(t, A.MapType):
        inner = f"{render_type(t.key)}, {render_type(t.value)}"
        return f"Map[{inner}" + (f", max {t.max_len}]" if t.max_len is not None else "]")
    if isinstance(t, A.OptionType):
        return f"Option[{render_type(t.inner)}]"
    return f"{t.module}::{t.name}" if t.module else t.name


def _text(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def render_pattern(p: A.Pattern) -> str:
    if isinstance(p, A.PWild):
        return "_"
    if isinstance(p, A.PInt):
        return str(p.value)
    if isinstance(p, A.PText):
        return _text(p.value)
    if isinstance(p, A.PBool):
        return "true" if p.value else "false"
    if isinstance(p, A.PNone):
        return "none"
    if isinstance(p, A.PSome):
        return f"some({p.binder})"
    return f"{p.enum}::{p.name}" if p.enum else p.name


def render_expr(e: Any) -> str:
    r = render_expr
    if isinstance(e, A.IntLit | A.DecLit):
        return str(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.NoneLit):
        return "none"
    if isinstance(e, A.TextLit):
        if e.plain is not None:
            return _text(e.plain)
        return "interp(" + ", ".join(_text(p) if isinstance(p, str) else r(p) for p in e.parts) + ")"
    if isinstance(e, A.Name):
        return e.text
    if isinstance(e, A.Binary):
        return f"({r(e.left)} {e.op} {r(e.right)})"
    if isinstance(e, A.Unary):
        return f"(not {r(e.operand)})" if e.op == "not" else f"(-{r(e.operand)})"
    if isinstance(e, A.Field):
        return f"{r(e.obj)}.{e.name}"
    if isinstance(e, A.Index):
        return f"{r(e.obj)}[{r(e.index)}]"
    if isinstance(e, A.Call):
        return f"{r(e.func)}(" + ", ".join(r(a) for a in e.args) + ")"
    if isinstance(e, A.Let):
        ann = f": {render_type(e.annotation)}" if e.annotation is not None else ""
        return f"(let {e.name}{ann} = {r(e.value)}; {r(e.body)})"
    if isinstance(e, A.If):
        return f"(if {r(e.cond)} then {r(e.then)} else {r(e.else_)})"
    if isinstance(e, A.Lambda):
        return f"(|{', '.join(e.params)}| {r(e.body)})"
    if isinstance(e, A.ListLit):
        return "[" + ", ".join(r(i) for i in e.items) + "]"
    if isinstance(e, A.ListComp):
        src = f"{r(e.source.lo)}..{r(e.source.hi)}" if isinstance(e.source, A.RangeSource) else r(e.source)
        cond = f" if {r(e.cond)}" if e.cond is not None else ""
        return f"[{r(e.elem)} for {e.var} in {src}{cond}]"
    if isinstance(e, A.MapLit):
        if not e.entries:
            return "{:}"
        return "{" + ", ".join(f"{r(k)}: {r(v)}" for k, v in e.entries) + "}"
    if isinstance(e, A.RecordLit):
        name = render_type(e.type)
        if not e.fields:
            return f"{name} {{}}"
        return f"{name} {{ " + ", ".join(f"{f.name} = {r(f.value)}" for f in e.fields) + " }"
    if isinstance(e, A.Match):
        arms = ", ".join(f"{render_pattern(a.pattern)} => {r(a.body)}" for a in e.arms)
        return f"match {r(e.scrutinee)} {{ {arms} }}"
    raise AssertionError(f"cannot render {e!r}")


_CLASS_ESCAPES = {"\\": "\\\\", "]": "\\]", "[": "\\[", "-": "\\-", "^": "\\^"}


def _class_char(cp: int) -> str:
    ch = chr(cp)
    if ch in _CLASS_ESCAPES:
        return _CLASS_ESCAPES[ch]
    if cp < 0x20 or cp == 0x7F:
        return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\u{{{cp:x}}}")
    return ch


def render_regex(rx: Any) -> str:
    if isinstance(rx, A.RLit):
        return _text(rx.text)
    if isinstance(rx, A.RAny):
        return "."
    if isinstance(rx, A.RRef):
        return rx.name
    if isinstance(rx, A.RClass):
        body = "".join(
            _class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}" for lo, hi in rx.ranges
        )
        return "[" + ("^" if rx.negated else "") + body + "]"
    if isinstance(rx, A.RSeq):
        return "(" + " ".join(render_regex(i) for i in rx.items) + ")"
    if isinstance(rx, A.RAlt):
        return "(" + " | ".join(render_regex(i) for i in rx.items) + ")"
    if isinstance(rx, A.RAnd):
        return "(" + " & ".join(render_regex(i) for i in rx.items) + ")"
    if isinstance(rx, A.RNot):
        return f"(~{render_regex(rx.item)})"
    if isinstance(rx, A.RRepeat):
        hi = "" if rx.hi is None else str(rx.hi)
        return f"{render_regex(rx.item)}{{{rx.lo},{hi}}}"
    raise AssertionError(f"cannot render {rx!r}")
