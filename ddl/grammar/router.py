"""Routing an utterance to the one family whose grammar accepts it, for thousands of families.

The automata are the regular engine's: all families' grammars form one
:class:`ddl.regular.LangSet` per input normalization (one lazy combined DFA each: a warm
router reads one table entry per character whatever k is; building it costs only the NFAs),
and :meth:`Router.overlaps` is :meth:`LangSet.overlaps` (every intersecting pair with a
shortest witness).  What is DDL's stays here:

* normalization — families with ``normalize_space`` see the normalized utterance, the others
  the utterance as written.  When both modes accept (possible only for an utterance that
  normalization changes), the higher ``priority`` wins, then the family that accepted the
  utterance as written;
* ``except`` clauses — a family's language is its grammar's body minus the clause's language
  (``CompiledGrammar.excluded_lang``, built with the router);
* the shortcut — once at most ``_FEW`` families are still alive, their backtracking-free ``re``
  extractors (:mod:`ddl.grammar.fastpath`, built with the router: no first-hit penalty) decide
  the rest of the utterance and its captures;
* θ — the accepting family's own tagged matcher (``ddl.regular.Matcher``) extracts the
  captures when the extractor could not, and θ is completed with precomputed constant
  defaults.  A family whose defaults depend on other parameters, or whose ``where`` could not
  be folded into its grammar, completes θ through ``validate_theta`` (slower, same result);
* family names, and the overlap budget (:class:`OverlapSearchTooLarge` names the families);
* saving: :meth:`Router.to_bytes` / :meth:`Router.from_bytes` (a cache of compiled routers).
"""

from __future__ import annotations

import io
import pickle
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Literal, cast

import attrs

from ddl.eval.theta import validate_theta
from ddl.files import collector_paused
from ddl.grammar.compile import (
    CONVERT_INT,
    CONVERT_LOOKUP,
    CONVERT_LOOKUP_CASE,
    CONVERT_TEXT,
    CompiledGrammar,
    HitKit,
    default_value,
    normalize_space,
    param_refs,
)
from ddl.grammar.fastpath import MAX_FAST_LENGTH, FastExtractor, fast_extractor, ordered_extractor
from ddl.regular import DEFAULT_LIMITS, Lang, LangSet, Limits, SearchTooLarge
from ddl.regular.ast import case_key
from ddl.regular.multi import leading_text
from ddl.types.checked import CheckedFamily
from ddl.values import Value

_CACHE_LIMIT = 200_000  # cached transitions per mode before the lazy DFA is flushed
_OVERLAP_STATE_LIMIT = 1_000_000  # combined states the overlap search may visit
_FORMAT = "ddl-router-5"  # Router.to_bytes format; change it when the pickled classes change
_FEW = 3  # when at most this many families are alive, their extractors decide the rest


@attrs.frozen
class RoutedFamily:
    """A family to route to: its checked form, an evaluator of its module, and its priority."""

    name: str
    family: CheckedFamily
    evaluator: Any
    priority: int = 0
    grammar: CompiledGrammar | None = None  # reuse an already compiled grammar
    # Every parse yields the same captures (``ddl check`` proves it for served families); enables the
    # backtracking-free ``re`` extractor.  False: captures always come from the leftmost-first Matcher.
    unambiguous: bool = True


@attrs.frozen
class SavedFamily:
    """A family a saved router routes to (:meth:`Router.from_bytes`), given without its checked form:
    ``load`` gives its checked family and evaluator when the router first needs them (its first hit),
    so opening a registry for one query loads the one family's module only.  It has a grammar."""

    name: str
    priority: int
    load: Callable[[], tuple[CheckedFamily, Any]]
    unambiguous: bool = True
    # Where the family's HitKit is kept between processes (``load() -> HitKit | None``, ``save(kit)``): a loaded
    # router decides a hit of the family with its saved kit, without building its grammar.  None: no kits.
    kits: Any = attrs.field(default=None, eq=False)


