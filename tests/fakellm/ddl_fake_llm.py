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


class FakeModels:
    """A plugin object: register it with ``llm.plugins.pm.register(FakeModels(), name=...)``."""

    @llm.hookimpl
    def register_models(self, register: Any) -> None:
        for model_id in (ECHO, SLOW, BROKEN):
            register(FakeModel(model_id))
        register(ScriptedModel(SCRIPTED))
        register(TemperatureScriptedModel(SCRIPTED_TEMP))


@llm.hookimpl
def register_models(register: Any) -> None:
    """The entry-point form of the plugin: this module is the plugin."""
    FakeModels().register_models(register)
