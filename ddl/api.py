"""The facade over the phases: load, check and run DDL modules.

    >>> import ddl
    >>> books = ddl.load("examples/books.ddl").family("recommend_books")
    >>> books(genre="fantasy", count=5)["url"]
    'https://openlibrary.org/subjects/fantasy.json'
    >>> report = ddl.check("examples/books.ddl")
    >>> report.ok, report.results[0].families[0].obligations[0].kind
    (True, 'typed')

Every pipeline lives here, one line into each phase: :func:`compile_source` (parse and type-check;
``(CheckedModule | None, diagnostics)``, never raises for bad input), :func:`check_source` /
:func:`check_file` / :func:`check` (``ddl check``: compile once, then discharge every family's
obligations; a typed :class:`FileResult` that keeps the checked module, so callers that go on to
run it never compile it again), :func:`check_examples`, :func:`find_family` (a family by name, with
"did you mean") and :func:`parse_params` (``--param NAME=VALUE``).  The command line, the registry,
distill, refine, ``ddl test`` and both plugins call these; none re-implements them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ddl.diagnostics import DDLError, Diagnostic, InputError, Note, SourceMap, Span, did_you_mean
from ddl.eval import SLOW, Err, Evaluator, ThetaChecker, compile_call, compile_family, parse_param_value, validate_theta
from ddl.eval.ops import UNTIMED
from ddl.files import Discovery, OutsideTree, full_collections_paused, is_under, read_regular
from ddl.regular import Limits
from ddl.syntax import ast as A
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.verify.cache import DEFAULT_DIR, ResultCache, digest_bytes
from ddl.verify.report import FamilyResult, FileResult, Finding

if TYPE_CHECKING:
    from ddl.types.check import LoadedModule, Scope

# Deep-but-legal programs recurse in the checker and evaluator; the parser bounds depth.
if sys.getrecursionlimit() < 10_000:
    sys.setrecursionlimit(10_000)


def source_checkout() -> Path | None:
    """The source tree ddl runs from (the directory holding ``ddl/`` and ``pyproject.toml``), else None.

    An installed copy sits in site-packages, which never holds a ``pyproject.toml``.  Run from a
    checkout or an unpacked sdist without installing it, the directories that pyproject.toml maps
    into the package (``stdlib/`` → ``ddl.stdlib``, ``spec/``, ``examples/``) are read where they are."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def stdlib_dir() -> Path:
    """``$DDL_STDLIB``, else a source checkout's ``stdlib/``, else the installed ``ddl.stdlib`` package data."""
    env = os.environ.get("DDL_STDLIB")
    if env:
        return Path(env)
    checkout = source_checkout()
    if checkout is not None and (checkout / "stdlib").is_dir():
        return checkout / "stdlib"
    from importlib import resources  # deferred: an installed package only (it loads tempfile and more)

    return Path(str(resources.files("ddl.stdlib")))


@attrs.frozen
class ImportScope:
    """Where ``import "file.ddl"`` may reach (spec/types.md, section 19): files under one of ``roots``
    (resolved directories: the module's own directory tree and any configured search path), or, with
    ``files`` False, no file at all: stdlib modules only (a module a model wrote).

    The rule is decided on the import's resolved path (links followed) before the file is opened, so
    nothing of a file outside is ever read or quoted."""

    roots: tuple[Path, ...] = ()
    files: bool = True

    @classmethod
    def tree(cls, root: str | os.PathLike[str], search_path: Sequence[str | os.PathLike[str]] = ()) -> ImportScope:
        """Files under ``root`` and under each directory of ``search_path``."""
        return cls(tuple(dict.fromkeys(Path(r).resolve() for r in (root, *search_path))))

    @classmethod
    def stdlib_only(cls) -> ImportScope:
        return cls((), files=False)

    @classmethod
    def of(cls, path: str, search_path: Sequence[str | os.PathLike[str]] = ()) -> ImportScope:
        """The scope of a module read from ``path``: its own directory tree (the working directory's for a
        module that is not a file, ``<input>``) and ``search_path``."""
        return cls.tree(Path(path).parent if path and not path.startswith("<") else Path.cwd(), search_path)

    def allows(self, path: Path) -> bool:
        return self.files and any(is_under(path, root) for root in self.roots)

    def key(self) -> str:
        """What the scope contributes to a result cache key (a result depends on what may be imported)."""
        return "\0".join(str(r) for r in self.roots) if self.files else "stdlib only"

    def refusal(self, imp: A.Import) -> Diagnostic:
        """The diagnostic for a file import this scope does not allow (the file is not opened)."""
        if not self.files:
            return Diagnostic("DDL227", f'import "{imp.target}": a module written by a model may import stdlib '
                              "modules only, not files", imp.span,
                              hint="define what it needs in the module itself, or import a stdlib module "
                                   f"({', '.join(stdlib_modules())})")
        where = " or ".join(str(r) for r in self.roots)
        return Diagnostic("DDL226", f'import "{imp.target}" is outside the module\'s directory tree: a module may '
                          f"import stdlib modules and files under {where} only", imp.span,
                          hint="move the file under that directory, or add its directory to `import_path` in "
                               "the [check] table of ddl.toml")


