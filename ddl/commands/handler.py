"""The handler's commands: ``ddl handle``, ``ddl feedback``, ``ddl stats`` and ``ddl serve``.

Registered on ``ddl``'s subparsers by :func:`register` and run by :func:`run_command`; each
command writes its result to ``out`` and returns the exit code of ``ddl`` (0 ok, 1 an error result,
2 usage or I/O).  Handler failures print ``ddl <cmd>: error: CODE: message`` on stderr.

Settings come from flags > ``DDL_MODEL`` / ``DDL_STORE`` > the config file (``--config``,
``$DDL_CONFIG`` or ``DIR/ddl.toml``) > defaults; the store defaults to ``DIR/.ddl-handler/ledger.sqlite3``
(see :mod:`ddl.handler.config`).  Heavy imports (llm, starlette, the registry) happen inside the
commands so that ``ddl --help`` and the other commands stay fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote

from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError
from ddl.handler.config import load_config, resolve
from ddl.handler.handler import Handler
from ddl.handler.records import VERDICTS, HandlerError
from ddl.handler.stats import compute_stats, plot, render_text
from ddl.handler.store import open_store
from ddl.model import prepare

if TYPE_CHECKING:
    from ddl.handler.config import HandlerConfig

COMMANDS = ("handle", "feedback", "stats", "serve")


class _ConfigError(Exception):
    """A bad config file or flag value: a usage error (exit 2) that keeps its DDL705 code."""

    def __init__(self, err: HandlerError) -> None:
        super().__init__(err.message)
        self.error = err


def _add_settings(parser: argparse.ArgumentParser, *, model: bool) -> None:
    parser.add_argument("--store", metavar="URL", default=None,
                        help="the ledger/feedback store: a file path, sqlite:///PATH or postgresql://... "
                             "(default: $DDL_STORE, the config file, or DIR/.ddl-handler/ledger.sqlite3)")
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="a TOML config file with a [handler] table (default: $DDL_CONFIG or DIR/ddl.toml)")
    if model:
        parser.add_argument("--model", "-m", metavar="MODEL", default=None,
                            help="the llm model answering misses (default: $DDL_MODEL or the config file); "
                                 "any model `llm models` lists")
        parser.add_argument("--timeout", type=float, default=None, metavar="S",
                            help="seconds to wait for the model (default 30)")
        parser.add_argument("--compile-on-miss", action="store_true", default=None,
                            help="also distill a miss into a new family (ddl distill with the same model); it "
                                 "joins DIR only if it passes ddl check, overlaps no served family and agrees "
                                 "with the model's answer")


def _add_prices(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--price-in", type=float, default=None, metavar="X",
                        help="price per 1,000 input tokens (default: the config file, else 0)")
    parser.add_argument("--price-out", type=float, default=None, metavar="Y",
                        help="price per 1,000 output tokens (default: the config file, else 0)")
    parser.add_argument("--cost-per-call", type=float, default=None, metavar="Z",
                        help="the cost of one model call, for calls whose tokens were not reported")


def register(sub: Any) -> None:
    """Register the handler's subcommands on ``ddl``'s subparsers."""
    handle = sub.add_parser(
        "handle", help="answer one utterance with H_k: a served family, else the fallback model",
        description="Route UTTERANCE through the families of DIR that pass `ddl check`. A covered utterance is "
                    "answered deterministically (the family's output as JSON); a miss goes to the llm model "
                    "(-m, $DDL_MODEL or the config file). The query is recorded in the store.",
        epilog="Exit codes: 0 answered (deterministic or by the model); 1 an error result (no model "
               "configured, the model failed or timed out, store error); 2 usage or I/O error.",
    )
    handle.add_argument("directory", metavar="DIR", help="a directory of .ddl files")
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
    feedback.add_argument("directory", metavar="DIR", help="the directory whose store holds the query")
    feedback.add_argument("query_id", type=int, metavar="QUERY_ID")
    feedback.add_argument("verdict", choices=list(VERDICTS), metavar="VERDICT", help="accept or reject")
    feedback.add_argument("--correction", metavar="TEXT", default=None, help="what the answer should have been")
    _add_settings(feedback, model=False)
    feedback.add_argument("--format", choices=["text", "json"], default="text")

    stats = sub.add_parser(
        "stats", help="coverage, per-family hits, LLM calls, tokens, expected cost and savings",
        description="Summarize the ledger of DIR's store (default: the current directory): the share of "
                    "queries answered deterministically, hits per family, model calls and tokens, the "
                    "expected cost per query E[C] = cov·c_det + (1−cov)·c_M, and savings against answering "
                    "every query with the model. Prices are per 1,000 tokens.",
    )
    stats.add_argument("directory", nargs="?", default=None, metavar="DIR")
    _add_settings(stats, model=False)
    _add_prices(stats)
    stats.add_argument("--format", choices=["text", "json"], default="text")
    stats.add_argument("--plot", metavar="FILE.png", default=None,
                       help="also draw running coverage and cumulative cost to a PNG (needs matplotlib)")

    serve = sub.add_parser(
        "serve", help="serve H_k over HTTP: POST /query, POST /feedback, GET /stats, /families, /health",
        description="An HTTP JSON API for the families of DIR (uvicorn). Request bodies are limited to "
                    "--max-body bytes and utterances to max_utterance characters (config file); errors "
                    "are {\"error\": {\"code\", \"message\"}} with a 4xx status. Stop with Ctrl-C.",
    )
    serve.add_argument("directory", metavar="DIR", help="a directory of .ddl files")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    _add_settings(serve, model=True)
    _add_prices(serve)
    serve.add_argument("--max-body", type=int, default=None, metavar="BYTES",
                       help="largest request body accepted (default 65536)")
    for parser in (handle, feedback, stats, serve):
        parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    """Run the handler command ``args.command``; returns the exit code."""
    err = sys.stderr if err is None else err
    commands = {"handle": cmd_handle, "feedback": cmd_feedback, "stats": cmd_stats, "serve": cmd_serve}
    try:
        return commands[args.command](args, out, err)
    except UsageError as exc:
        print(f"ddl {args.command}: error: {exc}", file=err)
        return EXIT_USAGE
    except _ConfigError as exc:
        print(f"ddl {args.command}: error: {exc.error.code}: {exc.error.message}", file=err)
        return EXIT_USAGE
    except HandlerError as exc:
        print(f"ddl {args.command}: error: {exc.code}: {exc.message}", file=err)
        return EXIT_ERRORS


# ---------------------------------------------------------------------------- helpers


def _directory(raw: str | None) -> Path:
    path = Path(raw if raw is not None else ".")
    if not path.exists():
        raise UsageError(f"no such directory: '{path}'")
    if not path.is_dir():
        raise UsageError(f"'{path}' is not a directory (give the directory holding the .ddl files)")
    return path


def _config(args: argparse.Namespace, directory: Path) -> HandlerConfig:
    try:
        return resolve(
            load_config(args.config, directory), directory=directory, store=args.store,
            model=getattr(args, "model", None), timeout=getattr(args, "timeout", None),
            price_in=getattr(args, "price_in", None), price_out=getattr(args, "price_out", None),
            cost_per_call=getattr(args, "cost_per_call", None),
            compile_on_miss=getattr(args, "compile_on_miss", None),
        )
    except HandlerError as exc:
        raise _ConfigError(exc) from None


def _local_store_path(url: str) -> Path | None:
    """The file of a SQLite store URL or path; None for server URLs."""
    if url == ":memory:":
        return None
    if url.lower().startswith("sqlite:///"):
        return Path(unquote(url[len("sqlite://"):]))
    if "://" in url:
        return None
    if url.lower().startswith("sqlite:"):
        return Path(url[len("sqlite:"):])
    return Path(url)


def _open_existing_store(url: str | None) -> Any:
    """Open the store for reading what was recorded; a missing SQLite file is an error, not a new store."""
    if url is None:  # pragma: no cover - resolve() always gives a store when a directory is known
        raise HandlerError("no store configured (give --store)", "DDL702")
    path = _local_store_path(url)
    if path is not None and not path.exists():
        raise HandlerError(f"no store at {path}: nothing has been recorded there yet (run `ddl handle` or "
                           "`ddl serve` first, or name the store with --store)", "DDL702")
    return open_store(url)


def _dump(value: Any, out: TextIO) -> None:
    json.dump(value, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _theta_text(theta: Any) -> str:
    return json.dumps(theta, ensure_ascii=False, separators=(", ", ": "))


def _summary(answer: dict[str, Any]) -> str:
    """One line for stderr: who answered, with what, and the query id for `ddl feedback`."""
    source = answer.get("source")
    query = f"query {answer['id']}" if answer.get("id") is not None else "not recorded"
    latency = answer.get("latency_ms")
    timing = f", {latency:.1f} ms" if isinstance(latency, int | float) else ""
    if source == "deterministic":
        return (f"ddl handle: deterministic: family {answer.get('family')}, θ = {_theta_text(answer.get('theta'))} "
                f"({query}{timing})")
    if source == "llm":
        tokens_in, tokens_out = answer.get("tokens_in"), answer.get("tokens_out")
        tokens = "" if tokens_in is None and tokens_out is None else f", tokens {tokens_in} in / {tokens_out} out"
        return f"ddl handle: llm: model {answer.get('model')}{tokens} ({query}{timing})"
    error = answer.get("error") or {}
    return f"ddl handle: error: {error.get('code', 'DDL700')}: {error.get('message', 'no answer')} ({query})"


# ---------------------------------------------------------------------------- commands


def cmd_handle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    directory = _directory(args.directory)
    config = _config(args, directory)
    if not args.utterance.strip():
        raise UsageError("the utterance is empty")
    if len(args.utterance) > config.max_utterance:
        raise _ConfigError(HandlerError(
            f"utterance of {len(args.utterance)} characters is over the limit of {config.max_utterance} "
            "(max_utterance in the config file)", "DDL705"))
    # One query: a miss is compiled right away (there is no later for a background worker).
    handler = Handler.open(directory, config, learn_in_background=False)
    try:
        answer = handler.handle(args.utterance)
    finally:
        handler.close()
    source = answer.get("source")
    if args.format == "json":
        _dump(answer, out)
    elif source == "deterministic":
        _dump(answer.get("output"), out)
    elif source == "llm":
        text = answer.get("text") or ""
        out.write(text if text.endswith("\n") else text + "\n")
    print(_summary(answer), file=err)
    learning = answer.get("learning")
    if learning:
        detail = learning.get("path") if learning.get("status") == "admitted" else learning.get("reason")
        print(f"ddl handle: compile on miss: {learning.get('status')}"
              f"{' ' + learning['family'] if learning.get('family') else ''}: {detail}", file=err)
    if answer.get("store_error"):
        problem = answer["store_error"]
        print(f"ddl handle: warning: the query was not recorded: {problem.get('code')}: {problem.get('message')}",
              file=err)
    return EXIT_OK if source in ("deterministic", "llm") else EXIT_ERRORS


def cmd_feedback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The store alone is enough: feedback copies utterance, θ and family version from the recorded query,
    # so it works even when DIR's families changed since (no registry load, no checks).
    directory = _directory(args.directory)
    config = _config(args, directory)
    store = _open_existing_store(config.store)
    try:
        record = store.add_feedback(args.query_id, args.verdict, args.correction)
    finally:
        store.close()
    data = record.to_json()
    if args.format == "json":
        _dump(data, out)
    else:
        about = f"family {data['family']}" if data.get("family") else f"source {data.get('source')}"
        correction = f", correction {data['correction']!r}" if data.get("correction") is not None else ""
        print(f"feedback {data.get('id')} on query {data['query_id']}: {data['verdict']} ({about}{correction})",
              file=out)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    directory = _directory(args.directory)
    config = _config(args, directory)
    store = _open_existing_store(config.store)
    try:
        stats = compute_stats(store, price_in=config.price_in, price_out=config.price_out,
                              cost_per_call=config.cost_per_call)
        if args.format == "json":
            _dump(stats.to_json(), out)
        else:
            text = render_text(stats)
            out.write(text if text.endswith("\n") else text + "\n")
        if args.plot is not None:
            try:
                plot(store, args.plot, price_in=config.price_in, price_out=config.price_out,
                     cost_per_call=config.cost_per_call)
            except OSError as exc:
                raise UsageError(f"cannot write {args.plot}: {exc.strerror or exc}") from None
            print(f"ddl stats: wrote {args.plot}", file=err)
    finally:
        store.close()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ddl.handler.service import DEFAULT_MAX_BODY, serve  # deferred: starlette and uvicorn load only for ddl serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")
    max_body = DEFAULT_MAX_BODY if args.max_body is None else args.max_body
    if max_body < 1:
        raise UsageError(f"--max-body must be a positive number of bytes, not {max_body}")
    directory = _directory(args.directory)
    config = _config(args, directory)
    if config.model:  # load llm now, and say at once if the model cannot be used, not at the first miss

        problem = prepare(config.model)
        if problem is not None:
            print(f"ddl serve: warning: {problem.code}: {problem.message}", file=err)
    else:
        print("ddl serve: no fallback model configured: misses are answered with DDL707 (use -m MODEL)", file=err)
    handler = Handler.open(directory, config)
    try:
        serve(handler, args.host, args.port, max_body=max_body, announce=lambda line: print(line, file=err, flush=True))
    except OSError as exc:
        print(f"ddl serve: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=err)
        return EXIT_USAGE
    finally:
        handler.close()
    return EXIT_OK
