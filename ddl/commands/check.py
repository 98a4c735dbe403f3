"""`ddl check PATH...`: every obligation of every family, proved, refuted or unknown (spec/checks.md)."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from ddl.api import CheckReport, check
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError
from ddl.commands.conventions import colour, inputs, settings
from ddl.verify.cache import DEFAULT_DIR, ResultCache


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or a positive number")
    jobs = args.jobs or os.cpu_count() or 1
    if args.no_cache and args.cache_dir is not None:
        raise UsageError("give either --cache-dir or --no-cache, not both")
    chosen = settings(args, max_states=args.max_states, family_steps=args.family_steps,
                      allow_unknown=args.allow_unknown)
    given = inputs(args, chosen)
    cache = None if args.no_cache else ResultCache(args.cache_dir if args.cache_dir is not None else DEFAULT_DIR)
    paths = [p for p in given.paths if not (given.stdin_excluded and p == "-")]
    if not paths:  # only an excluded --stdin-filename: nothing to check, as ruff
        return EXIT_OK
    report = check(paths, jobs=jobs, cache=cache, limits=chosen.limits(), allow_unknown=chosen.allow_unknown,
                   import_path=chosen.import_path, discovery=given.discovery,
                   stdin=None if given.stdin_excluded else given.stdin)
    _print(report, args, out)
    if report.unreadable:
        return EXIT_USAGE  # a file that exists but cannot be read is an I/O error
    return EXIT_OK if report.ok else EXIT_ERRORS


def _print(report: CheckReport, args: argparse.Namespace, out: TextIO) -> None:
    if args.format == "sarif":
        json.dump(report.to_sarif(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "json":
        json.dump(report.to_json(timings=not args.no_timings), out, indent=2)
        out.write("\n")
    elif args.format == "github":
        for d in report.diagnostics():
            print(d.github_annotation(), file=out)
    else:
        sources = report.sources()
        painted = colour(args, out)
        for d in report.diagnostics():
            print(d.render(sources, color=painted), file=out)
        if not args.quiet:
            print(report.summary(), file=out)
