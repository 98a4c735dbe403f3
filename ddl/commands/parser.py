"""Every ``ddl`` subcommand's arguments, in one parser that loads nothing of the language.

``ddl --help`` and ``ddl --version`` need only this module; after parsing, :func:`ddl.commands.main`
loads the one command module that runs (``args.module``), and with it the floors that command uses.
"""

from __future__ import annotations

import argparse
from typing import Any

from ddl.commands.base import Parser
from ddl.testing.profiles import PROFILES, PROPERTIES
from ddl.version import __version__


def path(value: str) -> str:
    """A file or directory argument: an empty one is a usage error, not the current directory."""
    if not value:
        raise argparse.ArgumentTypeError("an empty path names nothing (write . for the current directory)")
    return value


def nonempty(value: str) -> str:
    """A store URL or model name: an empty one is a usage error, not the default."""
    if not value:
        raise argparse.ArgumentTypeError("an empty value names nothing (leave the option out for the default)")
    return value


# The ledger's verdicts (ddl.handler.records.VERDICTS, which loads the handler; a test keeps them equal).
VERDICTS = ("accept", "reject")
# ddl.handler.config.WIDEN_METHODS, written out: the parser loads nothing of the handler (tests/test_model.py
# checks that the two agree).
WIDEN_METHODS = ("align", "llm", "both")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """``ddl``'s parser.  Given the subcommand ``argv`` names first (``main`` does), only that subcommand's group
    is added: it parses those arguments exactly as the whole parser does (a test compares them), and a
    one-query ``ddl handle`` does not build the other forty-odd subcommands' options (milliseconds of its start)."""
    parser = Parser(
        prog="ddl",
        description="DDL, the Discrete Distillation Language: check, run and format task families.",
        epilog="Exit codes: 0 success, 1 errors in the input, 2 usage or I/O error. "
               "Diagnostics print as path:line:col: CODE: message with the source line and a caret.",
    )
    parser.add_argument("--version", action="version", version=f"ddl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    group = COMMAND_GROUPS.get(command) if command is not None else None
    if group is not None:
        group(sub)
        return parser
    for add in (_check, _run, _test, _handler, _distill, _refine, _widen, _grammar, _fmt):  # the order of `ddl --help`
        add(sub)
    _lsp(sub)
    _completion(sub)
    return parser


def _completion(sub: Any) -> None:
    parser = sub.add_parser(
        "completion", help="print a shell completion script: bash, zsh or fish",
        description="Print a completion script for SHELL, generated from ddl's own options. Load it with "
                    "`source <(ddl completion bash)` (bash), `source <(ddl completion zsh)` (zsh) or "
                    "`ddl completion fish | source` (fish), or save it where the shell looks for completions.",
    )
    parser.add_argument("shell", choices=["bash", "zsh", "fish"], metavar="SHELL", help="bash, zsh or fish")
    parser.set_defaults(module="completion")


def _check(sub: Any) -> None:
    parser = sub.add_parser(
        "check", help="prove every family's obligations: examples, grammar, safety, parameterization",
        description="Parse and type-check every .ddl file under the given paths (directories are searched "
                    "recursively) and discharge each family's obligations (examples, grammar, verifier), each "
                    "proved, refuted or unknown (spec/checks.md). Results are cached by content hash.",
        epilog="Exit codes: 0 every obligation proved; 1 an error, a refuted obligation, or an unknown one "
               "(unless --allow-unknown); 2 usage or I/O error.",
    )
    parser.add_argument("paths", type=path, nargs="*", metavar="PATH",
                        help=".ddl files or directories; - reads standard input (default: paths in the config file)")
    parser.add_argument("--format", "--output-format", dest="format", choices=["text", "json", "sarif", "github"],
                        default="text", help="output format: text (default), json (spec/checks.md), sarif (SARIF "
                                             "2.1.0) or github (GitHub Actions annotations)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only diagnostics, no summary")
    parser.add_argument("--no-timings", action="store_true",
                        help="leave the measured seconds out of --format json, so that the same files give the "
                             "same output byte for byte")
    parser.add_argument("--allow-unknown", action=argparse.BooleanOptionalAction, default=None,
                        help="report unknown obligations as warnings and do not fail on them (default: "
                             "allow_unknown in the config file, else off)")
    parser.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                        help="check N files in parallel (default 1; 0 = one per CPU)")
    parser.add_argument("--cache-dir", type=path, metavar="DIR", default=None,
                        help="where results are cached by content hash (default: .ddl-cache in the current directory)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write cached results")
    parser.add_argument("--max-states", type=int, default=None, metavar="N",
                        help="states any automaton of a grammar obligation may have (default: [check] max_states in "
                            "ddl.toml, else 200,000); an obligation that needs more is unknown (DDL506)")
    parser.add_argument("--family-steps", type=int, default=None, metavar="N",
                        help="evaluation steps the verifier may spend on one family (default: [check] family_steps "
                            "in ddl.toml, else 30,000,000); Θ is enumerated only when that fits, and an obligation "
                            "that needed more is unknown (DDL610)")
    parser.add_argument("--config", type=path, metavar="FILE", default=None,
                        help="config file: ddl.toml ([check]) or pyproject.toml ([tool.ddl]) (default: $DDL_CONFIG, "
                             "else the nearest ddl.toml or pyproject.toml with [tool.ddl] from the first PATH's directory "
                             "upwards)")
    _add_conventions(parser)
    parser.set_defaults(module="check")


