"""ddl as an ``llm`` plugin: the ``ddl/<model>`` wrapper models and the ``llm ddl …`` commands.

In process, the wrapper is found the way a user's ``llm`` finds it (ddl's ``[llm]`` entry point, loaded
by llm's plugin manager) around the fake models of tests/fakellm; the real ``llm`` console script is
run in subprocesses with the fakes on PYTHONPATH.  LLM_USER_PATH is one temporary directory for the
module, so the families' check results (cached under it) are computed once.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import llm
import pydantic
import pytest

import ddl
from ddl import llm_plugin

ROOT = Path(__file__).resolve().parent.parent
LLM = Path(sys.executable).parent / "llm"
FAKELLM = ROOT / "tests" / "fakellm"
sys.path.insert(0, str(FAKELLM))
import ddl_fake_llm  # noqa: E402

BOOKS = ddl.load(ROOT / "examples" / "books.ddl").family("recommend_books")
HIT = "suggest 3 mystery books from the 1950s"
HIT_THETA = {"genre": "mystery", "count": 3, "decade": 1950}
MISS = "write me a haiku about rain"


@pytest.fixture(scope="module")
def llm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llm-home")


@pytest.fixture(scope="module")
def books_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-family directory: cheaper to check than examples/ in a subprocess with a cold cache."""
    directory = tmp_path_factory.mktemp("books-only")
    shutil.copy(ROOT / "examples" / "books.ddl", directory)
    return directory


@pytest.fixture(autouse=True)
def fake_models(llm_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(llm_home))
    monkeypatch.delenv("DDL_FAMILIES", raising=False)
    monkeypatch.chdir(ROOT)  # "examples" below is the same path (and check-cache key) as in the subprocesses
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-test-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-test-fakes")


def _version() -> str:
    return str(llm_plugin.load_registry("examples").by_name["recommend_books"].version)


# ------------------------------------------------------------------------------ the wrapper models


def test_every_other_model_is_wrapped_once() -> None:
    ids = [m.model_id for m in llm.get_models()]
    assert "ddl/fake-echo" in ids and "ddl/fake-broken" in ids and "fake-echo" in ids
    assert not any(i.startswith("ddl/ddl/") for i in ids)
    # The fakes may be registered twice here (in process, and by their entry point once tests/fakellm is
    # on sys.path): each wrapper is registered once all the same.
    wrapped = [i for i in ids if i.startswith("ddl/")]
    assert len(wrapped) == len(set(wrapped)) == len({i for i in ids if not i.startswith("ddl/")})
    assert llm.plugins.pm.get_plugin("ddl") is llm_plugin  # through the entry point, as users get it


def test_a_covered_prompt_is_answered_by_its_family_without_tokens() -> None:
    response = llm.get_model("ddl/fake-echo").prompt(HIT, families="examples")
    assert json.loads(response.text()) == BOOKS(**HIT_THETA)
    usage = response.usage()
    assert (usage.input, usage.output) == (0, 0)
    assert response.response_json == {"source": "deterministic", "family": "recommend_books", "theta": HIT_THETA,
                                      "family_version": _version()}


def test_show_source_prefixes_the_deterministic_answer() -> None:
    text = llm.get_model("ddl/fake-echo").prompt(HIT, families="examples", show_source=True).text()
    prefix = "[ddl: deterministic recommend_books] "
    assert text.startswith(prefix) and json.loads(text[len(prefix):]) == BOOKS(**HIT_THETA)


def test_a_miss_is_delegated_with_the_wrapped_models_text_and_tokens() -> None:
    response = llm.get_model("ddl/fake-echo").prompt(MISS, families="examples", system="be brief")
    reply = ddl_fake_llm.echo_reply(MISS)
    assert response.text() == reply
    usage = response.usage()
    assert usage.input == ddl_fake_llm.word_count(MISS) + 2 and usage.output == ddl_fake_llm.word_count(reply)
    assert response.response_json == {"source": "llm", "model": "fake-echo"}
    shown = llm.get_model("ddl/fake-echo").prompt(MISS, families="examples", show_source=True).text()
    assert shown == f"[ddl: llm fake-echo] {reply}"


