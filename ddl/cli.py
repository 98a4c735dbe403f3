"""The ``ddl`` command line (contract in DESIGN §9; keep it stable).

Exit codes: 0 success; 1 the input has errors (diagnostics, failed examples,
runtime failures, unformatted files under --check); 2 usage or I/O errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ddl import __version__
from ddl.diagnostics import Diagnostic, SourceMap, Span
from ddl.verify.report import FileResult, Finding

if TYPE_CHECKING:
    from ddl.regular import Limits
    from ddl.verify.cache import ResultCache

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ddl",
        description="DDL, the Discrete Distillation Language: check, run and format task families.",
        epilog="Exit codes: 0 success, 1 errors in the input, 2 usage or I/O error. "
               "Diagnostics print as path:line:col: CODE: message with the source line and a caret.",
    )
    parser.add_argument("--version", action="version", version=f"ddl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser(
        "check", help="prove every family's obligations: examples, grammar, safety, parameterization",
        description="Parse and type-check every .ddl file under the given paths (directories are searched "
                    "recursively) and discharge each family's obligations (examples, grammar, verifier), each "
                    "proved, refuted or unknown (spec/checks.md). Results are cached by content hash.",
        epilog="Exit codes: 0 every obligation proved; 1 an error, a refuted obligation, or an unknown one "
               "(unless --allow-unknown); 2 usage or I/O error.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help=".ddl files or directories")
    check.add_argument("--format", choices=["text", "json", "sarif"], default="text",
                       help="output format: text (default), json (spec/checks.md) or sarif (SARIF 2.1.0)")
    check.add_argument("--quiet", "-q", action="store_true", help="print only diagnostics, no summary")
    check.add_argument("--allow-unknown", action="store_true",
                       help="report unknown obligations as warnings and do not fail on them")
    check.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                       help="check N files in parallel (default 1; 0 = one per CPU)")
    check.add_argument("--cache-dir", metavar="DIR", default=None,
                       help="where results are cached by content hash (default: .ddl-cache in the current directory)")
    check.add_argument("--no-cache", action="store_true", help="neither read nor write cached results")
    check.add_argument("--max-states", type=int, default=None, metavar="N",
                       help="states any automaton of a grammar obligation may have (default: [check] max_states in "
                            "ddl.toml, else 200,000); an obligation that needs more is unknown (DDL506)")
    check.add_argument("--config", metavar="FILE", default=None,
                       help="config file with a [check] table (default: $DDL_CONFIG, else ./ddl.toml if present)")

    run = sub.add_parser(
        "run", help="run a family on parameter values and print its output as JSON",
        description="Run one family of FILE on θ given with --param name=value (values in DDL syntax: "
                    "3, 84.60, true, fantasy, \"text\", or JSON for lists and records). Parameters with "
                    "defaults may be omitted.",
    )
    run.add_argument("file", metavar="FILE", help="a .ddl file")
    run.add_argument("utterance", nargs="?", metavar="UTTERANCE",
                     help="an utterance: the family's grammar extracts θ from it (instead of --param)")
    run.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE", help="a parameter value")
    run.add_argument("--family", "-f", metavar="NAME", help="the family to run (needed when FILE has several)")
    run.add_argument("--format", choices=["json", "text"], default="json",
                     help="json (default): the output as JSON; text: DDL syntax")

    from ddl.testing.command import add_parser as add_test_parser

    add_test_parser(sub)
    from ddl.handler.commands import add_parsers as add_handler_parsers

    add_handler_parsers(sub)
    from ddl.distill.commands import add_parser as add_distill_parser

    add_distill_parser(sub)
    from ddl.refine.commands import add_parser as add_refine_parser

    add_refine_parser(sub)

    gram = sub.add_parser(
        "grammar", help="work with a family's grammar: member, sample, render, overlap, equiv",
        description="Query grammars. A family is named FILE or FILE:FAMILY (FAMILY may be omitted when "
                    "the file has one family).",
    )
    gsub = gram.add_subparsers(dest="grammar_command", metavar="ACTION", parser_class=_Parser)
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

    fmt = sub.add_parser(
        "fmt", help="print .ddl files in canonical form",
        description="Format .ddl files canonically (comments kept). Prints a single file to stdout unless "
                    "--write; with --check, lists files that are not formatted and exits 1.",
    )
    fmt.add_argument("paths", nargs="+", metavar="PATH", help=".ddl files or directories")
    mode = fmt.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if any file is not formatted; change nothing")
    mode.add_argument("--write", "-w", action="store_true", help="rewrite files in place")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "check":
            return cmd_check(args, sys.stdout)
        if args.command == "run":
            return cmd_run(args, sys.stdout)
        if args.command == "fmt":
            return cmd_fmt(args, sys.stdout)
        if args.command == "test":
            from ddl.testing.command import cmd_test

            return cmd_test(args, sys.stdout, collect_files)
        if args.command == "refine":
            from ddl.refine.commands import run as run_refine

            return run_refine(args, sys.stdout)
        if args.command == "distill":
            from ddl.distill.commands import run as run_distill

            return run_distill(args, sys.stdout)
        if args.command in ("handle", "feedback", "stats", "serve"):
            from ddl.handler.commands import run_command

            return run_command(args, sys.stdout)
        if args.command == "grammar":
            if args.grammar_command is None:
                raise UsageError("choose an action: member, sample, render, overlap or equiv")
            return cmd_grammar(args, sys.stdout)
    except UsageError as err:
        print(f"ddl {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(args.command)


# ---------------------------------------------------------------------------- helpers


def collect_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.ddl") if q.is_file())
            if not found:
                raise UsageError(f"no .ddl files found under '{raw}'")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise UsageError(f"'{raw}' is neither a file nor a directory")
        else:
            raise UsageError(f"no such file or directory: '{raw}'")
    return files


def print_diagnostics(diags: Sequence[Diagnostic], sources: SourceMap, out: TextIO = sys.stderr) -> None:
    for d in diags:
        print(d.render(sources), file=out)


# ---------------------------------------------------------------------------- check


def check_file(path: str | Path, limits: Limits | None = None) -> FileResult:
    """Type-check one file and discharge each family's obligations (spec/checks.md).

    Never raises for bad input: an unreadable file is a DDL900 diagnostic and an internal error of the
    verifier a DDL999 diagnostic. Results with either, or with an unknown obligation, are not cached.
    """
    p = str(path)
    try:
        data = Path(p).read_bytes()
    except OSError as err:
        diag = Diagnostic("DDL900", f"cannot read file: {err.strerror or err}", Span.point(p))
        return FileResult(p, [], [Finding(diag)], cacheable=False)
    return check_source(data, p, limits)


def check_source(data: str | bytes, p: str, limits: Limits | None = None) -> FileResult:
    """``check_file`` on source text that claims to live at path ``p`` (imports resolve from there).

    Used for text that is not (yet) a file, such as a model's reply in ``ddl distill``.
    """
    from ddl.api import ModuleLoader, compile_source
    from ddl.verify.cache import digest_bytes

    if isinstance(data, str):
        data = data.encode("utf-8")
    loader = ModuleLoader()
    started = time.perf_counter()
    checked, diags = compile_source(data, p, loader)
    typed_seconds = time.perf_counter() - started
    findings = [Finding(d) for d in diags]
    families: list[dict[str, Any]] = []
    if checked is not None:
        from ddl.eval import Evaluator
        from ddl.verify.family import check_family

        evaluator = Evaluator(checked)
        for fam in checked.families.values():
            try:
                obligations = check_family(checked, fam, evaluator, typed_seconds, limits=limits)
            except Exception as err:  # an internal error must reach the user as a diagnostic, not a traceback
                findings.append(Finding(Diagnostic(
                    "DDL999", f"{fam.name}: internal error in the verifier: {type(err).__name__}: {err}", fam.span,
                    hint="this is a bug in ddl; please report it with the input file"), family=fam.name))
                families.append({"name": fam.name, "obligations": []})
                continue
            families.append({"name": fam.name, "obligations": [o.to_json() for o in obligations]})
            for o in obligations:
                d = o.diagnostic(fam.name)
                if d is not None:
                    findings.append(Finding(d, o.kind, o.subject, o.verdict, fam.name))
    # Only decided results are cached: an unknown verdict may come from a time limit (a loaded machine)
    # and must be retried, not frozen; an internal error is never cached.
    cacheable = not any(f.diagnostic.code == "DDL999" or f.verdict == "unknown" for f in findings)
    return FileResult(p, families, findings, digest_bytes(data), loader.loaded_paths(), cacheable)


def check_files(paths: Sequence[str], jobs: int = 1, cache: ResultCache | None = None,
                limits: Limits | None = None) -> list[FileResult]:
    """Check files (cached results first, the rest with up to ``jobs`` processes); results in ``paths`` order."""
    results: list[FileResult | None] = [cache.get(p, limits) if cache is not None else None for p in paths]
    todo = [i for i, r in enumerate(results) if r is None]
    if jobs > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        def size(i: int) -> int:
            try:
                return Path(paths[i]).stat().st_size
            except OSError:
                return 0

        # Largest files first (a rough guess at the slowest), so one big file does not start last.
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
            futures = {i: pool.submit(check_file, paths[i], limits) for i in sorted(todo, key=lambda i: -size(i))}
            for i, future in futures.items():
                results[i] = future.result()
    else:
        for i in todo:
            results[i] = check_file(paths[i], limits)
    done: list[FileResult] = []
    for i, r in enumerate(results):
        assert r is not None
        if cache is not None and i in todo:
            cache.put(r, limits)
        done.append(r)
    return done


def _source_map(findings: Sequence[Diagnostic]) -> SourceMap:
    """The sources quoted by the diagnostics, decoded as the checker decoded them."""
    sources = SourceMap()
    paths = {d.span.path for d in findings} | {n.span.path for d in findings for n in d.notes if n.span is not None}
    for path in sorted(paths):
        try:
            sources.add(path, Path(path).read_bytes().decode("utf-8", errors="replace"))
        except OSError:
            pass
    return sources


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    import os

    from ddl.verify.cache import DEFAULT_DIR, ResultCache

    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or a positive number")
    jobs = args.jobs or os.cpu_count() or 1
    if args.no_cache and args.cache_dir is not None:
        raise UsageError("give either --cache-dir or --no-cache, not both")
    from ddl.verify.config import ConfigError, load_check_settings

    try:
        settings = load_check_settings(args.config, max_states=args.max_states)
    except ConfigError as err:
        raise UsageError(str(err)) from None
    files = collect_files(args.paths)
    cache = None if args.no_cache else ResultCache(args.cache_dir if args.cache_dir is not None else DEFAULT_DIR)
    results = check_files([str(p) for p in files], jobs, cache, settings.limits())

    findings = [f for r in results for f in r.findings]
    diags = [f.effective(args.allow_unknown) for f in findings]
    n_err = sum(1 for d in diags if d.is_error)
    if args.format == "sarif":
        from ddl.verify.sarif import sarif_log

        json.dump(sarif_log(findings, args.allow_unknown), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "json":
        report = {"ok": n_err == 0, "files": [{"path": r.path, "families": r.families} for r in results],
                  "diagnostics": [d.to_json() for d in diags]}
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        sources = _source_map(diags)
        for d in diags:
            print(d.render(sources), file=out)
        if not args.quiet:
            verdicts = {"proved": 0, "refuted": 0, "unknown": 0}
            for r in results:
                for fam in r.families:
                    for o in fam["obligations"]:
                        verdicts[o["verdict"]] += 1
            n_families = sum(len(r.families) for r in results)
            status = "ok" if not n_err else f"{n_err} error{'s' if n_err != 1 else ''}"
            allowed = sum(1 for f, d in zip(findings, diags) if f.verdict == "unknown" and not d.is_error)
            if allowed:
                status += f" ({allowed} unknown allowed)"
            counts = ", ".join(f"{n} {v}" for v, n in verdicts.items() if n or v == "proved")
            print(f"checked {len(files)} file{'s' if len(files) != 1 else ''}, {n_families} "
                  f"famil{'ies' if n_families != 1 else 'y'}, obligations: {counts}: {status}", file=out)
    if any(d.code == "DDL900" for d in diags):
        return EXIT_USAGE  # a file that exists but cannot be read is an I/O error
    return EXIT_ERRORS if n_err else EXIT_OK


# ---------------------------------------------------------------------------- run


def param_arguments(fam: Any, items: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """``--param NAME=VALUE`` arguments as values of the parameters' types, and the problems.

    An unknown name keeps its text, so that ``validate_theta`` reports it with suggestions.
    """
    from ddl.eval import parse_param_value

    raw: dict[str, Any] = {}
    problems: list[str] = []
    for item in items:
        if "=" not in item:
            raise UsageError(f"--param expects NAME=VALUE, got '{item}'")
        name, _, text = item.partition("=")
        name = name.strip()
        p = fam.param(name)
        if p is None:
            raw[name] = text
            continue
        value, problem = parse_param_value(text, p.type)
        if problem is not None:
            problems.append(f"{name}: {problem}")
        else:
            raw[name] = value
    return raw, problems


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from ddl.api import ModuleLoader, compile_file
    from ddl.eval import Err, Evaluator, compile_family, validate_theta
    from ddl.values import show_value, to_json

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: '{args.file}'")
    loader = ModuleLoader()
    checked, diags = compile_file(path, loader)
    errors = [d for d in diags if d.is_error]
    if checked is None or errors:
        print_diagnostics(errors or diags, loader.sources)
        return EXIT_ERRORS
    if not checked.families:
        print(f"ddl run: error: {path} declares no family", file=sys.stderr)
        return EXIT_ERRORS
    if args.family is None:
        if len(checked.families) > 1:
            raise UsageError(f"{path} has several families ({', '.join(checked.families)}); choose one with --family")
        fam = next(iter(checked.families.values()))
    else:
        found = checked.families.get(args.family)
        if found is None:
            from ddl.types.check import did_you_mean

            hint = did_you_mean(args.family, checked.families) or f"families: {', '.join(checked.families)}"
            raise UsageError(f"no family '{args.family}' in {path}; {hint}")
        fam = found
    evaluator = Evaluator(checked)  # one for extraction, defaults and where-refinements
    raw: dict[str, Any] = {}
    problems: list[str] = []
    if args.utterance is not None:
        if args.param:
            raise UsageError("give either an UTTERANCE or --param values, not both")
        if fam.grammar is None:
            print(f"ddl run: error: family {fam.name} has no grammar; pass --param name=value", file=sys.stderr)
            return EXIT_ERRORS
        from ddl.grammar.compile import CompiledGrammar

        result = CompiledGrammar(fam, evaluator).match(args.utterance)
        if not result.ok:
            print(f"ddl run: DDL509: the grammar of {fam.name} does not accept {args.utterance!r}: {result.error}",
                  file=sys.stderr)
            return EXIT_ERRORS
        raw = dict(result.values or {})
    given, bad = param_arguments(fam, args.param)
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
    outcome = compile_family(checked, fam.name)(theta)
    if isinstance(outcome, Err):
        print(outcome.failure.to_diagnostic().render(loader.sources), file=sys.stderr)
        return EXIT_ERRORS
    if args.format == "text":
        print(show_value(outcome.value), file=out)
    else:
        json.dump(to_json(outcome.value), out, indent=2, ensure_ascii=False)
        out.write("\n")
    return EXIT_OK


# ---------------------------------------------------------------------------- grammar


def _load_family(ref: str) -> tuple[Any, Any, Any]:
    """FILE or FILE:FAMILY → (checked module, family, evaluator); usage errors as UsageError."""
    from ddl.api import ModuleLoader, compile_file
    from ddl.eval import Evaluator
    from ddl.types.check import did_you_mean

    path_text, _, name = ref.partition(":") if not Path(ref).is_file() else (ref, "", "")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: '{path_text}'")
    loader = ModuleLoader()
    checked, diags = compile_file(path, loader)
    errors = [d for d in diags if d.is_error]
    if checked is None or errors:
        print_diagnostics(errors or diags, loader.sources)
        raise _Failed()
    if name:
        fam = checked.families.get(name)
        if fam is None:
            hint = did_you_mean(name, checked.families) or f"families: {', '.join(checked.families)}"
            raise UsageError(f"no family '{name}' in {path}; {hint}")
    elif len(checked.families) == 1:
        fam = next(iter(checked.families.values()))
    else:
        raise UsageError(f"{path} has {len(checked.families)} families; name one as {path}:FAMILY")
    if fam.grammar is None:
        raise UsageError(f"family {fam.name} has no grammar")
    return checked, fam, Evaluator(checked)


class _Failed(Exception):
    """Diagnostics were printed; exit 1."""


def cmd_grammar(args: argparse.Namespace, out: TextIO) -> int:
    try:
        return _cmd_grammar(args, out)
    except _Failed:
        return EXIT_ERRORS


def _overlap(fam_a: Any, ev_a: Any, fam_b: Any, ev_b: Any, out: TextIO) -> int:
    from ddl.grammar.router import RoutedFamily, Router

    second = fam_b.name if fam_b.name != fam_a.name else f"{fam_b.name} (second)"
    router = Router.build([RoutedFamily(fam_a.name, fam_a, ev_a), RoutedFamily(second, fam_b, ev_b)])
    found = router.overlaps()
    if not found:
        print(f"disjoint: no utterance is accepted by both {fam_a.name} and {fam_b.name}", file=out)
        return EXIT_OK
    print(f"overlap: both {fam_a.name} and {fam_b.name} accept {found[0].witness!r}", file=out)
    return EXIT_ERRORS


def _cmd_grammar(args: argparse.Namespace, out: TextIO) -> int:
    import random

    from ddl.eval import validate_theta
    from ddl.grammar.compile import CompiledGrammar
    from ddl.regular.errors import RegularError
    from ddl.values import to_json

    action = args.grammar_command
    try:
        if action in ("overlap", "equiv"):
            _, fam_a, ev_a = _load_family(args.first)
            _, fam_b, ev_b = _load_family(args.second)
            if action == "overlap":
                return _overlap(fam_a, ev_a, fam_b, ev_b, out)
            lang_a = CompiledGrammar(fam_a, ev_a).lang
            lang_b = CompiledGrammar(fam_b, ev_b).lang
            same, witness = lang_a.equivalent(lang_b)
            if same:
                print(f"equivalent: {fam_a.name} and {fam_b.name} accept the same utterances", file=out)
                return EXIT_OK
            owner = fam_a.name if witness is not None and lang_a.contains(witness) else fam_b.name
            print(f"not equivalent: only {owner} accepts {witness!r}", file=out)
            return EXIT_ERRORS
        _, fam, evaluator = _load_family(args.family)
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
        raw, bad = param_arguments(fam, args.param)
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


# ---------------------------------------------------------------------------- fmt


def cmd_fmt(args: argparse.Namespace, out: TextIO) -> int:
    from ddl.syntax.fmt import format_source

    files = collect_files(args.paths)
    status = EXIT_OK
    unformatted: list[Path] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as err:
            print(f"ddl fmt: error: cannot read '{path}': {err.strerror}", file=sys.stderr)
            return EXIT_USAGE
        text, diags = format_source(data, str(path))
        if text is None:
            sources = SourceMap()
            sources.add(str(path), data.decode("utf-8", errors="replace"))
            print_diagnostics(diags, sources)
            status = EXIT_ERRORS
            continue
        original = data.decode("utf-8", errors="replace")
        if args.check:
            if text != original:
                unformatted.append(path)
        elif args.write:
            if text != original:
                path.write_text(text, encoding="utf-8")
                print(f"formatted {path}", file=sys.stderr)
        else:
            out.write(text)
    if args.check and unformatted:
        for path in unformatted:
            print(f"{path}: not formatted (run `ddl fmt --write {path}`)", file=sys.stderr)
        return EXIT_ERRORS
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
