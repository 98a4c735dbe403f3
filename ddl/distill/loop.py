"""The distillation loop: prompt a model for a family, check it, send the problems back, repeat.

One ``llm`` conversation per run, so the model sees its earlier attempts and the diagnostics
they drew.  A candidate *passes* when

1. ``ddl check`` reports no error for it (unknown obligations count as errors), checked as a
   module a model wrote: it may import stdlib modules only (DDL227; a file it names is never
   opened, so nothing of it can reach the repair prompt or the transcript),
2. some family of the module accepts the teaching utterance with its grammar, and that
   family's teaching values (``teach``, else its first example's θ) are the ones the utterance
   sets, so that the no-leak and specialization checks look at the right values, and
3. with a ``registry``: none of its families shares an utterance with a served family (unless a
   different ``priority`` orders them) or takes a served family's name,
4. every family of the module passes the admission rules for what a model wrote
   (:mod:`ddl.distill.admission`: no priority above the cap, DDL709; no grammar that accepts almost
   anything, DDL710), and
5. when ``phrasings`` N > 0 were asked for: that family lists at least N distinct phrasings of
   the request other than the teaching utterance as examples with an utterance (the prompt asks
   for ``example "u" => { θ }``); that the grammar parses each to its θ is ``ddl check``'s
   ``utterance[i]`` obligation (DDL504/DDL505), so its diagnostics reach the repair round.

Only a passing module is written (atomically, to ``out``); nothing the model writes is ever run
except as checked DDL.  Every round is appended to a transcript JSON file, rewritten after each
round, so that a crash still leaves the audit trail.  Model failures (unknown model, missing key,
an exception in a plugin) end the run with ``result.error``; they are never raised.  There is no
timeout of our own: the model plugin's own timeout applies (``llm`` does not impose one).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import attrs

from ddl.api import ImportScope, check_source
from ddl.diagnostics import Diagnostic, SourceMap, Span
from ddl.distill.admission import admission_problems, priority_cap
from ddl.distill.extract import extract_ddl
from ddl.distill.prompt import repair_prompt, system_prompt, task_prompt
from ddl.eval import Evaluator, validate_theta
from ddl.eval.ops import values_equal
from ddl.eval.result import Ok
from ddl.files import make_private_dir, write_atomic
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.router import OverlapSearchTooLarge, RoutedFamily, Router
from ddl.model import describe_model_error, lookup_model, token_count
from ddl.syntax import ast as A
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.values import show_value


class ServedFamily(Protocol):
    """A family the candidate must not clash with (the handler's ``ServedFamily`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def checked(self) -> CheckedFamily: ...
    @property
    def evaluator(self) -> Any: ...


class Registry(Protocol):
    """What the gate needs of a registry (the handler's ``Registry`` is one): its served families and
    the router over them, whose compiled grammars are reused.  A protocol, so distill, a floor below the
    handler, does not import it."""

    @property
    def served(self) -> Sequence[ServedFamily]: ...
    @property
    def router(self) -> Router: ...

DEFAULT_ROUNDS = 3
DEFAULT_PHRASINGS = 20  # `ddl distill --phrasings N`; the Python function asks for none unless told
DEFAULT_LOG_DIR = Path(".ddl-distill")
CHECK_PATH = "<distilled>.ddl"  # the path candidates are checked under when no output file is given
NO_DDL = ("the reply has no DDL block: answer with the whole module in one fenced ```ddl block "
          "(a `family NAME { ... }` with its params, grammar, program, teach and examples)")


@attrs.frozen
class Round:
    """One model call: what was asked, what came back, and what the checker said about it."""

    index: int  # 1 for the first prompt, 2.. for repair rounds
    prompt: str
    reply: str
    extracted: str | None
    diagnostics: list[str]
    passed: bool
    tokens_in: int | None
    tokens_out: int | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class DistillResult:
    ok: bool
    utterance: str
    source: str | None  # the last candidate module the model produced
    family: str | None  # the family that accepts the utterance (of the last candidate)
    path: Path | None  # where the module was written (only when ok and ``out`` was given)
    transcript: Path
    rounds: list[Round]
    diagnostics: list[str]  # rendered, of the last round
    error: dict[str, str] | None  # {"code", "message"} when the model could not be used
    tokens_in: int
    tokens_out: int
    model: str | None = None
    notes: list[str] = attrs.Factory(list)  # e.g. a temperature the model does not support


@attrs.frozen
class Verdict:
    """What the gate said about one candidate module."""

    passed: bool
    diagnostics: list[str]
    family: str | None


# ---------------------------------------------------------------------------- the gate


def _diag(code: str, message: str, span: Any, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, hint=hint)


def _teaching_values(family: CheckedFamily, evaluator: Any) -> dict[str, Any]:
    """The values ``ddl check`` treats as taught: ``teach`` bindings over the first example's θ."""
    values: dict[str, Any] = {}
    if family.examples:
        raw: dict[str, Any] = {}
        for name, node in family.examples[0].bindings:
            out = evaluator.eval_closed(node)
            if isinstance(out, Ok):
                raw[name] = out.value
        theta, _ = validate_theta(family, evaluator, raw, values=True)
        values.update(theta or raw)
    for name, node in family.teach:
        out = evaluator.eval_closed(node)
        if isinstance(out, Ok):
            values[name] = out.value
    return values


def _teach_span(family: CheckedFamily, name: str) -> Any:
    for decl in family.decl.of_kind(A.TeachDecl):
        for binding in decl.bindings:
            if binding.name == name:
                return binding.span
    param = next((p for p in family.decl.items if isinstance(p, A.ParamDecl) and p.name == name), None)
    return param.span if param is not None else family.decl.name_span


def _acceptance(checked: CheckedModule, evaluator: Any, utterance: str) -> tuple[str | None, list[Diagnostic]]:
    """The family whose grammar accepts ``utterance`` (θ in Θ, teaching values agreeing), or why none does."""
    problems: list[Diagnostic] = []
    with_grammar = [f for f in checked.families.values() if f.grammar is not None]
    for family in with_grammar:
        assert family.grammar is not None
        try:
            match = CompiledGrammar(family, evaluator).match(utterance)
        except Exception:  # a grammar the checker already rejects: its own diagnostics say why
            continue
        if not match.ok:
            problems.append(_diag("DDL509", f"{family.name}: the grammar does not accept the teaching utterance "
                                  f"{utterance!r}: {match.error}", family.grammar.span,
                                  hint="the family must accept the teaching utterance exactly as the user wrote it"))
            continue
        theta, why = validate_theta(family, evaluator, match.values or {}, values=True)
        if theta is None:
            problems.append(_diag("DDL509", f"{family.name}: the teaching utterance {utterance!r} yields a θ outside "
                                  f"Θ: {'; '.join(why)}", family.grammar.span))
            continue
        taught = _teaching_values(family, evaluator)
        wrong: list[Diagnostic] = []
        for name in match.captured:
            value = theta[name]
            if name not in taught:
                wrong.append(_diag("DDL708", f"{family.name}: the teaching utterance sets {name} = "
                                   f"{show_value(value)} but the family declares no teaching value for it",
                                   _teach_span(family, name), hint=f"add `teach {name} = {show_value(value)}`"))
            elif not values_equal(taught[name], value):
                wrong.append(_diag("DDL708", f"{family.name}: the teaching value of {name} is "
                                   f"{show_value(taught[name])}, but the teaching utterance sets {name} = "
                                   f"{show_value(value)}", _teach_span(family, name),
                                   hint=f"write `teach {name} = {show_value(value)}`"))
        if not wrong:
            return family.name, []
        problems.extend(wrong)
    if not with_grammar:
        problems.append(_diag("DDL509", f"no family of the module has a grammar, so none accepts {utterance!r}",
                              next(iter(checked.families.values())).decl.name_span if checked.families
                              else _point(), hint="add a `grammar` block to the family"))
    return None, problems


def _point() -> Any:
    return Span.point(CHECK_PATH)


def _normal(utterance: str) -> str:
    return " ".join(utterance.split()).casefold()


def _phrasings(checked: CheckedModule, family_name: str, utterance: str, wanted: int) -> list[Diagnostic]:
    """Too few distinct phrasings (examples with an utterance other than the teaching one) in the family."""
    family = checked.families[family_name]
    seen = {_normal(utterance)}
    found = 0
    for ex in family.examples:
        if ex.utterance is not None and _normal(ex.utterance) not in seen:
            seen.add(_normal(ex.utterance))
            found += 1
    if found >= wanted:
        return []
    return [_diag("DDL509", f"{family_name}: the family lists {found} phrasing{'s' if found != 1 else ''} of the "
                  f"request besides the teaching utterance; {wanted} were asked for", family.decl.name_span,
                  hint=f"add {wanted - found} more, each as `example \"how someone else would ask\" => {{ its θ }}`, "
                       "all different, and make the grammar accept every one")]


def _overlaps(checked: CheckedModule, evaluator: Any, registry: Registry, out: Path | None) -> list[Diagnostic]:
    """Served families the candidate would clash with: same name, or a shared utterance at equal priority."""
    served = _served(registry, out)
    grammars = {e.name: e.grammar for e in registry.router.entries}
    by_name = {f.name: f for f in served}
    problems: list[Diagnostic] = []
    mine: dict[str, CheckedFamily] = {}
    for family in checked.families.values():
        if family.grammar is None:
            continue
        if family.name in by_name:
            problems.append(_diag("DDL700", f"a family named {family.name} is already served from "
                                  f"{by_name[family.name].path}", family.decl.name_span,
                                  hint="choose another family name"))
            continue
        mine[family.name] = family
    if not mine:
        return problems
    specs = [RoutedFamily(f.name, f.checked, f.evaluator, f.priority, grammars.get(f.name)) for f in served]
    specs += [RoutedFamily(name, fam, evaluator, fam.priority or 0) for name, fam in mine.items()]
    try:
        overlaps = Router.build(specs).conflicts(involving=mine)  # the served ones were checked on loading
    except OverlapSearchTooLarge as err:
        overlaps = err.found
        for name in [n for n in err.families if n in mine] or list(mine):
            problems.append(_diag("DDL701", f"{name}: the search of its overlaps with the served families exceeded "
                                  f"its budget of {err.limit:,} states; cannot show the grammar is disjoint from them",
                                  mine[name].decl.name_span,
                                  hint="make the grammar more specific: fewer free-text captures and optional words"))
    for o in overlaps:
        name, other = (o.first, o.second) if o.first in mine else (o.second, o.first)
        where = f" ({by_name[other].path})" if other in by_name else ""
        family = mine[name]
        assert family.grammar is not None
        problems.append(_diag("DDL701", f"{name} overlaps {other}{where}: both accept {o.witness!r}",
                              family.grammar.span,
                              hint="narrow the grammar so that it only accepts this family's requests, or "
                                   "declare a different `priority`"))
    return problems


def _served(registry: Registry | None, out: Path | None) -> list[ServedFamily]:
    """The registry's served families, but the one in the file the candidate replaces."""
    if registry is None:
        return []
    replaced = out.resolve() if out is not None else None
    return [f for f in registry.served if replaced is None or Path(f.path).resolve() != replaced]


def _admission(checked: CheckedModule, evaluator: Any, served: Sequence[ServedFamily],
               max_priority: int | None) -> list[Diagnostic]:
    """The admission rules for what a model wrote (ddl.distill.admission), for every family of the module."""
    cap = priority_cap((f.priority for f in served), max_priority)
    others = [(f.name, f.checked) for f in served]
    problems: list[Diagnostic] = []
    for family in checked.families.values():
        problems += admission_problems(family, evaluator, others, cap)
    return problems


def evaluate(source: str, utterance: str, path: str = CHECK_PATH, registry: Registry | None = None,
             out: Path | None = None, *, phrasings: int = 0, max_priority: int | None = None) -> Verdict:
    """Run the gate on one candidate module: ``ddl check`` (stdlib imports only), the teaching utterance,
    the phrasings, the admission rules (``max_priority``: the priority cap, by default the lowest served
    priority and at most 0), the registry."""
    # Compiled once (result.module is what was checked); it may import stdlib modules only, so no
    # file is ever opened on a model's word, nor quoted back to it.
    result = check_source(source, path, imports=ImportScope.stdlib_only())
    sources = result.sources or SourceMap()
    diags = [f.effective() for f in result.findings]
    errors = [d for d in diags if d.is_error]
    extra: list[Diagnostic] = []
    family: str | None = None
    checked = result.module
    if checked is not None and checked.families:
        evaluator = Evaluator(checked)
        family, extra = _acceptance(checked, evaluator, utterance)
        if family is not None and phrasings > 0:
            extra += _phrasings(checked, family, utterance, phrasings)
        extra += _admission(checked, evaluator, _served(registry, out), max_priority)
        if registry is not None:
            try:
                extra += _overlaps(checked, evaluator, registry, out)
            except Exception as exc:  # the overlap search must not crash the loop; say what happened
                extra.append(_diag("DDL701", f"could not compare the module with the served families: "
                                   f"{type(exc).__name__}: {exc}", _point()))
    elif checked is not None and not checked.families and not errors:
        extra.append(_diag("DDL509", "the module declares no family", _point(),
                           hint="write one `family NAME { ... }` for the request"))
    rendered = _render([*errors, *extra, *(d for d in diags if not d.is_error)], sources)
    passed = not errors and not any(d.is_error for d in extra) and family is not None
    return Verdict(passed, rendered, family)


def _render(diags: list[Diagnostic], sources: SourceMap) -> list[str]:
    return [d.render(sources) for d in diags]


# ---------------------------------------------------------------------------- the loop


def _model_error(model_id: str, exc: BaseException) -> dict[str, str]:
    return describe_model_error(model_id, exc).to_json()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "utterance"


def _new_transcript(log_dir: Path, started: datetime, utterance: str) -> Path:
    """A fresh file in ``log_dir`` (created exclusively, so two runs never share one)."""
    if log_dir.name.startswith(".ddl-"):  # ours (the default .ddl-distill): out of version control
        make_private_dir(log_dir, "ddl distill (transcripts)")
    else:
        log_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y%m%dT%H%M%S}-{_slug(utterance)}"
    for n in range(1, 10_000):
        path = log_dir / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
        try:
            with path.open("x", encoding="utf-8"):
                return path
        except FileExistsError:
            continue
    raise OSError(f"no free transcript name in {log_dir}")  # pragma: no cover


