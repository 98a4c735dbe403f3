"""DDL as an ``llm`` plugin: ``llm ddl …`` commands and ``ddl/<model>`` models that answer from families first.

Installed through the ``[project.entry-points.llm]`` entry point, so every ``llm`` invocation imports
this module and runs its hooks: the module imports nothing heavy (the language, the checker and the
handler load only when a ``ddl/…`` model answers or an ``llm ddl`` command runs).

- :func:`register_commands` adds ``llm ddl distill|check|handle``, which run exactly ``ddl distill``,
  ``ddl check`` and ``ddl handle`` (same parser, same output, same exit codes).
- :func:`register_models` registers ``ddl/<id>`` for every model the other plugins register.  Such a
  model routes the prompt through the families of a directory (``-o families DIR`` or
  ``$DDL_FAMILIES``) that pass ``ddl check``: a covered prompt is answered by its family's program
  (the output as JSON, no tokens spent), anything else by the wrapped model.  Which one answered is in
  the logged ``response_json`` (``llm logs --json``) and, with ``-o show_source true``, in front of
  the text.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import llm
from pydantic import ConfigDict, Field, ValidationError

PREFIX = "ddl/"
NO_FAMILIES_NOTE = "no families directory: set -o families DIR or DDL_FAMILIES"
COMMANDS = (
    ("distill", "Distill a checked DDL family from a teaching utterance."),
    ("check", "Check .ddl files: types, grammars and proof obligations."),
    ("handle", "Answer an utterance with a directory's families or a model."),
)

# register_models asks the other plugins for their models by calling the same hook again; this flag
# makes the nested call skip our own implementation (per thread: llm may be used from several).
_collecting = threading.local()


# ---------------------------------------------------------------------------------------- commands


def run_ddl(argv: list[str]) -> int:
    """``ddl ARGV`` in process: its exit code, also when argparse exits (``--help``, usage errors)."""
    from ddl.cli import main  # deferred: every llm invocation loads this plugin; ddl loads on first use

    try:
        return main(argv)
    except SystemExit as exc:  # argparse's --help and usage errors exit; keep their status
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)


def _passthrough(name: str, summary: str) -> click.Command:
    """A click command handing its raw arguments to ``ddl NAME`` (argparse parses them, incl. --help)."""

    @click.command(
        name=name, help=f"{summary}\n\nThe same as `ddl {name}`: arguments, options and exit codes are its own "
             f"(see `llm ddl {name} --help`).",
        short_help=summary, add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def command(ctx: click.Context, args: tuple[str, ...]) -> None:
        ctx.exit(run_ddl([name, *args]))

    return command


@llm.hookimpl
def register_commands(cli: click.Group) -> None:
    """``llm ddl distill|check|handle``: the ddl commands, for users who live in ``llm``."""

    @cli.group(name="ddl")
    def ddl_group() -> None:
        """DDL: distill, check and serve deterministic families (the `ddl` commands)."""

    for name, summary in COMMANDS:
        ddl_group.add_command(_passthrough(name, summary))


# ------------------------------------------------------------------------------------------ models


@llm.hookimpl
def register_models(register: Callable[..., None]) -> None:
    """Register ``ddl/<id>`` for every model of the other plugins (found by re-calling the hook)."""
    if getattr(_collecting, "active", False):
        return  # the nested call below: contribute nothing, and do not recurse
    inner: list[llm.Model] = []

    def collect(model: Any, async_model: Any = None, aliases: Any = None) -> None:
        if model is not None:
            inner.append(model)

    _collecting.active = True
    try:
        llm.plugins.pm.hook.register_models(register=collect, model_aliases=[])
    finally:
        _collecting.active = False
    seen: set[str] = set()
    for model in inner:
        model_id = str(model.model_id)
        if model_id.startswith(PREFIX) or model_id in seen:
            continue
        seen.add(model_id)
        register(DDLModel(model))


class DDLModel(llm.Model):
    """``ddl/<inner>``: a covered prompt answered by its family's program, the rest by ``inner``."""

    can_stream = True

    class Options(llm.Options):
        # Options DDL does not know are the wrapped model's (e.g. temperature): passed through to it.
        model_config = ConfigDict(extra="allow")

        families: str | None = Field(
            default=None, description="Directory of .ddl families that may answer (default: $DDL_FAMILIES)")
        show_source: bool | None = Field(
            default=None, description="Prefix the answer with [ddl: deterministic FAMILY] or [ddl: llm MODEL]")

    def __init__(self, inner: llm.Model) -> None:
        self.inner = inner
        self.inner_id = str(inner.model_id)
        self.model_id = PREFIX + self.inner_id

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
        options = prompt.options
        text = prompt.prompt or ""
        show = bool(getattr(options, "show_source", None))
        families = getattr(options, "families", None) or os.environ.get("DDL_FAMILIES") or None
        passed = {k: v for k, v in (getattr(options, "model_extra", None) or {}).items() if v is not None}
        if families is None:
            yield from self._delegate(text, prompt.system, passed, stream, response, show, NO_FAMILIES_NOTE)
            return
        answer = _answer(families, text)
        if isinstance(answer, str):  # a miss; the string says why when there is more than "not covered"
            yield from self._delegate(text, prompt.system, passed, stream, response, show, answer or None)
            return
        family, theta, version, output = answer
        response.set_usage(input=0, output=0)
        response.response_json = {"source": "deterministic", "family": family, "theta": theta,
                                  "family_version": version}
        body = json.dumps(output, ensure_ascii=False, indent=2)
        yield f"[ddl: deterministic {family}] {body}" if show else body

    def _delegate(self, text: str, system: str | None, passed: dict[str, Any], stream: bool, response: Any,
                  show: bool, note: str | None) -> Iterator[str]:
        """Ask the wrapped model, streaming its text and copying its usage onto our response."""
        info: dict[str, Any] = {"source": "llm", "model": self.inner_id}
        if note:
            info["note"] = note
        response.response_json = info
        try:
            inner_response = self.inner.prompt(text, system=system, stream=stream, options=passed or None)
        except ValidationError as exc:
            raise llm.ModelError(f"ddl: invalid option for {self.inner_id}: {exc}") from exc
        if show:
            yield f"[ddl: llm {self.inner_id}] "
        yield from inner_response
        try:
            usage = inner_response.usage()
        except Exception:  # usage is information: a model that cannot report it still answered
            return
        response.set_usage(input=usage.input, output=usage.output, details=usage.details)


