"""Scripted model replies for the distill tests: one good family for the teaching utterance and its defects."""

from __future__ import annotations

UTTERANCE = "recommend 5 fantasy books from the 1980s"

GOOD = """\
# Books of one genre from one decade, as a GET request to Open Library's subjects API.

family decade_books {
  "Recommend books of one genre from one decade through Open Library."

  enum Genre { fantasy, mystery, romance, horror, science_fiction = "science fiction" | "sci-fi" }

  type Request = { method: Text, url: Text, query: Map[Text, Text] }

  param genre : Genre
  param count : Int in 1..20 = 10
  param decade : Int in 1900..2020 where decade % 10 == 0 = 2000

  grammar ignore_case normalize_space {
    ("recommend" | "suggest") " " (count " ")? genre " books" (" from the " decade "s")?
  }

  program -> Request =
    let subject = replace(text(genre), " ", "_");
    Request {
      method = "GET",
      url = "https://openlibrary.org/subjects/${subject}.json",
      query = { "limit": show(count), "published_in": "${decade}-${decade + 9}" },
    }

  ensures "asks for exactly count books" get(result.query, "limit") == some(show(count))

  teach genre = fantasy, count = 5, decade = 1980

  example "recommend 5 fantasy books from the 1980s"
    => { genre = fantasy, count = 5, decade = 1980 }
    => Request {
      method = "GET",
      url = "https://openlibrary.org/subjects/fantasy.json",
      query = { "limit": "5", "published_in": "1980-1989" },
    }

  example "suggest 3 mystery books from the 1950s"
    => { genre = mystery, count = 3, decade = 1950 }
    => Request {
      method = "GET",
      url = "https://openlibrary.org/subjects/mystery.json",
      query = { "limit": "3", "published_in": "1950-1959" },
    }

  example "recommend sci-fi books"
    => { genre = science_fiction }
    => Request {
      method = "GET",
      url = "https://openlibrary.org/subjects/science_fiction.json",
      query = { "limit": "10", "published_in": "2000-2009" },
    }
}
"""


def variant(*edits: tuple[str, str]) -> str:
    """GOOD with each (old, new) replaced; every old text must occur."""
    text = GOOD
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


# The URL copied from the teaching example: genre no longer reaches the output (DDL601, DDL602).
BAKED_URL = variant(
    ('"https://openlibrary.org/subjects/${subject}.json"', '"https://openlibrary.org/subjects/fantasy.json"'),
    ("subjects/mystery.json", "subjects/fantasy.json"),
    ("subjects/science_fiction.json", "subjects/fantasy.json"),
)

# The teaching count written as a literal: count is never used (DDL601) and the ensures fails.
HARDCODED_LIMIT = variant(('"limit": show(count)', '"limit": "5"'))

# A missing colon in a param: a syntax error (DDL103) on line 10.
BROKEN_SYNTAX = variant(("param genre : Genre", "param genre Genre"))

# Passes `ddl check`, but its grammar does not accept "recommend ...": only "suggest"/"find".
NARROW_GRAMMAR = variant(
    ('("recommend" | "suggest")', '("suggest" | "find")'),
    ('example "recommend 5 fantasy books from the 1980s"', 'example "suggest 5 fantasy books from the 1980s"'),
    ('example "recommend sci-fi books"', 'example "find sci-fi books"'),
)

# Passes `ddl check`, but teaches mystery while the utterance says fantasy.
WRONG_TEACH = variant(("teach genre = fantasy,", "teach genre = mystery,"))


def fenced(source: str, lang: str = "ddl") -> str:
    return f"Here is the family:\n\n```{lang}\n{source}```\n\nIt parameterizes genre, count and decade."
