"""Hypothesis strategies for members of a language and for near-misses.

* :func:`members` draws a length that has members (shrinking toward the
  shortest), then a *rank* among the members of that length and unranks it
  (:meth:`~ddl.regular.lang.Lang.unrank`): every member up to ``max_len`` is
  reachable, and shrinking moves toward rank 0 — the member spelled with the
  preferred characters (visible ASCII first).
* :func:`regexes` draws regex ASTs over a small alphabet (for property tests
  of the engine itself and of code built on it).
* :func:`near_misses` draws strings just outside a language: a member with one
  edit (insert, delete or substitute a character; inserted characters come from
  the language's own alphabet atoms so the edits are meaningful), kept when it
  falls outside; otherwise a member of the complement whose length is closest
  to that member's.

Import this module only where Hypothesis is available (tests); the rest of
the package does not depend on it.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ddl.regular.ast import (
    EMPTY,
    EPSILON,
    Alt,
    Capture,
    Chars,
    Complement,
    Concat,
    Difference,
    Intersect,
    Regex,
    Repeat,
    Star,
    nullable,
    transform,
)
from ddl.regular.charset import CharSet
from ddl.regular.lang import Lang


def members(lang: Lang, *, max_len: int = 20, min_len: int = 0) -> st.SearchStrategy[str]:
    """Members of ``lang`` with length in ``[min_len, max_len]``."""
    lengths = [n for n in lang.lengths(max_len) if n >= min_len]
    if not lengths:
        raise ValueError(f"the language has no member of length {min_len}..{max_len}")

    def of_length(n: int) -> st.SearchStrategy[str]:
        return st.integers(0, lang.count(n) - 1).map(lambda i: lang.unrank(n, i))

    return st.sampled_from(lengths).flatmap(of_length)


def _chars_of(lang: Lang) -> st.SearchStrategy[str]:
    atoms = [lang.atoms[a] for a in lang.dfa.part.pref_order]
    return st.sampled_from(atoms).flatmap(lambda cs: st.integers(0, cs.size() - 1).map(cs.pick))


def near_misses(lang: Lang, *, max_len: int = 20) -> st.SearchStrategy[str]:
    """Strings not in ``lang`` that are one edit away from a member when possible."""
    outside = lang.complement()
    out_lengths = outside.lengths(max_len + 1)
    if not out_lengths:
        raise ValueError(f"every string up to length {max_len + 1} is in the language: no near-misses")
    if not lang.lengths(max_len):
        return members(outside, max_len=max_len + 1)
    inside = members(lang, max_len=max_len)
    chars = _chars_of(lang)

    @st.composite
    def draw(draw: st.DrawFn) -> str:
        m = draw(inside)
        kind = draw(st.sampled_from(["substitute", "insert", "delete"] if m else ["insert"]))
        if kind == "delete":
            i = draw(st.integers(0, len(m) - 1))
            cand = m[:i] + m[i + 1 :]
        else:
            c = draw(chars)
            if kind == "insert":
                i = draw(st.integers(0, len(m)))
                cand = m[:i] + c + m[i:]
            else:
                i = draw(st.integers(0, len(m) - 1))
                cand = m[:i] + c + m[i + 1 :]
        if not lang.contains(cand):
            return cand
        # The edit stayed inside: fall back to the complement at the closest length.
        n = min(out_lengths, key=lambda k: (abs(k - len(m)), k))
        return outside.unrank(n, draw(st.integers(0, outside.count(n) - 1)))

    return draw()


# ------------------------------------------------------------------ generated regexes


def regexes(
    *,
    alphabet: str = "abc",
    extra: str = "é日",
    max_leaves: int = 8,
    captures: bool = False,
    names: tuple[str, ...] = ("x", "y", "z"),
    unique_names: bool = True,
    boolean: bool = False,
    lazy: bool = False,
    empty: bool = False,
    nullable_loops: bool = True,
    max_bound: int = 3,
) -> st.SearchStrategy[Regex]:
    """Random regex ASTs over a small alphabet (plus occasional ``extra`` characters).

    Small alphabets keep products small while still exercising partitions.
    ``unique_names`` renames captures so each name occurs once (as ``re`` and
    RE2 require); ``nullable_loops=False`` keeps bodies of ``*``/``{m,n}``
    non-nullable (where ``re`` and RE2 disagree on captures); ``boolean`` adds
    ``&``, ``~`` and difference nodes; ``lazy`` adds non-greedy quantifiers.
    """
    letters = st.sampled_from(alphabet)
    pool = alphabet + extra
    single = letters.map(lambda c: Chars(CharSet.char(c)))
    klass = st.builds(
        lambda cs, neg: Chars(~CharSet.from_chars(cs) if neg else CharSet.from_chars(cs)),
        st.sets(st.sampled_from(pool), min_size=1, max_size=3).map(lambda s: "".join(sorted(s))),
        st.booleans(),
    ).filter(lambda n: not n.cs.is_empty())
    leaves: list[st.SearchStrategy[Regex]] = [single, single, klass, st.just(EPSILON)]
    if empty:
        leaves.append(st.just(EMPTY))
    leaf = st.one_of(*leaves)

    def extend(children: st.SearchStrategy[Regex]) -> st.SearchStrategy[Regex]:
        greedy = st.booleans() if lazy else st.just(True)
        body = children if nullable_loops else children.filter(lambda n: not nullable(n))
        options: list[st.SearchStrategy[Regex]] = [
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Concat(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Alt(tuple(xs))),
            st.builds(Star, body, greedy),
            st.builds(
                lambda x, lo, extra_, unbounded, g: Repeat(x, lo, None if unbounded else lo + extra_, g),
                body,
                st.integers(0, max_bound),
                st.integers(0, max_bound),
                st.booleans(),
                greedy,
            ),
        ]
        if captures:
            options.append(st.builds(Capture, st.sampled_from(names), children))
        if boolean:
            options.append(st.lists(children, min_size=2, max_size=2).map(lambda xs: Intersect(tuple(xs))))
            options.append(children.map(Complement))
            options.append(st.builds(Difference, children, children))
        return st.one_of(*options)

    strategy = st.recursive(leaf, extend, max_leaves=max_leaves)
    if captures and unique_names:
        strategy = strategy.map(unique_captures)
    return strategy


def unique_captures(node: Regex) -> Regex:
    """The regex with every capture renamed apart (``n`` → ``n0``, ``n1``, …): one name, one capture."""
    counter = iter(range(1 << 30))

    def rename(n: Regex) -> Regex:
        return Capture(f"{n.name}{next(counter)}", n.inner) if isinstance(n, Capture) else n

    return transform(node, rename)
