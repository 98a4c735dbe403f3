"""docs/tutorial.md works as written: every command in it is run, in order, and its output compared.

The convention (a doctest for shell sessions), stated here and in the tutorial:

- Commands are the lines starting with ``$ `` in the tutorial's ```console blocks; the lines after a
  command, up to the next command or the end of the block, are its expected output (stdout and
  stderr together, as a terminal shows them).  Every command must exit 0 (a command expected to
  fail is written ``cmd || echo "exit $?"``, so its exit code is part of the shown output).
- In an expected line, ``...`` matches any text; a line that is only ``...`` matches any number of
  lines (also none).  Trailing spaces and trailing blank lines are ignored.
- A command ending in `` &`` runs in the background (its output is compared as soon as it has shown
  that many lines); ``kill %1`` stops it (SIGTERM, as the shell's job control would).
- A command carrying ``# not run by tests: <why>`` is not run; the only one is ``pip install ddl-lang``
  (it needs the package index; tests/test_packaging.py installs the built wheel instead).

What the test changes, and nothing else: ``-m gpt-4o-mini`` becomes ``-m fake-script``, the scripted
model of tests/fakellm, whose replies for each command are listed below (REPLIES) -- the distill
reply is the family listed in the tutorial itself -- and the output's ``fake-script`` is shown as
``gpt-4o-mini`` again; port 8000 becomes a free port (shown as 8000 again).  The commands run with
``bash`` in an empty temporary directory, with this checkout's ``ddl`` first on PATH and on
PYTHONPATH, and an llm configuration of their own (LLM_USER_PATH).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
BIN = Path(sys.executable).parent
FAKELLM = ROOT / "tests" / "fakellm"
REAL_MODEL, SCRIPTED_MODEL = "gpt-4o-mini", "fake-script"
HOST, PORT = "127.0.0.1", "8000"
NOT_RUN = "# not run by tests:"
FILE_MARKER = re.compile(r"<!-- tutorial-file: (\S+) -->\n```ddl\n(.*?)```", re.S)
COMMAND_TIMEOUT = 180  # seconds: a bound for a hung command, not a measurement


def tutorial_family() -> tuple[str, str]:
    """(path, text) of the family the tutorial lists as what the model wrote."""
    (found,) = FILE_MARKER.findall(TUTORIAL.read_text(encoding="utf-8"))
    return found[0], found[1]


def extraction(city: str, days: int) -> str:
    return json.dumps({"family": "forecast", "theta": {"city": city, "days": days}})


HAIKU = "Soft rain on the roof,\nthe gutters hum their one note,\npuddles learn the sky."
# What the scripted model replies to each command that asks a model (in the order it is asked).
REPLIES: dict[str, list[str]] = {
    'ddl distill "weather in paris for 3 days" -m gpt-4o-mini --phrasings 3 -o families/forecast.ddl':
        [f"Here is the family:\n```ddl\n{tutorial_family()[1]}```\n"],
    'ddl handle families "write me a haiku about rain" -m gpt-4o-mini': [HAIKU],
    'ddl handle families "tokyo forecast, 5 days please" -m gpt-4o-mini': [extraction("tokyo", 5)],
    'ddl handle families "lima forecast, 2 days please" -m gpt-4o-mini': [extraction("lima", 2)],
}


@dataclass
class Step:
    command: str
    expected: list[str]
    line: int  # in the tutorial, for the failure message


def steps(text: str) -> list[Step]:
    found: list[Step] = []
    for block in re.finditer(r"^```console\n(.*?)^```", text, re.S | re.M):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, line in enumerate(block.group(1).splitlines()):
            if line.startswith("$ "):
                found.append(Step(line[2:], [], first_line + offset))
            else:
                assert found and found[-1].line >= first_line, f"tutorial line {first_line + offset}: output before a command"
                found[-1].expected.append(line)
    return found


@cache
def _line_pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.rstrip().split("...")) + r"\Z", re.S)


def matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` lines match ``expected`` (``...`` in a line: any text; a line ``...``: any lines)."""
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and bool(_line_pattern(head).match(actual[0])) and matches(rest, actual[1:])


