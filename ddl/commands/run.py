"""`ddl run FILE [UTTERANCE] [--param NAME=VALUE]...`: a family's output for θ, as JSON or DDL text."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ddl.api import InputError, find_family, parse_params
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, Failed, UsageError, text_argument
from ddl.commands.loading import grammar_too_large, load_module
from ddl.eval import Err, Evaluator, validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.values import show_value, to_json


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.utterance is not None:
        text_argument(args.utterance, "the utterance")
    for item in args.param:
        text_argument(item, f"--param {item.partition('=')[0]}")
    path = Path(args.file)
    try:
        checked, sources = load_module(path)
    except Failed:  # the file's errors are printed
        return EXIT_ERRORS
    if not checked.families:
        print(f"ddl run: error: {path} declares no family", file=sys.stderr)
        return EXIT_ERRORS
    try:
        fam = find_family(checked, args.family, str(path))
    except InputError as err:
        raise UsageError(f"{err}{' with --family' if args.family is None else ''}") from None
    evaluator = Evaluator(checked)  # one for extraction, defaults and where-refinements
    raw: dict[str, Any] = {}
    problems: list[str] = []
    if args.utterance is not None:
        if args.param:
            raise UsageError("give either an UTTERANCE or --param values, not both")
        if fam.grammar is None:
            print(f"ddl run: error: family {fam.name} has no grammar; pass --param name=value", file=sys.stderr)
            return EXIT_ERRORS
        grammar = CompiledGrammar(fam, evaluator)
        too_large = grammar_too_large(grammar)
        if too_large is not None:
            print(f"ddl run: DDL506: the grammar of {fam.name} is too large to match an utterance: {too_large}; "
                  "pass --param name=value instead", file=sys.stderr)
            return EXIT_ERRORS
        result = grammar.match(args.utterance)
        if not result.ok:
            print(f"ddl run: DDL509: the grammar of {fam.name} does not accept {args.utterance!r}: {result.error}",
                  file=sys.stderr)
            return EXIT_ERRORS
        raw = dict(result.values or {})
    given, bad = parse_params(fam, args.param)
    raw.update(given)
    problems.extend(bad)
    theta = None
    if not problems:
        theta, problems = validate_theta(fam, evaluator, raw, values=True)
    if theta is None or problems:
        for problem in problems:
            print(f"ddl run: error: {problem}", file=sys.stderr)
        print(f"parameters of {fam.name}: " + ", ".join(f"{p.name}: {p.type}" + (" (has default)" if p.default else "")
                                                      for p in fam.params), file=sys.stderr)
        return EXIT_ERRORS
    outcome = evaluator.run(fam.name, theta)  # one run: interpreting costs a tenth of compiling (same outcome)
    if isinstance(outcome, Err):
        print(outcome.failure.to_diagnostic().render(sources), file=sys.stderr)
        return EXIT_ERRORS
    if args.format == "text":
        print(show_value(outcome.value), file=out)
    else:
        json.dump(to_json(outcome.value), out, indent=2, ensure_ascii=False)
        out.write("\n")
    return EXIT_OK
