"""The handler's model backend (ask_model) and its settings (load_config / resolve).

The fake models of tests/fakellm are registered in-process through llm's plugin manager, so
nothing here touches the network; LLM_USER_PATH points at a temporary directory so the user's
own llm configuration (keys, aliases) cannot leak in.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from ddl.handler.config import DEFAULT_STORE, HandlerConfig, load_config, resolve
from ddl.handler.records import HandlerError
from ddl.model import ask_model, prepare

FAKELLM = Path(__file__).parent / "fakellm" / "ddl_fake_llm.py"


def _load_fake() -> ModuleType:
    # by file path, not via sys.path: keeps the dist-info's entry point out of this process
    spec = importlib.util.spec_from_file_location("ddl_fake_llm_inprocess", FAKELLM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake = _load_fake()


@pytest.fixture
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import llm.plugins

    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("DDL_FAKE_SLOW_SECONDS", "3")
    name = "ddl-fake-models-test"
    llm.plugins.pm.register(fake.FakeModels(), name=name)
    try:
        yield
    finally:
        llm.plugins.pm.unregister(name=name)


# ---------------------------------------------------------------------------- ask_model


def test_echo_answers_with_text_and_usage(fake_models: None) -> None:
    reply = ask_model("fake-echo", "write me a haiku about rain", timeout=5)
    assert reply.error is None
    assert reply.text == "echo: write me a haiku about rain"
    assert reply.model == "fake-echo"
    assert (reply.tokens_in, reply.tokens_out) == (6, 7)
    assert 0 <= reply.seconds < 5


def test_system_prompt_is_sent(fake_models: None) -> None:
    reply = ask_model("fake-echo", "hello", timeout=5, system="be brief please")
    assert reply.text == "echo: hello"
    assert reply.tokens_in == 1 + 3  # the fake counts the system prompt's words as input


def test_unknown_model_is_ddl703_with_hint(fake_models: None) -> None:
    reply = ask_model("no-such-model", "hello", timeout=5)
    assert reply.text is None and reply.tokens_in is None and reply.tokens_out is None
    assert reply.error is not None and reply.error.code == "DDL703"
    assert "no-such-model" in reply.error.message
    assert "llm models" in reply.error.message


def test_raising_model_is_ddl703_with_its_message(fake_models: None) -> None:
    reply = ask_model("fake-broken", "hello", timeout=5)
    assert reply.text is None
    assert reply.error is not None and reply.error.code == "DDL703"
    assert fake.BROKEN_MESSAGE in reply.error.message
    assert "fake-broken" in reply.error.message


def test_prepare_looks_the_model_up(fake_models: None) -> None:
    assert prepare("fake-echo") is None
    error = prepare("no-such-model")
    assert error is not None and error.code == "DDL703" and "llm models" in error.message


def test_slow_model_times_out_quickly(fake_models: None) -> None:
    assert prepare("fake-slow") is None  # loading llm's plugins is not part of the model's timeout
    started = time.monotonic()
    reply = ask_model("fake-slow", "hello", timeout=0.3)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert reply.text is None
    assert reply.error is not None and reply.error.code == "DDL704"
    assert "0.3" in reply.error.message
    assert 0.3 <= reply.seconds < 1.0


def test_missing_key_is_ddl703(fake_models: None) -> None:
    # llm's own OpenAI models need a key; the isolated LLM_USER_PATH has none.  No network is used:
    # llm refuses before any request.
    reply = ask_model("gpt-4o-mini", "hello", timeout=5)
    assert reply.error is not None and reply.error.code == "DDL703"
    assert "key" in reply.error.message.lower()


def test_error_converts_to_json(fake_models: None) -> None:
    reply = ask_model("fake-broken", "hello", timeout=5)
    assert reply.error is not None
    assert set(reply.error.to_json()) == {"code", "message"}


# ---------------------------------------------------------------------------- config


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("DDL_CONFIG", "DDL_MODEL", "DDL_STORE"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    assert load_config(None, tmp_path) == HandlerConfig()
    assert load_config(None, None) == HandlerConfig()
    cfg = HandlerConfig()
    assert (cfg.model, cfg.timeout, cfg.store, cfg.max_utterance) == (None, 30.0, None, 4096)


def test_full_file_is_read(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "ddl.toml", """
[handler]
model = "fake-echo"
timeout = 5
store = "ledger.sqlite3"
price_in = 0.5
price_out = 1
cost_per_call = 0.01
system = "be brief"
max_utterance = 100

