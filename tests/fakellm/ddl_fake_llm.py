"""Fake ``llm`` models for the handler's tests: no network, deterministic replies.

Registered in-process with ``llm.plugins.pm.register(FakeModels(), name=...)``, or found by llm's
normal entry-point loading when this directory is on PYTHONPATH (``ddl_fake_llm-0.dist-info``
declares the ``[llm]`` entry point), so that subprocesses running the real ``ddl`` console
script see the same models.

- ``fake-echo``: answers ``"echo: <prompt>"``; usage = word counts of the prompt (and system prompt)
  and of the reply, so tests can predict the tokens.
- ``fake-slow``: sleeps ``DDL_FAKE_SLOW_SECONDS`` (default 5) before answering, longer than a short timeout.
- ``fake-broken``: always raises.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import llm

ECHO, SLOW, BROKEN = "fake-echo", "fake-slow", "fake-broken"
BROKEN_MESSAGE = "fake-broken always fails"


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


class FakeModels:
    """A plugin object: register it with ``llm.plugins.pm.register(FakeModels(), name=...)``."""

    @llm.hookimpl
    def register_models(self, register: Any) -> None:
        for model_id in (ECHO, SLOW, BROKEN):
            register(FakeModel(model_id))


@llm.hookimpl
def register_models(register: Any) -> None:
    """The entry-point form of the plugin: this module is the plugin."""
    FakeModels().register_models(register)
