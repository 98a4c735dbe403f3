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
  the text.  The wrapper has the wrapped model's capabilities and options and forwards them (schema,
  tools, attachments, conversation, an async form when the wrapped model has one): see
  :class:`DDLModel`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import click
import llm
from pydantic import ConfigDict, Field, ValidationError, create_model

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
    """Register ``ddl/<id>`` for every model of the other plugins (found by re-calling the hook), with an
    async wrapper beside it when the wrapped model has an async form."""
    if getattr(_collecting, "active", False):
        return  # the nested call below: contribute nothing, and do not recurse
    inner: list[tuple[Any, Any]] = []

    def collect(model: Any, async_model: Any = None, aliases: Any = None) -> None:
        if model is not None:
            inner.append((model, async_model))

    _collecting.active = True
    try:
        llm.plugins.pm.hook.register_models(register=collect, model_aliases=[])
    finally:
        _collecting.active = False
    seen: set[str] = set()
    for model, async_model in inner:
        model_id = str(model.model_id)
        if model_id.startswith(PREFIX) or model_id in seen:
            continue
        seen.add(model_id)
        register(DDLModel(model), DDLAsyncModel(async_model) if async_model is not None else None)


class DDLOptions(llm.Options):
    """The options ddl adds to the wrapped model's own (``llm models --options`` lists both)."""

    families: str | None = Field(
        default=None, description="Directory of .ddl families that may answer (default: $DDL_FAMILIES)")
    show_source: bool | None = Field(
        default=None, description="Prefix the answer with [ddl: deterministic FAMILY] or [ddl: llm MODEL]")


class PassThroughOptions(DDLOptions):
    """For a wrapped model whose Options cannot be extended: unknown options are passed to it as they are,
    and it validates them when it is asked."""

    model_config = ConfigDict(extra="allow")


OWN_OPTIONS = frozenset(DDLOptions.model_fields)
_options_classes: dict[type, type[llm.Options]] = {}
_options_lock = threading.Lock()


def options_class(inner: Any) -> type[llm.Options]:
    """The wrapped model's Options with ``families`` and ``show_source`` added: the wrapped model's own
    options are validated (and listed) exactly as for the model itself."""
    base = getattr(inner, "Options", llm.Options)
    with _options_lock:
        cls = _options_classes.get(base)
        if cls is None:
            fields: dict[str, Any] = {name: (field.annotation, field) for name, field in DDLOptions.model_fields.items()
                                      if name not in base.model_fields}
            try:
                cls = create_model("Options", __base__=base, **fields)
            except Exception:  # an exotic Options class must not break every `llm` command: pass options through
                cls = PassThroughOptions
            _options_classes[base] = cls
    return cls


def why_the_model_answers(prompt: Any) -> str | None:
    """Why a prompt goes to the wrapped model even if a family's grammar accepts its text, or None.

    A family's output has its own shape, so it cannot be promised to satisfy a caller's schema; an
    attachment may change what the words ask; tool results continue the model's own turn."""
    if getattr(prompt, "schema", None):
        return "a schema was requested: the wrapped model answers"
    if getattr(prompt, "attachments", None):
        return "the prompt has attachments: the wrapped model answers"
    if getattr(prompt, "tool_results", None):
        return "tool results continue the wrapped model's turn"
    return None


def forwarded_prompt(prompt: Any, options: Any) -> dict[str, Any]:
    """The arguments of ``inner.prompt(...)`` that ask the wrapped model what ``prompt`` asked the wrapper:
    text (fragments included), system prompt, attachments, schema, tools, tool results, the wrapped
    model's own options, and the conversation so far (as ``messages``, when there is one)."""
    passed = {k: v for k, v in options.model_dump(exclude_unset=True).items() if k not in OWN_OPTIONS}
    passed.update({k: v for k, v in (getattr(options, "model_extra", None) or {}).items() if v is not None})
    arguments: dict[str, Any] = {"system": prompt.system or None, "options": passed or None}
    for name in ("attachments", "schema", "tools", "tool_results"):
        value = getattr(prompt, name, None)
        if value:
            arguments[name] = value
    if getattr(prompt, "hide_reasoning", False):
        arguments["hide_reasoning"] = True
    # This turn's input is its last messages (a tool message for tool results, a user message for text
    # and attachments); what comes before is the conversation, which the wrapped model must see too.
    messages = list(getattr(prompt, "messages", None) or [])
    this_turn = (1 if getattr(prompt, "tool_results", None) else 0) + \
        (1 if prompt.prompt or getattr(prompt, "attachments", None) else 0)
    history = messages[:len(messages) - this_turn]
    if any(getattr(message, "role", "system") != "system" for message in history):
        arguments["messages"] = history
    return arguments


def _family_answer(prompt: Any) -> tuple[tuple[str, dict[str, Any], str, Any] | None, str | None]:
    """(a family's answer or None, the note saying why the model answers instead)."""
    families = getattr(prompt.options, "families", None) or os.environ.get("DDL_FAMILIES") or None
    reason = why_the_model_answers(prompt)
    if reason is not None:
        return None, reason
    if families is None:
        return None, NO_FAMILIES_NOTE
    answer = _answer(families, prompt.prompt or "")
    if isinstance(answer, str):  # a miss; the string says why when there is more than "not covered"
        return None, answer or None
    return answer, None


