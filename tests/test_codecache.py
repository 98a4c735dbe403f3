"""attrs' generated methods come from the user's code cache (ddl.codecache, issue 17): a second process compiles
none of them and its classes behave the same; a damaged, foreign or unsealed cache file is never loaded."""

from __future__ import annotations

import gc
import json
import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddl.files import collector_paused

ROOT = Path(__file__).resolve().parent.parent

# Defines ddl's AST and IR classes with the cache installed, uses a few, and reports what it saw.
PROGRAM = """
import json, sys
import attrs
import ddl.codecache as codecache
codecache.install()
from ddl.diagnostics import Span
from ddl.syntax import ast
import ddl.types.ir
a, b = Span("f.ddl", 0, 3, 1, 1, 1, 4), Span("f.ddl", 0, 3, 1, 1, 1, 4)
try:
    a.start = 9
    frozen = False
except attrs.exceptions.FrozenInstanceError:
    frozen = True
behaviour = [repr(a), a == b, hash(a) == hash(b), len({a, b}), frozen, a == Span("g.ddl", 0, 3, 1, 1, 1, 4)]
print(json.dumps({"stats": codecache.STATS, "behaviour": behaviour, "path": codecache.path()}))
"""


def _run(cache_home: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    env.update(PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(cache_home))
    proc = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_a_second_process_compiles_no_attrs_method_and_its_classes_behave_the_same(tmp_path: Path) -> None:
    first = _run(tmp_path)
    second = _run(tmp_path)
    misses = first["stats"]["misses"]  # type: ignore[index]
    assert misses > 100 and first["stats"]["hits"] == 0  # type: ignore[index]
    assert second["stats"] == {"hits": misses, "misses": 0}
    assert second["behaviour"] == first["behaviour"]
    assert first["behaviour"][1:] == [True, True, 1, True, False]  # type: ignore[index]


def _parts(cache_file: Path) -> tuple[bytes, bytes, bytes, dict[bytes, tuple[int, int, bytes]], bytes]:
    """The file's magic line, seal line, index bytes, index and entries (the format of ddl.codecache)."""
    data = cache_file.read_bytes()
    magic, seal, rest = data.split(b"\n", 2)
    size = int(seal.split(b" ")[1])
    return magic, seal, rest[:size], marshal.loads(rest[:size]), rest[size:]


def test_a_damaged_foreign_or_unsealed_code_cache_is_never_loaded(tmp_path: Path) -> None:
    first = _run(tmp_path)
    cache_file = Path(str(first["path"]))
    misses = first["stats"]["misses"]  # type: ignore[index]
    magic, seal, packed, index, entries = _parts(cache_file)
    assert len(index) == misses and sum(entry[1] for entry in index.values()) == len(entries)
    marker = tmp_path / "planted-code-ran"
    planted = marshal.dumps(compile(f"import os\nos.mkdir({str(marker)!r})\n", "<planted>", "exec"))
    # An index that sends every key to the planted code, and entries that are the planted code.
    evil = marshal.dumps({key: (0, len(planted), entry[2]) for key, entry in index.items()})
    padded = (planted * (len(entries) // len(planted) + 1))[:len(entries)]
    for damage in [b"garbage",
                   magic + b"\n" + b"0 %d\n" % len(evil) + evil + planted,  # no seal
                   magic + b"\n" + b"0" * 64 + b" %d\n" % len(evil) + evil + planted,  # a seal, not the user's
                   magic + b"\n" + seal + b"\n" + packed + padded,  # the user's sealed index, other entries
                   b"ddl-attrs-code 3 cpython-27 0\n" + cache_file.read_bytes().split(b"\n", 1)[1],  # another Python
                   magic + b"\n" + seal + b" 99999999999\n" + packed + entries,  # an index length past the limit
                   cache_file.read_bytes()[:1000]]:  # truncated
        cache_file.write_bytes(damage)
        again = _run(tmp_path)
        assert not marker.exists()
        assert again["stats"] == {"hits": 0, "misses": misses} and again["behaviour"] == first["behaviour"]
        assert _run(tmp_path)["stats"] == {"hits": misses, "misses": 0}  # written again, sealed, and used


def test_one_damaged_entry_is_compiled_again_and_the_others_are_used(tmp_path: Path) -> None:
    """Each entry carries its own seal: a changed byte in one costs that class a compile, not the file."""
    first = _run(tmp_path)
    cache_file = Path(str(first["path"]))
    magic, seal, packed, index, entries = _parts(cache_file)
    offset, length = next(iter(index.values()))[:2]
    damaged = bytearray(entries)
    damaged[offset + length // 2] ^= 0xFF
    cache_file.write_bytes(magic + b"\n" + seal + b"\n" + packed + bytes(damaged))
    again = _run(tmp_path)
    assert again["stats"] == {"hits": len(index) - 1, "misses": 1}
    assert again["behaviour"] == first["behaviour"]
    assert _run(tmp_path)["stats"] == {"hits": len(index), "misses": 0}  # the file was written again, whole


def test_the_collector_is_paused_inside_and_left_as_it_was() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


def test_ddl_called_in_process_leaves_the_collector_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a process that ends with the command (the console script, python -m ddl) freezes what it built."""
    import ddl.cli

    (tmp_path / "x.ddl").write_text("family f {\n  param n : Int in 1..5\n  program -> Int = n\n}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert ddl.cli.main(["check", "--no-cache", "x.ddl"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == 0

