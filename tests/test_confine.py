"""Nothing unchecked is served, no import reads outside its tree, nothing a model wrote takes over (issue 15).

Attacks, each reproduced as an attacker would run it:

1. a file (or a module it imports) swapped on the disk between the registry's check and any later
   read — the served module must be the checked one, under the hash of the bytes served, and the
   swapped file must not inherit the checked result from the cache;
2. an ``import`` that reaches outside the module's directory tree (an absolute path, ``..``, a
   link) or, in a module a model wrote, any file at all — refused before the file is opened, so
   nothing of it reaches a diagnostic, a prompt, a transcript or the output.

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
from ddl.eval import Ok
from ddl.files import OutsideTree, read_regular
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
    registry = Registry.load(d, cache_dir=tmp_path / "cache")
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
