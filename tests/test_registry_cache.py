"""A registry loaded from the check cache (checked modules and the overlap outcome cached, issue 17) serves
what a cold load serves; damaged entries are rebuilt; a covered `ddl handle` loads no checker, parser or
service."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from registry_families import CITY_WEATHER, PARIS_WEATHER

from ddl.handler.registry import Registry
from ddl.verify.cache import seal

ROOT = Path(__file__).resolve().parent.parent

ADD = '''
family add_numbers {
  "Adds two small numbers."
  param a : Int in 0..20
  param b : Int in 0..20 = 1
  grammar ignore_case normalize_space { "add " a (" and " b)? }
  program -> Int = a + b
  example "add 2 and 3" => { a = 2, b = 3 } => 5
}
'''



def _families(tmp_path: Path) -> Path:
    d = tmp_path / "families"
    d.mkdir()
    (d / "add.ddl").write_text(ADD, encoding="utf-8")
    (d / "city.ddl").write_text(CITY_WEATHER, encoding="utf-8")
    (d / "paris.ddl").write_text(PARIS_WEATHER.replace("PRIORITY", ""), encoding="utf-8")  # overlaps city_weather: both rejected
    return d


def _answers(registry: Registry, utterances: list[str]) -> list[object]:
    out: list[object] = []
    for u in utterances:
        route = registry.route(u)
        if route is None or route.theta is None:
            out.append(None)
            continue
        outcome = registry.by_name[route.family].run(route.theta)
        out.append((route.family, route.theta, repr(outcome)))
    return out


UTTERANCES = ["add 4 and 7", "weather in rome", "paris weather", "add 3", "add 30"]


def _served(registry: Registry) -> tuple[object, object]:
    return [f.to_json() for f in registry.served], [r.to_json() for r in registry.rejected]


def test_a_warm_load_serves_and_answers_what_a_cold_load_does(tmp_path: Path) -> None:
    d = _families(tmp_path)
    cold = Registry.load(d, cache_dir=tmp_path / "cache")
    assert cold.files_cached == 0
    assert {r.name for r in cold.rejected} == {"city_weather", "paris_weather"}  # the overlap, DDL701
    warm = Registry.load(d, cache_dir=tmp_path / "cache")
    assert warm.files_cached == 3 and warm.files_checked == 0
    assert _served(warm) == _served(cold)
    assert _answers(warm, UTTERANCES) == _answers(cold, UTTERANCES)
    assert _answers(warm, UTTERANCES)[0] is not None  # a covered query is answered
    assert list((tmp_path / "cache").glob("*.module")) and list((tmp_path / "cache").glob("*.overlaps"))


def test_damaged_cache_entries_are_rebuilt_not_trusted(tmp_path: Path) -> None:
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    cold = Registry.load(d, cache_dir=cache)
    modules = sorted(cache.glob("*.module"))
    assert len(modules) == 3
    # garbage; the right header with a broken pickle; a truncated entry
    good = modules[2].read_bytes()
    modules[0].write_bytes(b"\x80\x05not a pickle at all")
    header = modules[1].read_bytes().split(b"\n", 1)[0]
    modules[1].write_bytes(header + b"\n\x80\x05\x95garbage")
    modules[2].write_bytes(good[: len(good) // 2])
    for overlaps in cache.glob("*.overlaps"):
        overlaps.write_bytes(overlaps.read_bytes().split(b"\n", 1)[0] + b'\n{"overlaps": [["nobody", 3]]}')
    damaged = [m.read_bytes() for m in modules]
    again = Registry.load(d, cache_dir=cache)
    assert _served(again) == _served(cold)
    assert _answers(again, UTTERANCES) == _answers(cold, UTTERANCES)
    # rebuilt: every damaged entry was written again
    assert all(m.read_bytes() != bad and m.read_bytes().startswith(b"ddl-module ") for m, bad in zip(modules, damaged))
    third = Registry.load(d, cache_dir=cache)
    assert _served(third) == _served(cold)


class _Planted:
    """What a hostile archive could put in a cache: a pickle that runs code when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_a_planted_pickle_with_a_matching_key_is_never_unpickled(tmp_path: Path) -> None:
    """The entry keys are hashes anyone can compute from the files; the pickles are sealed with the
    user's own secret (outside the cache), so a cache that arrives with a checkout loads nothing."""
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    cold = Registry.load(d, cache_dir=cache)
    marker = tmp_path / "planted-code-ran"
    planted = pickle.dumps(_Planted(marker))
    for entry in [*cache.glob("*.module"), *cache.glob("*.router")]:
        header = entry.read_bytes().split(b"\n", 1)[0]
        entry.write_bytes(header + b"\n" + planted)  # what an unsealed cache would unpickle
    again = Registry.load(d, cache_dir=cache)
    assert not marker.exists()
    assert _served(again) == _served(cold) and _answers(again, UTTERANCES) == _answers(cold, UTTERANCES)


