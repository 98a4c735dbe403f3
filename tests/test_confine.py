"""Nothing unchecked is served, no import reads outside its tree, nothing a model wrote takes over (issue 15).

Three attacks, each reproduced as an attacker would run it:

1. a file (or a module it imports) swapped on the disk between the registry's check and any later
   read — the served module must be the checked one, under the hash of the bytes served, and the
   swapped file must not inherit the checked result from the cache;
2. an ``import`` that reaches outside the module's directory tree (an absolute path, ``..``, a
   link) or, in a module a model wrote, any file at all — refused before the file is opened, so
   nothing of it reaches a diagnostic, a prompt, a transcript or the output;
3. a model-written family with ``priority 100`` and a grammar that is one Text capture — refused
   with the reasons, and the served families keep their utterances.

File opens are observed through Python's audit hooks (the ``open`` event, raised by ``open`` and
``os.open`` before the file is opened), so "never opened" is what the process did, not a guess.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import llm
import pytest

from ddl.api import check
from ddl.cli import main
from ddl.distill import distill
from ddl.distill.admission import BREADTH_LIMIT, breadth
from ddl.eval import Evaluator, Ok
from ddl.files import OutsideTree, read_regular
from ddl.grammar.compile import CompiledGrammar
from ddl.handler.config import HandlerConfig
from ddl.handler.handler import Handler
from ddl.handler.registry import Registry
from ddl.handler.store import open_store
from ddl.values import to_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
sys.path.insert(0, str(ROOT / "tests"))
import ddl_fake_llm as fake  # noqa: E402
from distill_families import GOOD, UTTERANCE, fenced  # noqa: E402

SECRET = "SECRET-7f3a9c-DO-NOT-LEAK"

# ---------------------------------------------------------------------------- observing opens

_HOOKS: list[Callable[[str], None]] = []  # called with the path of every file about to be opened


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not _HOOKS or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    for hook in list(_HOOKS):
        hook(path)


sys.addaudithook(_audit)  # audit hooks cannot be removed: it does nothing while _HOOKS is empty


@contextmanager
def watching_opens() -> Iterator[list[str]]:
    """Every path opened inside the block (as given to ``open``/``os.open``, made absolute)."""
    opened: list[str] = []

    def record(path: str) -> None:
        opened.append(os.path.abspath(path))
    _HOOKS.append(record)
    try:
        yield opened
    finally:
        _HOOKS.remove(record)


def _opened(opened: list[str], target: Path) -> bool:
    real = os.path.realpath(target)
    return any(os.path.realpath(p) == real for p in opened)


class SwapOnSecondOpen:
    """The attacker: once ``target`` has been opened (read by the check) — counting from the moment
    ``after`` is opened, if given (the file whose check imports it) — any further open of it is
    preceded by an atomic replacement of the file with ``replacement`` (``os.replace``, as a deploy or
    an attacker racing ``POST /reload`` would do).  ``swap()`` does it now, if no second open did."""

    def __init__(self, target: Path, replacement: str, after: Path | None = None) -> None:
        self.target, self.replacement = target, replacement
        self.real = os.path.realpath(target)
        self.after = os.path.realpath(after) if after is not None else None
        self.armed = after is None
        self.opens = 0
        self.swapped = False
        self._busy = False

    def __call__(self, path: str) -> None:
        if self._busy or self.swapped:
            return
        real = os.path.realpath(path)
        if real == self.after:
            self.armed = True
        if real != self.real or not self.armed:
            return
        self.opens += 1
        if self.opens >= 2:
            self.swap()

    def swap(self) -> None:
        if self.swapped:
            return
        self._busy = True
        try:
            staged = self.target.with_name(self.target.name + ".new")
            staged.write_text(self.replacement, encoding="utf-8")
            os.replace(staged, self.target)
            self.swapped = True
        finally:
            self._busy = False


@contextmanager
def attacker(swap: SwapOnSecondOpen) -> Iterator[SwapOnSecondOpen]:
    _HOOKS.append(swap)
    try:
        yield swap
    finally:
        _HOOKS.remove(swap)


# ---------------------------------------------------------------------------- 1. nothing unchecked is served

LIB = 'fn greeting() -> Text = "hello"\n'
BAD_LIB = 'fn greeting() -> Text = "pwned"\n'  # compiles, but refutes greet's example
MAIN = """\
import "lib.ddl" as lib

