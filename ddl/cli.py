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
from typing import Any, TextIO

from ddl import __version__
from ddl.diagnostics import Diagnostic, SourceMap

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
        "check", help="parse, type-check and run the examples of .ddl files",
        description="Parse and type-check every .ddl file under the given paths (directories are searched "
                    "recursively) and evaluate each family's examples against their expected outputs.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help=".ddl files or directories")
    check.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    check.add_argument("--quiet", "-q", action="store_true", help="print only diagnostics, no summary")

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


def check_file(path: Path) -> tuple[list[Diagnostic], list[dict[str, Any]], SourceMap]:
    """Type-check one file and discharge each family's obligations (spec/checks.md)."""
    from ddl.api import ModuleLoader, compile_file
    from ddl.verify.family import check_family

    loader = ModuleLoader()
    started = time.perf_counter()
    checked, diags = compile_file(path, loader)
    typed_seconds = time.perf_counter() - started
    families: list[dict[str, Any]] = []
    if checked is None:
        return diags, families, loader.sources
    from ddl.eval import Evaluator

    evaluator = Evaluator(checked)
    all_diags = list(diags)
    for fam in checked.families.values():
        obligations = check_family(checked, fam, evaluator, typed_seconds)
        families.append({"name": fam.name, "obligations": [o.to_json() for o in obligations]})
        all_diags.extend(d for d in (o.diagnostic(fam.name) for o in obligations) if d is not None)
    return all_diags, families, loader.sources


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    files = collect_files(args.paths)
    report: dict[str, Any] = {"ok": True, "files": [], "diagnostics": []}
    n_families = 0
    verdicts = {"proved": 0, "refuted": 0, "unknown": 0}
    any_errors = False
    text_diags: list[tuple[Diagnostic, SourceMap]] = []
    for path in files:
        diags, families, sources = check_file(path)
        errors = [d for d in diags if d.is_error]
        any_errors = any_errors or bool(errors)
        report["files"].append({"path": str(path), "families": families})
        report["diagnostics"].extend(d.to_json() for d in diags)
        n_families += len(families)
        for f in families:
            for o in f["obligations"]:
                verdicts[o["verdict"]] += 1
        text_diags.extend((d, sources) for d in diags)
    report["ok"] = not any_errors
    if args.format == "json":
        json.dump(report, out, indent=2)
        out.write("\n")
    else:
        for d, sources in text_diags:
            print(d.render(sources), file=out)
        if not args.quiet:
            n_err = sum(1 for d, _ in text_diags if d.is_error)
            status = "ok" if not any_errors else f"{n_err} error{'s' if n_err != 1 else ''}"
            counts = ", ".join(f"{n} {v}" for v, n in verdicts.items() if n or v == "proved")
            print(f"checked {len(files)} file{'s' if len(files) != 1 else ''}, {n_families} "
                  f"famil{'ies' if n_families != 1 else 'y'}, obligations: {counts}: {status}", file=out)
    return EXIT_ERRORS if any_errors else EXIT_OK


# ---------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from ddl.api import ModuleLoader, compile_file
    from ddl.eval import Err, compile_family, parse_param_value, validate_theta
    from ddl.eval.values import show_value, to_json

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
    raw: dict[str, Any] = {}
    problems: list[str] = []
    if args.utterance is not None:
        if args.param:
            raise UsageError("give either an UTTERANCE or --param values, not both")
        if fam.grammar is None:
            print(f"ddl run: error: family {fam.name} has no grammar; pass --param name=value", file=sys.stderr)
            return EXIT_ERRORS
        from ddl.eval import Evaluator as _Evaluator
        from ddl.grammar.compile import CompiledGrammar

        result = CompiledGrammar(fam, _Evaluator(checked)).match(args.utterance)
        if not result.ok:
            print(f"ddl run: DDL509: the grammar of {fam.name} does not accept {args.utterance!r}: {result.error}",
                  file=sys.stderr)
            return EXIT_ERRORS
        raw = dict(result.values or {})
    for item in args.param:
        if "=" not in item:
            raise UsageError(f"--param expects NAME=VALUE, got '{item}'")
        name, _, text = item.partition("=")
        name = name.strip()
        p = fam.param(name)
        if p is None:
            raw[name] = text  # validate_theta reports unknown names with suggestions
            continue
        value, problem = parse_param_value(text, p.type)
        if problem is not None:
            problems.append(f"{name}: {problem}")
        else:
            raw[name] = value
    from ddl.eval import Evaluator

    evaluator = Evaluator(checked)
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


def _cmd_grammar(args: argparse.Namespace, out: TextIO) -> int:
    import random

    from ddl.eval import parse_param_value, validate_theta
    from ddl.eval.values import to_json
    from ddl.grammar.compile import CompiledGrammar
    from ddl.regular.errors import RegularError

    action = args.grammar_command
    try:
        if action in ("overlap", "equiv"):
            _, fam_a, ev_a = _load_family(args.first)
            _, fam_b, ev_b = _load_family(args.second)
            lang_a = CompiledGrammar(fam_a, ev_a).lang
            lang_b = CompiledGrammar(fam_b, ev_b).lang
            if action == "overlap":
                disjoint, witness = lang_a.disjoint(lang_b)
                if disjoint:
                    print(f"disjoint: no utterance is accepted by both {fam_a.name} and {fam_b.name}", file=out)
                    return EXIT_OK
                print(f"overlap: both {fam_a.name} and {fam_b.name} accept {witness!r}", file=out)
                return EXIT_ERRORS
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
            lang = grammar.plain_lang
            lengths = [n for n in lang.lengths(args.max_length) if lang.count(n) > 0]
            if not lengths:
                print(f"the grammar has no utterance of at most {args.max_length} characters", file=sys.stderr)
                return EXIT_ERRORS
            for _ in range(args.n):
                print(lang.sample(rng, rng.choice(lengths)), file=out)
            return EXIT_OK
        assert action == "render"
        raw: dict[str, Any] = {}
        for item in args.param:
            name, eq, text = item.partition("=")
            if not eq:
                raise UsageError(f"--param expects NAME=VALUE, got '{item}'")
            p = fam.param(name.strip())
            if p is None:
                raw[name.strip()] = text
                continue
            value, problem = parse_param_value(text, p.type)
            if problem is not None:
                print(f"ddl grammar render: error: {name}: {problem}", file=sys.stderr)
                return EXIT_ERRORS
            raw[name.strip()] = value
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