def stdlib_modules() -> list[str]:
    return sorted(p.stem for p in stdlib_dir().glob("*.ddl"))


class SourceFiles:
    """The bytes of every file read while loading, each file read once.

    Passed through a whole load (a registry, ``ddl check`` in one process): every module compiled from
    a file, its check, its cache key and the version hash of what is served all see the same bytes,
    however often the file is imported and whatever happens on the disk meanwhile."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def read(self, path: Path, within: Sequence[Path] | None = None) -> bytes:
        """The bytes of ``path`` (resolved), read on the first request only; ``OSError`` when it cannot
        be read (also when it is not a regular file, or, with ``within``, the file opened is outside)."""
        key = str(path)
        data = self._data.get(key)
        if data is None:
            data = self._data[key] = read_regular(path, within)
        return data


class ModuleLoader:
    """Loads imported modules (stdlib by name, files by path, within its :class:`ImportScope`), once each,
    rejecting cycles, and remembers the digest of the bytes of every module it loaded."""

    def __init__(self, sources: SourceMap | None = None, scope: ImportScope | None = None,
                 files: SourceFiles | None = None) -> None:
        self.sources = sources or SourceMap()
        self.scope = scope  # None: ImportScope.of(the top-level module's path), set when it is compiled
        self.files = files or SourceFiles()
        self._cache: dict[str, tuple[LoadedModule | None, list[Diagnostic]]] = {}
        self._loading: list[str] = []
        # Every resolved import path (found or not) → the digest of the bytes compiled, None when missing.
        self._digests: dict[str, str | None] = {}

    def resolve(self, imp: A.Import, from_path: str) -> Path:
        if imp.is_file:
            base = Path(from_path).parent if from_path and not from_path.startswith("<") else Path.cwd()
            return (base / imp.target).resolve()
        return (stdlib_dir() / f"{imp.target}.ddl").resolve()

    def loaded_paths(self) -> list[str]:
        """The resolved paths of every module this loader was asked for (imports, transitively, and
        stdlib modules), including ones that were missing or had errors; sorted.  A file import outside
        the scope is not among them: it was never looked at."""
        return sorted(self._digests)

    def digests(self) -> dict[str, str | None]:
        """:meth:`loaded_paths` → sha256 of the bytes that were compiled (None: missing or unreadable)."""
        return dict(self._digests)

    def __call__(self, imp: A.Import, from_path: str) -> tuple[LoadedModule | None, list[Diagnostic]]:
        path = self.resolve(imp, from_path)
        scope = self.scope or ImportScope.of(from_path)
        if imp.is_file and not scope.allows(path):
            return None, [scope.refusal(imp)]
        key = str(path)
        if key in self._loading:
            chain = " → ".join(Path(p).name for p in [*self._loading[self._loading.index(key):], key])
            return None, [Diagnostic("DDL218", f"import cycle: {chain}", imp.span)]
        if key in self._cache:
            return self._cache[key]
        self._digests[key] = None
        try:
            data = self.files.read(path, scope.roots if imp.is_file else None)
        except OutsideTree:  # a link swapped in after the path was checked: as if it had been outside
            return None, [scope.refusal(imp)]
        except (FileNotFoundError, NotADirectoryError):
            what = f"stdlib module '{imp.target}'" if not imp.is_file else f"file '{imp.target}'"
            hint = None
            if not imp.is_file:
                available = stdlib_modules()
                hint = did_you_mean(imp.target, available) or f"stdlib modules: {', '.join(available)}"
            return None, [Diagnostic("DDL217", f"cannot find {what} (looked for {path})", imp.span, hint=hint)]
        except OSError as err:
            return None, [Diagnostic("DDL217", f"cannot read '{path}': {err.strerror or err}", imp.span)]
        from ddl.types.check import LoadedModule  # deferred: the checker loads only when something is compiled

        self._digests[key] = digest_bytes(data)
        self._loading.append(key)
        try:
            checked, diags, scope_ = _compile(data, key, self)
        finally:
            self._loading.pop()
        if checked is not None and scope_ is not None and checked.families:
            diags = [*diags, Diagnostic("DDL217", f"imported module '{imp.target}' declares families; "
                                        "only functions, types and tables can be imported", imp.span)]
            checked = None
        result: tuple[LoadedModule | None, list[Diagnostic]]
        if checked is None or scope_ is None:
            # Show the imported file's own errors (with their paths) after the import site.
            errors = [d for d in diags if d.is_error]
            head = Diagnostic("DDL217", f"imported module '{imp.target}' has errors", imp.span,
                              notes=tuple(Note(d.message, d.span) for d in errors[:3]))
            result = (None, [head, *errors])
        else:
            result = (LoadedModule(scope_, checked), [])
        self._cache[key] = result
        return result


def _compile(data: str | bytes, path: str, loader: ModuleLoader,
             partial: bool = False) -> tuple[CheckedModule | None, list[Diagnostic], Scope | None]:
    if isinstance(data, bytes):
        loader.sources.add(path, data.decode("utf-8", errors="replace"))
    else:
        loader.sources.add(path, data)
    # The parser (lark) and the checker load only when something is compiled, not for a cached module.
    from ddl.syntax.parser import parse_source  # deferred: lark loads only when something is parsed
    from ddl.types.check import Checker  # deferred: the checker loads only when something is compiled

    module, diags = parse_source(data, path)
    if module is None:
        return None, diags, None
    checker = Checker(module, loader)
    try:
        checked = checker.run()
    except RecursionError:
        return None, [Diagnostic("DDL105", "program nested too deeply to check", module.span)], None
    diags = sorted(checker.diags, key=lambda d: (d.span.path != path, d.span.path, d.span.start))
    if partial and checked is None:
        return checker.partial, diags, None
    return checked, diags, checker.root


def compile_source(text: str | bytes, path: str = "<input>", loader: ModuleLoader | None = None, *,
                   partial: bool = False) -> tuple[CheckedModule | None, list[Diagnostic]]:
    """Parse and type-check one module. Never raises for bad input.

    Its imports come from the ``loader`` (by default, files under the module's own directory tree and
    stdlib modules: :meth:`ImportScope.of`).  With ``partial``, a module that parses but has type errors
    still comes back: the declarations that checked, for an editor to show their types (``ddl lsp``);
    such a module is never to be run."""
    loader = loader or ModuleLoader()
    if loader.scope is None:
        loader.scope = ImportScope.of(path)
    top = str(Path(path).resolve()) if not path.startswith("<") else path
    loader._loading.append(top)
    try:
        checked, diags, _ = _compile(text, path, loader, partial)
    except Exception as err:  # an internal error must still reach the user as a diagnostic
        return None, [_internal(err, path)]
    finally:
        loader._loading.pop()
    return checked, diags


def compile_file(path: str | os.PathLike[str], loader: ModuleLoader | None = None) -> tuple[CheckedModule | None, list[Diagnostic]]:
    p = str(path)
    loader = loader or ModuleLoader()
    try:
        data = loader.files.read(Path(p).resolve())
    except OSError as err:
        return None, [Diagnostic("DDL900", f"cannot read file: {err.strerror or err}", Span.point(p))]
    return compile_source(data, p, loader)


def _internal(err: BaseException, path: str) -> Diagnostic:
    return Diagnostic("DDL999", f"internal error: {type(err).__name__}: {err}", Span.point(path),
                      hint="this is a bug in ddl; please report it with the input file")


# ---------------------------------------------------------------------------- examples


def check_examples(module: CheckedModule) -> list[Diagnostic]:
    """Evaluate every example of every family; a diagnostic for each that fails (output, θ, ensures)."""
    from ddl.verify.family import example_obligation  # deferred: the verifier loads only to check

    evaluator = Evaluator(module, budget=UNTIMED)
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
    _entry: Any = attrs.field(default=None, init=False, eq=False, repr=False)  # the generated call, once

    @property
    def name(self) -> str:
        return self.checked.name

    @property
    def params(self) -> dict[str, str]:
        return {p.name: str(p.type) for p in self.checked.params}

    def theta(self, **kwargs: Any) -> dict[str, Any]:
        theta, problems = validate_theta(self.checked, self.program.evaluator, kwargs)
        if theta is None:
            raise ArgumentError(f"{self.name}: " + "; ".join(problems))
        return theta

    def run(self, **kwargs: Any) -> Any:
        """The outcome (``Ok`` / ``Err``) without raising on runtime failures."""
        return self.program.compiled(self.name)(self.theta(**kwargs))

    def __call__(self, **kwargs: Any) -> Any:
        entry = self._entry
        if entry is None:
            entry = self._entry = self.program.caller(self.name)[2]
        out = entry(kwargs)  # valid plain arguments, a run that succeeds: the JSON, in one generated function
        if out is SLOW:
            checker, call, _ = self.program.caller(self.name)
            theta, problems = checker(kwargs)
            if theta is None:
                raise ArgumentError(f"{self.name}: " + "; ".join(problems))
            out = call(theta)  # to_json of the value, or the interpreter's Err
        if type(out) is Err:
            raise RunError(out.failure)
        return out


@attrs.define
class Program:
    checked: CheckedModule
    sources: SourceMap
    _evaluator: Any = None
    _compiled: dict[str, Any] = attrs.Factory(dict)
    _callers: dict[str, Any] = attrs.Factory(dict)

    @property
    def evaluator(self) -> Any:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.checked)
        return self._evaluator

    def compiled(self, family: str) -> Any:
        if family not in self._compiled:
            self._compiled[family] = compile_family(self.checked, family)
        return self._compiled[family]

    def caller(self, family: str) -> tuple[ThetaChecker, Any, Any]:
        """What ``Family.__call__`` runs, prepared once per family: θ's checker, the compiled call, the fused entry."""
        prepared = self._callers.get(family)
        if prepared is None:
            checked = self.checked.families[family]
            checker = ThetaChecker(checked, self.evaluator, self.checked)
            prepared = (checker, compile_call(self.checked, family), checker.entry())
            self._callers[family] = prepared
        return prepared  # type: ignore[no-any-return]

    @property
    def families(self) -> list[str]:
        return list(self.checked.families)

    def family(self, name: str) -> Family:
        return Family(self, find_family(self.checked, name))


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