def _run(sub: Any) -> None:
    parser = sub.add_parser(
        "run", help="run a family on parameter values and print its output as JSON",
        description="Run one family of FILE on θ given with --param name=value (values in DDL syntax: "
                    "3, 84.60, true, fantasy, \"text\", or JSON for lists and records). Parameters with "
                    "defaults may be omitted.",
    )
    parser.add_argument("file", type=path, metavar="FILE", help="a .ddl file")
    parser.add_argument("utterance", nargs="?", metavar="UTTERANCE",
                        help="an utterance: the family's grammar extracts θ from it (instead of --param)")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE", help="a parameter value")
    parser.add_argument("--family", "-f", metavar="NAME", help="the family to run (needed when FILE has several)")
    parser.add_argument("--format", choices=["json", "text"], default="json",
                        help="json (default): the output as JSON; text: DDL syntax")
    parser.set_defaults(module="run")


def _test(sub: Any) -> None:
    test = sub.add_parser(
        "test", help="property-test every family with Hypothesis",
        description="For every family of the .ddl files under PATH: totality (no runtime error for any sampled θ), "
                    "determinism (same θ, same output, interpreter and compiled form), ensures, round trip "
                    "(G(φ(θ)) = θ; sampled utterances yield θ in Θ) and near-misses (rejected by G). "
                    "Failures print the shrunk θ in DDL syntax, the output or error, and the span; exit 1.",
    )
    test.add_argument("paths", type=path, nargs="+", metavar="PATH", help=".ddl files or directories")
    test.add_argument("--examples", type=int, default=None, metavar="N", help="examples per property (overrides the profile)")
    test.add_argument("--seed", type=int, default=None, help="random seed (default: derandomized, reproducible)")
    test.add_argument("--profile", choices=sorted(PROFILES), default=None,
                      help="budget: ci (30 examples), dev (100), thorough (1000); default ci when CI is set, else dev")
    test.add_argument("--property", action="append", choices=PROPERTIES, default=None, dest="properties",
                      help="run only this property (repeatable)")
    test.set_defaults(module="test")


