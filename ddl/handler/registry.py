"""The registry of H_k: the families of a directory that may answer queries.

A family is *served* only when its file passes ``ddl check`` (every obligation proved,
the same verdicts and the same result cache as the command) and no other served family
accepts any of its utterances unless a ``priority`` orders the two.  Everything else is
listed as *rejected* with the reason: the failing obligations (DDL700) or the overlap
with a shortest witness utterance (DDL701).  Both members of an unordered overlap are
rejected: which one should answer is a decision for the author, and refusing both keeps
the outcome independent of file order.

Every file is read once per load, and the bytes read are the bytes compiled, checked, hashed
into the family's version and served, for the file and every module it imports (``ddl.api``'s
``SourceFiles``): a file swapped on the disk during a load is never served under the checked
file's version.  Imports are confined to each file's own directory tree (and the ``import_path``
of the directory's ddl.toml).

Files under ``DIR/distilled/`` were written by a model (compile on miss): they may import
stdlib modules only, and their families pass the admission rules of
:mod:`ddl.distill.admission` (no priority above the cap, no grammar that accepts almost
anything); such a family overlapping one of the other served families at the same priority is
rejected alone, so a model-written file never takes a family out of service.

Loading a directory again is cheap: an unchanged file hits the check cache, which also holds its
checked module (no parsing or type checking), and the overlap search's outcome (and the built router,
when the router can be saved: ``Router.to_bytes``/``from_bytes``) is cached under the served families'
names, versions and priorities (:class:`_RoutingCache`), so a reload costs reading and hashing the
files, unpickling the modules, compiling the programs and building (or loading) the router.  Opened
lazily (``eager=False``, ``ddl handle``), it costs reading and hashing the files and loading the router:
a file's module is unpickled, and a family's program compiled and grammar built, on the family's first
hit (spec/handler.md) -- the grammar only once per cache: the family's hit kit (its matcher and capture
conversions, :class:`_HitKits`) is saved then, and later processes decide its hits with it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ddl.api import ImportScope, ModuleLoader, SourceFiles, check_files, compile_file
from ddl.eval import Evaluator, compile_family
from ddl.eval.ops import QUERY_LIMITS
from ddl.files import collector_paused, full_collections_paused
from ddl.grammar.compile import HitKit
from ddl.grammar.router import Overlap, OverlapSearchTooLarge, Route, RoutedFamily, Router, SavedFamily
from ddl.handler.records import HandlerError
from ddl.verify.cache import DEFAULT_DIR, ResultCache
from ddl.verify.config import ConfigError, load_check_settings
from ddl.verify.report import FileResult, Finding

MODEL_DIR = "distilled"  # the sub-directory whose files a model wrote (compile on miss writes there)


class _FileModule:
    """One file's checked module, its evaluator and its families' compiled programs, each made on first use:
    the module compiled by this load, or its verified cache entry (``FileResult.pickled``), unpickled only
    when one of the file's families is first needed (a registry opened for one query loads one module)."""

    def __init__(self, result: FileResult, recompile: Callable[[FileResult], Any], *, interpret: bool = False) -> None:
        self.path = result.path
        self._interpret = interpret
        self._result = result
        self._module: Any = result.module
        self._pickled = result.pickled
        self._recompile = recompile
        self._evaluator: Any = None
        self._runs: dict[str, Any] = {}
        self._lock = threading.Lock()  # a service's threads share one module and one evaluator

    def module(self) -> Any:
        if self._module is None:
            with self._lock:
                if self._module is None:
                    try:
                        self._module, _ = self._pickled.load()
                    except Exception:  # noqa: BLE001 - sealed (written by this ddl); if it still fails, compile again
                        self._module = self._recompile(self._result)
        return self._module

    def evaluator(self) -> Any:
        if self._evaluator is None:
            module = self.module()
            with self._lock:
                if self._evaluator is None:
                    self._evaluator = Evaluator(module)
        return self._evaluator

    def family(self, name: str) -> tuple[Any, Any]:
        """The checked family ``name`` and the module's evaluator."""
        return self.module().families[name], self.evaluator()

    def run(self, name: str) -> Any:
        run = self._runs.get(name)
        if run is None:
            if self._interpret:
                # A registry opened for one query (``ddl handle``) runs each program once: the interpreter runs
                # bill's in 0.5 ms, compiling it takes 5 (the two agree exactly, spec/semantics.md §17). One
                # evaluator per module: such a registry serves one thread.
                run = functools.partial(Evaluator(self.module(), budget=QUERY_LIMITS).run, name)
            else:
                run = compile_family(self.module(), name, budget=QUERY_LIMITS)
            self._runs[name] = run
        return run


