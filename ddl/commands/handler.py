"""The handler's commands: ``ddl handle``, ``ddl feedback``, ``ddl stats`` and ``ddl serve``.

Their arguments are in :mod:`ddl.commands.parser`; :func:`run` runs the one named by
``args.command``, writes its result to ``out`` and returns the exit code of ``ddl`` (0 ok, 1 an error
result, 2 usage or I/O).  Handler failures print ``ddl <cmd>: error: CODE: message`` on stderr.

Settings come from flags > ``DDL_MODEL`` / ``DDL_STORE`` > the config file (``--config``,
``$DDL_CONFIG`` or ``DIR/ddl.toml``) > defaults; the store defaults to ``DIR/.ddl-handler/ledger.sqlite3``
(see :mod:`ddl.handler.config`).  The service (starlette, uvicorn) loads only for ``ddl serve``, and
llm only when a model is asked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote

from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError, directory_argument, text_argument
from ddl.handler.config import config_file, load_config, resolve
from ddl.handler.handler import Handler
from ddl.handler.records import HandlerError
from ddl.handler.registry import not_served_lines
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


def run(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
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


def _config(args: argparse.Namespace, directory: Path) -> HandlerConfig:
    try:
        return resolve(
            load_config(args.config, directory), directory=directory, store=args.store,
            model=getattr(args, "model", None), timeout=getattr(args, "timeout", None),
            price_in=getattr(args, "price_in", None), price_out=getattr(args, "price_out", None),
            cost_per_call=getattr(args, "cost_per_call", None),
            compile_on_miss=getattr(args, "compile_on_miss", None),
            extract=False if getattr(args, "no_extract", False) else None,
            widen_after=getattr(args, "widen_after", None),
            widen_method=getattr(args, "widen_method", None),
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


def _open_existing_store(url: str | None, *, read_only: bool = False) -> Any:
    """Open the store for reading what was recorded; a missing SQLite file is an error, not a new store.
    ``read_only`` (``ddl stats``): nothing is written to the file or its directory, which may be read-only."""
    if url is None:  # pragma: no cover - resolve() always gives a store when a directory is known
        raise HandlerError("no store configured (give --store)", "DDL702")
    path = _local_store_path(url)
    if path is not None and not path.exists():
        raise HandlerError(f"no store at {path}: nothing has been recorded there yet (run `ddl handle` or "
                           "`ddl serve` first, or name the store with --store)", "DDL702")
    return open_store(url, read_only=read_only)


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
    tokens_in, tokens_out = answer.get("tokens_in"), answer.get("tokens_out")
    tokens = "" if tokens_in is None and tokens_out is None else f", tokens {tokens_in} in / {tokens_out} out"
    if source == "deterministic":
        return (f"ddl handle: deterministic: family {answer.get('family')}, θ = {_theta_text(answer.get('theta'))} "
                f"({query}{timing})")
    if source == "extracted":
        return (f"ddl handle: extracted: family {answer.get('family')}, θ = {_theta_text(answer.get('theta'))}, "
                f"named by model {answer.get('model')}{tokens} ({query}{timing})")
    if source == "llm":
        return f"ddl handle: llm: model {answer.get('model')}{tokens} ({query}{timing})"
    error = answer.get("error") or {}
    return f"ddl handle: error: {error.get('code', 'DDL700')}: {error.get('message', 'no answer')} ({query})"


# ---------------------------------------------------------------------------- commands


def cmd_handle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    directory = directory_argument(args.directory)
    config = _config(args, directory)
    text_argument(args.utterance, "the utterance")  # before the model is asked: it could not be recorded
    if not args.utterance.strip():
        raise UsageError("the utterance is empty")
    if len(args.utterance) > config.max_utterance:
        raise _ConfigError(HandlerError(
            f"utterance of {len(args.utterance)} characters is over the limit of {config.max_utterance} "
            "(max_utterance in the config file)", "DDL705"))
    # One query: a miss is compiled right away (there is no later for a background worker).
    handler = Handler.open(directory, config, learn_in_background=False, eager=False)
    # The rejected only: listing the served would load every family's module (one query loads one).
    for line in not_served_lines([r.to_json() for r in handler.registry.rejected], "handle"):
        print(line, file=err)
    try:
        answer = handler.handle(args.utterance)
    finally:
        handler.close()
    source = answer.get("source")
    if args.format == "json":
        _dump(answer, out)
    elif source in ("deterministic", "extracted"):
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
    problem = answer.get("store_error") or {}
    if not answer.get("recorded"):  # answered (printed above), but the ledger does not know it: exit 1
        print(f"ddl handle: error: the query was not recorded: {problem.get('code', 'DDL702')}: "
              f"{problem.get('message', 'no store')}", file=err)
    elif problem:
        print(f"ddl handle: warning: the query was recorded, but not as a candidate phrasing: "
              f"{problem.get('code')}: {problem.get('message')}", file=err)
    widening = answer.get("widening")
    if isinstance(widening, dict) and widening.get("family"):
        print(f"ddl handle: widened {widening['family']}: "
              f"{'written' if widening.get('written') else widening.get('message') or 'nothing written'}", file=err)
    answered = source in ("deterministic", "extracted", "llm")
    return EXIT_OK if answered and answer.get("recorded") else EXIT_ERRORS


def cmd_feedback(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    # The store alone is enough: feedback copies utterance, θ and family version from the recorded query,
    # so it works even when DIR's families changed since (no registry load, no checks).
    directory = directory_argument(args.directory)
    config = _config(args, directory)
    if args.correction is not None:
        text_argument(args.correction, "the correction")
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
    from ddl.handler.stats import compute_stats, plot, render_text  # deferred: not loaded by `ddl handle`

    directory = directory_argument(args.directory)
    config = _config(args, directory)
    store = _open_existing_store(config.store, read_only=True)
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
    from ddl.handler.serve_settings import (  # deferred: the service's settings load only for ddl serve
        check_log_file,
        load_serve_settings,
        load_token,
        require_token_beyond_loopback,
        resolve_serve_settings,
    )
    from ddl.handler.service import DEFAULT_MAX_BODY, serve  # deferred: starlette and uvicorn load only for ddl serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")
    max_body = DEFAULT_MAX_BODY if args.max_body is None else args.max_body
    if max_body < 1:
        raise UsageError(f"--max-body must be a positive number of bytes, not {max_body}")
    directory = directory_argument(args.directory)
    config = _config(args, directory)
    # the service's own settings and token are checked before the (slow) registry load: a refusal is immediate
    try:
        settings = resolve_serve_settings(
            load_serve_settings(config_file(args.config, directory)), token_file=args.token_file,
            allowed_hosts=args.allow_hosts, allowed_origins=args.allow_origins, header_timeout=args.header_timeout,
            body_timeout=args.body_timeout, log_file=args.log_file, log_utterances=args.log_utterances)
        token, warnings = load_token(settings.token_file, file_first=args.token_file is not None)
        require_token_beyond_loopback(args.host, token)
        check_log_file(settings.log_file)
    except HandlerError as exc:
        raise _ConfigError(exc) from None
    for warning in warnings:
        print(f"ddl serve: warning: {warning}", file=err)
    if config.model:  # load llm now, and say at once if the model cannot be used, not at the first miss

        problem = prepare(config.model)
        if problem is not None:
            print(f"ddl serve: warning: {problem.code}: {problem.message}", file=err)
    else:
        print("ddl serve: no fallback model configured: misses are answered with DDL707 (use -m MODEL)", file=err)
    handler = Handler.open(directory, config)
    try:
        serve(handler, args.host, args.port, max_body=max_body, token=token, settings=settings,
              announce=lambda line: print(line, file=err, flush=True))
    except OSError as exc:
        print(f"ddl serve: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=err)
        return EXIT_USAGE
    finally:
        handler.close()
    return EXIT_OK
