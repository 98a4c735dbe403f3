"""`ddl check PATH...`: every obligation of every family, proved, refuted or unknown (spec/checks.md)."""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from ddl.api import check
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError
from ddl.verify.cache import DEFAULT_DIR, ResultCache
from ddl.verify.config import ConfigError, load_check_settings


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or a positive number")
    jobs = args.jobs or os.cpu_count() or 1
    if args.no_cache and args.cache_dir is not None:
        raise UsageError("give either --cache-dir or --no-cache, not both")
    try:
        settings = load_check_settings(args.config, max_states=args.max_states, family_steps=args.family_steps)
    except ConfigError as err:
        raise UsageError(str(err)) from None
    cache = None if args.no_cache else ResultCache(args.cache_dir if args.cache_dir is not None else DEFAULT_DIR)
    report = check(args.paths, jobs=jobs, cache=cache, limits=settings.limits(), allow_unknown=args.allow_unknown,
                   import_path=settings.import_path)
    if args.format == "sarif":
        json.dump(report.to_sarif(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "json":
        json.dump(report.to_json(timings=not args.no_timings), out, indent=2)
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
