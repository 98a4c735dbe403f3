"""`ddl check PATH...`: every obligation of every family, proved, refuted or unknown (spec/checks.md)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, TextIO

from ddl.api import check
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError
from ddl.verify.cache import DEFAULT_DIR, ResultCache
from ddl.verify.config import ConfigError, load_check_settings


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "check", help="prove every family's obligations: examples, grammar, safety, parameterization",
        description="Parse and type-check every .ddl file under the given paths (directories are searched "
                    "recursively) and discharge each family's obligations (examples, grammar, verifier), each "
                    "proved, refuted or unknown (spec/checks.md). Results are cached by content hash.",
        epilog="Exit codes: 0 every obligation proved; 1 an error, a refuted obligation, or an unknown one "
               "(unless --allow-unknown); 2 usage or I/O error.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".ddl files or directories")
    parser.add_argument("--format", choices=["text", "json", "sarif"], default="text",
                       help="output format: text (default), json (spec/checks.md) or sarif (SARIF 2.1.0)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only diagnostics, no summary")
    parser.add_argument("--allow-unknown", action="store_true",
                       help="report unknown obligations as warnings and do not fail on them")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                       help="check N files in parallel (default 1; 0 = one per CPU)")
    parser.add_argument("--cache-dir", metavar="DIR", default=None,
                       help="where results are cached by content hash (default: .ddl-cache in the current directory)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write cached results")
    parser.add_argument("--max-states", type=int, default=None, metavar="N",
                       help="states any automaton of a grammar obligation may have (default: [check] max_states in "
                            "ddl.toml, else 200,000); an obligation that needs more is unknown (DDL506)")
    parser.add_argument("--config", metavar="FILE", default=None,
                       help="config file with a [check] table (default: $DDL_CONFIG, else ./ddl.toml if present)")

    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or a positive number")
    jobs = args.jobs or os.cpu_count() or 1
    if args.no_cache and args.cache_dir is not None:
        raise UsageError("give either --cache-dir or --no-cache, not both")
    try:
        settings = load_check_settings(args.config, max_states=args.max_states)
    except ConfigError as err:
        raise UsageError(str(err)) from None
    cache = None if args.no_cache else ResultCache(args.cache_dir if args.cache_dir is not None else DEFAULT_DIR)
    report = check(args.paths, jobs=jobs, cache=cache, limits=settings.limits(), allow_unknown=args.allow_unknown)
    if args.format == "sarif":
        json.dump(report.to_sarif(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "json":
        json.dump(report.to_json(), out, indent=2)
        out.write("\n")
    else:
        sources = report.sources()
        for d in report.diagnostics():
            print(d.render(sources), file=out)
        if not args.quiet:
            print(report.summary(), file=out)
    if report.unreadable:
        return EXIT_USAGE  # a file that exists but cannot be read is an I/O error
    return EXIT_OK if report.ok else EXIT_ERRORS