def test_an_edited_file_is_served_as_edited_not_from_its_cached_module(tmp_path: Path) -> None:
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    Registry.load(d, cache_dir=cache)
    (d / "paris.ddl").unlink()
    (d / "city.ddl").write_text(CITY_WEATHER.replace("https://weather.example/", "https://w2.example/")
                                .replace("=> \"https://w2.example/rome\"", "=> \"https://w2.example/rome\""),
                                encoding="utf-8")
    registry = Registry.load(d, cache_dir=cache)
    assert registry.files_checked == 1
    [answer] = _answers(registry, ["weather in rome"])
    assert answer is not None and "w2.example" in str(answer)


def _handle(directory: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", code], cwd=directory, env=env, capture_output=True, text=True,
                          timeout=600)


HANDLE = """
import sys
from ddl.commands import main
code = main(["handle", ".", "add 4 and 7", "--format", "json"])
heavy = sorted(m for m in ("z3", "lark", "llm", "starlette", "uvicorn", "hypothesis", "pathspec", "pygls", "ddl.types.check",
                           "ddl.syntax.parser", "ddl.verify.prove", "asyncio", "multiprocessing", "concurrent.futures.thread",
                           "tomllib", "tempfile", "ddl.handler.stats", "ddl.handler.serve_settings") if m in sys.modules)
print("HEAVY", heavy, "EXIT", code, file=sys.stderr)
"""


# HANDLE, counting the grammars this process compiles (a family decided by its saved hit kit compiles none).
HANDLE_COUNTING = """
import ddl.grammar.compile as grammar_compile
built = []
compile_grammar = grammar_compile.CompiledGrammar.__init__
def counting(self, *args, **kwargs):
    built.append(1)
    compile_grammar(self, *args, **kwargs)
grammar_compile.CompiledGrammar.__init__ = counting
""" + HANDLE + """
print("GRAMMARS", len(built), file=sys.stderr)
"""


def _cache_state(cache: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in cache.iterdir()}


def test_a_covered_ddl_handle_with_a_warm_cache_loads_no_checker_parser_or_service(tmp_path: Path) -> None:
    d = tmp_path / "families"
    d.mkdir()
    (d / "add.ddl").write_text(ADD, encoding="utf-8")
    cold = _handle(d, HANDLE_COUNTING)  # checks and fills the cache
    first = _handle(d, HANDLE_COUNTING)  # the router from the cache: the family's first hit saves its hit kit
    assert [p.suffix for p in (d / ".ddl-cache").iterdir() if p.suffix == ".hitkit"] == [".hitkit"]
    before = _cache_state(d / ".ddl-cache")
    warm = _handle(d, HANDLE_COUNTING)
    assert "EXIT 0" in cold.stderr and "EXIT 0" in first.stderr and "EXIT 0" in warm.stderr, cold.stderr + warm.stderr
    assert "GRAMMARS 1" in first.stderr, first.stderr
    # decided by the saved kit: no grammar compiled, nothing heavy loaded, nothing written to the cache
    assert "HEAVY [] EXIT 0" in warm.stderr and "GRAMMARS 0" in warm.stderr, warm.stderr
    assert _cache_state(d / ".ddl-cache") == before
    answers = [json.loads(proc.stdout) for proc in (cold, first, warm)]
    for a in answers:  # the ids and timings differ; the answer does not
        a.pop("id", None)
        a.pop("latency_ms", None)
        a.pop("ts", None)
    assert answers[0] == answers[1] == answers[2] and answers[0]["source"] == "deterministic"