def test_without_a_families_directory_everything_is_delegated_with_a_note() -> None:
    response = llm.get_model("ddl/fake-echo").prompt(HIT)
    assert response.text() == ddl_fake_llm.echo_reply(HIT)
    assert response.response_json == {"source": "llm", "model": "fake-echo", "note": llm_plugin.NO_FAMILIES_NOTE}
    assert response.usage().input == ddl_fake_llm.word_count(HIT)


def test_ddl_families_is_the_default_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDL_FAMILIES", "examples")
    response = llm.get_model("ddl/fake-echo").prompt(HIT)
    assert json.loads(response.text()) == BOOKS(**HIT_THETA)
    assert response.response_json["source"] == "deterministic"


def test_a_missing_directory_is_a_clear_model_error(tmp_path: Path) -> None:
    with pytest.raises(llm.ModelError, match="no such families directory: '.*nowhere'"):
        llm.get_model("ddl/fake-echo").prompt(HIT, families=str(tmp_path / "nowhere")).text()


def test_the_wrapped_models_failure_and_options_reach_the_user() -> None:
    with pytest.raises(RuntimeError, match=ddl_fake_llm.BROKEN_MESSAGE):
        llm.get_model("ddl/fake-broken").prompt(MISS, families="examples").text()
    # The wrapper's options are the wrapped model's own plus ddl's: one fake-echo does not have is refused
    # when the prompt is made, as fake-echo itself would refuse it.
    with pytest.raises(pydantic.ValidationError, match="temperature"):
        llm.get_model("ddl/fake-echo").prompt(MISS, families="examples", temperature=0.5).text()


def test_the_registry_is_cached_and_reloaded_when_a_family_file_changes(tmp_path: Path) -> None:
    families = tmp_path / "families"
    families.mkdir()
    shutil.copy(ROOT / "examples" / "books.ddl", families)
    model = llm.get_model("ddl/fake-echo")
    first = llm_plugin.load_registry(str(families))
    assert llm_plugin.load_registry(str(families)) is first  # unchanged: no reload
    assert model.prompt("weather in paris", families=str(families)).text().startswith("echo: ")
    shutil.copy(ROOT / "examples" / "weather.ddl", families)
    response = model.prompt("weather in paris", families=str(families))
    assert json.loads(response.text())["url"] == "https://api.open-meteo.com/v1/forecast"
    assert response.response_json["family"] == "weather_request"
    assert llm_plugin.load_registry(str(families)) is not first


# ------------------------------------------------- what the wrapped model supports passes through


def lookup(city: str) -> str:
    """The weather in a city (a tool for the fake model to call)."""
    return f"sunny in {city}"


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def received() -> list[dict[str, object]]:
    ddl_fake_llm.CAPABLE_RECEIVED.clear()
    return ddl_fake_llm.CAPABLE_RECEIVED


def test_the_wrapper_has_the_capabilities_and_options_of_the_wrapped_model() -> None:
    capable, plain = llm.get_model("ddl/fake-capable"), llm.get_model("ddl/fake-echo")
    assert (capable.supports_schema, capable.supports_tools, capable.can_stream) == (True, True, True)
    assert capable.attachment_types == {"image/png", "text/plain"}
    assert (plain.supports_schema, plain.supports_tools, plain.attachment_types) == (False, False, frozenset())
    assert {"temperature", "families", "show_source"} <= set(capable.Options.model_fields)
    assert "temperature" not in plain.Options.model_fields


def test_a_covered_prompt_with_a_schema_is_answered_by_the_wrapped_model_with_the_schema(
        received: list[dict[str, object]]) -> None:
    response = llm.get_model("ddl/fake-capable").prompt(HIT, families="examples", schema=SCHEMA)
    assert json.loads(response.text()) == {"answer": HIT}  # not the family's output: it has its own shape
    assert received[-1]["schema"] == SCHEMA and received[-1]["prompt"] == HIT
    assert response.response_json == {"source": "llm", "model": "fake-capable",
                                      "note": "a schema was requested: the wrapped model answers"}