family greet {
  enum Who { world, friend }
  param who : Who
  grammar { "greet " who }
  program -> Text = "${lib::greeting()} ${who}"
  example "greet world" => { who = world } => "hello world"
}
"""
BAD_MAIN = MAIN.replace('program -> Text = "${lib::greeting()} ${who}"', 'program -> Text = "pwned"')


WEATHER = """\
family weather {
  enum City { paris, london, tokyo }
  param city : City
  grammar { "weather in " city }
  program -> Text = "the weather in ${city}"
  example "weather in paris" => { city = paris } => "the weather in paris"
}
"""
TIME = WEATHER.replace("family weather", "family time_in").replace('"weather in ', '"time in ') \
    .replace('"the weather in', '"the time in')
TAKEOVER = """\
family takeover {
  param q : Text
  priority 100
  grammar { q }
  program -> Text = "attacker text: ${q}"
  example { q = "x" } => "attacker text: x"
}
"""
NARROW = """\
family forecast {
  enum City { paris, london, tokyo }
  param city : City
  priority PRIORITY
  grammar { "forecast for " city }
  program -> Text = "the forecast for ${city}"
  example "forecast for paris" => { city = paris } => "the forecast for paris"
}
"""
WEATHER_LOW = WEATHER.replace("family weather", "family weather_low").replace('"weather in ', '"weather for ') \
    .replace("  grammar", "  priority -3\n  grammar")
# The attack of the issue, as a model would send it: everything the distill gate asked for but admission.
TAUGHT_TAKEOVER = TAKEOVER.replace('example { q = "x" } => "attacker text: x"',
                                   f'teach q = "{UTTERANCE}"\n  example "{UTTERANCE}" => {{ q = "{UTTERANCE}" }}')


def _greeting_dir(path: Path) -> Path:
    path.mkdir()
    (path / "lib.ddl").write_text(LIB, encoding="utf-8")
    (path / "main.ddl").write_text(MAIN, encoding="utf-8")
    return path


def _answer(registry: Registry, utterance: str) -> tuple[str, Any] | None:
    route = registry.route(utterance)
    if route is None:
        return None
    outcome = registry.by_name[route.family].run(route.theta)
    assert isinstance(outcome, Ok)
    return route.family, to_json(outcome.value)


@pytest.mark.parametrize("swapped,replacement", [("lib.ddl", BAD_LIB), ("main.ddl", BAD_MAIN)], ids=["import", "file"])
def test_a_file_swapped_after_the_check_read_it_is_never_served(tmp_path: Path, swapped: str,
                                                               replacement: str) -> None:
    clean = Registry.load(_greeting_dir(tmp_path / "clean"), use_cache=False)
    (checked_version,) = [f.version for f in clean.served]
    directory = _greeting_dir(tmp_path / "served")
    cache = tmp_path / "cache"
    importer = directory / "main.ddl" if swapped == "lib.ddl" else None
    with watching_opens() as opened, attacker(SwapOnSecondOpen(directory / swapped, replacement, importer)) as swap:
        registry = Registry.load(directory, cache_dir=cache)
        swap.swap()  # the race lost by the registry: the file changes right after its one read
    # Read once in the whole load (also lib.ddl, a file of the registry as well as main's import).
    assert sum(os.path.realpath(p) == os.path.realpath(directory / swapped) for p in opened) == 1
    # What is served is what was checked, under the hash of exactly those bytes.
    assert _answer(registry, "greet world") == ("greet", "hello world")
    assert [f.version for f in registry.served] == [checked_version]
    # The swapped file did not inherit the checked result (the cache key is that of the bytes checked):
    # reloading checks it, and it fails.
    reloaded = registry.reload()
    assert reloaded.served == [] and _answer(reloaded, "greet world") is None
    (rejected,) = [r for r in reloaded.rejected if r.name == "greet"]
    assert rejected.code == "DDL700" and any("DDL400" in reason for reason in rejected.reasons)


def test_a_module_imported_by_two_files_is_read_once_per_load(tmp_path: Path) -> None:
    directory = _greeting_dir(tmp_path / "families")
    (directory / "other.ddl").write_text(MAIN.replace("family greet", "family greet_again")
                                         .replace('"greet "', '"hail "').replace('"greet world"', '"hail world"'),
                                         encoding="utf-8")
    with watching_opens() as opened:
        registry = Registry.load(directory, use_cache=False)
    assert sorted(f.name for f in registry.served) == ["greet", "greet_again"]
    assert sum(os.path.realpath(p) == os.path.realpath(directory / "lib.ddl") for p in opened) == 1
    assert len({f.version for f in registry.served}) == 2  # each file's own bytes, the same lib bytes


# ---------------------------------------------------------------------------- 2. imports are confined


def _tree_with_secret(tmp_path: Path) -> tuple[Path, Path]:
    """tree/ (the module's directory) and outside/secret.ddl, a valid module holding the marker."""
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    secret = outside / "secret.ddl"
    secret.write_text(f'fn token() -> Text = "{SECRET}"\n', encoding="utf-8")
    return tree, secret


@pytest.mark.parametrize("how", ["absolute", "dotdot", "link", "linked-dir", "proc"])
def test_an_import_outside_the_tree_is_refused_without_opening_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str) -> None:
    tree, secret = _tree_with_secret(tmp_path)
    if how == "link":
        (tree / "link.ddl").symlink_to(secret)
    if how == "linked-dir":
        (tree / "sub").symlink_to(secret.parent, target_is_directory=True)
    target = {"absolute": str(secret), "dotdot": "../outside/secret.ddl", "link": "link.ddl",
              "linked-dir": "sub/secret.ddl", "proc": "/proc/self/environ"}[how]
    (tree / "main.ddl").write_text(f'import "{target}" as s\nfn f() -> Text = s::token()\n', encoding="utf-8")
    with watching_opens() as opened:
        code = main(["check", "--no-cache", str(tree / "main.ddl")])
    out = capsys.readouterr()
    assert code == 1
    assert f'DDL226: import "{target}" is outside the module\'s directory tree' in out.out
    assert f"files under {tree.resolve()} only" in out.out
    assert SECRET not in out.out + out.err
    assert not _opened(opened, secret) and not _opened(opened, Path("/proc/self/environ"))


