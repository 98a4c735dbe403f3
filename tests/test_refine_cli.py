"""ddl refine end to end: feedback in a store → a checked, reviewable split → written only with --write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ddl
from ddl.grammar.compile import CompiledGrammar
from ddl.handler.records import QueryRecord
from ddl.handler.store import open_store
from ddl.values import to_json

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
BOOKS = ROOT / "examples" / "books.ddl"


def _ddl(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    env["LLM_USER_PATH"] = str(tmp / "llm")
    return subprocess.run([str(DDL), *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=300)


def _feedback(store_path: Path, verdicts: list[tuple[str, str]]) -> None:
    prog = ddl.load(BOOKS)
    grammar = CompiledGrammar(prog.checked.families["recommend_books"], prog.evaluator)
    with open_store(store_path) as store:
        for utterance, verdict in verdicts:
            theta = {k: to_json(v) for k, v in (grammar.match(utterance).values or {}).items()}
            qid = store.record_query(QueryRecord(ts=time.time(), utterance=utterance, source="deterministic",
                                                 latency_ms=1.0, family="recommend_books", family_version="v1",
                                                 theta=theta))
            store.add_feedback(qid, verdict)


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    families = tmp_path / "families"
    families.mkdir()
    shutil.copy(BOOKS, families / "books.ddl")
    return families, tmp_path / "ledger.sqlite3"


VERDICTS = [(f"recommend {n} {g} books from the {d}s", "accept" if n <= 10 else "reject")
            for n, g, d in [(1, "fantasy", 1950), (3, "mystery", 1980), (5, "romance", 2000), (8, "sci-fi", 1990),
                            (10, "fantasy", 1970), (11, "mystery", 1960), (14, "fantasy", 2010), (20, "romance", 1980),
                            (17, "sci-fi", 1950), (2, "romance", 1920)]]


def test_refine_shows_a_checked_diff_and_writes_only_when_asked(tmp_path: Path) -> None:
    families, store = _setup(tmp_path)
    _feedback(store, [*VERDICTS, ("recommend 3 mystery books from the 1980s", "reject")])  # contradicts one accept
    before = (families / "books.ddl").read_text(encoding="utf-8")
    dry = _ddl(tmp_path, "refine", "recommend_books", str(families), "--store", str(store))
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "-  param count : Int in 1..20 = 5" in dry.stdout and "+  param count : Int in 1..10 = 5" in dry.stdout
    assert "inconsistent (not learned from): 'recommend 3 mystery books from the 1980s'" in dry.stdout
    assert "# Refined by `ddl refine`" in dry.stdout
    assert (families / "books.ddl").read_text(encoding="utf-8") == before  # nothing written without --write

    wet = _ddl(tmp_path, "refine", "recommend_books", str(families), "--store", str(store), "--write",
               "--format", "json")
    assert wet.returncode == 0, wet.stderr
    report = json.loads(wet.stdout)
    assert report["written"] and report["split"]["method"] == "theta"
    assert {c["name"]: c["ok"] for c in report["split"]["checks"]} == {
        "G+ non-empty": True, "G- non-empty": True, "G+ accepts every accepted utterance": True,
        "G- accepts every rejected utterance": True}
    assert _ddl(tmp_path, "check", str(families)).returncode == 0
    kept = _ddl(tmp_path, "handle", str(families), "suggest 7 fantasy books", "--store", str(store),
                "--format", "json")
    assert json.loads(kept.stdout)["source"] == "deterministic"  # 7 was never seen: the split generalizes
    declined = _ddl(tmp_path, "handle", str(families), "suggest 15 fantasy books", "--store", str(store),
                    "--format", "json")
    assert json.loads(declined.stdout)["source"] == "error"  # no model configured: the family declined it


def test_no_split_without_rejections(tmp_path: Path) -> None:
    families, store = _setup(tmp_path)
    _feedback(store, [(u, "accept") for u, v in VERDICTS if v == "accept"])
    result = _ddl(tmp_path, "refine", "recommend_books", str(families), "--store", str(store))
    assert result.returncode == 1, result.stdout
    assert "no refinement written" in result.stdout


def test_unknown_family_is_a_usage_error(tmp_path: Path) -> None:
    families, store = _setup(tmp_path)
    _feedback(store, VERDICTS[:2])
    result = _ddl(tmp_path, "refine", "nope", str(families), "--store", str(store))
    assert result.returncode == 2 and "no served family nope" in result.stderr
    misspelt = _ddl(tmp_path, "refine", "recommend_book", str(families), "--store", str(store))
    assert misspelt.returncode == 2 and "did you mean 'recommend_books'?" in misspelt.stderr


ORDER_BOOKS = '''family order_books {
  "Order books; big orders go to the warehouse."
  enum Genre { fantasy, mystery, romance }
  param genre : Genre
  param count : Int in 1..20 = 5
  grammar normalize_space { "order " count " " genre " books" }
  program -> Text =
    if count > 10 then "warehouse/${genre}/${count}" else "shop/${genre}/${count}"
  example "order 3 fantasy books" => { genre = fantasy, count = 3 } => "shop/fantasy/3"
  example "order 12 mystery books" => { genre = mystery, count = 12 } => "warehouse/mystery/12"
}
'''


def test_the_program_split_keeps_the_branch_accepted_inputs_take(tmp_path: Path) -> None:
    from ddl.refine.pipeline import refine

    families = tmp_path / "families"
    families.mkdir()
    (families / "order.ddl").write_text(ORDER_BOOKS, encoding="utf-8")
    prog = ddl.load(families / "order.ddl")
    grammar = CompiledGrammar(prog.checked.families["order_books"], prog.evaluator)
    store_path = tmp_path / "ledger.sqlite3"
    with open_store(store_path) as store:
        for n in [1, 2, 4, 6, 9, 10, 11, 13, 16, 20]:
            for genre in ["fantasy", "romance"]:
                u = f"order {n} {genre} books"
                theta = {k: to_json(v) for k, v in (grammar.match(u).values or {}).items()}
                qid = store.record_query(QueryRecord(ts=time.time(), utterance=u, source="deterministic",
                                                     latency_ms=1.0, family="order_books", family_version="v1",
                                                     theta=theta))
                store.add_feedback(qid, "accept" if n <= 10 else "reject")
    report = refine("order_books", families, store_url=str(store_path), write=True)
    assert report["ok"] and report["written"], report
    assert report["pruned_branches"] == 1 and report["dropped_examples"] == 1
    taken = {(b["kind"], b["arm"], b["which"]) for b in report["branches"]}
    assert taken == {("if", 0, "rejected"), ("if", 1, "accepted")}, report["branches"]
    assert any("the then branch of this if is taken only by rejected inputs" in b["description"]
               for b in report["branches"])
    refined = (families / "order.ddl").read_text(encoding="utf-8")
    assert "warehouse/" not in refined and 'program -> Text =\n    ("shop/${genre}/${count}")' in refined
    assert "Int in 1..10" in refined
    again = ddl.load(families / "order.ddl").family("order_books")
    assert again(genre="mystery", count=7) == "shop/mystery/7"
