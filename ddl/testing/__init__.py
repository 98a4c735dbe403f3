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

from ddl.testing.strategies import near_misses, param_values, params, utterances

__all__ = ["near_misses", "param_values", "params", "utterances"]
