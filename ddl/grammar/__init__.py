"""Grammar blocks of checked families: G(u) → θ, φ(θ) → u, and routing over many families.

Public face::

    CompiledGrammar(family, evaluator)   .match(u), .render(θ), .lang, .samples(rng, n, max_length)
    Router.build([RoutedFamily, ...])    .route(u) → Route | None, .overlaps() (pairwise, with witnesses)

The automata are :mod:`ddl.regular`'s; this floor adds what is DDL's: capture languages derived from
parameter domains, numerals and forms, normalization modes, priority and θ completion.  The grammar
*obligations* of ``ddl check`` are :mod:`ddl.verify.grammar`.
"""

from __future__ import annotations

from ddl.grammar.compile import LEARNED_RULE, CompiledGrammar
from ddl.grammar.router import OverlapSearchTooLarge, Route, RoutedFamily, Router

__all__ = ["LEARNED_RULE", "CompiledGrammar", "OverlapSearchTooLarge", "Route", "RoutedFamily", "Router"]
