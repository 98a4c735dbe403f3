"""`ddl check` and `ddl fmt` as ruff and mypy users expect them (spec/checks.md, "Command-line conventions"):
standard input, `fmt --diff`, configuration from pyproject.toml / ddl.toml, file discovery, GitHub
annotations, colour, shell completion, a closed pipe, and SARIF rules that point at the catalogue.
Everything through the real `ddl` command, asserting what the user sees."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# grammar-sound is unknown there (spec/checks.md), so allow_unknown decides.
from test_check_output import UNKNOWN_SOUND

from ddl.errors import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
ESC = "\x1b["

GOOD = """\
family triple {
  param n : Int in 1..5

  program -> Int = n * 3

  example { n = 2 } => 6
}
"""
UGLY = GOOD.replace("  ", "")  # the same family, not indented: fmt would change it
BAD = GOOD.replace("=> 6", "=> 7")  # a wrong example: DDL4xx at line 6


def ddl(*args: str, cwd: Path, stdin: str | bytes | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "DDL_CONFIG")}
    environ.update(env or {})
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run([str(DDL), *args], cwd=cwd, input=data, capture_output=True, timeout=300, env=environ)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def checked_paths(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode in (0, 1), result.stderr
    return sorted(entry["path"] for entry in json.loads(result.stdout)["files"])


# ---------------------------------------------------------------------------- 1. standard input


def test_check_reads_stdin_and_names_it_by_stdin_filename(tmp_path: Path) -> None:
    named = ddl("check", "--no-cache", "--stdin-filename", "src/bill.ddl", "-", cwd=tmp_path, stdin=BAD)
    assert named.returncode == 1
    assert named.stdout.startswith("src/bill.ddl:6:"), named.stdout
    assert "example { n = 2 } => 7" in named.stdout  # the source line is quoted from stdin, not from disk
    unnamed = ddl("check", "--no-cache", "-", cwd=tmp_path, stdin=BAD)
    assert unnamed.returncode == 1 and unnamed.stdout.startswith("<stdin>:6:")
    good = ddl("check", "--no-cache", "-", cwd=tmp_path, stdin=GOOD)
    assert good.returncode == 0 and "checked 1 file, 1 family" in good.stdout


def test_stdin_filename_without_dash_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "a.ddl", GOOD)
    result = ddl("check", "--no-cache", "--stdin-filename", "x.ddl", "a.ddl", cwd=tmp_path)
    assert result.returncode == 2 and "give - as a path too" in result.stderr


def test_fmt_dash_formats_stdin_to_stdout(tmp_path: Path) -> None:
    result = ddl("fmt", "-", cwd=tmp_path, stdin=UGLY)
    assert result.returncode == 0 and result.stdout == GOOD and result.stderr == ""
    assert ddl("fmt", "--check", "-", cwd=tmp_path, stdin=UGLY).returncode == 1
    clean = ddl("fmt", "--check", "-", cwd=tmp_path, stdin=GOOD)
    assert clean.returncode == 0 and clean.stdout == ""
    refused = ddl("fmt", "--write", "-", cwd=tmp_path, stdin=UGLY)
    assert refused.returncode == 2 and "standard output" in refused.stderr


def test_force_exclude_passes_an_excluded_stdin_filename_through(tmp_path: Path) -> None:
    write(tmp_path / "ddl.toml", '[check]\nextend-exclude = ["generated"]\n')
    result = ddl("fmt", "--force-exclude", "--stdin-filename", "generated/x.ddl", "-", cwd=tmp_path, stdin=UGLY)
    assert result.returncode == 0 and result.stdout == UGLY  # as ruff: unchanged
    checked = ddl("check", "--no-cache", "--force-exclude", "--stdin-filename", "generated/x.ddl", "-",
                  cwd=tmp_path, stdin=BAD)
    assert checked.returncode == 0 and checked.stdout == ""


# ---------------------------------------------------------------------------- 2. fmt --diff


def test_fmt_diff_prints_a_unified_diff_and_changes_nothing(tmp_path: Path) -> None:
    ugly = write(tmp_path / "ugly.ddl", UGLY)
    write(tmp_path / "good.ddl", GOOD)
    result = ddl("fmt", "--diff", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/ugly.ddl\n+++ b/ugly.ddl\n@@ "), result.stdout
    assert "-param n : Int in 1..5\n" in result.stdout and "+  param n : Int in 1..5\n" in result.stdout
    assert "good.ddl" not in result.stdout
    assert ugly.read_text(encoding="utf-8") == UGLY
    clean = ddl("fmt", "--diff", "good.ddl", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout == ""
    piped = ddl("fmt", "--diff", "--stdin-filename", "in.ddl", "-", cwd=tmp_path, stdin=UGLY)
    assert piped.returncode == 1 and piped.stdout.startswith("--- a/in.ddl\n+++ b/in.ddl\n")


# ---------------------------------------------------------------------------- 3. configuration


def test_pyproject_tool_ddl_gives_paths_and_excludes_found_from_a_subdirectory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.ddl]\npaths = ["families"]\n'
                                       'extend-exclude = ["families/drafts"]\n')
    write(tmp_path / "families" / "a.ddl", GOOD)
    write(tmp_path / "families" / "drafts" / "b.ddl", BAD)
    write(tmp_path / "other" / "c.ddl", BAD)
    assert checked_paths(ddl("check", "--no-cache", "--format", "json", cwd=tmp_path)) == ["families/a.ddl"]
    below = ddl("check", "--no-cache", "--format", "json", cwd=tmp_path / "other")  # the config is found upwards
    assert checked_paths(below) == ["../families/a.ddl"]
    named = ddl("check", "--no-cache", "--format", "json", "other", cwd=tmp_path)  # the command line wins
    assert checked_paths(named) == ["other/c.ddl"]


def test_config_is_found_from_the_first_path_and_the_stdin_filename(tmp_path: Path) -> None:
    """As ruff: the config of the project the files belong to, wherever the command runs."""
    write(tmp_path / "proj" / "ddl.toml", '[check]\nextend-exclude = ["drafts"]\n')
    write(tmp_path / "proj" / "a.ddl", GOOD)
    write(tmp_path / "proj" / "drafts" / "b.ddl", BAD)
    assert checked_paths(ddl("check", "--no-cache", "--format", "json", "proj", cwd=tmp_path)) == ["proj/a.ddl"]
    piped = ddl("check", "--no-cache", "--force-exclude", "--stdin-filename", "proj/drafts/c.ddl", "-",
                cwd=tmp_path, stdin=BAD)
    assert piped.returncode == 0 and piped.stdout == ""  # excluded by proj/ddl.toml


def test_ddl_toml_wins_over_pyproject_in_the_same_directory(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.ddl]\npaths = ["from_pyproject"]\n')
    write(tmp_path / "ddl.toml", '[check]\npaths = ["from_ddl_toml"]\n')
    write(tmp_path / "from_pyproject" / "a.ddl", GOOD)
    write(tmp_path / "from_ddl_toml" / "b.ddl", GOOD)
    assert checked_paths(ddl("check", "--no-cache", "--format", "json", cwd=tmp_path)) == ["from_ddl_toml/b.ddl"]


def test_a_pyproject_without_tool_ddl_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "ddl.toml", '[check]\npaths = ["fams"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "x"\n')
    write(tmp_path / "fams" / "a.ddl", GOOD)
    assert checked_paths(ddl("check", "--no-cache", "--format", "json", cwd=tmp_path / "sub")) == ["../fams/a.ddl"]


def test_unknown_config_key_names_file_line_and_suggestion(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.ddl]\nexlude = ["gen"]\n')
    write(tmp_path / "a.ddl", GOOD)
    result = ddl("check", "--no-cache", "a.ddl", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].endswith("pyproject.toml:5:1: DDL903: unknown key [tool.ddl].exlude"), result.stderr
    assert '   5 | exlude = ["gen"]' in lines[1]
    assert "hint: did you mean 'exclude'?" in result.stderr
    old = write(tmp_path / "ddl.toml", "[check]\nmax_state = 5\n")  # the [check] table of ddl.toml, as before
    result = ddl("fmt", "a.ddl", cwd=tmp_path)
    assert result.returncode == 2 and f"{old}:2:1: DDL903: unknown key [check].max_state" in result.stderr
    assert "did you mean 'max_states'?" in result.stderr


def test_bad_config_value_points_at_the_key(tmp_path: Path) -> None:
    write(tmp_path / "ddl.toml", '[check]\nmax_states = 1000\n  allow_unknown = "yes"\n')
    write(tmp_path / "a.ddl", GOOD)
    result = ddl("check", "--no-cache", "a.ddl", cwd=tmp_path)
    assert result.returncode == 2
    assert "ddl.toml:3:3: DDL904: [check].allow_unknown must be true or false, not 'yes'" in result.stderr




def test_command_line_wins_over_config(tmp_path: Path) -> None:
    write(tmp_path / "ddl.toml", "[check]\nallow_unknown = true\n")
    write(tmp_path / "pair.ddl", UNKNOWN_SOUND)
    allowed = ddl("check", "--no-cache", "pair.ddl", cwd=tmp_path)
    assert allowed.returncode == 0 and "(1 unknown allowed)" in allowed.stdout
    strict = ddl("check", "--no-cache", "--no-allow-unknown", "pair.ddl", cwd=tmp_path)
    assert strict.returncode == 1 and strict.stdout.rstrip().endswith("1 unknown: 1 error")
    bad = ddl("check", "--no-cache", "--max-states", "0", "pair.ddl", cwd=tmp_path)
    assert bad.returncode == 2 and "--max-states must be an integer" in bad.stderr


def test_no_paths_and_no_config_is_a_usage_error(tmp_path: Path) -> None:
    result = ddl("check", cwd=tmp_path)
    assert result.returncode == 2 and "no paths given" in result.stderr and "[tool.ddl]" in result.stderr


# ---------------------------------------------------------------------------- 4. discovery


def test_check_dot_skips_hidden_venv_node_modules_pycache_and_gitignored(tmp_path: Path) -> None:
    write(tmp_path / "a.ddl", GOOD)
    write(tmp_path / "sub" / "b.ddl", GOOD)
    for skipped in (".hidden", ".venv", "env", "node_modules", "__pycache__", "build", "sub/out"):
        write(tmp_path / skipped / "x.ddl", BAD)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")  # a virtual environment by any name
    write(tmp_path / ".gitignore", "build/\n")
    write(tmp_path / "sub" / ".gitignore", "out\n")
    write(tmp_path / "sub" / "kept.ddl", GOOD)
    result = ddl("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    assert checked_paths(result) == ["a.ddl", "sub/b.ddl", "sub/kept.ddl"]
    assert result.returncode == 0
    # A file named explicitly is always checked (as ruff), unless --force-exclude and an exclude names it.
    named = ddl("check", "--no-cache", "--format", "json", "node_modules/x.ddl", cwd=tmp_path)
    assert checked_paths(named) == ["node_modules/x.ddl"] and named.returncode == 1
    forced = ddl("check", "--no-cache", "--force-exclude", "node_modules/x.ddl", "a.ddl", cwd=tmp_path)
    assert forced.returncode == 0 and "checked 1 file" in forced.stdout
    # A hidden directory named explicitly is walked.
    hidden = ddl("check", "--no-cache", "--format", "json", ".hidden", cwd=tmp_path)
    assert checked_paths(hidden) == [".hidden/x.ddl"]


def test_a_directory_with_only_skipped_files_says_what_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "proj" / ".venv" / "x.ddl", GOOD)
    result = ddl("check", "proj", cwd=tmp_path)
    assert result.returncode == 2 and "no .ddl files found under 'proj'" in result.stderr
    assert "hidden directories" in result.stderr


# ---------------------------------------------------------------------------- 5. GitHub annotations


def test_github_output_format_is_escaped_workflow_commands(tmp_path: Path) -> None:
    result = ddl("check", "--no-cache", "--output-format", "github", "--stdin-filename", "odd,name:100%.ddl", "-",
                 cwd=tmp_path, stdin=BAD)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    match = re.fullmatch(r"::error file=odd%2Cname%3A100%25\.ddl,line=6,col=(\d+),endLine=6,endColumn=(\d+),"
                         r"title=(DDL4\d\d)::(.*)", line)
    assert match, line
    assert "\n" not in match.group(4) and "%0A" in match.group(4)  # the notes are on escaped new lines
    alias = ddl("check", "--no-cache", "--format", "github", "-", cwd=tmp_path, stdin=BAD)
    assert alias.stdout.startswith("::error file=<stdin>,line=6,")  # --format takes the same values


# ---------------------------------------------------------------------------- 6. colour


@pytest.mark.parametrize(("flags", "env", "coloured"), [
    (["--color", "always"], {}, True),
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ([], {}, False),  # auto, and the output is a pipe
    ([], {"FORCE_COLOR": "1"}, True),
    ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    (["--color", "always"], {"NO_COLOR": "1"}, True),  # the command line wins over the environment
])
def test_colour_follows_color_no_color_and_force_color(tmp_path: Path, flags: list[str], env: dict[str, str],
                                                       coloured: bool) -> None:
    result = ddl("check", "--no-cache", *flags, "-", cwd=tmp_path, stdin=BAD, env=env)
    assert result.returncode == 1
    assert (ESC in result.stdout) is coloured
    if coloured:
        assert "\x1b[1;31mDDL4" in result.stdout  # the code in the error colour
        assert re.search(r"\x1b\[1;31m\^~*\x1b\[0m", result.stdout)  # and the caret
    else:
        assert re.search(r"^<stdin>:6:\d+: DDL4\d\d: ", result.stdout, re.MULTILINE)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("term", "coloured"), [("xterm-256color", True), ("dumb", False)])
def test_auto_colours_a_terminal(tmp_path: Path, term: str, coloured: bool) -> None:
    import pty  # deferred: POSIX only

    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | {"TERM": term}
    done = subprocess.run([str(DDL), "check", "--no-cache", "-"], cwd=tmp_path, input=BAD.encode(), stdout=follower,
                          stderr=subprocess.PIPE, env=environ, timeout=300)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: everything has been read
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert done.returncode == 1 and b"DDL4" in seen
    assert (ESC.encode() in seen) is coloured


def test_fmt_colours_its_diagnostics_on_stderr(tmp_path: Path) -> None:
    result = ddl("fmt", "--color", "always", "-", cwd=tmp_path, stdin="family {\n")
    assert result.returncode == 1 and "\x1b[1;31mDDL1" in result.stderr


# ---------------------------------------------------------------------------- 7. completion


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_is_valid_and_completes_subcommands_options_and_choices(tmp_path: Path) -> None:
    script = ddl("completion", "bash", cwd=tmp_path)
    assert script.returncode == 0
    path = write(tmp_path / "ddl.bash", script.stdout)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0

    def complete(*words: str) -> list[str]:
        array = " ".join(f"'{w}'" for w in words)
        done = subprocess.run(["bash", "-c", f"source {path}; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; "
                               '_ddl; printf "%s\\n" "${COMPREPLY[@]}"'], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()
    assert complete("ddl", "ch") == ["check"]
    assert complete("ddl", "f") == ["feedback", "fmt"]
    assert complete("ddl", "check", "--output-f") == ["--output-format"]
    assert complete("ddl", "check", "--format", "") == ["text", "json", "sarif", "github"]
    assert complete("ddl", "--color", "x", "grammar", "s") == ["sample"]
    assert complete("ddl", "fmt", "--di") == ["--diff"]


def test_zsh_and_fish_completion_scripts_name_the_commands(tmp_path: Path) -> None:
    zsh = ddl("completion", "zsh", cwd=tmp_path)
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef ddl\n") and "bashcompinit" in zsh.stdout
    fish = ddl("completion", "fish", cwd=tmp_path)
    assert fish.returncode == 0
    assert "complete -c ddl -n '__fish_use_subcommand' -a check" in fish.stdout
    assert "complete -c ddl -n '__fish_seen_subcommand_from check' -l output-format -x -a 'text json sarif github'" \
        in fish.stdout
    if shutil.which("fish"):
        assert subprocess.run(["fish", "--no-execute", "-c", fish.stdout]).returncode == 0
    bad = ddl("completion", "powershell", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


# ---------------------------------------------------------------------------- 8. a closed pipe


def _read_one_line_and_close(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``ddl``, read its first line, close the pipe (as ``| head -1`` does) and collect what it then says."""
    proc = subprocess.Popen([str(DDL), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().decode()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=300), first, err


@pytest.mark.parametrize("command", ["check", "fmt"])
def test_a_closed_pipe_stops_quietly(tmp_path: Path, command: str) -> None:
    # More output than a pipe holds (64 KiB by default): the command is still writing when the reader leaves.
    if command == "check":  # 3,000 type errors, each a few lines: about 700 KB of diagnostics
        write(tmp_path / "many.ddl", "\n".join(f'fn f{i}() -> Int = "x"' for i in range(3000)) + "\n")
        args = ["check", "--no-cache", "many.ddl"]
    else:  # 2,000 families: about 200 KB of formatted source, twice
        write(tmp_path / "big.ddl", "".join(GOOD.replace("triple", f"t{i}") for i in range(2000)))
        args = ["fmt", "big.ddl", "big.ddl"]
    code, first, err = _read_one_line_and_close(args, tmp_path)
    assert first.strip()
    assert code == 141, (code, err)
    assert err == ""  # no traceback, no "Exception ignored"


# ---------------------------------------------------------------------------- 9. SARIF


def test_sarif_rules_carry_help_pointing_at_the_catalogue_anchor(tmp_path: Path) -> None:
    write(tmp_path / "work" / "bad.ddl", BAD)
    write(tmp_path / "outside" / "bad.ddl", BAD)
    result = ddl("check", "--no-cache", "--format", "sarif", "bad.ddl", "../outside/bad.ddl", cwd=tmp_path / "work")
    assert result.returncode == 1
    (run,) = json.loads(result.stdout)["runs"]
    (rule,) = run["tool"]["driver"]["rules"]
    code = rule["id"]
    assert rule["shortDescription"]["text"] == CATALOGUE[code]
    assert code in rule["fullDescription"]["text"] and CATALOGUE[code] in rule["fullDescription"]["text"]
    uri = f"https://github.com/ddl-lang/ddl/blob/main/spec/errors.md#{code.lower()}"
    assert rule["helpUri"] == uri
    assert uri in rule["help"]["text"] and f"]({uri})" in rule["help"]["markdown"]
    assert f'<a id="{code.lower()}"></a>' in (ROOT / "spec" / "errors.md").read_text(encoding="utf-8")
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert uris[0] == {"uri": "bad.ddl", "uriBaseId": "%SRCROOT%"}
    assert uris[1] == {"uri": (tmp_path / "outside" / "bad.ddl").resolve().as_uri()}  # file:///…, no ..
    assert ".." not in json.dumps(uris)


def test_every_catalogued_code_has_an_anchor_in_errors_md() -> None:
    text = (ROOT / "spec" / "errors.md").read_text(encoding="utf-8")
    missing = [code for code in CATALOGUE if f'<a id="{code.lower()}"></a>' not in text]
    assert not missing, f"rows of spec/errors.md without an anchor (SARIF helpUri): {missing}"


# ---------------------------------------------------------------------------- help width


@pytest.mark.parametrize("columns", ["50", "120", "not a number", ""])
def test_help_is_wrapped_as_argparse_wraps_it(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    """ddl's parser asks for the terminal's width without importing shutil; the help it prints is the one
    argparse prints asking shutil ($COLUMNS, else the terminal, else 80)."""
    import argparse

    from ddl.commands import build_parser
    from ddl.commands.base import Parser

    monkeypatch.setenv("COLUMNS", columns)

    def helps() -> list[str]:
        parser = build_parser(command)
        sub = parser.subcommand(command) if command else None
        return [parser.format_help(), sub.format_help() if sub is not None else ""]

    for command in ("check", "handle", "serve", None):
        ours = helps()
        with monkeypatch.context() as patched:  # argparse's own: a formatter that asks shutil for the width
            patched.setattr(Parser, "_get_formatter", argparse.ArgumentParser._get_formatter)
            theirs = helps()
        assert ours == theirs
        assert command is None or ours[1].startswith(f"usage: ddl {command}")