def test_a_saved_router_is_loaded_and_a_damaged_one_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The registry saves and loads routers through Router.to_bytes/from_bytes when the router has them.
    from ddl.grammar.router import RoutedFamily, Router, SavedFamily

    calls: list[str] = []
    built = Router.build

    def to_bytes(self: Router) -> bytes:
        calls.append("save")
        return b"saved " + ",".join(e.name for e in self.entries).encode()

    def from_bytes(cls: type[Router], data: bytes, families: list[SavedFamily]) -> Router:
        calls.append("load")
        if not data.startswith(b"saved "):
            raise ValueError("not a saved router")
        return built(RoutedFamily(f.name, *f.load(), f.priority) for f in families)

    monkeypatch.setattr(Router, "to_bytes", to_bytes, raising=False)
    monkeypatch.setattr(Router, "from_bytes", classmethod(from_bytes), raising=False)
    d = tmp_path / "families"
    d.mkdir()
    (d / "add.ddl").write_text(ADD, encoding="utf-8")
    (d / "city.ddl").write_text(CITY_WEATHER, encoding="utf-8")
    cold = Registry.load(d, cache_dir=tmp_path / "cache")
    assert calls == ["save"]
    warm = Registry.load(d, cache_dir=tmp_path / "cache")
    assert calls == ["save", "load"]
    assert _answers(warm, UTTERANCES) == _answers(cold, UTTERANCES)
    [saved] = (tmp_path / "cache").glob("*.router")
    header = saved.read_bytes().split(b"\n", 1)[0]
    saved.write_bytes(header + b"\ngarbage")
    again = Registry.load(d, cache_dir=tmp_path / "cache")
    assert calls == ["save", "load", "save"]  # not sealed with the user's secret: not even offered to the router
    assert _answers(again, UTTERANCES) == _answers(cold, UTTERANCES)
    sealed = seal(b"garbage")
    assert sealed is not None
    saved.write_bytes(header + b"\n" + sealed)
    Registry.load(d, cache_dir=tmp_path / "cache")
    assert calls == ["save", "load", "save", "load", "save"]  # sealed but not a router: refused, rebuilt, saved


# ---------------------------------------------------------------------------- opened lazily (issue 17)

EXAMPLES = ROOT / "examples"


def _example_utterances(registry: Registry) -> list[str]:
    """Every example utterance of every served family, as written, shouted and spaced out, and misses."""
    out: list[str] = []
    for f in registry.served:
        for ex in f.checked.examples:
            if ex.utterance:
                out += [ex.utterance, ex.utterance.upper(), "  " + ex.utterance.replace(" ", "   ") + " "]
    return [*out, "write me a haiku about rain", "", "recommend", "recommend 5000 fantasy books"]


def _routes(registry: Registry, utterances: list[str]) -> list[object]:
    out: list[object] = []
    for u in utterances:
        route = registry.route(u)
        if route is None:
            out.append(None)
            continue
        outcome = registry.by_name[route.family].run(route.theta) if route.theta is not None else None
        out.append((route.family, route.theta, route.problems, route.candidates, repr(outcome)))
    return out


