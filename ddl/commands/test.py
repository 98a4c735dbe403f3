"""`ddl test PATH...`: property-test every family (spec: ddl/testing/properties.py)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from ddl.api import ImportScope, ModuleLoader, Program, collect_files, compile_source
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError, read_bytes
from ddl.commands.loading import import_path
from ddl.testing.profiles import PROPERTIES, default_profile
from ddl.testing.properties import run_property


def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.examples is not None and args.examples < 1:
        print("ddl test: error: --examples must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    files = collect_files(args.paths)
    search_path = import_path()
    profile = args.profile or default_profile()
    failures = passed = skipped = 0
    unreadable = False
    started = time.perf_counter()
    for path in files:
        try:
            data = read_bytes(path)
        except UsageError as err:  # an I/O error (exit 2, as under ddl check); the other files are still tested
            print(f"ddl test: error: {err}", file=sys.stderr)
            unreadable = True
            continue
        loader = ModuleLoader(scope=ImportScope.of(str(path), search_path))
        checked, diags = compile_source(data, str(path), loader)
        errors = [d for d in diags if d.is_error]
        if checked is None or errors:
            for d in errors:
                print(d.render(loader.sources), file=out)
            failures += 1
            continue
        program = Program(checked, loader.sources)
        for name in checked.families:
            family = program.family(name)
            for prop in args.properties or PROPERTIES:
                result = run_property(family, prop, examples=args.examples, seed=args.seed, profile=profile)
                if result.skipped:
                    skipped += 1
                elif result.ok:
                    passed += 1
                else:
                    failures += 1
                    print(result.render(loader.sources), file=out)
    seconds = time.perf_counter() - started
    print(f"{passed} passed, {failures} failed, {skipped} skipped ({profile} profile, {seconds:.1f} s)", file=out)
    if unreadable:
        return EXIT_USAGE
    return EXIT_ERRORS if failures else EXIT_OK