def _deterministic(answer: tuple[str, dict[str, Any], str, Any], response: Any, show: bool) -> str:
    family, theta, version, output = answer
    response.set_usage(input=0, output=0)
    response.response_json = {"source": "deterministic", "family": family, "theta": theta, "family_version": version}
    body = json.dumps(output, ensure_ascii=False, indent=2)
    return f"[ddl: deterministic {family}] {body}" if show else body


def _delegated(response: Any, model_id: str, note: str | None) -> None:
    info: dict[str, Any] = {"source": "llm", "model": model_id}
    if note:
        info["note"] = note
    response.response_json = info


def _reindexed(event: Any) -> Any:
    # The wrapper's response allocates part indices itself (its own text, e.g. the show_source
    # prefix, may come first): the same grouping rules, without colliding with the wrapped model's.
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.replace(event, part_index=None)
    return event


def _invalid_option(model_id: str, exc: ValidationError) -> llm.ModelError:
    return llm.ModelError(f"ddl: invalid option for {model_id}: {exc}")


def _ask_inner(inner: Any, inner_id: str, prompt: Any, stream: bool, response: Any, note: str | None) -> Any:
    """Hand the prompt, with everything llm gave it, to the wrapped model (its response, sync or async)."""
    _delegated(response, inner_id, note)
    try:
        return inner.prompt(prompt.prompt or None, stream=stream, **forwarded_prompt(prompt, prompt.options))
    except ValidationError as exc:
        raise _invalid_option(inner_id, exc) from exc


class _Wrapper:
    """What the sync and async wrappers share: the name and capabilities of ``inner`` (each sets its options)."""

    inner: Any
    inner_id: str

    def take_capabilities(self, inner: Any) -> None:
        self.inner_id = str(inner.model_id)
        self.model_id = PREFIX + self.inner_id
        self.can_stream = bool(getattr(inner, "can_stream", False))
        self.supports_schema = bool(getattr(inner, "supports_schema", False))
        self.supports_tools = bool(getattr(inner, "supports_tools", False))
        self.attachment_types: set[str] | frozenset[str] = frozenset(getattr(inner, "attachment_types", ()))
        self.supports_conversation = bool(getattr(inner, "supports_conversation", True))

    @property
    def supported_server_side_tools(self) -> tuple[type, ...]:
        return tuple(getattr(self.inner, "supported_server_side_tools", ()))


class DDLModel(_Wrapper, llm.Model):
    """``ddl/<inner>``: a covered prompt answered by its family's program, the rest by ``inner``.

    It supports what ``inner`` supports -- streaming, schemas, tools (and server-side tools),
    attachments, conversations, ``inner``'s options -- and forwards them to it; llm itself refuses what
    ``inner`` does not support ("ddl/x does not support schemas").  A prompt with a schema, attachments
    or tool results is always answered by ``inner`` (:func:`why_the_model_answers`).  The wrapper
    needs no key (a covered prompt costs nothing): ``inner`` finds its own key (``llm keys set``, its
    environment variable); an explicit ``--key`` is not forwarded."""

    def __init__(self, inner: llm.Model) -> None:
        self.inner = inner
        self.take_capabilities(inner)
        self.Options = options_class(inner)  # type: ignore[misc,assignment]  # per wrapped model

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[Any]:
        show = bool(getattr(prompt.options, "show_source", None))
        answer, note = _family_answer(prompt)
        if answer is not None:
            yield _deterministic(answer, response, show)
            return
        inner_response = _ask_inner(self.inner, self.inner_id, prompt, stream, response, note)
        if show:
            yield f"[ddl: llm {self.inner_id}] "
        for event in inner_response.stream_events():
            yield _reindexed(event)
        for call in inner_response.tool_calls():
            response.add_tool_call(call)  # so llm's chain runs the tools and comes back here with the results
        try:
            usage = inner_response.usage()
        except Exception:  # usage is information: a model that cannot report it still answered
            return
        response.set_usage(input=usage.input, output=usage.output, details=usage.details)


class DDLAsyncModel(_Wrapper, llm.AsyncModel):
    """The async form of ``ddl/<inner>`` (``llm.get_async_model``): as :class:`DDLModel`, around ``inner``'s
    async model; loading and routing the families run in a worker thread, off the event loop."""

    def __init__(self, inner: llm.AsyncModel) -> None:
        self.inner = inner
        self.take_capabilities(inner)
        self.Options = options_class(inner)  # type: ignore[misc,assignment]  # per wrapped model

    async def execute(self, prompt: Any, stream: bool, response: Any,  # type: ignore[override]
                      conversation: Any) -> AsyncIterator[Any]:
        show = bool(getattr(prompt.options, "show_source", None))
        answer, note = await asyncio.to_thread(_family_answer, prompt)
        if answer is not None:
            yield _deterministic(answer, response, show)
            return
        inner_response = _ask_inner(self.inner, self.inner_id, prompt, stream, response, note)
        if show:
            yield f"[ddl: llm {self.inner_id}] "
        async for event in inner_response.astream_events():
            yield _reindexed(event)
        for call in await inner_response.tool_calls():
            response.add_tool_call(call)
        try:
            usage = await inner_response.usage()
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
