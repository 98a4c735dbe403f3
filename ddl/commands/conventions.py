"""What ``ddl check`` and ``ddl fmt`` share with ruff and mypy (spec/checks.md, "Command-line conventions"):
the config file's settings, the paths to work on (``-`` for standard input, with ``--stdin-filename``;
the config file's ``paths`` when none are named), the excludes, and whether to colour."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

import attrs

from ddl.commands.base import Reported, UsageError
from ddl.diagnostics import use_colour
from ddl.files import Discovery
from ddl.verify.config import CheckSettings, ConfigError, load_check_settings

STDIN = "-"
STDIN_NAME = "<stdin>"  # the path of a piped source's diagnostics without --stdin-filename


@attrs.frozen
class Inputs:
    """The paths a command works on, with ``-`` standing for ``stdin`` (name, bytes) when it was read."""

    paths: tuple[str, ...]
    stdin: tuple[str, bytes] | None
    settings: CheckSettings
    discovery: Discovery
    stdin_excluded: bool = False  # --force-exclude and --stdin-filename matches an exclude


def settings(args: argparse.Namespace, *, max_states: int | None = None, family_steps: int | None = None,
             allow_unknown: bool | None = None) -> CheckSettings:
    """The config file's settings under the command line's; a bad config file is a usage error (exit 2),
    printed as a diagnostic at the key when there is one."""
    try:
        return load_check_settings(args.config, max_states=max_states, family_steps=family_steps,
                                   allow_unknown=allow_unknown, extend_exclude=args.extend_exclude,
                                   start=_search_start(args))
    except ConfigError as err:
        if err.diagnostic is None:
            raise UsageError(str(err)) from None
        print(err.diagnostic.render(color=colour(args, sys.stderr)), file=sys.stderr)
        raise Reported from None


def _search_start(args: argparse.Namespace) -> Path | None:
    """Where the config file is looked for (as ruff, from the file worked on): the first path's directory
    (for ``-``, that of ``--stdin-filename``), else the current directory."""
    if not args.paths:
        return None
    first = args.stdin_filename if args.paths[0] == STDIN else args.paths[0]
    if first is None or first == STDIN:
        return None
    path = Path(first)
    try:
        return path if path.is_dir() else path.parent
    except OSError:  # unreadable: the command reports it when it gets there
        return None


def inputs(args: argparse.Namespace, chosen: CheckSettings) -> Inputs:
    """What to work on: the paths named, else the config file's ``paths``; ``-`` is read from standard input."""
    paths = tuple(args.paths) or chosen.paths
    where = f" ([check] of {chosen.config_file})" if chosen.config_file else ""
    if not paths:
        raise UsageError("no paths given: name .ddl files or directories, - for standard input, or set paths "
                         f"in the config file{where} ([tool.ddl] in pyproject.toml or [check] in ddl.toml)")
    if paths.count(STDIN) > 1:
        raise UsageError("- (standard input) can be named only once")
    if args.stdin_filename is not None and STDIN not in paths:
        raise UsageError("--stdin-filename names the source read from standard input: give - as a path too")
    discovery = chosen.discovery(force_exclude=args.force_exclude)
    if STDIN not in paths:
        return Inputs(paths, None, chosen, discovery)
    name = args.stdin_filename if args.stdin_filename is not None else STDIN_NAME
    try:
        data = sys.stdin.buffer.read()
    except OSError as err:
        raise UsageError(f"cannot read standard input: {err.strerror or err}") from None
    excluded = args.stdin_filename is not None and args.force_exclude and discovery.excluded(name)
    return Inputs(paths, (name, data), chosen, discovery, excluded)


def colour(args: argparse.Namespace, stream: TextIO) -> bool:
    """``--color`` for output to ``stream`` (see :func:`ddl.diagnostics.use_colour`)."""
    return use_colour(getattr(args, "color", "never"), stream, os.environ)