# ---------------------------------------------------------------------------- looking things up


class FamilyNotFound(InputError, KeyError):
    """No family of that name (a ``KeyError`` too, for ``Program.family`` callers)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def find_family(module: CheckedModule, name: str | None = None, where: str | None = None) -> CheckedFamily:
    """The family ``name`` of ``module``, or its only family when ``name`` is None.

    Raises :class:`FamilyNotFound` with "did you mean" (or the list of families) for an unknown name, and
    :class:`InputError` when ``name`` is None and the module has no family or several.
    """
    place = where or module.path
    families = module.families
    if name is None:
        if len(families) == 1:
            return next(iter(families.values()))
        if not families:
            raise InputError(f"{place} declares no family")
        raise InputError(f"{place} has {len(families)} families ({', '.join(families)}); choose one")
    found = families.get(name)
    if found is None:
        hint = did_you_mean(name, families) or (f"families: {', '.join(families)}" if families else "it has none")
        raise FamilyNotFound(f"no family '{name}' in {place}; {hint}")
    return found


def parse_params(family: CheckedFamily, items: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """``NAME=VALUE`` items (values in DDL syntax, or JSON for lists and records) as values of the
    parameters' types, and the problems with them.

    An unknown name keeps its text, so that ``validate_theta`` reports it with suggestions.  An item
    without ``=`` raises :class:`InputError`.
    """
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        if "=" not in item:
            raise InputError(f"--param expects NAME=VALUE, got '{item}'")
        name, _, text = item.partition("=")
        name = name.strip()
        p = family.param(name)
        if p is None:
            raw[name] = text
            continue
        value, problem = parse_param_value(text, p.type)
        if problem is not None:
            problems.append(f"{name}: {problem}")
        else:
            raw[name] = value
    return raw, problems


def collect_files(paths: Sequence[str | os.PathLike[str]], discovery: Discovery | None = None) -> list[Path]:
    """The ``.ddl`` files named by ``paths``: files as given, directories searched recursively (sorted),
    skipping what ``discovery`` excludes (by default: hidden directories, virtual environments,
    node_modules, __pycache__ and what ``.gitignore`` ignores).  A file named explicitly is always
    taken, unless ``discovery.force_exclude`` and a pattern excludes it."""
    discovery = discovery if discovery is not None else Discovery()
    files: list[Path] = []
    for raw in paths:
        if not os.fspath(raw):  # Path("") is the current directory: an empty argument names nothing
            raise InputError("an empty path names nothing (write . for the current directory)")
        p = Path(raw)
        try:
            if p.is_dir():
                if discovery.force_exclude and discovery.excluded(p, directory=True):
                    continue
                found = discovery.walk(p)
                if not found:
                    raise InputError(f"no .ddl files found under '{raw}' (hidden directories, virtual environments "
                                     "and what .gitignore or the configured excludes name are skipped)")
                files.extend(found)
            elif p.is_file():
                if not (discovery.force_exclude and discovery.excluded(p)):
                    files.append(p)
            elif p.exists():
                raise InputError(f"'{raw}' is neither a file nor a directory")
            else:
                raise InputError(f"no such file or directory: '{raw}'")
        except OSError as err:  # a name too long, a directory on the way that cannot be searched
            where = err.filename if err.filename is not None else raw
            raise InputError(f"cannot read '{where}': {err.strerror or err}") from None
    return files


# ---------------------------------------------------------------------------- checking (ddl check)


def check_source(data: str | bytes, path: str = "<input>", limits: Limits | None = None, *,
                 imports: ImportScope | None = None) -> FileResult:
    """Compile ``data`` (which claims to live at ``path``: imports resolve from there, within ``imports``,
    by default the module's own directory tree) once and discharge every family's obligations
    (spec/checks.md).

    Never raises for bad input: an internal error of the verifier is a DDL999 finding.  The result keeps
    the checked module and its sources (``result.module``, ``result.sources``).
    """
    if isinstance(data, str):  # a lone surrogate stays a bad byte sequence: DDL101 at its position, no crash
        data = data.encode("utf-8", "surrogatepass")
    return _discharge(_Compiled.of(data, path, ModuleLoader(scope=imports)), limits)


@attrs.frozen
class _Compiled:
    """One module compiled from ``data`` (read once), with the loader that read its imports once each."""

    data: bytes
    path: str
    loader: ModuleLoader
    checked: CheckedModule | None
    diags: list[Diagnostic]
    seconds: float

    @classmethod
    def of(cls, data: bytes, path: str, loader: ModuleLoader) -> _Compiled:
        started = time.perf_counter()
        with full_collections_paused():
            checked, diags = compile_source(data, path, loader)
        return cls(data, path, loader, checked, diags, time.perf_counter() - started)

    @property
    def module(self) -> CheckedModule | None:
        """The module to run: None unless it compiled without errors."""
        return self.checked if self.checked is not None and not any(d.is_error for d in self.diags) else None

    def scope_key(self) -> str:
        assert self.loader.scope is not None  # compile_source set it
        return self.loader.scope.key()


def _discharge(compiled: _Compiled, limits: Limits | None, part: tuple[int, int] = (0, 1)) -> FileResult:
    """Every family's obligations over the compiled module (``ddl check`` after compiling).

    ``part`` (i, n): only the i-th of n consecutive slices of the families, and the module's own
    diagnostics only in the first (:func:`check_files` splits a big file between processes)."""
    from ddl.verify.family import allowance_findings, check_family  # deferred: not loaded to run cached modules

    checked, diags, path = compiled.checked, compiled.diags, compiled.path
    index, parts = part
    findings = [Finding(d) for d in diags] if index == 0 else []
    families: list[FamilyResult] = []
    if checked is not None:
        evaluator = Evaluator(checked, budget=UNTIMED)  # the verdicts must not depend on the machine's load
        every = list(checked.families.values())
        with full_collections_paused():  # full collections had taken a third of the time
            for fam in every[index * len(every) // parts:(index + 1) * len(every) // parts]:
                try:
                    obligations = check_family(checked, fam, evaluator, compiled.seconds, limits=limits)
                except Exception as err:  # an internal error must reach the user as a diagnostic, not a traceback
                    findings.append(Finding(Diagnostic(
                        "DDL999", f"{fam.name}: internal error in the verifier: {type(err).__name__}: {err}", fam.span,
                        hint="this is a bug in ddl; please report it with the input file"), family=fam.name))
                    families.append(FamilyResult(fam.name, ()))
                    continue
                families.append(FamilyResult(fam.name, tuple(obligations)))
                for o in obligations:
                    d = o.diagnostic(fam.name)
                    if d is not None:
                        findings.append(Finding(d, o.kind, o.subject, o.verdict, fam.name))
                findings.extend(allowance_findings(fam))
    # Only decided results are cached: an unknown verdict may come from a time limit (a loaded machine)
    # and must be retried, not frozen; an internal error is never cached.
    cacheable = not any(f.diagnostic.code == "DDL999" or f.verdict == "unknown" for f in findings)
    loader = compiled.loader
    return FileResult(path, tuple(families), tuple(findings), digest_bytes(compiled.data),
                      tuple(loader.loaded_paths()), cacheable, compiled.module, loader.sources,
                      dep_digests=tuple(sorted(loader.digests().items())), imports=compiled.scope_key())


def check_file(path: str | os.PathLike[str], limits: Limits | None = None, cache: ResultCache | None = None, *,
               keep_module: bool = True, imports: ImportScope | None = None,
               files: SourceFiles | None = None, lazy_module: bool = False) -> FileResult:
    """:func:`check_source` on a file: the file and every module it imports are read once (through
    ``files``, shared by a whole load), and those bytes are what is compiled, checked, hashed and kept.

    With a ``cache``, a result cached for the same bytes (and imports, and limits) is reused; then, when
    ``keep_module``, the module compiled from those bytes is kept (the cache entry is looked up with the
    digests of the imports as they were read for it, never read again).  Without ``keep_module`` (a
    report that runs nothing) a hit costs no compilation.  With ``lazy_module`` a hit carries its module's
    verified cache entry (``FileResult.pickled``), loaded when first needed, instead of the module.
    An unreadable file is a DDL900 finding.
    """
    p = str(path)
    files = files or SourceFiles()
    try:
        data = files.read(Path(p).resolve())
    except OSError as err:
        diag = Diagnostic("DDL900", f"cannot read file: {err.strerror or err}", Span.point(p))
        return FileResult(p, (), (Finding(diag),), cacheable=False)
    scope = imports or ImportScope.of(p)
    if cache is not None:
        hit = _cache_hit(p, data, cache, limits, keep_module, scope, files, lazy_module)
        if hit is not None:
            return hit
        if not keep_module:
            cache.count(False)
    compiled = _Compiled.of(data, p, ModuleLoader(scope=scope, files=files))
    if cache is not None and keep_module:
        loader = compiled.loader
        hit = cache.get(p, digest_bytes(data), limits, imports=scope.key(), deps=loader.digests())
        if hit is not None:
            hit = attrs.evolve(hit, module=compiled.module, sources=loader.sources, from_cache=True,
                               dep_digests=tuple(sorted(loader.digests().items())), imports=scope.key())
            cache.put_module(hit, limits)  # the module entry was missing, stale or damaged: store it again
            return hit
    result = _discharge(compiled, limits)
    if cache is not None:
        cache.put(result, limits)
        cache.put_module(result, limits)  # so that a registry loaded after `ddl check` compiles nothing
    return result if keep_module else result.without_module()


def check_file_part(path: str, part: tuple[int, int], limits: Limits | None = None,
                    imports: ImportScope | None = None) -> FileResult:
    """:func:`check_file` of one slice of a file's families (``part``: i of n), no cache, no module: a
    worker's share of a big file.  :func:`merge_parts` puts the n results back together."""
    scope = imports or ImportScope.of(path)
    try:
        data = SourceFiles().read(Path(path).resolve())
    except OSError as err:
        diag = Diagnostic("DDL900", f"cannot read file: {err.strerror or err}", Span.point(path))
        return FileResult(path, (), (Finding(diag),) if part[0] == 0 else (), cacheable=False)
    return _discharge(_Compiled.of(data, path, ModuleLoader(scope=scope)), limits, part).without_module()


def merge_parts(parts: Sequence[FileResult]) -> FileResult:
    """The result of a whole file from its parts, in order (the families and findings of the slices
    follow each other as one process would have produced them); cacheable only when every part read the
    same bytes and is cacheable."""
    first = parts[0]
    same = all(p.digest == first.digest and p.dep_digests == first.dep_digests for p in parts)
    return attrs.evolve(first, families=tuple(f for p in parts for f in p.families),
                        findings=tuple(f for p in parts for f in p.findings),
                        cacheable=same and all(p.cacheable for p in parts))


def cached_result(path: str | os.PathLike[str], cache: ResultCache, limits: Limits | None = None, *,
                  keep_module: bool = True, imports: ImportScope | None = None,
                  files: SourceFiles | None = None, lazy_module: bool = False) -> FileResult | None:
    """What :func:`check_file` returns when the cache holds the file's result (with ``keep_module``, its
    module too), without compiling or checking anything; None on a miss (counted, as a hit is)."""
    p = str(path)
    files = files or SourceFiles()
    try:
        data = files.read(Path(p).resolve())
    except OSError:
        return None  # check_file reports it
    return _cache_hit(p, data, cache, limits, keep_module, imports or ImportScope.of(p), files, lazy_module)


def _cache_hit(path: str, data: bytes, cache: ResultCache, limits: Limits | None, keep_module: bool,
               scope: ImportScope, files: SourceFiles, lazy_module: bool = False) -> FileResult | None:
    """A cached result (counted as a hit), or None (not counted: the caller counts the miss)."""
    if not keep_module:
        hit = cache.get(path, digest_bytes(data), limits, imports=scope.key(), count=False)
    else:
        # The module pickled with the result: the imports are read (once, through ``files``) and hashed,
        # nothing is parsed or type-checked.
        hit = cache.get_compiled(path, digest_bytes(data), limits, imports=scope.key(),
                                 read=lambda dep: _read_dep(files, dep, scope), lazy=lazy_module)
    if hit is None:
        return None
    cache.count(True)
    return attrs.evolve(hit, from_cache=True)


def _read_dep(files: SourceFiles, dep: str, scope: ImportScope) -> bytes | None:
    """The bytes of a module a cached result loaded (a resolved path), read as :class:`ModuleLoader` reads
    it (a file import within the scope's roots); None when it is missing or cannot be read."""
    path = Path(dep)
    try:
        return files.read(path, scope.roots if scope.allows(path) else None)
    except OSError:
        return None


def check_files(paths: Sequence[str | os.PathLike[str]], jobs: int = 1, cache: ResultCache | None = None,
                limits: Limits | None = None, *, keep_modules: bool = False,
                imports: Callable[[str], ImportScope | None] | None = None, lazy_modules: bool = False,
                files: SourceFiles | None = None) -> list[FileResult]:
    """:func:`check_file` on many files, in up to ``jobs`` processes; results in ``paths`` order.

    ``imports`` gives each file's :class:`ImportScope` (by default its own directory tree).  In one
    process every file is read once for all of them (a module imported by several files is compiled
    from the same bytes for each); each worker process reads the files it needs once.  With
    ``keep_modules`` every result that compiles carries its module (a worker sends it back: the module
    is compiled once, where it was checked).  With ``lazy_modules`` too, a cache hit carries its module's
    verified entry instead (``FileResult.pickled``: loaded when first needed).  ``files``: the bytes read
    (for a caller that compiles a module again from the same bytes).
    """
    names = [str(p) for p in paths]

    def scope(name: str) -> ImportScope | None:
        return imports(name) if imports is not None else None
    if jobs <= 1 or not names or (len(names) == 1 and keep_modules):  # one file of `ddl check` is split below
        files = files or SourceFiles()
        return [check_file(p, limits, cache, keep_module=keep_modules, imports=scope(p), files=files,
                           lazy_module=lazy_modules) for p in names]

    def size(name: str) -> int:
        try:
            return Path(name).stat().st_size
        except OSError:
            return 0

    # Cache hits are taken here first (no worker, and no module pickled twice to cross a process boundary);
    # only the misses go to the workers.
    results: dict[str, FileResult] = {}
    todo = sorted(set(names), key=lambda n: -size(n))
    if cache is not None:
        files = files or SourceFiles()
        for name in todo:
            hit = cached_result(name, cache, limits, keep_module=keep_modules, imports=scope(name), files=files,
                                lazy_module=lazy_modules)
            if hit is not None:
                results[name] = hit
        todo = [name for name in todo if name not in results]
    # Fewer files than workers (one big file, a few): each file's families are split into parts, one process
    # each (every part compiles the file; the checks are most of the work).  A registry's load (keep_modules)
    # keeps one process per file: its module is compiled once, where it is checked.
    parts = 1 if keep_modules or not todo else -(-jobs // len(todo))
    if len(todo) == 1 and parts == 1:
        results[todo[0]] = check_file(todo[0], limits, cache, keep_module=keep_modules, imports=scope(todo[0]))
        todo = []
    if todo:
        # Largest files first (a rough guess at the slowest), so one big file does not start last.  The cache
        # is a directory of atomically replaced files, so workers share it safely.
        from concurrent.futures import ProcessPoolExecutor  # deferred: multiprocessing loads only for workers

        with ProcessPoolExecutor(max_workers=min(jobs, len(todo) * parts)) as pool:
            if parts == 1:
                futures = {name: pool.submit(check_file, name, limits, cache, keep_module=keep_modules,
                                             imports=scope(name)) for name in todo}
                for name, future in futures.items():
                    results[name] = future.result()
                    if cache is not None:  # the workers counted their own hits and misses
                        cache.count(results[name].from_cache)
            else:
                split = {name: [pool.submit(check_file_part, name, (i, parts), limits, scope(name))
                                for i in range(parts)] for name in todo}
                for name, pieces in split.items():
                    results[name] = merge_parts([piece.result() for piece in pieces])
                    if cache is not None:
                        cache.count(False)
                        cache.put(results[name], limits)
    return [results[name] for name in names]


@attrs.frozen
class CheckReport:
    """The outcome of ``ddl check`` over some files; ``to_json``/``to_sarif``/``render`` are its projections."""

    results: tuple[FileResult, ...]
    allow_unknown: bool = False

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic as reported (with ``allow_unknown``, unknown obligations are warnings)."""
        return [f.effective(self.allow_unknown) for f in self.findings]

    @property
    def error_count(self) -> int:
        return sum(1 for d in self.diagnostics() if d.is_error)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def unreadable(self) -> bool:
        """A file exists but cannot be read (an I/O error, not an error in the input)."""
        return any(d.code == "DDL900" for d in self.diagnostics())

    def verdicts(self) -> dict[str, int]:
        counts = {"proved": 0, "refuted": 0, "unknown": 0}
        for r in self.results:
            for fam in r.families:
                for o in fam.obligations:
                    counts[o.verdict] += 1
        return counts

    def to_json(self, *, timings: bool = True) -> dict[str, Any]:
        """The ``ddl check --format json`` document (spec/checks.md); ``timings=False`` leaves out the measured
        ``seconds``, the only part that differs between two checks of the same files."""
        return {"ok": self.ok,
                "files": [{"path": r.path, "families": [f.report_json(timings=timings) for f in r.families]}
                          for r in self.results],
                "diagnostics": [d.to_json() for d in self.diagnostics()]}

    def to_sarif(self, cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        from ddl.verify.sarif import sarif_log  # deferred: only --format sarif needs it

        return sarif_log(self.findings, self.allow_unknown, cwd)

    def sources(self) -> SourceMap:
        """The sources the diagnostics quote: as compiled when this process compiled them, else read now."""
        sources = SourceMap()
        diags = self.diagnostics()
        paths = {d.span.path for d in diags} | {n.span.path for d in diags for n in d.notes if n.span is not None}
        compiled = [r.sources for r in self.results if r.sources is not None]
        for path in sorted(paths):
            text = next((s.text(path) for s in compiled if s.text(path) is not None), None)
            if text is None:
                try:
                    text = Path(path).read_bytes().decode("utf-8", errors="replace")
                except OSError:
                    continue
            sources.add(path, text)
        return sources

    def summary(self) -> str:
        """``checked N files, M families, obligations: … : ok`` (the last line of the text form)."""
        n_err = self.error_count
        n_files = len(self.results)
        n_families = sum(len(r.families) for r in self.results)
        status = "ok" if not n_err else f"{n_err} error{'s' if n_err != 1 else ''}"
        allowed = sum(1 for f, d in zip(self.findings, self.diagnostics()) if f.verdict == "unknown" and not d.is_error)
        if allowed:
            status += f" ({allowed} unknown allowed)"
        counts = ", ".join(f"{n} {v}" for v, n in self.verdicts().items() if n or v == "proved")
        return (f"checked {n_files} file{'s' if n_files != 1 else ''}, {n_families} "
                f"famil{'ies' if n_families != 1 else 'y'}, obligations: {counts}: {status}")


def check(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, jobs: int = 1,
          cache: ResultCache | str | os.PathLike[str] | None = DEFAULT_DIR, limits: Limits | None = None,
          allow_unknown: bool = False, keep_modules: bool = False,
          import_path: Sequence[str | os.PathLike[str]] = (), discovery: Discovery | None = None,
          stdin: tuple[str, bytes] | None = None) -> CheckReport:
    """``ddl check`` from Python: the ``.ddl`` files under ``paths`` (files, or directories searched
    recursively), each compiled once and its obligations discharged.

    ``cache`` is a :class:`ResultCache`, a cache directory, or None for no cache; ``limits`` bound the
    grammar obligations' automata (default: 200,000 states).  A file's imports are confined to its
    own directory tree and the directories of ``import_path``.
    ``discovery`` decides which files a directory walk finds (:func:`collect_files`).  ``stdin`` is
    ``(name, bytes)`` of a source read from standard input (``ddl check -``): it is checked as if it
    lived at ``name`` (its diagnostics' path; its imports resolve from there), in the place of the
    path ``-`` among ``paths``, never cached.
    Raises :class:`InputError` for a path that does not exist or a directory without ``.ddl`` files.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if stdin is not None and "-" in [os.fspath(p) for p in paths]:
        at = [os.fspath(p) for p in paths].index("-")
        before = check(paths[:at], jobs=jobs, cache=cache, limits=limits, allow_unknown=allow_unknown,
                       keep_modules=keep_modules, import_path=import_path, discovery=discovery) if at else None
        rest = [p for p in paths[at + 1:] if os.fspath(p) != "-"]
        after = check(rest, jobs=jobs, cache=cache, limits=limits, allow_unknown=allow_unknown,
                      keep_modules=keep_modules, import_path=import_path, discovery=discovery) if rest else None
        name, data = stdin
        piped = check_source(data, name, limits, imports=ImportScope.of(name, import_path))
        results = (*(before.results if before else ()), piped, *(after.results if after else ()))
        return CheckReport(results, allow_unknown)
    files = collect_files(paths, discovery)
    result_cache = cache if isinstance(cache, ResultCache) or cache is None else ResultCache(cache)

    def scope(name: str) -> ImportScope:
        return ImportScope.of(name, import_path)
    checked = check_files(files, jobs, result_cache, limits, keep_modules=keep_modules, imports=scope)
    return CheckReport(tuple(checked), allow_unknown)
