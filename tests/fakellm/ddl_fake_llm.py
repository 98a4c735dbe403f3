"""Fake ``llm`` models for the handler's tests: no network, deterministic replies.

Registered in-process with ``llm.plugins.pm.register(FakeModels(), name=...)``, or found by llm's
normal entry-point loading when this directory is on PYTHONPATH (``ddl_fake_llm-0.dist-info``
declares the ``[llm]`` entry point), so that subprocesses running the real ``ddl`` console
script see the same models.

- ``fake-echo``: answers ``"echo: <prompt>"``; usage = word counts of the prompt (and system prompt)
  and of the reply, so tests can predict the tokens.
- ``fake-slow``: sleeps ``DDL_FAKE_SLOW_SECONDS`` (default 5) before answering, longer than a short timeout.
- ``fake-broken``: always raises.
- ``fake-script``: answers with scripted replies, in order: first from the in-process queue
  :data:`SCRIPT` (tests append to it), else from the JSON list in the file named by
  ``DDL_FAKE_SCRIPT`` (for subprocesses).  A scripted item that is an object ``{"error": "..."}``
  raises instead of answering; running out of replies raises too.  Every call is recorded in
  :data:`RECEIVED` (prompt, system, options, how many earlier turns the conversation had) and, when
  ``DDL_FAKE_SCRIPT_LOG`` names a file, appended to it as one JSON line.  Its Options have no
  ``temperature``.
- ``fake-script-temp``: the same script, with ``temperature`` in its Options (recorded).
- ``fake-capable`` (sync and async): supports schemas, tools and ``image/png``/``text/plain``
  attachments, has a ``temperature`` option, and records what it received in :data:`CAPABLE_RECEIVED`
  (text, system, schema, tool names, tool results, attachment types, options, the roles of the
  messages it was sent).  Given tools and no tool results it calls the first tool with
  ``{"city": "paris"}``; given tool results it answers ``"tool said: <outputs>"``; given a schema it
  answers ``{"answer": "<prompt>"}``; otherwise like ``fake-echo``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any, Optional

import llm

ECHO, SLOW, BROKEN = "fake-echo", "fake-slow", "fake-broken"
SCRIPTED, SCRIPTED_TEMP = "fake-script", "fake-script-temp"
BROKEN_MESSAGE = "fake-broken always fails"
EXHAUSTED_MESSAGE = "fake-script has no more scripted replies"

SCRIPT: list[Any] = []  # in-process queue of replies (str) or failures ({"error": message}), consumed in order
RECEIVED: list[dict[str, Any]] = []  # one entry per call of a scripted model
_FILE_POSITIONS: dict[str, int] = {}  # how many replies of each DDL_FAKE_SCRIPT file this process used


def echo_reply(prompt: str) -> str:
    """The exact text fake-echo answers (tests compare against it)."""
    return f"echo: {prompt}"


def word_count(text: str | None) -> int:
    return len(text.split()) if text else 0


class FakeModel(llm.Model):
    can_stream = False

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
        text = prompt.prompt or ""
        if self.model_id == BROKEN:
            raise RuntimeError(BROKEN_MESSAGE)
        if self.model_id == SLOW:
            time.sleep(float(os.environ.get("DDL_FAKE_SLOW_SECONDS", "5")))
        reply = echo_reply(text)
        response.set_usage(input=word_count(text) + word_count(prompt.system), output=word_count(reply))
        yield reply


def reset_script(replies: list[Any] | None = None) -> None:
    """Empty the in-process queue and the record, then queue ``replies``."""
    SCRIPT.clear()
    RECEIVED.clear()
    _FILE_POSITIONS.clear()
    SCRIPT.extend(replies or [])


def _next_scripted() -> Any:
    if SCRIPT:
        return SCRIPT.pop(0)
    path = os.environ.get("DDL_FAKE_SCRIPT")
    if path:
        with open(path, encoding="utf-8") as handle:
            replies = json.load(handle)
        position = _FILE_POSITIONS.get(path, 0)
        if position < len(replies):
            _FILE_POSITIONS[path] = position + 1
            return replies[position]
    raise RuntimeError(EXHAUSTED_MESSAGE)


class ScriptedModel(llm.Model):
    """Replies from a script, so the distill loop's rounds can be tested without a network."""

    can_stream = False

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
        text = prompt.prompt or ""
        entry = {
            "model": self.model_id,
            "prompt": text,
            "system": prompt.system,
            "options": prompt.options.model_dump(),
            "history": len(conversation.responses) if conversation is not None else 0,
        }
        RECEIVED.append(entry)
        log = os.environ.get("DDL_FAKE_SCRIPT_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        item = _next_scripted()
        if isinstance(item, dict):
            raise RuntimeError(str(item.get("error", "scripted failure")))
        reply = str(item)
        response.set_usage(input=word_count(text) + word_count(prompt.system), output=word_count(reply))
        yield reply


class TemperatureScriptedModel(ScriptedModel):
    """``fake-script`` whose Options accept a temperature (recorded with each call)."""

    class Options(llm.Options):
        temperature: Optional[float] = None  # noqa: UP045 - pydantic field, as llm's own plugins write it


CAPABLE = "fake-capable"
CAPABLE_RECEIVED: list[dict[str, Any]] = []  # one entry per call of fake-capable (sync or async)


class _CapableOptions(llm.Options):
    temperature: Optional[float] = None  # noqa: UP045 - pydantic field, as llm's own plugins write it


def _capable_reply(prompt: Any, response: Any, is_async: bool) -> str:
    """Record what fake-capable received; make its tool call or give its reply."""
    CAPABLE_RECEIVED.append({
        "async": is_async,
        "prompt": prompt.prompt,
        "system": prompt.system,
        "schema": prompt.schema,
        "tools": [tool.name for tool in prompt.tools],
        "tool_results": [result.output for result in prompt.tool_results],
        "attachments": [attachment.resolve_type() for attachment in prompt.attachments],
        "options": prompt.options.model_dump(exclude_unset=True),
        "roles": [message.role for message in prompt.messages],
    })
    if prompt.tools and not prompt.tool_results:
        response.add_tool_call(llm.ToolCall(name=prompt.tools[0].name, arguments={"city": "paris"}))
        reply = ""
    elif prompt.tool_results:
        reply = "tool said: " + ", ".join(str(result.output) for result in prompt.tool_results)
    elif prompt.schema:
        reply = json.dumps({"answer": prompt.prompt})
    else:
        reply = echo_reply(prompt.prompt or "")
    response.set_usage(input=word_count(prompt.prompt) + word_count(prompt.system), output=word_count(reply))
    return reply


class _Capable:
    """What the sync and async capable models both declare."""

    model_id = CAPABLE
    can_stream = True
    supports_schema = True
    supports_tools = True
    attachment_types = frozenset({"image/png", "text/plain"})
    Options = _CapableOptions


class CapableModel(_Capable, llm.Model):
    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
        reply = _capable_reply(prompt, response, is_async=False)
        if reply:
            yield reply


class AsyncCapableModel(_Capable, llm.AsyncModel):
    async def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Any:  # type: ignore[override]
        reply = _capable_reply(prompt, response, is_async=True)
        if reply:
            yield reply


class FakeModels:
    """A plugin object: register it with ``llm.plugins.pm.register(FakeModels(), name=...)``."""

    @llm.hookimpl
    def register_models(self, register: Any) -> None:
        for model_id in (ECHO, SLOW, BROKEN):
            register(FakeModel(model_id))
        register(ScriptedModel(SCRIPTED))
        register(TemperatureScriptedModel(SCRIPTED_TEMP))
        register(CapableModel(), AsyncCapableModel())


@llm.hookimpl
def register_models(register: Any) -> None:
    """The entry-point form of the plugin: this module is the plugin."""
    FakeModels().register_models(register)
