"""Phrasings for the distill tests: GOOD (tests/distill_families.py) with N varied requests written as
``example "u" => { θ }``, as ``ddl distill --phrasings N`` asks the model to write them."""

from __future__ import annotations

_GENRES = (("fantasy", "fantasy"), ("mystery", "mystery"), ("romance", "romance"), ("horror", "horror"),
           ("sci-fi", "science_fiction"), ("Science Fiction", "science_fiction"))


def phrasings(n: int) -> list[tuple[str, str]]:
    """``n`` distinct requests GOOD's grammar accepts, each with the θ it yields (as DDL bindings)."""
    out: list[tuple[str, str]] = []
    for i in range(n):
        verb = ("recommend", "Suggest")[i % 2]
        spelled, genre = _GENRES[i % len(_GENRES)]
        count = 1 + i % 20
        decade = 1900 + 10 * (i % 12)
        if i % 3 == 2:  # the decade left out: its default
            out.append((f"{verb} {count} {spelled} books", f"{{ genre = {genre}, count = {count} }}"))
        else:
            out.append((f"{verb} {count} {spelled} books from the {decade}s",
                        f"{{ genre = {genre}, count = {count}, decade = {decade} }}"))
    return out


def with_phrasings(source: str, items: list[tuple[str, str]]) -> str:
    """``source`` (one family) with each (utterance, θ) added as an example without an output."""
    assert source.endswith("}\n")
    lines = "".join(f'  example "{u}" => {theta}\n' for u, theta in items)
    return source[: -len("}\n")] + "\n" + lines + "}\n"
