"""`ddl grammar member|sample|render|overlap|equiv`: query a family's grammar (spec/grammar.md)."""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import TextIO

from ddl.api import InputError, parse_params
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, Failed, UsageError, text_argument
from ddl.commands.loading import LoadedFamily, grammar_too_large, load_family
from ddl.eval import validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.router import RoutedFamily, Router
from ddl.regular.errors import RegularError
from ddl.values import to_json

# Sampling counts the utterances of every length up to --max-length (time and memory grow with it) and
# holds the -n samples in memory: both are bounded. 4,096 is the handler's default max_utterance, so
# longer samples are utterances no handler would take.
MAX_SAMPLE_LENGTH = 4096
MAX_SAMPLES = 100_000


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
    if action == "member":
        text_argument(args.utterance, "the utterance")
    for item in getattr(args, "param", []):
        text_argument(item, f"--param {item.partition('=')[0]}")
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
            too_large = grammar_too_large(grammar)
            if too_large is not None:
                print(f"ddl grammar: DDL506: the grammar of {fam.name} is too large to match an utterance: "
                      f"{too_large}", file=sys.stderr)
                return EXIT_ERRORS
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
            if not 0 <= args.n <= MAX_SAMPLES:
                raise UsageError(f"-n must be from 0 to {MAX_SAMPLES:,}, not {args.n:,}")
            if not 0 <= args.max_length <= MAX_SAMPLE_LENGTH:
                raise UsageError(f"--max-length must be from 0 to {MAX_SAMPLE_LENGTH:,} characters, not "
                                 f"{args.max_length:,} (sampling counts the utterances of every length up to it)")
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