class _Pending:
    """Stands for a :class:`SavedFamily`'s checked family and evaluator in a loaded router's entry until the
    entry first needs them (``_Entry.grammar``)."""

    __slots__ = ("saved",)

    def __init__(self, saved: SavedFamily) -> None:
        self.saved = saved


@attrs.frozen
class Route:
    """The family that accepts an utterance and θ (None with ``problems`` if θ falls outside Θ)."""

    family: str
    theta: dict[str, Value] | None
    problems: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()  # every family that accepted, best first


_ROUTE_SLOTS = tuple(Route.__dict__[name].__set__ for name in ("family", "theta", "problems", "candidates"))


def _new_route(family: str, theta: dict[str, Value] | None, problems: tuple[str, ...], candidates: tuple[str, ...]
               ) -> Route:
    """``Route(family, theta, problems, candidates)`` with its slots set directly (a hit makes one): a frozen attrs
    class's ``__init__`` sets each field through ``object.__setattr__``, which costs about twice as much."""
    route = object.__new__(Route)
    set_family, set_theta, set_problems, set_candidates = _ROUTE_SLOTS
    set_family(route, family)
    set_theta(route, theta)
    set_problems(route, problems)
    set_candidates(route, candidates)
    return route


@attrs.frozen
class Overlap:
    first: str
    second: str
    witness: str


class OverlapSearchTooLarge(Exception):
    """The overlap search of each family named passed its state budget: those could not be cleared.
    ``found`` holds the overlaps among every other pair (see :meth:`Router.overlaps`)."""

    def __init__(self, families: Sequence[str], found: Sequence[Overlap] = (), limit: int | None = None) -> None:
        self.limit = _OVERLAP_STATE_LIMIT if limit is None else limit
        super().__init__(f"overlap search exceeded {self.limit:,} states for each of " + ", ".join(families))
        self.families = tuple(families)
        self.found = list(found)