@attrs.frozen
class ServedFamily:
    name: str
    path: str
    version: str  # content hash of the file and everything it imports
    priority: int
    source: _FileModule = attrs.field(repr=False, eq=False)

    @property
    def checked(self) -> Any:
        """The CheckedFamily (its module is loaded on first use)."""
        return self.source.family(self.name)[0]

    @property
    def evaluator(self) -> Any:
        return self.source.evaluator()

    @property
    def run(self) -> Any:
        """The program, θ → Ok | Err: compiled on first use, or interpreted in a registry opened for one query."""
        return self.source.run(self.name)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "version": self.version, "priority": self.priority,
                "params": {p.name: str(p.type) for p in self.checked.params}}


@attrs.frozen
class RejectedFamily:
    name: str | None  # None when the file itself does not compile
    path: str
    code: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "code": self.code, "reasons": list(self.reasons)}


def not_served_lines(rejected: Sequence[dict[str, Any]], command: str) -> list[str]:
    """One line per rejected family (``Registry.to_json()["rejected"]``) for a command's stderr: a family
    that fails its checks is not served, and the user should hear so rather than meet DDL707 later."""
    lines = []
    for r in rejected:
        what = f"family {r['name']}" if r.get("name") else "the file"
        reason = (r.get("reasons") or [""])[0]
        if not reason.startswith(r["path"]):  # a rendered diagnostic names its place itself
            reason = f"{r['path']}: {r['code']}" + (f": {reason}" if reason else "")
        lines.append(f"ddl {command}: not served ({what}): {reason} (ddl check shows why)")
    return lines


