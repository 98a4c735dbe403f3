"""The facade over the phases: load, check and run DDL modules.

    >>> import ddl
    >>> books = ddl.load("examples/books.ddl").family("recommend_books")
    >>> books(genre="fantasy", count=5)["url"]
    'https://openlibrary.org/subjects/fantasy.json'

Lower level: :func:`compile_source` returns ``(CheckedModule | None, diagnostics)``
and never raises for bad input; :func:`check_examples` evaluates each family's
examples and reports mismatches as diagnostics.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from ddl.diagnostics import DDLError, Diagnostic, Note, SourceMap, Span
from ddl.syntax import ast as A
from ddl.syntax import parse_source
from ddl.types.check import Checker, LoadedModule, Scope
from ddl.types.checked import CheckedFamily, CheckedModule

# Deep-but-legal programs recurse in the checker and evaluator; the parser bounds depth.
if sys.getrecursionlimit() < 10_000:
    sys.setrecursionlimit(10_000)


def stdlib_dir() -> Path:
    env = os.environ.get("DDL_STDLIB")
    if env:
        return Path(env)
    return Path(str(resources.files("ddl.stdlib")))


class ModuleLoader:
    """Loads imported modules (stdlib by name, files by path), once each, rejecting cycles."""

    def __init__(self, sources: SourceMap | None = None) -> None:
        self.sources = sources or SourceMap()
        self._cache: dict[str, tuple[LoadedModule | None, list[Diagnostic]]] = {}
        self._loading: list[str] = []
        self._requested: set[str] = set()  # every resolved import path, found or not (loaded_paths)

    def resolve(self, imp: A.Import, from_path: str) -> Path:
        if imp.is_file:
            base = Path(from_path).parent if from_path and not from_path.startswith("<") else Path.cwd()
            return (base / imp.target).resolve()
        return (stdlib_dir() / f"{imp.target}.ddl").resolve()

    def loaded_paths(self) -> list[str]:
        """The resolved paths of every module this loader was asked for (imports, transitively, and
        stdlib modules), including ones that were missing or had errors; sorted."""
        return sorted(self._requested)

    def __call__(self, imp: A.Import, from_path: str) -> tuple[LoadedModule | None, list[Diagnostic]]:
        path = self.resolve(imp, from_path)
        key = str(path)
        self._requested.add(key)
        if key in self._loading:
            chain = " → ".join(Path(p).name for p in [*self._loading[self._loading.index(key):], key])
            return None, [Diagnostic("DDL218", f"import cycle: {chain}", imp.span)]
        if key in self._cache:
            return self._cache[key]
        if not path.is_file():
            what = f"stdlib module '{imp.target}'" if not imp.is_file else f"file '{imp.target}'"
            hint = None
            if not imp.is_file:
                available = sorted(p.stem for p in stdlib_dir().glob("*.ddl"))
                from ddl.types.check import did_you_mean

                hint = did_you_mean(imp.target, available) or f"stdlib modules: {', '.join(available)}"
            return None, [Diagnostic("DDL217", f"cannot find {what} (looked for {path})", imp.span, hint=hint)]
        try:
            data = path.read_bytes()
        except OSError as err:
            return None, [Diagnostic("DDL217", f"cannot read '{path}': {err.strerror}", imp.span)]
        self._loading.append(key)
        try:
            checked, diags, scope = _compile(data, key, self)
        finally:
            self._loading.pop()
        if checked is not None and scope is not None and checked.families:
            diags = [*diags, Diagnostic("DDL217", f"imported module '{imp.target}' declares families; "
                                        "only functions, types and tables can be imported", imp.span)]
            checked = None
        result: tuple[LoadedModule | None, list[Diagnostic]]
        if checked is None or scope is None:
            # Show the imported file's own errors (with their paths) after the import site.
            errors = [d for d in diags if d.is_error]
            head = Diagnostic("DDL217", f"imported module '{imp.target}' has errors", imp.span,
                              notes=tuple(Note(d.message, d.span) for d in errors[:3]))
            result = (None, [head, *errors])
        else:
            result = (LoadedModule(scope, checked), [])
        self._cache[key] = result
        return result


def _compile(data: str | bytes, path: str, loader: ModuleLoader) -> tuple[CheckedModule | None, list[Diagnostic], Scope | None]:
    if isinstance(data, bytes):
        loader.sources.add(path, data.decode("utf-8", errors="replace"))
    else:
        loader.sources.add(path, data)
    module, diags = parse_source(data, path)
    if module is None:
        return None, diags, None
    checker = Checker(module, loader)
    try:
        checked = checker.run()
    except RecursionError:
        return None, [Diagnostic("DDL105", "program nested too deeply to check", module.span)], None
    diags = sorted(checker.diags, key=lambda d: (d.span.path != path, d.span.path, d.span.start))
    return checked, diags, checker.root


def compile_source(text: str | bytes, path: str = "<input>",
                   loader: ModuleLoader | None = None) -> tuple[CheckedModule | None, list[Diagnostic]]:
    """Parse and type-check one module. Never raises for bad input."""
    loader = loader or ModuleLoader()
    top = str(Path(path).resolve()) if not path.startswith("<") else path
    loader._loading.append(top)
    try:
        checked, diags, _ = _compile(text, path, loader)
    except Exception as err:  # an internal error must still reach the user as a diagnostic
        return None, [_internal(err, path)]
    finally:
        loader._loading.pop()
    return checked, diags


def compile_file(path: str | os.PathLike[str], loader: ModuleLoader | None = None) -> tuple[CheckedModule | None, list[Diagnostic]]:
    p = str(path)
    try:
        data = Path(p).read_bytes()
    except OSError as err:
        return None, [Diagnostic("DDL900", f"cannot read file: {err.strerror or err}", Span.point(p))]
    return compile_source(data, p, loader)


def _internal(err: BaseException, path: str) -> Diagnostic:
    return Diagnostic("DDL999", f"internal error: {type(err).__name__}: {err}", Span.point(path),
                      hint="this is a bug in ddl; please report it with the input file")


# ---------------------------------------------------------------------------- examples


def check_examples(module: CheckedModule) -> list[Diagnostic]:
    """Evaluate every example of every family; a diagnostic for each that fails (output, θ, ensures)."""
    from ddl.eval import Evaluator
    from ddl.verify.family import example_obligation

    evaluator = Evaluator(module)
    diags: list[Diagnostic] = []
    for fam in module.families.values():
        for ex in fam.examples:
            diag = example_obligation(fam, ex, evaluator).diagnostic()
            if diag is not None:
                diags.append(diag)
    return diags


# ---------------------------------------------------------------------------- Python API


class ArgumentError(ValueError):
    """θ given from Python does not fit the family's parameter domains."""


