"""When a branch specializes a program to its teaching value (spec/checks.md, "Specialization, precisely").

Each test checks a small family with ``ddl.api.check_source`` — the pipeline of ``ddl check`` — and
asserts what the user sees: the DDL604 headline (position, message) or that nothing is reported.
"""

from __future__ import annotations

from ddl.api import check_source

GENRE = """family f {
  enum Genre { fantasy, mystery, romance, poetry }
  param genre : Genre
  param page : Int in 1..9 = 1
"""


def headlines(src: str) -> list[str]:
    """The headline of every diagnostic ``ddl check`` reports for ``src`` (as ``f.ddl``)."""
    result = check_source(src, "f.ddl")
    assert result.module is not None, [f.diagnostic.headline() for f in result.findings]
    return [f.diagnostic.headline() for f in result.findings]


def specializations(src: str) -> list[str]:
    return [h for h in headlines(src) if ": DDL604: " in h]


def test_a_branch_only_the_teaching_value_takes_is_reported_at_that_branch() -> None:
    src = GENRE + """  program -> Text =
    if genre == fantasy then "subjects/fantasy" else "search?q=${genre}&page=${page}"
  teach genre = fantasy
}
"""
    assert specializations(src) == [
        "f.ddl:6:30: DDL604: f: reachable(if at 6:5) refuted: the then branch is taken only when genre = fantasy"
        " (the teaching value); every other value of genre tried (3) takes the else branch"
        " — a likely specialization"]


def test_a_chain_that_partitions_the_values_is_not_singled_out() -> None:
    src = """family f {
  enum Month { january, february, march, april, may, june, july, august, september, october, november, december }
  param month : Month
  program -> Int =
    if month == february then 28
    else if month == april or month == june or month == september or month == november then 30
    else 31
  teach month = february
}
"""
    assert headlines(src) == []


def test_a_chain_is_reported_once_and_names_the_branch_all_others_share() -> None:
    src = GENRE + """  program -> Text =
    if genre == fantasy and page == 1 then "featured/fantasy"
    else if genre == fantasy then "subjects/fantasy?page=${page}"
    else "search?q=${genre}&page=${page}"
  teach genre = fantasy
}
"""
    assert specializations(src) == [
        "f.ddl:6:44: DDL604: f: reachable(if at 6:5) refuted: the branch at 6:44 is taken only when genre = fantasy"
        " (the teaching value); every other value of genre tried (3) takes the branch at 8:10"
        " — a likely specialization"]


def test_the_evidence_never_claims_the_others_share_a_branch_they_do_not() -> None:
    # fantasy has a branch of its own, but mystery takes another than romance and poetry: three
    # groups, so no branch is singled out, neither in a chain nor in a match with a catch-all.
    chain = GENRE + """  program -> Text =
    if genre == fantasy then "F" else if genre == mystery then "M" else "other ${genre}"
  teach genre = fantasy
}
"""
    match = GENRE + """  program -> Text = match genre { fantasy => "F", mystery => "M", _ => "other ${genre}" }
  teach genre = fantasy
}
"""
    assert specializations(chain) == []
    assert specializations(match) == []


def test_a_match_whose_every_other_arm_is_the_same_is_one_arm_differs() -> None:
    src = GENRE + """  program -> Text =
    match genre {
      fantasy => "subjects/fantasy",
      mystery => "search?q=${genre}&page=${page}",
      romance => "search?q=${genre}&page=${page}",
      poetry => "search?q=${genre}&page=${page}",
    }
  teach genre = fantasy
}
"""
    assert specializations(src) == [
        "f.ddl:7:7: DDL604: f: reachable(match at 6:5) refuted: arm 1 (genre = fantasy, the teaching value) is the"
        " only arm that differs: arms 2, 3, 4 (every other value of genre) compute one and the same expression"
        " — a likely specialization"]