class Registry:
    """Served and rejected families of one directory, and the router over the served ones."""

    def __init__(self, directory: Path, served: list[ServedFamily], rejected: list[RejectedFamily],
                 router: Router, check_seconds: float = 0.0, files_checked: int = 0, files_cached: int = 0,
                 model_priority_cap: int | None = 0) -> None:
        self.directory = directory
        self.served = served
        self.rejected = rejected
        self.router = router
        self.by_name = {f.name: f for f in served}
        self._cache_dir: str | os.PathLike[str] | None = None
        self._use_cache = True
        self.check_seconds = check_seconds
        self.files_checked = files_checked  # files whose checks ran on this load
        self.files_cached = files_cached  # files whose check results came from the cache
        self._model_priority_cap = model_priority_cap  # None: computed when first asked for
        self._max_model_priority: int | None = None

    @property
    def model_priority_cap(self) -> int:
        """The highest priority a model-written family may have (spec/handler.md)."""
        if self._model_priority_cap is None:
            mine = [f for f in self.served if not _model_written(f.path, self.directory)]
            self._model_priority_cap = _priority_cap(mine, self._max_model_priority)
        return self._model_priority_cap

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
             use_cache: bool = True, jobs: int = 1, max_model_priority: int | None = None,
             eager: bool = True, extractors: bool = True) -> Registry:
        """The families of ``directory``; ``max_model_priority`` (the operator's ``[handler]`` key) raises
        the priority cap of the families under ``DIR/distilled/`` (spec/handler.md).  ``eager``: every
        family's grammar is built now (a service: no first-hit penalty); without it, the registry opens
        lazily from the cache: a family's checked module, program and grammar are loaded or built on its
        first hit, and its program is interpreted, not compiled (a few queries run it once or twice: the
        interpreter is ten times cheaper than compiling, and agrees with it exactly).  ``extractors=False``
        (one ``ddl handle`` query): captures come from the family's tagged matcher, not its ``re`` extractor
        (the same θ; see ``Router.from_bytes``)."""
        root = Path(directory)
        if not root.is_dir():
            raise HandlerError(f"no such directory: '{directory}'", code="DDL900")
        files = sorted(str(p) for p in root.rglob("*.ddl") if p.is_file() and not _hidden(p, root))
        cache = ResultCache(cache_dir if cache_dir is not None else DEFAULT_DIR) if use_cache else None
        try:  # the [check] settings of the directory's ddl.toml, as `ddl check` run there would use
            settings = load_check_settings(directory=root)
        except ConfigError as err:
            raise HandlerError(str(err), code="DDL705") from None
        stdlib_only = ImportScope.stdlib_only()

        def scope(path: str) -> ImportScope:
            return stdlib_only if _model_written(path, root) else ImportScope.of(path, settings.import_path)
        started = time.perf_counter()
        # Each file (and each module it imports) is read once: the module served is the module that was
        # checked (or whose cached result matched its bytes), and its version hashes those bytes.  A cached
        # module is unpickled when one of its families is first needed (``lazy_modules``).
        sources = SourceFiles()
        results = check_files(files, jobs, cache, settings.limits(), keep_modules=True, imports=scope,
                              lazy_modules=True, files=sources)
        check_seconds = time.perf_counter() - started

        def recompile(result: FileResult) -> Any:
            """The module of a cached result whose module entry failed to load: compiled again from the bytes
            read for the result (the check's verdicts are theirs), and stored again."""
            loader = ModuleLoader(scope=scope(result.path), files=sources)
            module, _ = compile_file(result.path, loader)
            if module is None:  # pragma: no cover - these bytes compiled when they were checked
                raise HandlerError(f"{result.path}: the checked module can neither be loaded from the cache nor "
                                   "compiled; run `ddl check` on it", code="DDL700")
            if cache is not None:
                cache.put_module(attrs.evolve(result, module=module, sources=loader.sources, pickled=None),
                                 settings.limits())
            return module
        served: list[ServedFamily] = []
        rejected: list[RejectedFamily] = []
        for result in results:
            _admit(result, served, rejected, recompile, interpret=not eager)
        theirs, more = _unique_names([f for f in served if not _model_written(f.path, root)])
        rejected.extend(more)
        # A model-written family never takes the name (or the place) of one of the others.
        taken = {f.name for f in theirs} | {r.name for r in rejected if not _model_written(r.path, root)}
        models, more = _unique_names([f for f in served if _model_written(f.path, root)], taken)
        rejected.extend(more)
        # A family's file path as given is part of its key: the saved router's θ defaults are values, and an enum
        # value names its file ("examples/x.ddl#F::E" and "/abs/examples/x.ddl#F::E" are different enums).
        routing = _RoutingCache(cache, str(root.resolve()), {f.name: f"{f.version}\x01{f.path}" for f in served},
                                extractors)
        router, more = _route(theirs, routing)
        rejected.extend(more)
        if more:
            dropped = {r.name for r in more}
            theirs = [f for f in theirs if f.name not in dropped]
        cap = None
        if models:
            cap = _priority_cap(theirs, max_model_priority)
            models, more = _admit_models(models, theirs, cap)
            rejected.extend(more)
        served = theirs
        if models:
            router, more = _route_models(router, theirs, models, routing)
            rejected.extend(more)
            dropped = {r.name for r in more}
            served = theirs + [f for f in models if f.name not in dropped]
        rejected.sort(key=lambda r: (r.path, r.name or ""))
        cached = cache.hits if cache is not None else 0
        if eager:  # a service: every family's grammar and program now, none on its first hit
            with full_collections_paused():  # a full collection walks every family built so far
                router.prepare()
                for f in served:
                    f.run  # noqa: B018 - compiles the program
        registry = cls(root, served, rejected, router, check_seconds, len(files) - cached, cached, cap)
        registry._cache_dir, registry._use_cache = cache_dir, use_cache
        registry._max_model_priority = max_model_priority
        return registry

    def reload(self) -> Registry:
        """The directory loaded again; unchanged files cost no verification (their checks are cached)."""
        return Registry.load(self.directory, cache_dir=self._cache_dir, use_cache=self._use_cache,
                             max_model_priority=self._max_model_priority)

    def route(self, utterance: str) -> Route | None:
        return self.router.route(utterance)

    def to_json(self) -> dict[str, Any]:
        return {"served": [f.to_json() for f in self.served], "rejected": [r.to_json() for r in self.rejected]}