# ---------------------------------------------------------------------------------------- registry

_registries: dict[str, tuple[tuple[tuple[str, int, int], ...], Any]] = {}
_registries_lock = threading.Lock()
_route_lock = threading.Lock()  # the routers' lazy caches are not thread-safe


def _snapshot(root: Path) -> tuple[tuple[str, int, int], ...]:
    """The directory's .ddl files with mtimes and sizes: a changed snapshot means load again."""
    files = []
    for p in sorted(root.rglob("*.ddl")):
        if any(part.startswith(".") for part in p.relative_to(root).parts[:-1]):
            continue  # the registry ignores hidden directories too
        try:
            st = p.stat()
        except OSError:
            continue
        files.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(files)


def load_registry(directory: str) -> Any:
    """The Registry of ``directory``, loaded once per process and again when its .ddl files change.

    Check results are cached under llm's user directory (not the current directory, which could be
    anywhere when ``llm`` runs).  A directory that cannot be loaded is an ``llm.ModelError``.
    """
    from ddl.handler.records import HandlerError  # deferred: as above: the language loads on first use
    from ddl.handler.registry import Registry

    root = Path(directory).expanduser()
    if not root.is_dir():
        raise llm.ModelError(f"ddl: no such families directory: '{directory}' (set -o families DIR or DDL_FAMILIES)")
    key = str(root.resolve())
    with _registries_lock:
        snapshot = _snapshot(root)
        cached = _registries.get(key)
        if cached is not None and cached[0] == snapshot:
            return cached[1]
        try:
            registry = Registry.load(root, cache_dir=llm.user_dir() / "ddl-check-cache")
        except HandlerError as err:
            raise llm.ModelError(f"ddl: cannot load families from '{directory}': {err.message}") from err
        _registries[key] = (snapshot, registry)
        return registry


def _answer(directory: str, utterance: str) -> tuple[str, dict[str, Any], str, Any] | str:
    """(family, θ, family version, output) when a served family covers ``utterance``, else a note ("" if none)."""
    from ddl.eval import Err  # deferred: as above: the language loads on first use
    from ddl.values import to_json

    registry = load_registry(directory)
    with _route_lock:
        route = registry.route(utterance)
    if route is None:
        return ""
    if route.theta is None:  # the grammar matched but θ is outside Θ: the model answers, we say why
        return f"{route.family} matched but its parameters are out of range: " + "; ".join(route.problems)
    served = registry.by_name[route.family]
    outcome = served.run(route.theta)
    if isinstance(outcome, Err):  # a checked family cannot fail (`safe` is proved); say so plainly
        failure = outcome.failure
        raise llm.ModelError(f"ddl: internal error: {served.name} failed at run time: "
                             f"{getattr(failure, 'message', failure)}")
    theta = {k: to_json(v) for k, v in route.theta.items()}
    return served.name, theta, served.version, to_json(outcome.value)