def test_the_matcher() -> None:
    """The comparison is the test's instrument: it must refuse what differs."""
    assert matches(["a ... c"], ["a b c"]) and not matches(["a ... c"], ["a b d"])
    assert matches(["x", "...", "z"], ["x", "1", "2", "z"]) and matches(["x", "...", "z"], ["x", "z"])
    assert not matches(["x"], ["x", "y"]) and not matches(["x", "y"], ["x"])
    assert matches(["x", ""], ["x"]) and not matches(["(a)"], ["a"])


def test_the_tutorial_is_parsed_as_intended() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    found = steps(text)
    skipped = [s.command for s in found if NOT_RUN in s.command]
    assert skipped == ["pip install ddl-lang  # not run by tests: installs from the index; tests/test_packaging.py "
                       "installs the built wheel"]
    assert text.count("\n$ ") == len(found)  # no command outside a console block
    # every model the tutorial names is the one the test replays, and every replayed command is in it
    models = {m for s in found for m in re.findall(r"-m (\S+)", s.command)}
    assert models == {REAL_MODEL}
    assert set(REPLIES) <= {s.command for s in found}
    assert {s.command for s in found if f"-m {REAL_MODEL}" in s.command and "--widen-after" not in s.command} \
        == set(REPLIES)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Background:
    """A command started with ``&``: its output lines are collected by a thread."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def first_lines(self, count: int) -> list[str]:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while len(self.lines) < count and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # let a line being written arrive, so that an extra line is seen too
        return list(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(10)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the tutorial's HTTP requests are curl commands")
def test_every_command_of_the_tutorial_runs_and_shows_what_the_tutorial_shows(tmp_path: Path) -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DDL_", "LLM_"))}
    env.update(PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]), PYTHONPATH=os.pathsep.join([str(FAKELLM), str(ROOT)]),
               LLM_USER_PATH=str(tmp_path / ".llm"), PYTHONUNBUFFERED="1", NO_COLOR="1")
    work = tmp_path / "work"
    work.mkdir()
    jobs: list[Background] = []
    ran = 0
    try:
        for number, step in enumerate(steps(TUTORIAL.read_text(encoding="utf-8"))):
            if NOT_RUN in step.command:
                continue
            ran += 1
            command = step.command.replace(f"-m {REAL_MODEL}", f"-m {SCRIPTED_MODEL}")
            command = command.replace(f"--port {PORT}", f"--port {port}").replace(f"{HOST}:{PORT}", f"{HOST}:{port}")
            script = tmp_path / f"replies-{number}.json"
            script.write_text(json.dumps(REPLIES.get(step.command, [])), encoding="utf-8")
            step_env = {**env, "DDL_FAKE_SCRIPT": str(script)}
            where = f"tutorial line {step.line}: $ {step.command}"
            if command == "kill %1":
                jobs.pop().stop()
                actual: list[str] = []
            elif command.endswith(" &"):
                job = Background(["bash", "-c", "exec " + command[:-2]], work, step_env)
                jobs.append(job)
                actual = job.first_lines(len(step.expected))
            else:
                proc = subprocess.run(["bash", "-c", command], cwd=work, env=step_env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT)
                assert proc.returncode == 0, f"{where}\nexit {proc.returncode}:\n{proc.stdout}"
                actual = proc.stdout.splitlines()
            shown = [line.rstrip().replace(SCRIPTED_MODEL, REAL_MODEL).replace(f"{HOST}:{port}", f"{HOST}:{PORT}")
                     for line in actual]
            while shown and not shown[-1]:
                shown.pop()
            if not matches(step.expected, shown):
                pytest.fail(f"{where}\nexpected:\n" + "\n".join(step.expected) + "\nactual:\n" + "\n".join(shown),
                            pytrace=False)
            if step.command.startswith("ddl distill"):  # the file written is the one the tutorial lists
                path, text = tutorial_family()
                assert (work / path).read_text(encoding="utf-8") == text
    finally:
        for job in jobs:
            job.stop()
    assert ran > 20 and not jobs
    assert (work / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_tutorials_links_lead_to_files() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", TUTORIAL.read_text(encoding="utf-8"))
    assert links
    for link in links:
        assert (TUTORIAL.parent / link).exists(), link