def _hidden(path: Path, root: Path) -> bool:
    # .ddl-cache/, .git/ and the store directory are never part of the registry.
    return any(part.startswith(".") for part in path.relative_to(root).parts[:-1])


@functools.lru_cache(maxsize=4096)  # asked for every family of a file (thousands in one big file)
def _model_written(path: str, root: Path) -> bool:
    """A file under ``DIR/distilled/``: written by a model (compile on miss)."""
    parts = Path(path).relative_to(root).parts
    return len(parts) > 1 and parts[0] == MODEL_DIR


def _version(result: FileResult) -> str:
    """The hash of the bytes that were compiled: the file's and every imported module's, as read once for
    the check (never read again here: a file replaced since must not lend the served module its hash)."""
    h = hashlib.sha256((result.digest or "").encode())
    for dep, digest in result.dep_digests:
        h.update(f"\0{os.path.basename(dep)}\0{digest or 'missing'}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def _admit(result: FileResult, served: list[ServedFamily], rejected: list[RejectedFamily],
           recompile: Callable[[FileResult], Any], *, interpret: bool = False) -> None:
    """Sort one checked file's families into served and rejected."""
    errors = [f for f in result.findings if f.effective().is_error]
    file_errors = [f for f in errors if f.family is None]
    if file_errors or not result.families:
        if not result.families and not file_errors:
            return  # a module of shared functions, no families: nothing to serve
        reasons = tuple(_reason(f) for f in file_errors)
        names: list[str | None] = [fam.name for fam in result.families] or [None]
        for name in names:
            rejected.append(RejectedFamily(name, result.path, file_errors[0].diagnostic.code, reasons))
        return
    if result.module is not None:
        summary = {name: (f.priority or 0, f.grammar is not None) for name, f in result.module.families.items()}
    elif result.pickled is not None:
        summary = dict(result.pickled.families)
    else:  # cannot happen: a file without errors compiles; refuse rather than guess
        for fam in result.families:
            rejected.append(RejectedFamily(fam.name, result.path, "DDL700", ("the checked module is missing; reload",)))
        return
    source = _FileModule(result, recompile, interpret=interpret)
    version = _version(result)
    for fam in result.families:
        name = fam.name
        bad = [f for f in errors if f.family == name]
        if bad:
            rejected.append(RejectedFamily(name, result.path, "DDL700", tuple(_reason(f) for f in bad)))
            continue
        priority, has_grammar = summary[name]
        if not has_grammar:
            rejected.append(RejectedFamily(name, result.path, "DDL700",
                                           ("the family has no grammar, so no utterance can reach it",)))
            continue
        served.append(ServedFamily(name, result.path, version, priority, source))


def _reason(finding: Finding) -> str:
    return str(finding.effective().headline())


def _unique_names(served: list[ServedFamily],
                  taken: Collection[str | None] = ()) -> tuple[list[ServedFamily], list[RejectedFamily]]:
    """Families whose name no other family has; two of one name are both rejected, and so is one whose
    name is ``taken`` (by a family that has precedence)."""
    by_name: dict[str, list[ServedFamily]] = {}
    for f in served:
        by_name.setdefault(f.name, []).append(f)
    keep: list[ServedFamily] = []
    rejected: list[RejectedFamily] = []
    for f in served:
        same = by_name[f.name]
        if f.name in taken:
            rejected.append(RejectedFamily(f.name, f.path, "DDL700",
                                           (f"a family named {f.name} is also defined outside {MODEL_DIR}/; a family "
                                            "written by a model never takes the name of another",)))
        elif len(same) == 1:
            keep.append(f)
        else:
            others = ", ".join(g.path for g in same if g is not f)
            rejected.append(RejectedFamily(f.name, f.path, "DDL700",
                                           (f"a family named {f.name} is also defined in {others}; names must be "
                                            "unique in a registry",)))
    return keep, rejected