class RunError(RuntimeError):
    """A runtime failure of a partial operation, with its span and θ (a DDL error value)."""

    def __init__(self, failure: Any) -> None:
        self.failure = failure
        super().__init__(failure.to_diagnostic().render())


@attrs.define
class Family:
    """A compiled family, callable from Python with keyword arguments."""

    program: Program
    checked: CheckedFamily

    @property
    def name(self) -> str:
        return self.checked.name

    @property
    def params(self) -> dict[str, str]:
        return {p.name: str(p.type) for p in self.checked.params}

    def theta(self, **kwargs: Any) -> dict[str, Any]:
        from ddl.eval import validate_theta

        theta, problems = validate_theta(self.checked, self.program.evaluator, kwargs)
        if theta is None:
            raise ArgumentError(f"{self.name}: " + "; ".join(problems))
        return theta

    def run(self, **kwargs: Any) -> Any:
        """The outcome (``Ok`` / ``Err``) without raising on runtime failures."""
        return self.program.compiled(self.name)(self.theta(**kwargs))

    def __call__(self, **kwargs: Any) -> Any:
        from ddl.eval import Err
        from ddl.values import to_json

        outcome = self.run(**kwargs)
        if isinstance(outcome, Err):
            raise RunError(outcome.failure)
        return to_json(outcome.value)


@attrs.define
class Program:
    checked: CheckedModule
    sources: SourceMap
    _evaluator: Any = None
    _compiled: dict[str, Any] = attrs.Factory(dict)

    @property
    def evaluator(self) -> Any:
        if self._evaluator is None:
            from ddl.eval import Evaluator

            self._evaluator = Evaluator(self.checked)
        return self._evaluator

    def compiled(self, family: str) -> Any:
        if family not in self._compiled:
            from ddl.eval import compile_family

            self._compiled[family] = compile_family(self.checked, family)
        return self._compiled[family]

    @property
    def families(self) -> list[str]:
        return list(self.checked.families)

    def family(self, name: str) -> Family:
        fam = self.checked.families.get(name)
        if fam is None:
            from ddl.types.check import did_you_mean

            hint = did_you_mean(name, self.checked.families) or f"families: {', '.join(self.checked.families)}"
            raise KeyError(f"no family '{name}' in {self.checked.path}; {hint}")
        return Family(self, fam)


def _program(checked: CheckedModule | None, diags: list[Diagnostic], loader: ModuleLoader) -> Program:
    errors = [d for d in diags if d.is_error]
    if checked is None or errors:
        raise DDLError(errors or diags, loader.sources)
    return Program(checked, loader.sources)


def load(path: str | os.PathLike[str]) -> Program:
    """Parse and type-check a file; raise :class:`DDLError` with rendered diagnostics on errors."""
    loader = ModuleLoader()
    checked, diags = compile_file(path, loader)
    return _program(checked, diags, loader)


def loads(text: str, path: str = "<string>") -> Program:
    loader = ModuleLoader()
    checked, diags = compile_source(text, path, loader)
    return _program(checked, diags, loader)

