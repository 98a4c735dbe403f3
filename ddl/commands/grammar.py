"""`ddl grammar member|sample|render|overlap|equiv`: query a family's grammar (spec/grammar.md)."""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any, TextIO

from ddl.api import InputError, parse_params
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, Failed, LoadedFamily, Parser, UsageError, load_family
from ddl.eval import validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.router import RoutedFamily, Router
from ddl.regular.errors import RegularError
from ddl.values import to_json


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "grammar", help="work with a family's grammar: member, sample, render, overlap, equiv",
        description="Query grammars. A family is named FILE or FILE:FAMILY (FAMILY may be omitted when "
                    "the file has one family).",
    )
    gsub = parser.add_subparsers(dest="grammar_command", metavar="ACTION", parser_class=Parser)
    g_member = gsub.add_parser("member", help="does the grammar accept UTTERANCE? print θ as JSON",
                               description="Exit 0 and print θ when the family's grammar accepts UTTERANCE; "
                                           "exit 1 with the longest matched prefix otherwise.")
    g_member.add_argument("family", metavar="FILE[:FAMILY]")
    g_member.add_argument("utterance", metavar="UTTERANCE")
    g_sample = gsub.add_parser("sample", help="print random utterances of the grammar",
                               description="Print N utterances drawn uniformly among those of a random length.")
    g_sample.add_argument("family", metavar="FILE[:FAMILY]")
    g_sample.add_argument("-n", type=int, default=5, help="how many (default 5)")
    g_sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g_sample.add_argument("--max-length", type=int, default=80, help="longest utterance to draw (default 80)")
    g_render = gsub.add_parser("render", help="print φ(θ): an utterance for given parameter values",
                               description="Render the canonical utterance for θ given with --param name=value.")
    g_render.add_argument("family", metavar="FILE[:FAMILY]")
    g_render.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE")
    g_overlap = gsub.add_parser("overlap", help="do two grammars share an utterance? print a witness",
                                description="Exit 1 and print the shortest shared utterance when the grammars "
                                            "overlap; exit 0 when they are disjoint.")
    g_overlap.add_argument("first", metavar="FILE[:FAMILY]")
    g_overlap.add_argument("second", metavar="FILE[:FAMILY]")
    g_equiv = gsub.add_parser("equiv", help="do two grammars accept the same utterances? print a witness",
                              description="Exit 0 when the grammars accept exactly the same utterances; "
                                          "exit 1 and print the shortest utterance accepted by only one.")
    g_equiv.add_argument("first", metavar="FILE[:FAMILY]")
    g_equiv.add_argument("second", metavar="FILE[:FAMILY]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.grammar_command is None:
        raise UsageError("choose an action: member, sample, render, overlap or equiv")
    try:
        return _run(args, out)
    except Failed:
        return EXIT_ERRORS


def _family(ref: str) -> LoadedFamily:
    try:
        loaded = load_family(ref)
    except InputError as err:
        raise UsageError(f"{err}{'; name one as FILE:FAMILY' if 'families (' in str(err) else ''}") from None
    if loaded.family.grammar is None:
        raise UsageError(f"family {loaded.family.name} has no grammar")
    return loaded


def _overlap(first: LoadedFamily, second: LoadedFamily, out: TextIO) -> int:
    fam_a, fam_b = first.family, second.family
    name_b = fam_b.name if fam_b.name != fam_a.name else f"{fam_b.name} (second)"
    router = Router.build([RoutedFamily(fam_a.name, fam_a, first.evaluator),
                           RoutedFamily(name_b, fam_b, second.evaluator)])
    found = router.overlaps()
    if not found:
        print(f"disjoint: no utterance is accepted by both {fam_a.name} and {fam_b.name}", file=out)
        return EXIT_OK
    print(f"overlap: both {fam_a.name} and {fam_b.name} accept {found[0].witness!r}", file=out)
    return EXIT_ERRORS


def _run(args: argparse.Namespace, out: TextIO) -> int:
    action = args.grammar_command
    try:
        if action in ("overlap", "equiv"):
            first, second = _family(args.first), _family(args.second)
            fam_a, fam_b = first.family, second.family
            if action == "overlap":
                return _overlap(first, second, out)
            lang_a = CompiledGrammar(fam_a, first.evaluator).lang
            lang_b = CompiledGrammar(fam_b, second.evaluator).lang
            same, witness = lang_a.equivalent(lang_b)
            if same:
                print(f"equivalent: {fam_a.name} and {fam_b.name} accept the same utterances", file=out)
                return EXIT_OK
            owner = fam_a.name if witness is not None and lang_a.contains(witness) else fam_b.name
            print(f"not equivalent: only {owner} accepts {witness!r}", file=out)
            return EXIT_ERRORS
        loaded = _family(args.family)
        fam, evaluator = loaded.family, loaded.evaluator
        grammar = CompiledGrammar(fam, evaluator)
        if action == "member":
            result = grammar.match(args.utterance)
            if not result.ok:
                print(f"no match: {result.error}", file=out)
                return EXIT_ERRORS
            theta, problems = validate_theta(fam, evaluator, result.values or {}, values=True)
            if theta is None:
                print(f"accepted, but θ is outside Θ: {'; '.join(problems)}", file=out)
                return EXIT_ERRORS
            json.dump({k: to_json(v) for k, v in theta.items()}, out, ensure_ascii=False)
            out.write("\n")
            return EXIT_OK
        if action == "sample":
            if args.n < 0 or args.max_length < 0:
                raise UsageError("-n and --max-length must not be negative")
            rng = random.Random(args.seed)
            found = grammar.samples(rng, args.n, args.max_length)
            if args.n and not found:
                print(f"the grammar has no utterance of at most {args.max_length} characters", file=sys.stderr)
                return EXIT_ERRORS
            for text in found:
                print(text, file=out)
            return EXIT_OK
        assert action == "render"
        raw, bad = parse_params(fam, args.param)
        if bad:
            print(f"ddl grammar render: error: {bad[0]}", file=sys.stderr)
            return EXIT_ERRORS
        theta, problems = validate_theta(fam, evaluator, raw, values=True)
        if theta is None:
            for problem in problems:
                print(f"ddl grammar render: error: {problem}", file=sys.stderr)
            return EXIT_ERRORS
        utterance = grammar.render(theta)
        if utterance is None:
            print(f"the grammar of {fam.name} cannot express this θ", file=sys.stderr)
            return EXIT_ERRORS
        print(utterance, file=out)
        return EXIT_OK
    except RegularError as err:
        print(f"ddl grammar: DDL506: {err}", file=sys.stderr)
        return EXIT_ERRORS