def note_written(transcript: Path, path: Path) -> None:
    """Record in a finished transcript where the caller wrote the module (``ddl distill`` without ``-o``)."""
    data = json.loads(transcript.read_text(encoding="utf-8"))
    data["path"] = str(path)
    write_atomic(transcript, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


class _Log:
    """The transcript, rewritten after every round."""

    def __init__(self, path: Path, utterance: str, started: datetime) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "utterance": utterance, "model": None, "started": started.isoformat(timespec="seconds"),
            "system": None, "options": {}, "phrasings": 0, "notes": [], "rounds": [], "ok": False, "path": None,
            "family": None, "error": None, "tokens_in": 0, "tokens_out": 0,
        }

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        write_atomic(self.path, json.dumps(self.data, indent=2, ensure_ascii=False) + "\n")


def _resolve_model(model_id: str | None, model: Any) -> tuple[Any, str | None, dict[str, str] | None]:
    if model is not None:
        return model, str(getattr(model, "model_id", model_id or type(model).__name__)), None
    if not model_id:
        return None, None, {"code": "DDL707", "message": "no model given: pass -m MODEL or set DDL_MODEL "
                            "(any model `llm models` lists)"}
    try:
        found = lookup_model(model_id)
    except Exception as exc:
        return None, model_id, _model_error(model_id, exc)
    return found, str(getattr(found, "model_id", model_id)), None