class _Entry:
    """Per-family routing data: grammar, θ completion plan."""

    # The hit plan first: a hit reads it and the name, which then share the object's first cache line.
    __slots__ = ("_hit", "name", "index", "priority", "_grammar", "_limits", "_prepared", "family", "evaluator",
                 "constant_defaults", "fast", "unambiguous", "_extractor", "_kit", "_kits")

    def __init__(self, index: int, spec: RoutedFamily, grammar: CompiledGrammar) -> None:
        self.name = spec.name
        self.index = index
        self.priority = spec.priority
        self._grammar: CompiledGrammar | None = grammar
        self._limits = grammar.limits
        self._prepared = False
        self.family = spec.family
        self.evaluator = spec.evaluator
        # θ can be completed without validate_theta when every captured value is exact
        # (its capture language is exactly its domain) and every default is a constant.
        fast = True
        defaults: list[tuple[str, Value | None]] = []
        for p in spec.family.params:
            specs = [c for c in grammar.captures.values() if c.param == p.name]
            if any(not c.exact for c in specs):
                fast = False
            if not specs and p.where is not None:
                fast = False
            if p.default is not None:
                if param_refs(p.default):
                    fast = False
                    defaults.append((p.name, None))
                else:
                    defaults.append((p.name, default_value(spec.evaluator, p)))
            else:
                defaults.append((p.name, None))
        self.constant_defaults = defaults
        self.fast = fast
        self.unambiguous = spec.unambiguous
        self._extractor: Any = False
        self._hit: _HitPlan | None | Literal[False] = False  # False: not built yet (see hit)
        self._kit: HitKit | bool | None = None  # None: not looked up; False: none saved; True: none to save
        self._kits: Any = None  # SavedFamily.kits of a loaded router's family
        self._prepare()

    @property
    def grammar(self) -> CompiledGrammar:
        """The family's compiled grammar and the parts a hit needs (rebuilt on first use after
        :meth:`Router.from_bytes`: a one-shot ``ddl handle`` builds only the family it routes to)."""
        if self._grammar is None:
            if isinstance(self.family, _Pending):  # loaded lazily (SavedFamily): its checked form is needed now
                self.family, self.evaluator = self.family.saved.load()
            self._grammar = CompiledGrammar(self.family, self.evaluator, limits=self._limits)
        if not self._prepared:
            self._prepare()
        return self._grammar

    @property
    def built(self) -> CompiledGrammar | None:
        """The compiled grammar if it is built (without building it)."""
        return self._grammar

    def _prepare(self) -> None:
        self._prepared = True
        grammar = self.grammar
        # Built now, not on the first hit (spec/handler.md: no first-hit penalty): the extractor
        # (FastExtractor, or False for "none"), the `except` language and the θ converters.  Not the
        # tagged Matcher, which only an utterance the extractor cannot decide needs (rare; it holds
        # a quarter of the memory when built for every family that might need it).
        if self._extractor is False and self.unambiguous:
            branches = grammar.branch_regexes()  # a widened grammar reads its authored part first
            self._extractor = (ordered_extractor(*branches) if branches is not None
                               else fast_extractor(grammar.regex)) or False
        if grammar.excluded is not None:
            grammar.excluded_lang  # noqa: B018 - builds and keeps the DFA
        # A hit of this family alone: the extractor, the conversions and θ as one tuple for run_hit (see _settle).
        self._hit = _hit_plan(self, self._extractor, grammar) if isinstance(self._extractor, FastExtractor) else None

    def __getstate__(self) -> dict[str, Any]:
        # Not the grammar and its parts: rebuilt from the family on first use (value forms hold
        # functions, which do not pickle), or all at once by Router.prepare.
        state = {name: getattr(self, name) for name in self.__slots__}
        state.update(_grammar=None, _prepared=False, _extractor=False, _hit=False, _kit=None, _kits=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    def hit(self) -> _HitPlan | None:
        """The family's hit plan (:func:`run_hit` runs it), or None when the family has no such shortcut."""
        if not self._prepared or self._grammar is None:
            self.grammar  # noqa: B018 - builds the grammar and its parts on first use
        assert self._hit is not False
        return self._hit

    def extractor(self) -> Any:
        """The family's FastExtractor, or False when it has none."""
        self.grammar  # noqa: B018 - builds the grammar and its parts on first use
        return self._extractor

    def excluded_lang(self) -> Lang:
        """The language of the family's ``except`` clause."""
        return self.grammar.excluded_lang

    def captures(self, text: str) -> dict[str, str | None]:
        """The captured texts of an utterance the router accepted for this family."""
        extractor = self.extractor()
        if extractor:
            groups = extractor.fullmatch(text)
            if groups is not None:
                return groups
        groups = self.grammar.matcher.fullmatch(text)  # exact leftmost-first, linear time
        if groups is None:  # pragma: no cover - the router and the matcher accept the same language
            raise AssertionError(f"router and matcher of {self.name} disagree on {text!r}")
        return groups

    def decide(self, text: str) -> _Theta:
        """θ and its problems for an utterance the router accepted for this family (no shortcut taken).

        A family of a loaded router whose grammar is not built decides with its saved HitKit, if it has one
        (the same captures and conversions, spec/handler.md); otherwise its grammar is built, and its kit
        saved for the next process."""
        kits = self._kits
        if kits is not None and self._grammar is None:
            if self._kit is None:
                self._kit = kits.load() or False
            if isinstance(self._kit, HitKit):
                values = self._kit.values(text)
                if values is not None:
                    return self.theta(values)
        theta = self.theta(self.grammar.values(self.captures(text)))
        if kits is not None and self._kit is False:  # looked up and missing (or damaged): saved now
            kit = self._kit = self.grammar.hit_kit() or True  # True: none to save, and not looked up again
            if kit is not True:
                kits.save(kit)
        return theta

    def theta(self, values: dict[str, Value]) -> tuple[dict[str, Value] | None, tuple[str, ...]]:
        if self.fast:
            theta: dict[str, Value] = {}
            for name, default in self.constant_defaults:
                if name in values:
                    theta[name] = values[name]
                elif default is not None:
                    theta[name] = default
                else:
                    break  # a required parameter the utterance did not give: let validate_theta say so
            else:
                return theta, ()
        if isinstance(self.family, _Pending):  # decided by its kit: the checked form is needed now
            self.family, self.evaluator = self.family.saved.load()
        full, problems = validate_theta(self.family, self.evaluator, values, values=True)
        return full, tuple(problems)


def _lang_set(entries: Sequence[_Entry], limits: Limits) -> LangSet[_Entry]:
    """The families' grammars as one LangSet, keyed by their entries.  The body only: an `except`
    clause is checked on the few texts a family accepts (an embedded difference would need the
    grammar's whole DFA)."""
    return LangSet({e: e.grammar.regex for e in entries},
                   minus={e: e.excluded_lang for e in entries if e.grammar.excluded is not None},
                   limits=limits, few=_FEW, cache_limit=_CACHE_LIMIT)


_Theta = tuple[dict[str, Value] | None, tuple[str, ...]]  # θ (None if outside Θ) and the problems

# A family's hit as data (built by _hit_plan, run by run_hit): its extractor's pattern, the checks of over-approximated
# captures, whether a failed match is conclusive, its `except` test (or None), per capture (group number, parameter,
# conversion kind, argument, 1 if θ requires the parameter else 0), θ's constant part (None: θ needs _Entry.theta), how
# many parameters θ requires, _Entry.theta.
# One tuple and one shared function rather than a closure per family: at 10,000 families a hit finds a family's data
# cold in memory, and every object it touches (a closure's cells, a converter's function) costs a cache miss.
_HitPlan = tuple[Any, ...]


def _hit_plan(entry: _Entry, extractor: FastExtractor, grammar: CompiledGrammar) -> _HitPlan | None:
    """The family's hit as data for :func:`run_hit`; None if a parameter is captured in several places (then the
    last capture counts, which the plan does not compare)."""
    groups = extractor.single_groups
    if groups is None:
        return None
    base: dict[str, Value | None] | None = None
    required: set[str] = set()
    if entry.fast:
        # θ in the parameters' order: each captured value, else its constant default; a parameter with no
        # default must have been captured (else _Entry.theta decides, through validate_theta).
        base = {sys.intern(name): default for name, default in entry.constant_defaults}
        required = {name for name, default in entry.constant_defaults if default is None}
    captures = []
    for index, name in groups:
        param, kind, arg = grammar.conversion(name)
        # interned: every family's "day" is one string
        captures.append((index, sys.intern(param), kind, arg, 1 if param in required else 0))
    if len({c[1] for c in captures}) < len(captures):
        return None  # a parameter captured in two places: run_hit counts each required parameter once
    excluded = grammar.is_excluded if grammar.excluded is not None else None
    return (extractor.regex, extractor.tests, extractor.exact, excluded, tuple(captures), base, len(required),
            entry.theta)


def run_hit(plan: _HitPlan, text: str) -> _Theta | bool | None:
    """A hit of one family: (θ, problems) for a member, False for a decided non-member, None when undecided
    (the walk goes on).  The same answers as the family's extractor (FastExtractor.decide), its conversions
    (CompiledGrammar.converter) and _Entry.theta one after the other."""
    if len(text) > MAX_FAST_LENGTH:
        return None
    m = plan[0].fullmatch(text)
    if m is None:
        return False if plan[2] else None
    tests = plan[1]
    if tests:
        for index, test in tests:
            captured = m.group(index)
            if captured is not None and not test(captured):
                return None  # the over-approximation chose a split the grammar rejects; others may exist
    excluded = plan[3]
    if excluded is not None and excluded(text):
        return False
    groups = m.groups()
    # The captured values are written over a copy of θ's constant part (the parameters' order, defaults where
    # nothing was captured): one dict, no merge.  Without one, or when a required parameter was not captured,
    # the captured values alone go to _Entry.theta.
    base = plan[5]
    values: dict[str, Value | None] = {} if base is None else base.copy()
    missing = plan[6]
    captures = plan[4]
    for index, param, kind, arg, required in captures:
        captured = groups[index]
        if captured is not None:
            if kind == CONVERT_INT:
                values[param] = int(captured)
            elif kind == CONVERT_LOOKUP_CASE:
                values[param] = arg[case_key(captured)]
            elif kind == CONVERT_TEXT:
                values[param] = captured
            elif kind == CONVERT_LOOKUP:
                values[param] = arg[captured]
            else:
                values[param] = arg(captured)
            missing -= required
    if base is not None:
        if not missing:  # every None (a required parameter's) was written over
            return cast(dict[str, Value], values), ()
        values = {c[1]: values[c[1]] for c in captures if groups[c[0]] is not None}
    theta: _Theta = plan[7](values)
    return theta


def _plan_of(entry: _Entry) -> _HitPlan | None:
    plan = entry._hit
    return entry.hit() if plan is False else plan


def _settle(alive: tuple[_Entry, ...], text: str) -> tuple[tuple[_Entry, ...], _Theta | None] | None:
    """Let the few families still alive decide ``text`` with their extractors, if they can.

    Called by the LangSet once at most ``_FEW`` families are still alive (for intent grammars,
    after a word or two, where traffic keeps the lazy states warm): the rest of the text is their
    business, their backtracking-free ``re`` extractors decide membership and captures in one
    C-speed call each.
    A success is a member (and its captures); a failure of an exact extractor is a non-member.
    If any family cannot decide (an inexact translation), the walk goes on (None).
    The payload of a single member is its θ and problems (a hit of one family alone, the usual
    case, is its hit plan: one call).
    """
    if len(alive) == 1:
        plan = alive[0]._hit  # _plan_of, inlined: the one call of a hit
        if plan is False:
            plan = alive[0].hit()
        if plan is not None:
            outcome = run_hit(plan, text)
            if outcome is None:
                return None
            return ((), None) if outcome is False else (alive, outcome)  # type: ignore[return-value]
    else:
        plans = [_plan_of(e) for e in alive]  # builds each family's parts if need be
        if _cannot_settle(alive):
            return None
        if None not in plans:  # every family has its hit plan: θ only for the members
            members: list[tuple[_Entry, _Theta]] = []
            for entry, plan in zip(alive, plans):
                assert plan is not None
                outcome = run_hit(plan, text)
                if outcome is None:
                    return None
                if outcome is not False:
                    members.append((entry, outcome))  # type: ignore[arg-type]
            if len(members) == 1:
                return (members[0][0],), members[0][1]
            return tuple(e for e, _ in members), None  # none (a miss), or an overlap settled by priority
    matched: list[tuple[_Entry, dict[str, str | None]]] = []
    for entry in alive:
        extractor = entry.extractor()
        if not extractor:
            return None
        groups, decided = extractor.decide(text)
        if groups is not None:
            if not entry.grammar.is_excluded(text):
                matched.append((entry, groups))
        elif not decided:
            return None
    if len(matched) == 1:
        entry, groups = matched[0]
        return (entry,), entry.theta(entry.grammar.values(groups))
    return tuple(f for f, _ in matched), None  # none (a miss), or an overlap settled by priority


def _cannot_settle(alive: tuple[_Entry, ...]) -> bool:
    """Whether :func:`_settle` of two or more prepared families would almost surely walk on after
    trying their extractors: one has none, or two are inexact (a failure proves nothing, and one
    utterance rarely matches both).  Then the walk to the end of the text (a few µs on warm states) is cheaper than those
    ``re`` calls: a failing match of a large widened grammar takes 50–150 µs.  Answers unchanged
    (None only says "walk on")."""
    inexact = 0
    for entry in alive:
        extractor = entry._extractor  # built by hit(), which _settle called first
        if not extractor:
            return True
        if not extractor.exact:
            inexact += 1
            if inexact > 1:
                return True
    return False


class Router:
    """H_k's deterministic branches: utterance → (family, θ), in one pass over the utterance."""

    # What the LangSet hands the few families still alive to (_settle); None when no family has its `re`
    # extractor (``from_bytes(extractors=False)``): _settle could only build their grammars and give up.
    _shortcut: Callable[[tuple[_Entry, ...], str], tuple[tuple[_Entry, ...], _Theta | None] | None] | None \
        = staticmethod(_settle)

    def __init__(self, entries: list[_Entry], limits: Limits) -> None:
        self.entries = entries
        self.by_name = {e.name: e for e in entries}
        self.limits = limits
        # One automaton per input normalization: the utterance as written, and normalized.
        self._raw = _lang_set([e for e in entries if not e.grammar.normalize_space], limits)
        self._normalized = _lang_set([e for e in entries if e.grammar.normalize_space], limits)
        self._has_raw = bool(len(self._raw))
        self._has_normalized = bool(len(self._normalized))
        # Each family's leading words walked now (spec/handler.md: no first-hit penalty): the states up to
        # where its words set it apart are built with the router, not by its first utterance.
        for e in entries:
            (self._normalized if e.grammar.normalize_space else self._raw).warm(leading_text(e.grammar.regex))

    @classmethod
    def build(cls, families: Iterable[RoutedFamily], *, limits: Limits = DEFAULT_LIMITS) -> Router:
        entries: list[_Entry] = []
        seen: set[str] = set()
        for spec in families:
            if spec.family.grammar is None:
                continue  # a family without a grammar is only run on θ
            if spec.name in seen:
                raise ValueError(f"two families named {spec.name!r} in one router")
            seen.add(spec.name)
            grammar = spec.grammar if spec.grammar is not None else CompiledGrammar(spec.family, spec.evaluator)
            entries.append(_Entry(len(entries), spec, grammar))
        return cls(entries, limits)

    def __len__(self) -> int:
        return len(self.entries)

    # ------------------------------------------------------------------ serialization

    def to_bytes(self) -> bytes:
        """The built router as bytes, for :meth:`from_bytes` (a cache of compiled routers).

        Kept: the combined automata (NFA tables and every lazily built state and transition, so a
        loaded router is as warm as this one), the extractors' patterns and θ plans.  Not kept:
        the checked families and their evaluators (``from_bytes`` takes them again, by name) and
        each family's compiled grammar, which is rebuilt from its family on load (its value forms
        hold functions).  The bytes are a pickle: load only bytes this process's cache wrote.
        """
        refs: dict[int, tuple[Any, ...]] = {}
        for e in self.entries:
            refs[id(e.family)] = ("family", e.name)
            refs.setdefault(id(e.evaluator), ("evaluator", e.name))
        # The automata's NFA tables (megabytes) go after the pickle as raw bytes, each at a multiple of 8, and
        # the pickle names them by place: from_bytes gives them back as views of the bytes it was given, with no
        # copy (a one-query process reads the file once and builds no array of it).
        tables: list[bytes] = []
        size = 0
        for langs in (self._raw, self._normalized):
            for table in langs.read_only_tables():
                if id(table) not in refs:
                    raw = memoryview(table).cast("B")
                    refs[id(table)] = ("table", memoryview(table).format, size, raw.nbytes)
                    tables.append(bytes(raw) + bytes(-raw.nbytes % 8))
                    size += len(tables[-1])

        class _Pickler(pickle.Pickler):
            def persistent_id(self, obj: Any) -> tuple[Any, ...] | None:  # noqa: N805 - pickle's hook
                return refs.get(id(obj))

        out = io.BytesIO()
        _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(
            (_FORMAT, [(e.name, e.priority, e.unambiguous) for e in self.entries], self))
        head = out.getvalue()
        return b"".join([len(head).to_bytes(8, "little"), head, bytes(-len(head) % 8), *tables])

    @classmethod
    def from_bytes(cls, data: bytes, families: Iterable[RoutedFamily | SavedFamily], *,
                   extractors: bool = True) -> Router:
        """The router :meth:`to_bytes` saved, with its families' checked forms and evaluators
        given again (or, as :class:`SavedFamily`, a way to load them on the family's first hit).
        ``families`` must be the families the router was built from (same names,
        priorities and ``unambiguous``; a family without a grammar is ignored as in :meth:`build`);
        raises ValueError otherwise, or when ``data`` is not a router of this version.

        ``extractors=False`` (a process that answers one query): no family builds its ``re``
        extractor; captures come from the family's tagged matcher, which the extractor only
        shortcuts (for an unambiguous family both give the same θ, spec/handler.md) and which costs
        a fraction of compiling the extractor's pattern."""
        specs = {f.name: f for f in families if isinstance(f, SavedFamily) or f.family.grammar is not None}
        pending: dict[str, _Pending] = {}
        view = memoryview(data)
        head = int.from_bytes(view[:8], "little")
        tables = view[8 + head + (-head % 8):]
        views: dict[Any, memoryview] = {}  # one view per table: what shared a table shares its view

        class _Unpickler(pickle.Unpickler):
            def persistent_load(self, pid: Any) -> Any:  # noqa: N805 - pickle's hook
                if pid[0] == "table":  # a read-only view of its bytes (see to_bytes)
                    _, code, at, size = pid
                    if not (0 <= at and at + size <= len(tables)):
                        raise ValueError("not a saved router: a table lies outside its bytes")
                    if pid not in views:
                        views[pid] = tables[at:at + size].cast(code)
                    return views[pid]
                kind, name = pid
                spec = specs.get(name)
                if spec is None:
                    raise ValueError(f"the saved router routes to {name!r}, which was not given")
                if isinstance(spec, SavedFamily):  # the same stand-in for the family and its evaluator
                    return pending.setdefault(name, _Pending(spec))
                return spec.family if kind == "family" else spec.evaluator

        try:
            with collector_paused():
                version, names, router = _Unpickler(io.BytesIO(view[8:8 + head])).load()
        except ValueError:
            raise
        except Exception as err:  # a truncated or foreign file: the caller rebuilds
            raise ValueError(f"not a saved router: {err}") from None
        if version != _FORMAT or not isinstance(router, Router):
            raise ValueError("a saved router of another version")
        given = sorted((f.name, f.priority, f.unambiguous) for f in specs.values())
        if sorted(names) != given:
            raise ValueError("the saved router was built from other families")
        router._shortcut = _settle if extractors else None
        for entry in router.entries:
            if isinstance(entry.family, _Pending):
                entry._kits = entry.family.saved.kits
        if not extractors:
            for entry in router.entries:
                entry._extractor = None  # neither built (only False is "not built yet") nor used (falsy)
        return router

    def prepare(self) -> None:
        """Build every family's grammar and the parts a hit needs now.  :meth:`build` does; a router
        from :meth:`from_bytes` builds each family's on its first hit instead (cheap to load for one
        query), so a long-running server calls this to have no first-hit penalty."""
        for entry in self.entries:
            entry.grammar  # noqa: B018 - builds it

    def candidates(self, utterance: str) -> list[tuple[_Entry, str]]:
        """Every family accepting the utterance (with the text it matched), best first."""
        return [(e, text) for e, text, _ in self._found(utterance)]

    def _found(self, utterance: str) -> list[tuple[_Entry, str, _Theta | None]]:
        """Every family accepting the utterance, the text it matched and its θ if settled, best first."""
        found: list[tuple[_Entry, str, _Theta | None, int]] = []
        if self._has_raw:
            families, theta = self._raw.scan(utterance, self._shortcut)
            for e in families:
                found.append((e, utterance, theta, 0))
        if self._has_normalized:
            text = normalize_space(utterance)
            families, theta = self._normalized.scan(text, self._shortcut)
            for e in families:
                found.append((e, text, theta, 1))
        if len(found) > 1:
            found.sort(key=lambda x: (-x[0].priority, x[3], x[0].index))
        return [(e, text, theta) for e, text, theta, _ in found]

    def route(self, utterance: str) -> Route | None:
        """The best family accepting ``utterance`` and its θ, or None on a miss."""
        if not self._has_raw:  # the usual registry: every grammar normalizes spaces, one automaton
            text = normalize_space(utterance)
            families, settled = self._normalized.scan(text, self._shortcut)
            if not families:
                return None
            if len(families) == 1:  # what _found would say, without sorting one family
                entry = families[0]
                theta, problems = settled if settled is not None else entry.decide(text)
                return _new_route(entry.name, theta, problems, (entry.name,))
            ordered = sorted(families, key=lambda e: (-e.priority, e.index))  # as _found orders them
            found = [(e, text, settled) for e in ordered]
        else:
            found = self._found(utterance)
        if not found:
            return None
        entry, text, settled = found[0]
        theta, problems = settled if settled is not None else entry.decide(text)
        return Route(entry.name, theta, problems, tuple(e.name for e, _, _ in found))

    # ------------------------------------------------------------------ overlaps

    def overlaps(self, involving: Collection[str] | None = None) -> list[Overlap]:
        """Every pair of families whose grammars accept a common utterance, with a shortest witness.

        With ``involving``, only the pairs with one of those families (a candidate joining a
        registry).  The search is :meth:`ddl.regular.LangSet.overlaps` (a breadth-first search of
        the combined automaton where two or more families we care about are alive, then pairs of
        lazily built DFAs).  ``except`` clauses count: an utterance a family excludes is not that
        family's.  Both modes' families are compared on the same text, so this compares the
        languages as written (normalization aside: see the module docstring).  Ordered by witness
        length, then by the families' order.  The budget is per family: past it, the families
        are searched one by one, and :class:`OverlapSearchTooLarge` names those whose own search
        passed it, never answering for them from a partial search; its ``found`` holds the
        overlaps of every other pair.
        """
        langs = self._normalized if not self._has_raw else (
            self._raw if not self._has_normalized else _lang_set(self.entries, self.limits))
        focus = None if involving is None else {e for e in self.entries if e.name in involving}
        try:
            found = langs.overlaps(focus, max_states=_OVERLAP_STATE_LIMIT)
        except SearchTooLarge as err:
            raise OverlapSearchTooLarge(sorted(e.name for e in err.keys if isinstance(e, _Entry)),
                                        [Overlap(o.first.name, o.second.name, o.witness) for o in err.found]) from None
        return [Overlap(o.first.name, o.second.name, o.witness) for o in found]

    def conflicts(self, involving: Collection[str] | None = None) -> list[Overlap]:
        """The :meth:`overlaps` no ``priority`` orders: both families have the same priority, so neither
        may answer the shared utterances (the registry refuses both; a candidate family is refused).
        :class:`OverlapSearchTooLarge`'s ``found`` is filtered alike."""
        priority = {e.name: e.priority for e in self.entries}

        def unordered(found: Sequence[Overlap]) -> list[Overlap]:
            return [o for o in found if priority[o.first] == priority[o.second]]

        try:
            return unordered(self.overlaps(involving))
        except OverlapSearchTooLarge as err:
            raise OverlapSearchTooLarge(err.families, unordered(err.found), err.limit) from None