[other-tool]
anything = true
""")
    cfg = load_config(None, tmp_path)
    assert cfg == HandlerConfig(model="fake-echo", timeout=5.0, store=str(tmp_path / "ledger.sqlite3"),
                                price_in=0.5, price_out=1.0, cost_per_call=0.01, system="be brief",
                                max_utterance=100)
    assert isinstance(cfg.timeout, float) and isinstance(cfg.price_out, float)


def test_store_urls_and_absolute_paths_are_kept(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "a.toml", '[handler]\nstore = "postgresql://u@localhost/db"\n')
    assert load_config(tmp_path / "a.toml").store == "postgresql://u@localhost/db"
    _write(tmp_path / "b.toml", '[handler]\nstore = "/abs/ledger.sqlite3"\n')
    assert load_config(tmp_path / "b.toml").store == "/abs/ledger.sqlite3"


def test_lookup_order(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    explicit = _write(tmp_path / "explicit.toml", '[handler]\nmodel = "from-explicit"\n')
    from_env = _write(tmp_path / "env.toml", '[handler]\nmodel = "from-env"\n')
    directory = tmp_path / "families"
    _write(directory / "ddl.toml", '[handler]\nmodel = "from-directory"\n')

    assert load_config(None, directory).model == "from-directory"
    clean_env.setenv("DDL_CONFIG", str(from_env))
    assert load_config(None, directory).model == "from-env"
    assert load_config(str(explicit), directory).model == "from-explicit"
    assert load_config(explicit, directory).model == "from-explicit"


def test_resolve_precedence(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    file_cfg = HandlerConfig(model="file-model", store="file.sqlite3", timeout=9.0)
    # file > defaults
    assert resolve(file_cfg, directory=tmp_path, env={}) == file_cfg
    # env > file
    env = {"DDL_MODEL": "env-model", "DDL_STORE": "env.sqlite3"}
    cfg = resolve(file_cfg, directory=tmp_path, env=env)
    assert (cfg.model, cfg.store, cfg.timeout) == ("env-model", "env.sqlite3", 9.0)
    # flags > env
    cfg = resolve(file_cfg, directory=tmp_path, env=env, model="flag-model", store="flag.sqlite3", timeout=0.5,
                  price_in=1.0, price_out=2.0, cost_per_call=0.1, system="s", max_utterance=10)
    assert cfg == HandlerConfig(model="flag-model", store="flag.sqlite3", timeout=0.5, price_in=1.0,
                                price_out=2.0, cost_per_call=0.1, system="s", max_utterance=10)
    # the real environment is read when env is not given
    clean_env.setenv("DDL_MODEL", "os-env-model")
    assert resolve(HandlerConfig()).model == "os-env-model"


def test_widen_method_is_read_from_the_file_and_a_flag_beats_it(tmp_path: Path,
                                                                clean_env: pytest.MonkeyPatch) -> None:
    from ddl.commands import parser
    from ddl.commands.parser import build_parser
    from ddl.handler.config import WIDEN_METHODS

    path = _write(tmp_path / "ddl.toml", '[handler]\nwiden_method = "both"\n')
    assert load_config(path).widen_method == "both" and HandlerConfig().widen_method == "align"
    assert resolve(load_config(path), widen_method="llm").widen_method == "llm"
    with pytest.raises(HandlerError, match='widen-method must be one of "align", "llm", "both"'):
        resolve(HandlerConfig(), widen_method="rpni")
    # The command line offers the methods the config accepts (written out there: the parser loads nothing
    # of the handler), and no other.
    assert parser.WIDEN_METHODS == WIDEN_METHODS
    for command in (["serve", str(tmp_path)], ["handle", str(tmp_path), "q"]):
        for method in WIDEN_METHODS:
            assert build_parser().parse_args([*command, "--widen-method", method]).widen_method == method
        with pytest.raises(SystemExit):
            build_parser().parse_args([*command, "--widen-method", "rpni"])


def test_resolve_default_store(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    assert resolve(HandlerConfig(), directory=tmp_path).store == str(tmp_path / DEFAULT_STORE)
    assert str(tmp_path / DEFAULT_STORE).endswith(".ddl-handler/ledger.sqlite3")
    assert resolve(HandlerConfig()).store is None
    assert resolve(HandlerConfig()).model is None


def test_resolve_rejects_bad_flags(clean_env: pytest.MonkeyPatch) -> None:
    for kwargs in ({"timeout": 0}, {"timeout": -1.0}, {"price_in": -1.0}, {"max_utterance": 0},
                   {"timeout": float("nan")}):
        with pytest.raises(HandlerError) as info:
            resolve(HandlerConfig(), **kwargs)  # type: ignore[arg-type]
        assert info.value.code == "DDL705"


@pytest.mark.parametrize(("text", "fragments"), [
    ('[handler]\nmodle = "x"\n', ["[handler].modle", "unknown key"]),
    ('[handler]\ntimeout = "30"\n', ["[handler].timeout", "positive number", "string"]),
    ('[handler]\ntimeout = 0\n', ["[handler].timeout", "positive number"]),
    ('[handler]\ntimeout = true\n', ["[handler].timeout", "boolean"]),
    ('[handler]\nmax_utterance = 10.5\n', ["[handler].max_utterance", "positive integer"]),
    ('[handler]\nprice_in = -1\n', ["[handler].price_in", ">= 0"]),
    ('[handler]\nmodel = 3\n', ["[handler].model", "string"]),
    ('[handler]\nwiden_method = "model"\n', ["[handler].widen_method", 'one of "align", "llm", "both"']),
    ('model = "x"\n', ["'model'", "[handler] table"]),
    ('handler = 3\n', ["'handler'", "table"]),
    ('[handler\nmodel = "x"\n', ["invalid TOML", "line 1"]),
])
def test_bad_config_file_names_file_and_key(tmp_path: Path, clean_env: pytest.MonkeyPatch,
                                            text: str, fragments: list[str]) -> None:
    path = _write(tmp_path / "ddl.toml", text)
    with pytest.raises(HandlerError) as info:
        load_config(None, tmp_path)
    assert info.value.code == "DDL705"
    assert str(path) in info.value.message
    for fragment in fragments:
        assert fragment in info.value.message


def test_missing_explicit_config_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(HandlerError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.code == "DDL705" and "nope.toml" in info.value.message and "no such file" in info.value.message
    clean_env.setenv("DDL_CONFIG", str(tmp_path / "nope-env.toml"))
    with pytest.raises(HandlerError) as info:
        load_config(None, tmp_path)
    assert "nope-env.toml" in info.value.message


def test_unreadable_config_file(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "ddl.toml", "")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe[handler]\n")
    with pytest.raises(HandlerError) as info:
        load_config(tmp_path / "bin.toml")
    assert info.value.code == "DDL705" and "bin.toml" in info.value.message
    with pytest.raises(HandlerError) as info:
        load_config(tmp_path)  # a directory, not a file
    assert info.value.code == "DDL705"
    assert load_config(tmp_path / "ddl.toml") == HandlerConfig()  # an empty file is all defaults
