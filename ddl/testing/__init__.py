"""Property-test compiled DDL programs with Hypothesis.

    from hypothesis import given
    import ddl
    from ddl.testing import params

    books = ddl.load("examples/books.ddl").family("recommend_books")

    @given(params(books))
    def test_url_mentions_genre(theta):
        assert theta["genre"].replace("_", " ") in books(**theta)["url"].replace("_", " ")

* :func:`params` — θ over the family's whole Θ, as keyword arguments for the
  family (plain values: ints, ``Decimal``, text, enum names, lists, dicts).
  Ranges, enums, bounded lists and Text patterns are drawn constructively; a
  ``where`` that mentions one parameter is applied to its (finite) domain
  before drawing; only cross-parameter ``where`` clauses filter.
* :func:`utterances` — members of the family's grammar (as written);
  :func:`near_misses` — strings just outside it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["near_misses", "param_values", "params", "utterances"]


def __getattr__(name: str) -> Any:
    # Lazy: `ddl` commands import ddl.testing.command without paying for Hypothesis.
    if name in __all__:
        from ddl.testing import strategies  # deferred: Hypothesis loads only when a strategy is used

        return getattr(strategies, name)
    raise AttributeError(f"module 'ddl.testing' has no attribute {name!r}")