def _handler(sub: Any) -> None:
    """Register the handler's subcommands on ``ddl``'s subparsers."""
    handle = sub.add_parser(
        "handle", help="answer one utterance with H_k: a served family, else the fallback model",
        description="Route UTTERANCE through the families of DIR that pass `ddl check`. A covered utterance is "
                    "answered deterministically (the family's output as JSON); a miss goes to the llm model "
                    "(-m, $DDL_MODEL or the config file). The query is recorded in the store.",
        epilog="Exit codes: 0 answered (deterministic or by the model); 1 an error result (no model "
               "configured, the model failed or timed out, store error); 2 usage or I/O error.",
    )
    handle.add_argument("directory", type=path, metavar="DIR", help="a directory of .ddl files")
    handle.add_argument("utterance", metavar="UTTERANCE")
    _add_settings(handle, model=True)
    handle.add_argument("--format", choices=["text", "json"], default="text",
                        help="text (default): the output JSON or the model's text, a summary on stderr; "
                             "json: the whole answer (source, family, θ, output, tokens, query id)")

    feedback = sub.add_parser(
        "feedback", help="record a verdict (accept/reject, optional correction) on an answered query",
        description="Store feedback on query QUERY_ID (the id `ddl handle --format json` or POST /query "
                    "returned), with the query's utterance, θ and family version, for refinement.",
        epilog="Exit codes: 0 recorded; 1 unknown query id or store error; 2 usage or I/O error.",
    )
    feedback.add_argument("directory", type=path, metavar="DIR", help="the directory whose store holds the query")
    feedback.add_argument("query_id", type=int, metavar="QUERY_ID")
    feedback.add_argument("verdict", choices=VERDICTS, metavar="VERDICT", help="accept or reject")
    feedback.add_argument("--correction", metavar="TEXT", default=None, help="what the answer should have been")
    _add_settings(feedback, model=False)
    feedback.add_argument("--format", choices=["text", "json"], default="text")

    stats = sub.add_parser(
        "stats", help="coverage, per-family hits, LLM calls, tokens, expected cost and savings",
        description="Summarize the ledger of DIR's store (default: the current directory): the share of "
                    "queries answered deterministically, hits per family, model calls and tokens, the "
                    "expected cost per query E[C] = cov·c_det + (1−cov)·c_M, and the savings on the answered "
                    "queries against answering them with the model (queries that got no answer are reported "
                    "apart). Prices are per 1,000 tokens, in dollars.",
    )
    stats.add_argument("directory", type=path, nargs="?", default=None, metavar="DIR")
    _add_settings(stats, model=False)
    _add_prices(stats)
    stats.add_argument("--format", choices=["text", "json"], default="text")
    stats.add_argument("--plot", type=path, metavar="FILE.png", default=None,
                       help="also draw who answered each query and the cumulative cost in dollars to a PNG "
                            "(needs matplotlib: pip install 'ddl-lang[plot]')")

    serve = sub.add_parser(
        "serve", help="serve H_k over HTTP: POST /query, POST /feedback, GET /stats, /families, /health, /openapi.json",
        description="An HTTP JSON API for the families of DIR (uvicorn). Request bodies are limited to "
                    "--max-body bytes and utterances to max_utterance characters (config file); errors "
                    "are {\"error\": {\"code\", \"message\"}} with a 4xx status. Listens on loopback by "
                    "default; any other --host needs a token. POST bodies must be application/json; requests "
                    "from another Host or Origin are refused; the log is JSON lines. Stop with Ctrl-C.",
        epilog="Running it safely (token, reverse proxy, TLS, what is checked and logged): spec/handler.md.",
    )
    serve.add_argument("directory", type=path, metavar="DIR", help="a directory of .ddl files")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    _add_settings(serve, model=True)
    _add_prices(serve)
    serve.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                       help="largest request body accepted (default 65536)")
    serve.add_argument("--token-file", metavar="FILE", default=None,
                       help="require 'Authorization: Bearer <token>' with the token in FILE (else $DDL_SERVE_TOKEN, "
                            "else token_file under [serve]); required when --host is not loopback")
    serve.add_argument("--allow-host", action="append", default=None, metavar="NAME", dest="allow_hosts",
                       help="a Host name answered besides the bound host (repeatable; '*' any): the name clients "
                            "or a reverse proxy use")
    serve.add_argument("--allow-origin", action="append", default=None, metavar="ORIGIN", dest="allow_origins",
                       help="a browser origin (scheme://host[:port]) whose cross-site requests are served (repeatable)")
    serve.add_argument("--header-timeout", type=float, default=None, metavar="S",
                       help="seconds a client has to send a request's headers (default 10)")
    serve.add_argument("--body-timeout", type=float, default=None, metavar="S",
                       help="seconds a client has to send a request's body (default 30)")
    serve.add_argument("--log-file", metavar="FILE", default=None,
                       help="append the JSON-lines log to FILE instead of stderr")
    serve.add_argument("--log-utterances", action="store_true", default=None,
                       help="include each query's utterance in the access log (off by default)")
    for parser in (handle, feedback, stats, serve):
        parser.set_defaults(module="handler")


