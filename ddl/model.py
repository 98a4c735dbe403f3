"""The fallback branch of H_k: ask an ``llm`` model, with a timeout, and never raise.

Any model the user's ``llm`` knows works (plugins, aliases, keys are llm's business).  The call runs
in a daemon worker thread so that a hung model or network cannot hold the handler past ``timeout``:
the handler answers DDL704 and the thread is abandoned (it dies with the process).  Loading llm
and its plugins is not charged to the model's timeout (see :func:`ask_model`).  Every failure
-- unknown model, missing key, an exception in the plugin -- becomes a DDL703 :class:`ModelReply`,
because a miss must produce a clear result, not a crash of the service.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import attrs


class HandlerError(Exception):
    """A failure the handler reports to its user as a result: a DDL7xx code and a message."""

    code = "DDL700"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


# llm's plugin loading (on the first get_model) is not thread-safe: serialize model look-ups.
_LOOKUP_LOCK = threading.Lock()
LOOKUP_TIMEOUT = 30.0  # seconds allowed for importing llm, loading its plugins and finding the model


@attrs.frozen
class ModelReply:
    """What the model answered (``text``) or why it did not (``error``), with its usage and time."""

    text: str | None
    model: str
    tokens_in: int | None
    tokens_out: int | None
    error: HandlerError | None
    seconds: float


def token_count(value: Any) -> int | None:
    """A usage figure a plugin reported, if it is a count (plugins may report anything)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def lookup_model(model_id: str) -> Any:
    """The ``llm`` model named ``model_id`` (raises as ``llm.get_model`` does); thread-safe."""
    import llm  # deferred: llm and its plugins load only when a model is asked

    with _LOOKUP_LOCK:
        return llm.get_model(model_id)


def prepare(model_id: str) -> HandlerError | None:
    """Load llm and look ``model_id`` up now (a server does it at start): None, or why it cannot be used."""
    try:
        lookup_model(model_id)
    except Exception as exc:
        return describe_model_error(model_id, exc)
    return None


def _call(model_id: str, prompt: str, system: str | None,
          resolved: threading.Event) -> tuple[str, str, int | None, int | None]:
    """The blocking call: (resolved model id, text, tokens in, tokens out).  Raises on failure."""
    model = lookup_model(model_id)
    resolved.set()
    response = model.prompt(prompt, system=system)
    text = response.text()
    try:
        usage = response.usage()
        tokens_in, tokens_out = token_count(usage.input), token_count(usage.output)
    except Exception:  # usage is optional information: a plugin that fails here still answered
        tokens_in = tokens_out = None
    return str(getattr(model, "model_id", model_id)), text, tokens_in, tokens_out


def describe_model_error(model_id: str, exc: BaseException) -> HandlerError:
    """What went wrong with a model, as the handler's error (unknown model, plugin failure, ...)."""
    try:
        import llm  # deferred: llm and its plugins load only when a model is asked

        unknown: type[BaseException] = llm.UnknownModelError
    except Exception:  # pragma: no cover - llm is a dependency
        unknown = KeyError
    if isinstance(exc, unknown):
        return HandlerError(
            f"unknown model '{model_id}': run `llm models` to list the models llm knows "
            "(a model from a plugin needs `llm install <plugin>`)", "DDL703")
    detail = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    detail = detail.strip() or type(exc).__name__
    return HandlerError(f"model '{model_id}' failed: {type(exc).__name__}: {detail}", "DDL703")


def ask_model(model_id: str, prompt: str, *, timeout: float, system: str | None = None) -> ModelReply:
    """Ask ``model_id`` for a reply to ``prompt`` within ``timeout`` seconds; never raises.

    The timeout is the model's: loading llm and its plugins and looking the model up (about a
    second, once per process) is bounded separately by ``max(timeout, LOOKUP_TIMEOUT)``, so that a
    short timeout on a fresh ``ddl handle`` process does not fail a fast model.
    """
    started = time.monotonic()
    outcome: dict[str, Any] = {}
    resolved, finished = threading.Event(), threading.Event()

    def work() -> None:
        try:
            outcome["reply"] = _call(model_id, prompt, system, resolved)
        except BaseException as exc:  # everything is reported, nothing escapes the thread
            outcome["error"] = exc
        finally:
            resolved.set()
            finished.set()

    worker = threading.Thread(target=work, name=f"ddl-model-{model_id}", daemon=True)
    worker.start()
    if not resolved.wait(max(timeout, LOOKUP_TIMEOUT)):
        error = HandlerError(f"looking up model '{model_id}' in llm did not finish within "
                             f"{max(timeout, LOOKUP_TIMEOUT):g} s", "DDL704")
        return ModelReply(None, model_id, None, None, error, time.monotonic() - started)
    done = finished.wait(timeout)
    seconds = time.monotonic() - started
    if not done:
        error = HandlerError(f"model '{model_id}' did not answer within {timeout:g} s", "DDL704")
        return ModelReply(None, model_id, None, None, error, seconds)
    if "reply" in outcome:
        resolved, text, tokens_in, tokens_out = outcome["reply"]
        return ModelReply(text, resolved, tokens_in, tokens_out, None, seconds)
    exc = outcome.get("error") or RuntimeError("the model call ended without a reply")
    return ModelReply(None, model_id, None, None, describe_model_error(model_id, exc), seconds)