class _RoutingCache:
    """What routing a registry costs, remembered in the check cache (one entry of each kind per registry
    directory) under the names, versions and priorities of the families routed -- the grammars are in the
    versioned bytes, so nothing else decides it:

    * the outcome of the overlap search (:meth:`Router.conflicts`), the slowest part of a load;
    * the built router, when :class:`Router` can be saved (``Router.to_bytes``/``Router.from_bytes``, the
      router's own format; without them every load builds it).

    A missing, stale or damaged entry is a miss: the work is done again and its outcome stored."""

    def __init__(self, cache: ResultCache | None, where: str, versions: Mapping[str, str],
                 extractors: bool = True) -> None:
        self.cache = cache
        self.where = where
        self.versions = versions
        self.extractors = extractors

    def _key(self, specs: Sequence[RoutedFamily | SavedFamily], scope: str) -> str:
        assert self.cache is not None
        parts = sorted(f"{s.name}\x01{self.versions.get(s.name, '?')}\x01{s.priority}\x01{s.unambiguous}"
                       for s in specs if isinstance(s, SavedFamily) or s.family.grammar is not None)
        return self.cache.derived_key(scope, *parts)

    def router(self, specs: Sequence[RoutedFamily | SavedFamily], kind: str,
               grammars: Mapping[str, Any] | None = None) -> Router:
        """``Router.build(specs)`` (reusing the compiled ``grammars``), or the router saved for these families
        (whose checked forms a :class:`SavedFamily` loads on the family's first hit only)."""
        load, save = getattr(Router, "from_bytes", None), getattr(Router, "to_bytes", None)
        if self.cache is None or load is None or save is None:
            return Router.build(_routed(specs, grammars))
        key = self._key(specs, "router")
        blob = self.cache.get_derived(kind, self.where, key)
        if blob is not None:
            try:
                if self.extractors:
                    return load(blob, specs)  # type: ignore[no-any-return]
                return load(blob, specs, extractors=False)  # type: ignore[no-any-return]
            except Exception:  # damaged, or saved by another version: rebuilt below
                pass
        router = Router.build(_routed(specs, grammars))
        try:
            data = save(router)
        except Exception:  # a router that cannot be saved is still served
            return router
        self.cache.put_derived(kind, self.where, key, data)
        return router

    def conflicts(self, specs: Sequence[RoutedFamily | SavedFamily], router: Callable[[], Router],
                  involving: Collection[str] | None = None) -> list[Overlap]:
        """``router().conflicts(involving)``; the router is not even built when the outcome is cached."""
        if self.cache is None:
            return router().conflicts(involving)
        scope = "all" if involving is None else "involving\x01" + "\x01".join(sorted(involving))
        key = self._key(specs, scope)
        kind = "overlaps" if involving is None else "model-overlaps"
        names = {s.name for s in specs}
        cached = self._read(self.cache.get_derived(kind, self.where, key), names)
        if isinstance(cached, OverlapSearchTooLarge):
            raise cached
        if cached is not None:
            return cached
        cache = self.cache

        def put(found: Sequence[Overlap], **more: Any) -> None:
            data = {**more, "overlaps": [[o.first, o.second, o.witness] for o in found]}
            cache.put_derived(kind, self.where, key, json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"))

        try:
            found = router().conflicts(involving)
        except OverlapSearchTooLarge as err:
            put(err.found, too_large=list(err.families), limit=err.limit)
            raise
        put(found)
        return found

    @staticmethod
    def _read(blob: bytes | None, names: Collection[str]) -> list[Overlap] | OverlapSearchTooLarge | None:
        """The stored outcome, or None when there is none or it is malformed (then the search runs again)."""
        if blob is None:
            return None
        try:
            data = json.loads(blob.decode("utf-8", "surrogatepass"))
            found = [Overlap(a, b, w) for a, b, w in data["overlaps"]]
            too_large, limit = data.get("too_large"), data.get("limit")
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if not all(isinstance(o.witness, str) and o.first in names and o.second in names for o in found):
            return None
        if too_large is None:
            return found
        if (isinstance(too_large, list) and too_large and all(n in names for n in too_large)
                and isinstance(limit, int)):
            return OverlapSearchTooLarge(too_large, found, limit)
        return None


class _Once:
    """A router built (or loaded) on first use only: with the overlap outcome cached, a load whose families
    overlap never builds the router over all of them."""

    def __init__(self, build: Callable[[], Router]) -> None:
        self._build = build
        self._router: Router | None = None

    def __call__(self) -> Router:
        if self._router is None:
            self._router = self._build()
        return self._router

    def grammars(self) -> dict[str, Any]:
        """The compiled grammars of the router, if it was built (reused by the next one: only NFAs rebuilt)."""
        if self._router is None:
            return {}
        return {e.name: e.built for e in self._router.entries if e.built is not None}


def _routed(specs: Sequence[RoutedFamily | SavedFamily], grammars: Mapping[str, Any] | None = None) -> list[RoutedFamily]:
    """The families to build a router from, every checked form loaded (and already compiled grammars reused)."""
    out: list[RoutedFamily] = []
    for s in specs:
        if isinstance(s, SavedFamily):
            family, evaluator = s.load()
            s = RoutedFamily(s.name, family, evaluator, s.priority, unambiguous=s.unambiguous)
        if grammars and s.grammar is None and grammars.get(s.name) is not None:
            s = attrs.evolve(s, grammar=grammars[s.name])
        out.append(s)
    return out


def _saved(f: ServedFamily, routing: _RoutingCache) -> SavedFamily:
    """A served family as a saved router takes it: its checked form loaded on its first hit only, and its hit
    kit kept in the check cache (when there is one)."""
    source, name = f.source, f.name
    kits = _HitKits(routing.cache, routing.where, f, name) if routing.cache is not None else None
    return SavedFamily(name, f.priority, lambda: source.family(name), kits=kits)


class _HitKits:
    """Where one served family's :class:`HitKit` is kept: a sealed entry of the check cache per registry directory,
    file path and family, under the family's version (its file's and imports' bytes) and the code's fingerprint.  A
    missing, stale, damaged or foreign entry loads as None (the grammar is built and a new kit saved)."""

    def __init__(self, cache: ResultCache, where: str, family: ServedFamily, name: str) -> None:
        self.cache = cache
        # The file's path as the registry was given it is part of the values (an enum value names its file).
        self.where = f"{where}\x01{family.path}\x01{name}"
        self.key = cache.derived_key("hitkit", family.path, name, family.version)

    def load(self) -> HitKit | None:
        data = self.cache.get_derived("hitkit", self.where, self.key)  # None unless sealed with the user's secret
        if data is None:
            return None
        try:
            with collector_paused():
                kit = pickle.loads(data)
        except Exception:  # noqa: BLE001 - sealed by this user's ddl, yet unreadable (another version): rebuilt
            return None
        return kit if isinstance(kit, HitKit) else None

    def save(self, kit: HitKit) -> None:
        try:
            data = pickle.dumps(kit, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - a conversion that does not pickle: the family keeps building its grammar
            return
        self.cache.put_derived("hitkit", self.where, self.key, data)


def _too_large(err: OverlapSearchTooLarge) -> str:
    return (f"the search of its overlaps with the other families exceeded its budget of {err.limit:,} states; "
            "cannot show it is disjoint (make its grammar, or the grammars it shares words with, more specific)")


def _route(served: Sequence[ServedFamily], routing: _RoutingCache) -> tuple[Router, list[RejectedFamily]]:
    """The router over the served families, after rejecting unordered overlaps."""
    specs: list[RoutedFamily | SavedFamily] = [_saved(f, routing) for f in served]
    router = _Once(lambda: routing.router(specs, "router"))
    by_name = {f.name: f for f in served}
    reasons: dict[str, list[str]] = {}
    try:
        # an overlap ordered by priority is declared: the higher one answers
        overlaps = routing.conflicts(specs, router)
    except OverlapSearchTooLarge as err:
        for name in err.families:
            reasons.setdefault(name, []).append(_too_large(err))
        overlaps = err.found
    for o in overlaps:
        a, b = by_name[o.first], by_name[o.second]
        reasons.setdefault(a.name, []).append(
            f"overlaps {b.name} ({b.path}): both accept {o.witness!r}; declare a different `priority` in one of them")
        reasons.setdefault(b.name, []).append(
            f"overlaps {a.name} ({a.path}): both accept {o.witness!r}; declare a different `priority` in one of them")
    if not reasons:
        return router(), []
    rejected = [RejectedFamily(name, by_name[name].path, "DDL701", tuple(why)) for name, why in reasons.items()]
    # Reuse the compiled grammars (if the router over all was built): rebuilding costs only the NFAs.
    kept = [s for s in specs if s.name not in reasons]
    return routing.router(kept, "router-kept", router.grammars()), rejected


def _priority_cap(theirs: Sequence[ServedFamily], allowed: int | None) -> int:
    """The highest priority a model-written family may declare beside ``theirs`` (the user's own families)."""
    # The admission rules (and the fractions they count in) load when a model-written family is served or
    # written, not for a registry of the user's own families.
    from ddl.distill.admission import priority_cap  # deferred: see the comment above

    return priority_cap((f.priority for f in theirs), allowed)


def _admit_models(models: list[ServedFamily], theirs: list[ServedFamily],
                  cap: int) -> tuple[list[ServedFamily], list[RejectedFamily]]:
    """The model-written families that pass the admission rules (ddl.distill.admission), and the others."""
    from ddl.distill.admission import admission_problems  # deferred: see Registry.model_priority_cap

    others = [(f.name, f.checked) for f in theirs]
    kept: list[ServedFamily] = []
    rejected: list[RejectedFamily] = []
    for f in models:
        problems = admission_problems(f.checked, f.evaluator, others, cap)
        if problems:
            rejected.append(RejectedFamily(f.name, f.path, problems[0].code, tuple(p.message for p in problems)))
        else:
            kept.append(f)
    return kept, rejected


def _route_models(router: Router, theirs: Sequence[ServedFamily], models: Sequence[ServedFamily],
                  routing: _RoutingCache) -> tuple[Router, list[RejectedFamily]]:
    """The router over the people's served families and the admitted model-written ones.  A model-written
    family in an unordered overlap is rejected alone: it never takes one of the others out of service."""
    grammars = {e.name: e.built for e in router.entries if e.built is not None}  # reused, never built for this
    specs = [_saved(f, routing) for f in theirs]
    mine = [_saved(f, routing) for f in models]
    grown = _Once(lambda: routing.router([*specs, *mine], "router-models", grammars))
    names = {f.name for f in models}
    by_name = {f.name: f for f in [*theirs, *models]}
    reasons: dict[str, list[str]] = {}
    try:
        overlaps = routing.conflicts([*specs, *mine], grown, names)
    except OverlapSearchTooLarge as err:
        for name in [n for n in err.families if n in names] or sorted(names):
            reasons.setdefault(name, []).append(_too_large(err))
        overlaps = err.found
    for o in overlaps:
        for name, other in ((o.first, o.second), (o.second, o.first)):
            if name in names:
                reasons.setdefault(name, []).append(
                    f"overlaps {other} ({by_name[other].path}): both accept {o.witness!r}; a family written by a "
                    "model must yield to the others: declare a lower `priority`")
    if not reasons:
        return grown(), []
    rejected = [RejectedFamily(name, by_name[name].path, "DDL701", tuple(why)) for name, why in reasons.items()]
    grammars.update(grown.grammars())
    kept = [s for s in [*specs, *mine] if s.name not in reasons]
    return routing.router(kept, "router-models-kept", grammars), rejected