def _distill(sub: Any) -> None:
    p = sub.add_parser(
        "distill", help="ask an llm model for a DDL family for a teaching utterance; keep it only if it passes ddl check",
        description="Prompt MODEL (any model `llm models` lists) with a digest of the DDL spec, the stdlib, example "
                    "families and UTTERANCE, asking for one family that handles every request like it. The reply's "
                    "DDL block is checked (`ddl check`, the grammar must accept UTTERANCE and the --phrasings varied "
                    "phrasings the model was asked to list first, each with its θ, and with --dir no overlap "
                    "with the served families); the diagnostics go back to the model in the same conversation for up "
                    "to --rounds repairs. The file is written only when everything passes. Every round is logged to a "
                    "transcript JSON in --log-dir. The model's own timeout applies to each call.",
        epilog="Exit codes: 0 a family passed and was written; 1 no passing family after the repair rounds, or the "
               "model failed mid-run (nothing written); 2 usage or I/O error, including no model or an unknown model.",
    )
    p.add_argument("utterance", metavar="UTTERANCE", help="the teaching utterance, e.g. 'recommend 5 fantasy books'")
    p.add_argument("--model", "-m", type=nonempty, metavar="MODEL", default=None, help="the llm model (default: $DDL_MODEL)")
    p.add_argument("--output", "-o", type=path, metavar="FILE", default=None,
                   help="where to write the family (default: ./<family>.ddl once the name is known)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.add_argument("--rounds", type=int, default=3, metavar="N",
                   help="repair rounds after the first answer (default 3: at most 4 model calls)")
    p.add_argument("--temperature", type=float, default=None, metavar="T",
                   help="sampling temperature, passed only to models that have the option (else noted and ignored)")
    p.add_argument("--phrasings", type=int, default=20, metavar="N",  # ddl.distill.loop.DEFAULT_PHRASINGS
                   help="ask first for N varied phrasings of UTTERANCE, each written as `example \"u\" => { θ }`; "
                        "a family passes only with N of them, each parsed by its grammar to its θ (default 20; "
                        "0 turns it off)")
    system = p.add_mutually_exclusive_group()
    system.add_argument("--system", metavar="TEXT", default=None, help="replace the built-in system prompt")
    system.add_argument("--system-file", type=path, metavar="FILE", default=None, help="replace it with the text of FILE")
    p.add_argument("--log-dir", type=path, metavar="DIR", default=None,
                   help="where transcripts are written (default: ./.ddl-distill)")
    p.add_argument("--dir", type=path, metavar="REGISTRY_DIR", default=None,
                   help="a directory of served families the new family must not overlap")
    p.add_argument("--format", choices=["text", "json"], default="text",
                   help="text (default): a summary; json: one object with the result")
    p.set_defaults(module="distill")


def _refine(sub: Any) -> None:
    p = sub.add_parser(
        "refine", help="split a served family by the accepted and rejected answers in the feedback store",
        description="Learn from the feedback on FAMILY's answers which utterances it should keep answering (G+) "
                    "and which it should leave to the model (G-), check the split with the grammar algebra, rewrite "
                    "the family's file and show the diff. --write replaces the file only when the refined family "
                    "passes ddl check.",
        epilog="Exit codes: 0 a checked split (written with --write); 1 no valid split or the refined family does "
               "not pass ddl check (nothing written); 2 usage or I/O error.",
    )
    p.add_argument("family", metavar="FAMILY")
    p.add_argument("directory", type=path, metavar="DIR", help="the handler's directory of .ddl files")
    p.add_argument("--store", type=nonempty, metavar="URL", default=None,
                   help="the feedback store (default: $DDL_STORE, DIR/ddl.toml, or DIR/.ddl-handler/ledger.sqlite3)")
    p.add_argument("--config", type=path, metavar="FILE", default=None, help="a handler config file (TOML)")
    p.add_argument("--method", choices=["auto", "theta", "rpni", "llm"], default=None,
                   help="how to learn the split (default: auto — over θ when that explains the feedback, else "
                        "RPNI over words; llm when -m is given)")
    p.add_argument("--model", "-m", type=nonempty, metavar="MODEL", default=None, help="an llm model as the oracle (method llm)")
    p.add_argument("--write", action="store_true", help="replace the family's file when every check passes")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(module="refine")