def test_a_lazily_opened_registry_answers_every_example_as_an_eagerly_opened_one(tmp_path: Path) -> None:
    """`ddl handle` opens the registry lazily (a module is unpickled and a grammar built on the family's first
    hit, and its program is interpreted, not compiled) and takes captures from the tagged matcher, not the `re`
    extractor: the same families, θ, problems, candidates and outputs as a service's eager registry (compiled
    programs), over every example."""
    cache = ROOT / ".ddl-cache"  # shared with the other tests that load examples/ (warm after the first)
    eager = Registry.load(EXAMPLES, cache_dir=cache)
    lazy = Registry.load(EXAMPLES, cache_dir=cache, eager=False, extractors=False)
    assert lazy.files_checked == 0 and lazy.files_cached == len(list(EXAMPLES.glob("*.ddl")))
    assert _served(lazy) == _served(eager)
    utterances = _example_utterances(eager)
    assert len(utterances) > 60
    answers = _routes(eager, utterances)
    assert sum(a is not None for a in answers) > 40  # most of them are hits
    assert _routes(lazy, utterances) == answers
    # one utterance at a time, each in a registry of its own (the first hit of a family, as `ddl handle` meets it)
    for u, answer in list(zip(utterances, answers))[::7]:
        fresh = Registry.load(EXAMPLES, cache_dir=cache, eager=False, extractors=False)
        assert _routes(fresh, [u]) == [answer]


def test_a_damaged_module_entry_met_lazily_is_compiled_again_not_trusted(tmp_path: Path) -> None:
    """A module entry is checked (key, seal) when the registry opens; one that is sealed but does not unpickle
    to a checked module when its family is first hit is compiled again from the bytes read at open."""
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    cold = Registry.load(d, cache_dir=cache)
    for entry in cache.glob("*.module"):
        header, summary_tag, summary, _ = entry.read_bytes().split(b"\n", 3)  # key; sealed summary; sealed pickle
        sealed = seal(pickle.dumps(["not", "a", "module"]))
        assert sealed is not None
        entry.write_bytes(b"\n".join([header, summary_tag, summary, sealed]))
    damaged = {entry: entry.read_bytes() for entry in cache.glob("*.module")}
    lazy = Registry.load(d, cache_dir=cache, eager=False, extractors=False)
    assert lazy.files_checked == 0  # the results are still cached: only the modules are compiled again
    assert _served(lazy) == _served(cold)
    assert _answers(lazy, UTTERANCES) == _answers(cold, UTTERANCES)
    # the hit family's entry was stored again (the others were never needed)
    assert sum(entry.read_bytes() != bad for entry, bad in damaged.items()) == 1


def test_a_lazily_opened_registry_of_an_edited_file_serves_the_edit(tmp_path: Path) -> None:
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    Registry.load(d, cache_dir=cache)
    (d / "add.ddl").write_text(ADD.replace("program -> Int = a + b", "program -> Int = a + b + 100")
                               .replace("=> 5", "=> 105"), encoding="utf-8")
    lazy = Registry.load(d, cache_dir=cache, eager=False, extractors=False)
    assert lazy.files_checked == 1
    [answer] = _answers(lazy, ["add 4 and 7"])
    assert answer is not None and "111" in str(answer)


# ---------------------------------------------------------------------------- hit kits (issue 17)


def _grammars_built(registry: Registry) -> set[str]:
    return {e.name for e in registry.router.entries if e.built is not None}


def test_hit_kits_decide_every_example_as_the_compiled_grammars_do(tmp_path: Path) -> None:
    """A lazily opened registry saves a family's hit kit (its matcher and capture conversions) on the family's
    first hit; the next registry decides with the kit, compiles no grammar, and every example utterance gets
    the same family, θ, problems, candidates and output as a service's eager registry (grammars compiled)."""
    cache = ROOT / ".ddl-cache"  # shared with the other tests that load examples/ (warm after the first)
    eager = Registry.load(EXAMPLES, cache_dir=cache)
    utterances = _example_utterances(eager)
    answers = _routes(eager, utterances)
    first = Registry.load(EXAMPLES, cache_dir=cache, eager=False, extractors=False)
    assert _routes(first, utterances) == answers  # saves every hit family's kit that is not saved yet
    kits = Registry.load(EXAMPLES, cache_dir=cache, eager=False, extractors=False)
    assert _routes(kits, utterances) == answers
    hit = {a[0] for a in answers if isinstance(a, tuple)}
    assert len(hit) == len(eager.served)  # every example family was hit...
    assert _grammars_built(kits) == set()  # ...and decided by its kit