def test_a_match_whose_every_arm_differs_is_not_a_specialization() -> None:
    src = GENRE + """  program -> Text =
    match genre { fantasy => "F${page}", mystery => "M${page}", romance => "R${page}", poetry => "P${page}" }
  teach genre = fantasy
}
"""
    assert headlines(src) == []


def test_a_number_fact_in_a_let_is_not_a_specialization_but_the_same_branch_as_the_answer_is() -> None:
    fact = """family f {
  enum Day { monday, tuesday, wednesday, thursday, friday, saturday, sunday }
  param day : Day
  program -> Text =
    let closes = if day == friday then 22 else 18;
    "On ${day} the museum closes at ${closes}:00"
  teach day = friday
}
"""
    answer = """family f {
  enum Day { monday, tuesday, wednesday, thursday, friday, saturday, sunday }
  param day : Day
  program -> Int = if day == friday then 22 else 18
  teach day = friday
}
"""
    assert headlines(fact) == []
    assert specializations(answer) == [
        "f.ddl:4:42: DDL604: f: reachable(if at 4:20) refuted: the then branch is taken only when day = friday"
        " (the teaching value); every other value of day tried (6) takes the else branch"
        " — a likely specialization"]


def test_a_bool_fact_in_a_let_is_not_a_specialization() -> None:
    src = """family f {
  enum Size { small, medium, large, party }
  param size : Size
  param count : Int in 1..10
  type Order = { pizzas: Text, van: Bool }
  program -> Order =
    let big = match size { party => true, _ => false };
    Order { pizzas = "${count} ${size}", van = big or count > 6 }
  teach size = party
}
"""
    assert headlines(src) == []


def test_one_arm_differs_has_no_domain_fact_exception() -> None:
    src = GENRE + """  program -> Text =
    let per_page = match genre { fantasy => 48, mystery => 12, romance => 12, poetry => 12 };
    "search?q=${genre}&limit=${per_page}&offset=${(page - 1) * per_page}"
  teach genre = fantasy
}
"""
    (line,) = specializations(src)
    assert line.startswith("f.ddl:6:34: DDL604: f: reachable(match at 6:20) refuted: arm 1 (genre = fantasy,")


def test_a_text_singled_out_in_a_let_is_a_specialization() -> None:
    src = """family f {
  param city : Text(max 30, pattern [A-Z] [a-z]+)
  program -> Text =
    let query = if city == "Berlin" then "lat=52.52&lon=13.41" else "name=${city}";
    "https://x.org/weather?${query}"
  example { city = "Berlin" } => "https://x.org/weather?lat=52.52&lon=13.41"
}
"""
    (line,) = specializations(src)
    assert line.startswith('f.ddl:4:42: DDL604: f: reachable(if at 4:17) refuted: the then branch is taken only'
                           ' when city = "Berlin" (the teaching value); every other value of city tried (')


def test_a_number_is_exempt_at_its_default_but_not_elsewhere() -> None:
    def family(default: int) -> str:
        return f"""family f {{
  param guests : Int in 1..8 = {default}
  program -> Text = if guests == 2 then "a table for two" else "a table for ${{guests}}"
  example {{ guests = 2 }} => "a table for two"
}}
"""
    assert headlines(family(2)) == []
    assert specializations(family(4)) == [
        "f.ddl:3:41: DDL604: f: reachable(if at 3:21) refuted: the then branch is taken only when guests = 2"
        " (the teaching value); every other value of guests tried (7) takes the else branch"
        " — a likely specialization"]


def test_a_parameter_the_first_example_leaves_out_has_no_teaching_value() -> None:
    src = GENRE + """  program -> Text =
    if page == 1 then "subjects/${genre}" else "subjects/${genre}?page=${page}"
  example { genre = mystery } => "subjects/mystery"
  example { genre = mystery, page = 2 } => "subjects/mystery?page=2"
}
"""
    # page's default 1 is special-cased, but no teaching request stated page
    assert specializations(src) == []