def _widen(sub: Any) -> None:
    p = sub.add_parser(
        "widen", help="widen a served family's grammar from the phrasings it missed (checked, then shown or written)",
        description="Learn grammar alternatives from FAMILY's candidate phrasings (requests the model matched to "
                    "FAMILY with a θ, whose answers nobody rejected) and admit them only if the algebra and ddl check "
                    "prove the widened family safe: the old grammar's utterances still accepted, every candidate "
                    "parsed to its θ, no rejected utterance accepted, no overlap with another served family, every "
                    "obligation proved. Shows the diff; --write replaces the file atomically.",
        epilog="Exit codes: 0 a widening passed the gate (written with --write); 1 nothing could be admitted; "
               "2 usage or I/O error.",
    )
    p.add_argument("family", metavar="FAMILY")
    p.add_argument("directory", type=path, metavar="DIR", help="the directory of served families (the handler's)")
    p.add_argument("--store", type=nonempty, metavar="URL", default=None,
                   help="the store holding the candidates (default: the handler's for DIR)")
    p.add_argument("--config", type=path, metavar="FILE", default=None, help="a TOML config file with a [handler] table")
    p.add_argument("--method", choices=WIDEN_METHODS, default="align",
                   help="align (default): learn offline by aligning θ with each phrasing; llm: the model proposes "
                        "alternatives (-m MODEL); both: the two together; all pass the same gate")
    p.add_argument("--model", "-m", type=nonempty, metavar="MODEL", default=None,
                   help="the model for --method llm or both")
    p.add_argument("--write", action="store_true", help="replace the family's file when the widening passed")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(module="widen")


def _grammar(sub: Any) -> None:
    parser = sub.add_parser(
        "grammar", help="work with a family's grammar: member, sample, render, overlap, equiv",
        description="Query grammars. A family is named FILE or FILE:FAMILY (FAMILY may be omitted when "
                    "the file has one family).",
    )
    gsub = parser.add_subparsers(dest="grammar_command", metavar="ACTION", parser_class=Parser)
    g_member = gsub.add_parser("member", help="does the grammar accept UTTERANCE? print θ as JSON",
                               description="Exit 0 and print θ when the family's grammar accepts UTTERANCE; "
                                           "exit 1 with the longest matched prefix otherwise.")
    g_member.add_argument("family", type=path, metavar="FILE[:FAMILY]")
    g_member.add_argument("utterance", metavar="UTTERANCE")
    g_sample = gsub.add_parser("sample", help="print random utterances of the grammar",
                               description="Print N utterances drawn uniformly among those of a random length.")
    g_sample.add_argument("family", type=path, metavar="FILE[:FAMILY]")
    g_sample.add_argument("-n", type=int, default=5, help="how many (default 5; at most 100,000)")
    g_sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g_sample.add_argument("--max-length", type=int, default=80, help="longest utterance to draw (default 80; at most 4,096)")
    g_render = gsub.add_parser("render", help="print φ(θ): an utterance for given parameter values",
                               description="Render the canonical utterance for θ given with --param name=value.")
    g_render.add_argument("family", type=path, metavar="FILE[:FAMILY]")
    g_render.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE")
    g_overlap = gsub.add_parser("overlap", help="do two grammars share an utterance? print a witness",
                                description="Exit 1 and print the shortest shared utterance when the grammars "
                                            "overlap; exit 0 when they are disjoint.")
    g_overlap.add_argument("first", type=path, metavar="FILE[:FAMILY]")
    g_overlap.add_argument("second", type=path, metavar="FILE[:FAMILY]")
    g_equiv = gsub.add_parser("equiv", help="do two grammars accept the same utterances? print a witness",
                              description="Exit 0 when the grammars accept exactly the same utterances; "
                                          "exit 1 and print the shortest utterance accepted by only one.")
    g_equiv.add_argument("first", type=path, metavar="FILE[:FAMILY]")
    g_equiv.add_argument("second", type=path, metavar="FILE[:FAMILY]")
    parser.set_defaults(module="grammar")


def _fmt(sub: Any) -> None:
    parser = sub.add_parser(
        "fmt", help="print .ddl files in canonical form",
        description="Format .ddl files canonically (comments kept). Prints a single file to stdout unless "
                    "--write; with --check, lists files that are not formatted and exits 1.",
    )
    parser.add_argument("paths", type=path, nargs="*", metavar="PATH",
                        help=".ddl files or directories; - reads standard input and writes the formatted source to "
                             "standard output (default: paths in the config file)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if any file is not formatted; change nothing")
    mode.add_argument("--write", "-w", action="store_true", help="rewrite files in place")
    mode.add_argument("--diff", action="store_true",
                      help="print a unified diff of what would change; exit 1 if anything would; change nothing")
    parser.add_argument("--config", type=path, metavar="FILE", default=None,
                        help="config file whose paths and excludes apply (default: as for ddl check)")
    _add_conventions(parser)
    parser.set_defaults(module="fmt")


