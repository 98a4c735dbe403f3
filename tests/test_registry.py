"""The registry: only checked, non-overlapping families are served; the rest are listed with why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from registry_families import CITY_WEATHER, PARIS_WEATHER

from ddl.grammar import router
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"



def _dir(tmp_path: Path, files: dict[str, str]) -> Path:
    d = tmp_path / "families"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def _load(d: Path, tmp_path: Path) -> Registry:
    return Registry.load(d, cache_dir=tmp_path / "cache")


def test_every_bundled_example_is_served(tmp_path: Path) -> None:
    registry = _load(EXAMPLES, tmp_path)
    assert registry.rejected == []
    assert len(registry.served) == len(list(EXAMPLES.glob("*.ddl")))
    route = registry.route("Suggest 12 sci-fi novels from the 1980s")
    assert route is not None and route.family == "recommend_books"
    assert route.theta is not None and route.theta["count"] == 12 and route.theta["decade"] == 1980


def test_a_family_that_fails_its_check_is_listed_with_the_refuted_obligation(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"books.ddl": (EXAMPLES / "books.ddl").read_text(encoding="utf-8")})
    shutil.copy(ROOT / "spec" / "tests" / "check" / "failure" / "hardcoded_limit.ddl", d / "search.ddl")
    registry = _load(d, tmp_path)
    assert [f.name for f in registry.served] == ["recommend_books"]
    [bad] = registry.rejected
    assert bad.name == "search_books" and bad.code == "DDL700"
    assert any("DDL601" in r and "count" in r for r in bad.reasons), bad.reasons
    assert registry.route("find 5 books by Ursula Le") is None  # never routed to


def test_a_file_that_does_not_parse_is_listed_and_the_others_are_served(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"weather.ddl": CITY_WEATHER, "broken.ddl": "family oops { param x : Int in 1..5 "})
    registry = _load(d, tmp_path)
    assert [f.name for f in registry.served] == ["city_weather"]
    [bad] = registry.rejected
    assert bad.path.endswith("broken.ddl") and bad.code.startswith("DDL1")
    assert any("broken.ddl:1:" in r for r in bad.reasons)


def test_overlapping_families_without_priority_are_both_rejected_with_a_witness(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"city.ddl": CITY_WEATHER, "paris.ddl": PARIS_WEATHER.replace("PRIORITY", "")})
    registry = _load(d, tmp_path)
    assert registry.served == []
    assert {r.name for r in registry.rejected} == {"city_weather", "paris_weather"}
    for r in registry.rejected:
        assert r.code == "DDL701"
        assert any("'weather in paris'" in why and "priority" in why for why in r.reasons), r.reasons
    assert registry.route("weather in rome") is None


def test_a_declared_priority_orders_an_overlap(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"city.ddl": CITY_WEATHER, "paris.ddl": PARIS_WEATHER.replace("PRIORITY", "priority 10")})
    registry = _load(d, tmp_path)
    assert registry.rejected == []
    shared = registry.route("weather in paris")
    assert shared is not None and shared.family == "paris_weather"
    assert shared.candidates == ("paris_weather", "city_weather")
    other = registry.route("weather in london")
    assert other is not None and other.family == "city_weather"


LEFT_CODE = '''
family left_code {
  "A code whose eighth character from the end is a."
  param n : Int in 1..5
  grammar { ("a" | "b")* "a" ("a" | "b"){6} "c " number(n) }
  program -> Int = n
  example "aaaaaaac 1" => { n = 1 } => 1
}
'''
# Shares only long codes with left_code: the search for a common one goes deep.
RIGHT_CODE = (LEFT_CODE.replace("left_code", "right_code").replace("eighth", "seventh").replace("is a.", "is b.")
              .replace('"a" ("a" | "b"){6}', '"b" ("a" | "b"){5}').replace('"aaaaaaac 1"', '"baaaaac 1"'))


def test_the_overlap_budget_is_per_family_so_one_costly_pair_takes_out_only_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _dir(tmp_path, {"left.ddl": LEFT_CODE, "right.ddl": RIGHT_CODE, "city.ddl": CITY_WEATHER,
                        "paris.ddl": PARIS_WEATHER.replace("PRIORITY", "priority 10")})
    everything = _load(d, tmp_path / "big")
    assert {r.name for r in everything.rejected} == {"left_code", "right_code"}
    assert all("'abaaaaac 1'" in why for r in everything.rejected for why in r.reasons)
    # At a budget the two codes' own searches pass, the weather families are still cleared and served.
    monkeypatch.setattr(router, "_OVERLAP_STATE_LIMIT", 100)
    searches: list[object] = []
    search = router.Router.overlaps
    monkeypatch.setattr(router.Router, "overlaps", lambda self, *a: searches.append(a) or search(self, *a))
    for attempt, runs in (("searched", 1), ("cached", 1)):
        registry = _load(d, tmp_path)
        assert len(searches) == runs, attempt  # the second load reads the outcome from the cache
        assert sorted(f.name for f in registry.served) == ["city_weather", "paris_weather"], attempt
        assert sorted(r.name for r in registry.rejected) == ["left_code", "right_code"], attempt
        for r in registry.rejected:
            assert r.code == "DDL701"
            [why] = r.reasons
            assert "exceeded its budget of 100 states" in why and "more specific" in why, why
        route = registry.route("weather in paris")
        assert route is not None and route.family == "paris_weather", attempt


def test_duplicate_family_names_are_rejected(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"a.ddl": CITY_WEATHER, "b.ddl": CITY_WEATHER.replace("weather in ", "forecast for ")})
    registry = _load(d, tmp_path)
    assert registry.served == []
    assert all("also defined in" in r.reasons[0] for r in registry.rejected)


def test_reloading_an_unchanged_directory_uses_the_check_cache(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"city.ddl": CITY_WEATHER, "paris.ddl": PARIS_WEATHER.replace("PRIORITY", "priority 1")})
    first = _load(d, tmp_path)
    assert (first.files_checked, first.files_cached) == (2, 0)
    again = first.reload()
    assert (again.files_checked, again.files_cached) == (0, 2)
    assert [f.version for f in again.served] == [f.version for f in first.served]
    # A changed file is checked again and gets a new version; the other stays cached.
    (d / "city.ddl").write_text(CITY_WEATHER.replace("london, rome }", "london, rome, oslo }"), encoding="utf-8")
    changed = again.reload()
    assert (changed.files_checked, changed.files_cached) == (1, 1)
    versions = {f.name: f.version for f in changed.served}
    assert versions["paris_weather"] == {f.name: f.version for f in first.served}["paris_weather"]
    assert versions["city_weather"] != {f.name: f.version for f in first.served}["city_weather"]
    route = changed.route("weather in oslo")
    assert route is not None and route.family == "city_weather"


def test_hidden_directories_are_not_part_of_the_registry(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"city.ddl": CITY_WEATHER})
    (d / ".ddl-handler").mkdir()
    (d / ".ddl-handler" / "stale.ddl").write_text("not ddl at all", encoding="utf-8")
    registry = _load(d, tmp_path)
    assert [f.name for f in registry.served] == ["city_weather"] and registry.rejected == []


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HandlerError, match="no such directory"):
        Registry.load(tmp_path / "nope")