def _supports_temperature(model: Any) -> bool:
    options = getattr(model, "Options", None)
    fields = getattr(options, "model_fields", None)  # pydantic 2 (llm >= 0.10)
    if fields is None:
        fields = getattr(options, "__fields__", None) or {}
    return "temperature" in fields


def distill(utterance: str, model_id: str | None = None, *, model: Any = None, rounds: int = DEFAULT_ROUNDS,
            temperature: float | None = None, system: str | None = None, out: Path | None = None,
            log_dir: Path | None = None, registry: Registry | None = None, phrasings: int = 0,
            max_priority: int | None = None) -> DistillResult:
    """Ask the model for a family for ``utterance``; check, repair up to ``rounds`` times; write ``out`` if it passes.

    With ``phrasings`` N > 0 the prompt asks first for N varied phrasings of the request, written as
    ``example "u" => { θ }``, and the gate requires N of them (``ddl distill`` asks for
    ``DEFAULT_PHRASINGS``).  ``max_priority`` is the highest ``priority`` a family may declare (by
    default the lowest priority the registry serves, and at most 0: spec/distill.md, "Admission").
    At most ``1 + rounds`` model calls.  Raises only for I/O on our side
    (the transcript or ``out`` cannot be written: OSError) and for a negative ``rounds`` or
    ``phrasings`` (ValueError).
    """
    if rounds < 0:
        raise ValueError("rounds must be 0 or more")
    if phrasings < 0:
        raise ValueError("phrasings must be 0 or more")
    started = datetime.now(UTC)
    log = _Log(_new_transcript(log_dir if log_dir is not None else DEFAULT_LOG_DIR, started, utterance),
               utterance, started)
    system_text = system if system is not None else system_prompt()
    resolved, model_name, error = _resolve_model(model_id, model)
    notes: list[str] = []
    options: dict[str, Any] = {}
    if resolved is not None and temperature is not None:
        if _supports_temperature(resolved):
            options["temperature"] = temperature
        else:
            notes.append(f"model {model_name} has no temperature option; the temperature {temperature:g} was ignored")
    log.update(model=model_name, system=system_text, options=options, phrasings=phrasings, notes=notes, error=error)
    done: list[Round] = []
    totals = [0, 0]
    source: str | None = None
    family: str | None = None
    last_diags: list[str] = []

    def finish(ok: bool, path: Path | None) -> DistillResult:
        log.update(ok=ok, path=str(path) if path is not None else None, family=family, error=error,
                   tokens_in=totals[0], tokens_out=totals[1])
        return DistillResult(ok, utterance, source, family, path, log.path, list(done), list(last_diags), error,
                             totals[0], totals[1], model_name, notes)

    if resolved is None:
        return finish(False, None)
    check_path = str(out) if out is not None else CHECK_PATH
    conversation = resolved.conversation()
    prompt = task_prompt(utterance, phrasings=phrasings)
    for index in range(1, rounds + 2):
        begun = time.monotonic()
        try:
            response = conversation.prompt(prompt, system=system_text, **options)
            reply = response.text()
        except Exception as exc:
            assert model_name is not None
            error = _model_error(model_name, exc)
            last_diags = [f"the model call failed: {error['code']}: {error['message']}"]
            done.append(Round(index, prompt, "", None, list(last_diags), False, None, None,
                              time.monotonic() - begun))
            log.update(rounds=[r.to_json() for r in done])
            return finish(False, None)
        tokens_in = tokens_out = None
        try:
            usage = response.usage()
            tokens_in, tokens_out = token_count(usage.input), token_count(usage.output)
        except Exception:  # usage is optional information
            pass
        totals[0] += tokens_in or 0
        totals[1] += tokens_out or 0
        extracted = extract_ddl(reply)
        if extracted is None:
            verdict = Verdict(False, [NO_DDL], None)
        else:
            source = extracted
            verdict = evaluate(extracted, utterance, check_path, registry, out, phrasings=phrasings,
                               max_priority=max_priority)
        family = verdict.family if extracted is not None else family
        last_diags = verdict.diagnostics
        done.append(Round(index, prompt, reply, extracted, list(verdict.diagnostics), verdict.passed,
                          tokens_in, tokens_out, time.monotonic() - begun))
        log.update(rounds=[r.to_json() for r in done], tokens_in=totals[0], tokens_out=totals[1])
        if verdict.passed:
            assert extracted is not None
            if out is not None:
                write_atomic(out, extracted)
            return finish(True, out)
        prompt = repair_prompt(utterance, verdict.diagnostics, phrasings=phrasings)
    return finish(False, None)