def _lsp(sub: Any) -> None:
    parser = sub.add_parser(
        "lsp", help="run the language server for editors (LSP over stdin/stdout)",
        description="Serve the Language Server Protocol on stdin/stdout for an editor: diagnostics as you "
                    "type (parse and types) and on save (every obligation), hover, go to definition, "
                    "completion, formatting and document symbols (spec/editor.md).",
    )
    # Clients started by vscode-languageclient pass --stdio; stdio is the only transport.
    parser.add_argument("--stdio", action="store_true", help="use stdin/stdout (the default and only transport)")
    parser.set_defaults(module="lsp")


def _add_conventions(parser: argparse.ArgumentParser) -> None:
    """What `ddl check` and `ddl fmt` share with ruff and mypy: standard input, excludes, colour."""
    parser.add_argument("--stdin-filename", type=path, metavar="NAME", default=None,
                        help="the name of the source read from - : the path its diagnostics show, from which its "
                             "imports resolve and that excludes are matched against")
    parser.add_argument("--extend-exclude", action="append", default=[], metavar="PATTERN",
                        help="also skip what this gitignore-style pattern matches when walking directories "
                             "(repeatable; adds to exclude and extend-exclude of the config file)")
    parser.add_argument("--force-exclude", action="store_true",
                        help="apply the excludes to files named on the command line and to --stdin-filename too")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                        help="colour diagnostics: auto (default: when the output is a terminal and NO_COLOR is "
                             "not set), always or never")


def _add_settings(parser: argparse.ArgumentParser, *, model: bool) -> None:
    parser.add_argument("--store", type=nonempty, metavar="URL", default=None,
                        help="the ledger/feedback store: a file path, sqlite:///PATH or postgresql://... "
                             "(default: $DDL_STORE, the config file, or DIR/.ddl-handler/ledger.sqlite3)")
    parser.add_argument("--config", type=path, metavar="FILE", default=None,
                        help="a TOML config file with a [handler] table (default: $DDL_CONFIG or DIR/ddl.toml)")
    if model:
        parser.add_argument("--model", "-m", type=nonempty, metavar="MODEL", default=None,
                            help="the llm model answering misses (default: $DDL_MODEL or the config file); "
                                 "any model `llm models` lists")
        parser.add_argument("--timeout", type=float, default=None, metavar="S",
                            help="seconds to wait for the model (default 30)")
        parser.add_argument("--compile-on-miss", action="store_true", default=None,
                            help="also distill a miss into a new family (ddl distill with the same model); it "
                                 "joins DIR only if it passes ddl check, overlaps no served family and agrees "
                                 "with the model's answer")
        parser.add_argument("--no-extract", action="store_true",
                            help="on a miss, ask the model for the full answer at once instead of first asking "
                                 "which served family and θ the request is (spec/widen.md)")
        parser.add_argument("--widen-after", type=int, default=None, metavar="N",
                            help="widen a family's grammar from its candidate phrasings after every N new ones, in "
                                 "the background (default: widen_after in the config file, else never)")
        parser.add_argument("--widen-method", choices=WIDEN_METHODS, default=None,
                            help="how the automatic widening learns: align (no model call), llm or both (the "
                                 "model proposes alternatives too); default: widen_method in the config file, "
                                 "else align")


def _add_prices(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--price-in", type=float, default=None, metavar="X",
                        help="price per 1,000 input tokens (default: the config file, else 0)")
    parser.add_argument("--price-out", type=float, default=None, metavar="Y",
                        help="price per 1,000 output tokens (default: the config file, else 0)")
    parser.add_argument("--cost-per-call", type=float, default=None, metavar="Z",
                        help="the cost of one model call, for calls whose tokens were not reported")


# Each subcommand's name → the function that adds it (with the others of its group) to ``ddl``'s subparsers.
COMMAND_GROUPS: dict[str, Any] = {
    "check": _check, "run": _run, "test": _test, "handle": _handler, "feedback": _handler, "stats": _handler,
    "serve": _handler, "distill": _distill, "refine": _refine, "widen": _widen, "grammar": _grammar, "fmt": _fmt,
    "lsp": _lsp, "completion": _completion,
}