def test_a_link_swapped_in_after_the_path_was_checked_is_not_read(tmp_path: Path) -> None:
    tree, secret = _tree_with_secret(tmp_path)
    (tree / "sub").symlink_to(secret.parent, target_is_directory=True)  # as if swapped in after resolving
    with pytest.raises(OutsideTree):
        read_regular(tree / "sub" / "secret.ddl", within=[tree.resolve()])


def test_a_configured_import_path_widens_the_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "lib.ddl").write_text(LIB, encoding="utf-8")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "main.ddl").write_text(MAIN.replace('"lib.ddl"', '"../shared/lib.ddl"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--no-cache", "tree"]) == 1
    assert 'DDL226: import "../shared/lib.ddl" is outside' in capsys.readouterr().out
    assert main(["run", "tree/main.ddl", "greet world"]) == 1
    assert "DDL226" in capsys.readouterr().err
    (tmp_path / "ddl.toml").write_text('[check]\nimport_path = ["shared"]\n', encoding="utf-8")
    assert main(["check", "--no-cache", "tree"]) == 0
    assert "checked 1 file, 1 family" in capsys.readouterr().out
    assert main(["run", "tree/main.ddl", "greet world"]) == 0  # ddl run reads the same search path
    assert json.loads(capsys.readouterr().out) == "hello world"
    assert check("tree", cache=None).ok is False  # the Python API is told its search path: import_path=
    assert check("tree", cache=None, import_path=["shared"]).ok
    (tmp_path / "ddl.toml").write_text('[check]\nimport_path = "shared"\n', encoding="utf-8")
    assert main(["check", "--no-cache", "tree"]) == 2
    assert "[check].import_path must be a list of directory names" in capsys.readouterr().err


def test_a_registry_serves_imports_from_each_files_tree_and_its_search_path_only(tmp_path: Path) -> None:
    tree, secret = _tree_with_secret(tmp_path)
    (tree / "lib").mkdir()
    (tree / "lib" / "lib.ddl").write_text(LIB, encoding="utf-8")
    (tree / "families").mkdir()
    (tree / "families" / "main.ddl").write_text(MAIN.replace('"lib.ddl"', '"../lib/lib.ddl"'), encoding="utf-8")
    (tree / "families" / "leak.ddl").write_text(
        MAIN.replace('"lib.ddl"', f'"{secret}"').replace("family greet", "family leak")
        .replace('"greet ', '"leak ').replace("lib::greeting()", "lib::token()"), encoding="utf-8")
    with watching_opens() as opened:
        alone = Registry.load(tree, use_cache=False)
    assert alone.served == [] and {r.code for r in alone.rejected} == {"DDL226"}  # ../lib is outside families/
    (tree / "ddl.toml").write_text('[check]\nimport_path = ["lib"]\n', encoding="utf-8")
    with watching_opens() as more:
        registry = Registry.load(tree, use_cache=False)
    assert [f.name for f in registry.served] == ["greet"]
    (leak,) = registry.rejected
    assert leak.code == "DDL226" and SECRET not in json.dumps(alone.to_json()) + json.dumps(registry.to_json())
    assert not _opened(opened + more, secret)


# -- what a model wrote imports stdlib modules only


@pytest.fixture
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.delenv("DDL_FAKE_SCRIPT", raising=False)
    monkeypatch.delenv("DDL_FAKE_SCRIPT_LOG", raising=False)
    fake.reset_script()
    llm.plugins.pm.register(fake.FakeModels(), name="ddl-confine-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-confine-fakes")
    fake.reset_script()


def _importing(target: str, source: str = GOOD) -> str:
    return f'import "{target}" as env\n\n{source}'


@pytest.mark.usefixtures("fake_models")
def test_a_distilled_module_cannot_import_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, secret = _tree_with_secret(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "local.ddl").write_text(f'fn token() -> Text = "{SECRET}"\n', encoding="utf-8")  # even beside it
    replies = [fenced(_importing("/proc/self/environ")), fenced(_importing(str(secret))),
               fenced(_importing("local.ddl")), fenced(GOOD)]
    fake.reset_script(replies)
    with watching_opens() as opened:
        code = main(["distill", UTTERANCE, "-m", fake.SCRIPTED, "--phrasings", "0", "--rounds", "3",
                     "-o", str(work / "out.ddl"), "--log-dir", str(work / "logs")])
    out = capsys.readouterr()
    assert code == 0, out.err
    (log,) = [json.loads(p.read_text(encoding="utf-8")) for p in (work / "logs").glob("*.json")]
    assert [r["passed"] for r in log["rounds"]] == [False, False, False, True]
    for round_, target in zip(log["rounds"], ["/proc/self/environ", str(secret), "local.ddl"]):
        assert any(f'DDL227: import "{target}": a module written by a model may import stdlib modules only'
                   in d for d in round_["diagnostics"])
    prompts = [entry["prompt"] for entry in fake.RECEIVED]
    assert len(prompts) == 4 and 'DDL227: import "/proc/self/environ"' in prompts[1]
    everything = json.dumps(log) + json.dumps(fake.RECEIVED) + out.out + out.err
    assert SECRET not in everything
    for path in (secret, work / "local.ddl", Path("/proc/self/environ")):
        assert not _opened(opened, path)


def _weather_handler(tmp_path: Path, **config: Any) -> Handler:
    d = tmp_path / "families"
    d.mkdir()
    (d / "weather.ddl").write_text(WEATHER, encoding="utf-8")
    registry = Registry.load(d, cache_dir=tmp_path / "cache", max_model_priority=config.pop("max_model_priority", None))
    settings = HandlerConfig(model=fake.SCRIPTED, compile_on_miss=True, distill_rounds=1, extract=False, **config)
    return Handler(registry, open_store(tmp_path / "ledger.sqlite3"), settings, learn_in_background=False)


OUTPUT = {"method": "GET", "url": "https://openlibrary.org/subjects/fantasy.json",
          "query": {"limit": "5", "published_in": "1980-1989"}}


@pytest.mark.usefixtures("fake_models")
def test_compile_on_miss_never_opens_a_file_the_model_imports(tmp_path: Path) -> None:
    _, secret = _tree_with_secret(tmp_path)
    fake.reset_script([json.dumps(OUTPUT), fenced(_importing(str(secret))), fenced(_importing("/proc/self/environ"))])
    with _weather_handler(tmp_path) as h, watching_opens() as opened:
        answer = h.handle(UTTERANCE)
        learning = answer["learning"]
        assert learning["status"] == "rejected" and "DDL227" in learning["reason"], learning
        transcript = Path(learning["transcript"]).read_text(encoding="utf-8")
        assert SECRET not in json.dumps(answer) + transcript + json.dumps(fake.RECEIVED)
        assert [f.name for f in h.registry.served] == ["weather"]
    assert not _opened(opened, secret) and not _opened(opened, Path("/proc/self/environ"))


def test_a_file_under_distilled_may_import_stdlib_modules_only(tmp_path: Path) -> None:
    d = _greeting_dir(tmp_path / "families")
    (d / "distilled").mkdir()
    (d / "distilled" / "copy.ddl").write_text(
        MAIN.replace('"lib.ddl"', '"../lib.ddl"').replace("family greet", "family greet_copy")
        .replace('"greet ', '"salute '), encoding="utf-8")
    registry = Registry.load(d, use_cache=False)
    assert [f.name for f in registry.served] == ["greet"]
    (refused,) = registry.rejected  # the file does not compile as a model's: its families are not named
    assert refused.path == str(d / "distilled" / "copy.ddl") and refused.code == "DDL227"
    assert 'DDL227: import "../lib.ddl": a module written by a model may import stdlib modules only' in \
        refused.reasons[0]


# ---------------------------------------------------------------------------- 3. admission of what a model wrote

def _registry_dir(tmp_path: Path, distilled: dict[str, str], **others: str) -> Path:
    d = tmp_path / "families"
    (d / "distilled").mkdir(parents=True)
    (d / "weather.ddl").write_text(WEATHER, encoding="utf-8")
    for name, text in others.items():
        (d / f"{name}.ddl").write_text(text, encoding="utf-8")
    for name, text in distilled.items():
        (d / "distilled" / f"{name}.ddl").write_text(text, encoding="utf-8")
    return d


def test_a_distilled_catch_all_with_priority_100_cannot_take_over(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    d = _registry_dir(tmp_path, {"takeover": TAKEOVER}, time=TIME)
    assert check(d / "distilled", cache=None).ok  # it passes `ddl check`: only admission stops it
    registry = Registry.load(d, use_cache=False)
    assert sorted(f.name for f in registry.served) == ["time_in", "weather"]
    (refused,) = registry.rejected
    assert refused.name == "takeover" and refused.code == "DDL709"
    reasons = " | ".join(refused.reasons)
    assert "may not declare priority 100: it would outrank served families" in reasons
    assert "the grammar accepts almost anything: 100% of the texts of 8 characters" in reasons
    assert "accepts the requests of 2 served families" in reasons
    assert _answer(registry, "weather in paris") == ("weather", "the weather in paris")
    # And through the command, as a user sees it.
    assert main(["handle", str(d), "weather in paris", "--store", str(tmp_path / "ledger.sqlite3")]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == "the weather in paris" and "family weather," in out.err


@pytest.mark.usefixtures("fake_models")
def test_compile_on_miss_refuses_a_catch_all_and_the_weather_family_still_answers(tmp_path: Path) -> None:
    fake.reset_script([json.dumps(f"attacker text: {UTTERANCE}"), fenced(TAUGHT_TAKEOVER), fenced(TAUGHT_TAKEOVER)])
    with _weather_handler(tmp_path) as h:
        learning = h.handle(UTTERANCE)["learning"]
        assert learning["status"] == "rejected", learning
        assert "DDL709" in learning["reason"] and "DDL710" in learning["reason"]
        assert not (h.registry.directory / "distilled").exists()
        answer = h.handle("weather in paris")
        assert answer["source"] == "deterministic" and answer["family"] == "weather"
        assert answer["output"] == "the weather in paris"


def test_a_model_priority_is_allowed_only_up_to_the_operators_cap(tmp_path: Path) -> None:
    d = _registry_dir(tmp_path, {"forecast": NARROW.replace("PRIORITY", "5")})
    refused = Registry.load(d, use_cache=False)
    assert [f.name for f in refused.served] == ["weather"] and refused.rejected[0].code == "DDL709"
    assert "the highest it may declare here is 0" in refused.rejected[0].reasons[0]
    allowed = Registry.load(d, use_cache=False, max_model_priority=5)
    assert sorted(f.name for f in allowed.served) == ["forecast", "weather"]
    assert allowed.reload().model_priority_cap == 5  # a reload keeps the operator's setting
    low = _registry_dir(tmp_path / "low", {"forecast": NARROW.replace("PRIORITY", "0")}, weather_low=WEATHER_LOW)
    capped = Registry.load(low, use_cache=False)
    assert capped.model_priority_cap == -3  # below the lowest served family: it could outrank none
    assert sorted(f.name for f in capped.served) == ["weather", "weather_low"]
    assert capped.rejected[0].name == "forecast" and "the highest it may declare here is -3" in \
        capped.rejected[0].reasons[0]


def test_a_model_written_family_overlapping_a_served_one_is_rejected_alone(tmp_path: Path) -> None:
    shadow = NARROW.replace("PRIORITY", "0").replace('"forecast for " city', '("forecast for " | "weather in ") city')
    registry = Registry.load(_registry_dir(tmp_path, {"forecast": shadow}), use_cache=False)
    assert [f.name for f in registry.served] == ["weather"]  # the people's family stays in service
    (refused,) = registry.rejected
    assert refused.code == "DDL701" and "must yield to the others" in refused.reasons[0]
    yielding = Registry.load(_registry_dir(tmp_path / "y", {"forecast": shadow.replace("priority 0", "priority -1")}),
                             use_cache=False)
    assert sorted(f.name for f in yielding.served) == ["forecast", "weather"]
    assert _answer(yielding, "weather in paris") == ("weather", "the weather in paris")
    assert _answer(yielding, "forecast for tokyo") == ("forecast", "the forecast for tokyo")


def test_a_model_written_family_never_takes_a_served_name(tmp_path: Path) -> None:
    d = _registry_dir(tmp_path, {"weather": NARROW.replace("PRIORITY", "0").replace("family forecast", "family weather")})
    registry = Registry.load(d, use_cache=False)
    assert [(f.name, f.path) for f in registry.served] == [("weather", str(d / "weather.ddl"))]
    assert registry.rejected[0].path == str(d / "distilled" / "weather.ddl")


@pytest.mark.parametrize("grammar,broad", [
    ("{ q }", True),
    ('{ q " " r }', True),
    ('{ q "s" }', True),  # one in 27 texts ends in "s"
    ('{ "weather in " q }', False),
    ('{ q " please" }', False),
])
def test_the_breadth_measure(grammar: str, broad: bool) -> None:
    from ddl.api import compile_source  # deferred: only this test compiles loose sources

    source = ("family f {\n  param q : Text\n  param r : Text = \"\"\n  grammar " + grammar +
              '\n  program -> Text = "${q}${r}"\n}\n')
    module, diags = compile_source(source)
    assert module is not None, [d.render() for d in diags]
    family = module.families["f"]
    share, _ = breadth(CompiledGrammar(family, Evaluator(module)))
    assert (share >= BREADTH_LIMIT) is broad, float(share)


@pytest.mark.usefixtures("fake_models")
def test_the_distill_gate_sends_the_admission_rules_back_to_the_model(tmp_path: Path) -> None:
    outranking = GOOD.replace("  teach genre", "  priority 7\n\n  teach genre")
    assert outranking != GOOD
    fake.reset_script([fenced(outranking), fenced(GOOD)])
    result = distill(UTTERANCE, fake.SCRIPTED, out=tmp_path / "out.ddl", log_dir=tmp_path / "logs", rounds=1)
    assert result.ok
    first = " ".join(result.rounds[0].diagnostics)
    assert "DDL709: decade_books: a family written by a model may not declare priority 7" in first
    assert "DDL709" in fake.RECEIVED[1]["prompt"]


def test_the_operator_raises_the_cap_in_the_handler_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _registry_dir(tmp_path, {"forecast": NARROW.replace("PRIORITY", "5")})
    store = str(tmp_path / "ledger.sqlite3")
    assert main(["handle", str(d), "forecast for paris", "--store", store]) == 1  # refused: a miss, no model
    assert "DDL707" in capsys.readouterr().err
    (d / "ddl.toml").write_text("[handler]\nmax_model_priority = 5\n", encoding="utf-8")
    assert main(["handle", str(d), "forecast for paris", "--store", store]) == 0
    assert json.loads(capsys.readouterr().out) == "the forecast for paris"
    (d / "ddl.toml").write_text('[handler]\nmax_model_priority = "high"\n', encoding="utf-8")
    assert main(["handle", str(d), "forecast for paris", "--store", store]) == 2
    assert "[handler].max_model_priority must be an integer, not string 'high'" in capsys.readouterr().err