def _hitkits(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.hitkit"))


def test_a_damaged_or_planted_hit_kit_is_rebuilt_never_trusted(tmp_path: Path) -> None:
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    cold = Registry.load(d, cache_dir=cache)
    expected = _answers(cold, UTTERANCES)
    _answers(Registry.load(d, cache_dir=cache, eager=False, extractors=False), UTTERANCES)  # saves the kit
    [kit] = _hitkits(cache)  # add_numbers: the one served family hit (the weathers overlap, DDL701)
    header = kit.read_bytes().split(b"\n", 1)[0]
    marker = tmp_path / "planted-code-ran"
    sealed_garbage = seal(b"\x80\x05garbage")
    sealed_other = seal(pickle.dumps({"not": "a kit"}))
    assert sealed_garbage is not None and sealed_other is not None
    for damage in [b"garbage", header + b"\n" + pickle.dumps(_Planted(marker)), header + b"\n" + sealed_garbage,
                   header + b"\n" + sealed_other, kit.read_bytes()[:100]]:
        kit.write_bytes(damage)
        registry = Registry.load(d, cache_dir=cache, eager=False, extractors=False)
        assert _answers(registry, UTTERANCES) == expected
        assert _grammars_built(registry) == {"add_numbers"}  # decided by the compiled grammar...
        assert kit.read_bytes() != damage and kit.read_bytes().startswith(b"ddl-hitkit ")  # ...and the kit saved again
        assert not marker.exists()
        again = Registry.load(d, cache_dir=cache, eager=False, extractors=False)
        assert _answers(again, UTTERANCES) == expected and _grammars_built(again) == set()


def test_the_hit_kit_of_an_edited_family_is_not_used(tmp_path: Path) -> None:
    d = _families(tmp_path)
    cache = tmp_path / "cache"
    Registry.load(d, cache_dir=cache)
    _answers(Registry.load(d, cache_dir=cache, eager=False, extractors=False), UTTERANCES)  # saves the kit
    # the same grammar, the other capture order: a stale kit would give a = 7, b = 4
    (d / "add.ddl").write_text(ADD.replace('"add " a (" and " b)?', '"add " b " and " a')
                               .replace("a = 2, b = 3", "a = 3, b = 2"), encoding="utf-8")
    checked = Registry.load(d, cache_dir=cache, eager=False, extractors=False)  # checks it, saves the new router
    assert checked.files_checked == 1
    for registry in (checked, Registry.load(d, cache_dir=cache, eager=False, extractors=False)):
        route = registry.route("add 4 and 7")
        assert route is not None and route.theta == {"a": 7, "b": 4}


UNITS = '''
family temperature {
  "A temperature request in a unit (Celsius unless asked)."
  enum City { oslo, rome }
  enum Unit { celsius, fahrenheit }
  param city : City
  param unit : Unit = celsius
  grammar ignore_case normalize_space { "temperature in " city (" in " unit)? }
  program -> Text = if unit == celsius then "${text(city)} in C" else "${text(city)} in F"
  example "temperature in oslo" => { city = oslo } => "oslo in C"
  example "temperature in rome in fahrenheit" => { city = rome, unit = fahrenheit } => "rome in F"
}
'''


def test_a_registry_opened_by_another_path_is_not_given_the_saved_values_of_the_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An enum value names its file as the registry was given it: a router or hit kit saved when the directory
    was named `families` must not lend its values (a default's) to a registry opened as /abs/families."""
    d = tmp_path / "families"
    d.mkdir()
    (d / "temp.ddl").write_text(UNITS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    for _ in range(2):
        for where in ("families", str(d)):
            registry = Registry.load(where, cache_dir=cache, eager=False, extractors=False)
            route = registry.route("temperature in oslo")
            assert route is not None and route.theta is not None
            assert {v.enum.split("#")[0] for v in route.theta.values() if hasattr(v, "enum")} == {f"{where}/temp.ddl"}
            assert "'oslo in C'" in repr(registry.by_name["temperature"].run(route.theta))  # the default is celsius
