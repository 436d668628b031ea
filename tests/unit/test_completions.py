"""venvguard's own completion: the shipped files in shell/completions/ are what
gen_completions.py makes of the current typer app, they name every command and
option (never the private `_settle`), and `venvguard completion SHELL` prints
them byte for byte without typer. (The linters check them in
test_snippets_lint.py; TAB is pressed in real shells in tests/e2e/test_completion.py.)"""

import json
import os
import subprocess
import sys
from unittest import mock

import gen_completions
import pytest
import typer
from test_fast_commands import FORBIDDEN, PROBE
from test_snippets_lint import require

from venvguard.cli import app

SHIPPED = {shell: gen_completions.OUTPUT / name for shell, name in gen_completions.FILES.items()}
SHELLS = tuple(SHIPPED)


def public_commands():
    group = typer.main.get_command(app)
    return {name: command for name, command in group.commands.items()
            if not name.startswith("_") and not command.hidden}


def venvguard(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "venvguard", *args], capture_output=True,
                          timeout=60, **kwargs)


# --- the files against the app ---------------------------------------------------------


def test_the_shipped_files_are_what_the_generator_makes_of_the_app():
    generated = gen_completions.generate()
    stale = [name for name, text in generated.items()
             if (gen_completions.OUTPUT / name).read_text() != text]
    assert stale == [], (f"shell/completions/{', '.join(stale)} differ from the app: "
                         f"regenerate with {gen_completions.REGENERATE}")


def test_fishers_copy_is_the_fish_file():
    assert gen_completions.FISHER_COPY.read_bytes() == SHIPPED["fish"].read_bytes()
    assert not gen_completions.FISHER_COPY.is_symlink()


@pytest.mark.parametrize("shell", SHELLS)
def test_every_command_and_option_is_in_each_file(shell):
    text = SHIPPED[shell].read_text()
    fish = shell == "fish"  # fish writes options as `-l NAME` and `-s N`
    commands = public_commands()
    assert "completion" in commands
    for name, command in commands.items():
        assert name in text, f"{shell}: no {name}"
        for param in command.params:
            for option in (*param.opts, *param.secondary_opts):
                if param.param_type_name != "option":
                    continue
                written = (f"-l {option[2:]}" if option.startswith("--") else
                           f"-s {option[1:]}") if fish else option
                assert written in text, f"{shell}: no {option} for {name}"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_private_prompt_hook_command_is_in_no_file(shell):
    assert "_settle" not in SHIPPED[shell].read_text()


@pytest.mark.parametrize("shell", SHELLS)
def test_each_file_says_it_is_generated_and_how_to_regenerate(shell):
    head = SHIPPED[shell].read_text().splitlines()[:6]
    assert any(gen_completions.MARK in line for line in head)
    assert any(gen_completions.REGENERATE in line for line in head)


def test_the_zsh_file_starts_with_compdef():
    assert SHIPPED["zsh"].read_text().startswith("#compdef venvguard\n")


def test_an_argument_without_a_kind_stops_the_generator():
    values = {k: v for k, v in gen_completions.VALUES.items() if k != ("scan", "directory")}
    with mock.patch.object(gen_completions, "VALUES", values), \
            pytest.raises(SystemExit, match=r"no kind for the argument 'directory' of "
                                            r"`venvguard scan`"):
        gen_completions.generate()


def test_a_command_taking_extra_words_without_a_kind_stops_the_generator():
    values = {k: v for k, v in gen_completions.VALUES.items() if k != ("run", "...")}
    with mock.patch.object(gen_completions, "VALUES", values), \
            pytest.raises(SystemExit, match=r"argument '\.\.\.' of `venvguard run`"):
        gen_completions.generate()


def test_fish_lists_every_command_with_its_description():
    fish = require("fish")
    result = subprocess.run([fish, "--no-config", "-c", "source $argv[1]; complete -C 'venvguard '",
                             str(SHIPPED["fish"])], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    listed = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    for name, command in public_commands().items():
        assert listed.get(name) == " ".join(command.help.split("\n\n")[0].split()), name


# --- venvguard completion ----------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_prints_the_shipped_file_byte_for_byte(shell):
    result = venvguard("completion", shell)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == SHIPPED[shell].read_bytes()


def test_completion_guesses_the_shell_it_was_started_from():
    bash = require("bash")
    result = subprocess.run([bash, "-c", f'"{sys.executable}" -m venvguard completion; :'],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SHIPPED["bash"].read_bytes()


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_imports_none_of_typer_click_pydantic_rich(tmp_path, shell):
    out = tmp_path / "probe.json"
    subprocess.run([sys.executable, "-c", PROBE, str(out), "completion", shell],
                   capture_output=True, timeout=60, cwd=tmp_path)
    probe = json.loads(out.read_text())
    assert probe["code"] == 0
    assert [m for m in probe["modules"] if m.split(".")[0] in FORBIDDEN] == []


@pytest.mark.parametrize(("args", "error"), [
    (["tcsh"], "venvguard: unknown shell 'tcsh'; venvguard knows bash, zsh and fish\n"),
    (["bash", "zsh"], "venvguard: usage: venvguard completion [bash|zsh|fish]\n"),
    (["--bogus"], "venvguard: usage: venvguard completion [bash|zsh|fish]\n"),
])
def test_a_wrong_shell_or_extra_words_exit_2_with_one_line(args, error):
    result = venvguard("completion", *args, env={**os.environ, "NO_COLOR": "1"})
    assert (result.returncode, result.stdout, result.stderr.decode()) == (2, b"", error)


def test_completion_help_explains_it_with_an_example():
    result = venvguard("completion", "--help")
    text = result.stdout.decode()
    assert result.returncode == 0
    assert text.startswith("Usage: venvguard completion [OPTIONS] [SHELL]\n")
    assert "Example: venvguard completion fish >" in text


@pytest.mark.parametrize("options", ["set -u", "set -euo pipefail", "shopt -s failglob nullglob"])
@pytest.mark.parametrize(("words", "offered"), [  # the last word is the one at the cursor
    ("venvguard st", "status"),
    ("venvguard scan --", "--fix --yes --json --help"),
    ("venvguard init ''", "bash zsh fish"),
    ("venvguard exec -- venvgu", "venvguard"),
])
def test_the_bash_completion_works_under_the_users_strict_options(options, words, offered):
    script = f"""
        source "$1"
        {options}
        COMP_WORDS=({words})
        COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
        _venvguard venvguard
        echo "${{COMPREPLY[*]}}"
    """
    env = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable),
                                                  os.environ.get("PATH", "")])}
    result = subprocess.run([require("bash"), "-c", script, "bash", str(SHIPPED["bash"])],
                            capture_output=True, text=True, timeout=30, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert set(offered.split()) <= set(result.stdout.split())