def test_what_the_wrapped_model_does_not_support_is_refused_naming_it() -> None:
    plain = llm.get_model("ddl/fake-echo")
    with pytest.raises(ValueError, match="ddl/fake-echo does not support schemas"):
        plain.prompt(HIT, families="examples", schema=SCHEMA)
    with pytest.raises(ValueError, match="ddl/fake-echo does not support tools"):
        plain.prompt(MISS, families="examples", tools=[lookup])
    with pytest.raises(ValueError, match="does not support attachments"):
        plain.prompt(HIT, families="examples", attachments=[llm.Attachment(content=PNG, type="image/png")])
    with pytest.raises(ValueError, match="does not support attachments of type 'application/pdf'"):
        llm.get_model("ddl/fake-capable").prompt(
            HIT, attachments=[llm.Attachment(content=b"%PDF-1.4", type="application/pdf")])


def test_attachments_reach_the_wrapped_model(received: list[dict[str, object]]) -> None:
    response = llm.get_model("ddl/fake-capable").prompt(
        HIT, families="examples", attachments=[llm.Attachment(content=PNG, type="image/png")])
    assert response.text() == ddl_fake_llm.echo_reply(HIT)  # the picture may change what the words ask
    assert received[-1]["attachments"] == ["image/png"]
    assert response.response_json is not None and response.response_json["source"] == "llm"


def test_tools_are_forwarded_and_the_chain_runs_them_through_the_wrapper(received: list[dict[str, object]]) -> None:
    chain = llm.get_model("ddl/fake-capable").chain(MISS, tools=[lookup], options={"families": "examples"},
                                                    system="be brief")
    assert chain.text() == "tool said: sunny in paris"
    first, second = received
    assert first["tools"] == second["tools"] == ["lookup"]
    assert first["tool_results"] == [] and second["tool_results"] == ["sunny in paris"]
    # the second call sees the conversation: its system prompt, the question, the tool call, the result
    assert second["roles"] == ["system", "user", "assistant", "tool"]
    assert second["system"] == "be brief"


def test_a_covered_prompt_with_tools_is_still_answered_by_its_family(received: list[dict[str, object]]) -> None:
    response = llm.get_model("ddl/fake-capable").prompt(HIT, families="examples", tools=[lookup])
    assert json.loads(response.text()) == BOOKS(**HIT_THETA) and received == []


def test_the_wrapped_models_options_and_the_conversation_reach_it(received: list[dict[str, object]]) -> None:
    conversation = llm.get_model("ddl/fake-capable").conversation()
    assert conversation.prompt(MISS, families="examples", temperature=0.5).text() == ddl_fake_llm.echo_reply(MISS)
    assert received[-1]["options"] == {"temperature": 0.5}  # ddl's own options stay with ddl
    conversation.prompt("and one about snow", families="examples").text()
    assert received[-1]["roles"] == ["user", "assistant", "user"]
    assert received[-1]["prompt"] == "and one about snow"


def test_the_async_wrapper_answers_from_families_and_forwards_the_rest(received: list[dict[str, object]]) -> None:
    model = llm.get_async_model("ddl/fake-capable")
    assert isinstance(model, llm_plugin.DDLAsyncModel)
    assert (model.supports_schema, model.supports_tools) == (True, True)

    async def ask() -> tuple[str, object, str, str]:
        hit = model.prompt(HIT, families="examples")
        hit_text = await hit.text()
        miss_text = await model.prompt(MISS, families="examples", system="be brief").text()
        schema_text = await model.prompt(HIT, families="examples", schema=SCHEMA).text()
        return hit_text, hit.response_json, miss_text, schema_text

    hit_text, hit_json, miss_text, schema_text = asyncio.run(ask())
    assert json.loads(hit_text) == BOOKS(**HIT_THETA)
    assert hit_json == {"source": "deterministic", "family": "recommend_books", "theta": HIT_THETA,
                        "family_version": _version()}
    assert miss_text == ddl_fake_llm.echo_reply(MISS)
    assert json.loads(schema_text) == {"answer": HIT}
    assert [(r["async"], r["prompt"], r["schema"]) for r in received] == [(True, MISS, None), (True, HIT, SCHEMA)]
    assert received[0]["system"] == "be brief"


def test_the_async_wrapper_runs_tool_chains(received: list[dict[str, object]]) -> None:
    model = llm.get_async_model("ddl/fake-capable")

    async def ask() -> str:
        return await model.chain(MISS, tools=[lookup], options={"families": "examples"}).text()

    assert asyncio.run(ask()) == "tool said: sunny in paris"
    assert [r["tool_results"] for r in received] == [[], ["sunny in paris"]]


def test_options_a_wrapper_cannot_extend_are_passed_through_for_the_model_to_validate() -> None:
    class Odd:  # not a pydantic model: create_model cannot extend it
        model_fields: dict[str, object] = {}

    class OddModel:
        model_id = "odd"
        Options = Odd

    cls = llm_plugin.options_class(OddModel())
    assert cls is llm_plugin.PassThroughOptions
    options = cls(families="examples", temperature=0.5)
    assert options.families == "examples" and options.model_extra == {"temperature": 0.5}


def test_a_model_without_an_async_form_has_no_async_wrapper() -> None:
    with pytest.raises(llm.UnknownModelError):
        llm.get_async_model("ddl/fake-echo")


# ------------------------------------------------------------------- the real `llm` console script


def run_llm(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DDL_", "LLM_"))}
    environ.update(PYTHONPATH=os.pathsep.join([str(FAKELLM), str(ROOT)]), LLM_USER_PATH=str(home), **(env or {}))
    return subprocess.run([str(LLM), *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def test_llm_prompt_through_the_wrapper_prints_the_deterministic_json(llm_home: Path, books_only: Path) -> None:
    proc = run_llm(llm_home, "-m", "ddl/fake-echo", "-o", "families", "examples", HIT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == BOOKS(**HIT_THETA)
    proc = run_llm(llm_home, "-m", "ddl/fake-echo", "-o", "families", str(books_only), "-o", "show_source", "true",
                   MISS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"[ddl: llm fake-echo] {ddl_fake_llm.echo_reply(MISS)}"
    proc = run_llm(llm_home, "-m", "ddl/fake-echo", "-o", "families", "no/such/dir", HIT)
    assert proc.returncode != 0 and "no such families directory: 'no/such/dir'" in proc.stderr


def test_llm_ddl_help_lists_the_commands(llm_home: Path) -> None:
    proc = run_llm(llm_home, "ddl", "--help")
    assert proc.returncode == 0, proc.stderr
    commands = proc.stdout.split("Commands:")[1].split()
    assert {"distill", "check", "handle"} <= set(commands)
    proc = run_llm(llm_home, "ddl", "check", "--help")  # ddl's own help, not click's
    assert proc.returncode == 0 and "usage: ddl check" in proc.stdout


def test_llm_ddl_check_has_the_exit_codes_of_ddl_check(llm_home: Path) -> None:
    proc = run_llm(llm_home, "ddl", "check", "examples/books.ddl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok" in proc.stdout
    proc = run_llm(llm_home, "ddl", "check", "spec/tests/check/failure/hardcoded_limit.ddl")
    assert proc.returncode == 1
    assert run_llm(llm_home, "ddl", "check", "--no-such-flag").returncode == 2


def test_llm_ddl_handle_prints_the_output(llm_home: Path, books_only: Path, tmp_path: Path) -> None:
    proc = run_llm(llm_home, "ddl", "handle", "examples", "weather in paris", "--store", str(tmp_path / "s.sqlite3"))
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)
    assert output["url"] == "https://api.open-meteo.com/v1/forecast" and output["query"]["latitude"] == "48.8566"
    assert "weather_request" in proc.stderr
    proc = run_llm(llm_home, "ddl", "handle", str(books_only), MISS, "-m", "fake-echo",
                   "--store", str(tmp_path / "s.sqlite3"))
    assert proc.returncode == 0 and proc.stdout.strip() == ddl_fake_llm.echo_reply(MISS)


def test_llm_ddl_distill_is_ddl_distill(llm_home: Path, tmp_path: Path) -> None:
    proc = run_llm(llm_home, "ddl", "distill", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: ddl distill" in proc.stdout
    # A scripted model (tests/fakellm) replying with a correct family: the file is written, exit 0.
    books = (ROOT / "examples" / "books.ddl").read_text(encoding="utf-8")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([f"Here it is:\n```ddl\n{books}```\n"]), encoding="utf-8")
    out = tmp_path / "books.ddl"
    proc = run_llm(llm_home, "ddl", "distill", "recommend fantasy books", "-m", "fake-script", "--phrasings", "0", "--output", str(out),
                   "--log-dir", str(tmp_path / "logs"), env={"DDL_FAKE_SCRIPT": str(script)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.read_text(encoding="utf-8") == books
    assert list((tmp_path / "logs").glob("*.json"))  # the transcript
