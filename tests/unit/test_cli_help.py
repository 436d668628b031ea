"""The help venvguard prints: plain text that reads well."""

import subprocess
import sys

import pytest

COMMANDS = ("init", "completion", "exec", "run", "status", "repair", "scan", "clean", "config",
            "doctor")


def help_of(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "venvguard", *args, "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command", ("", *COMMANDS))
def test_help_shows_no_type_names_after_flags(command):
    text = help_of(*filter(None, [command]))
    assert "<bool>" not in text
    assert "BOOLEAN" not in text


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_type_name_for_a_plain_word(command):
    assert "<str>" not in help_of(command)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_commands_help_has_an_example_of_it(command):
    assert f"Example: venvguard {command} " in help_of(command)


def test_arguments_say_what_they_take():
    assert "SHELL <bash|zsh|fish>" in help_of("init")
    assert "DIRECTORY <dir>" in help_of("scan")


@pytest.mark.parametrize("command", ["exec", "run"])
def test_exec_usage_shows_the_command_after_a_double_dash(command):
    assert help_of(command).startswith(f"Usage: venvguard {command} -- COMMAND [ARGS]...\n")


def test_help_lists_every_command():
    text = help_of()
    for command in COMMANDS:
        assert f"\n  {command} " in text


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_prints_one_line_without_importing_typer(flag):
    from venvguard import __version__

    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "venvguard", flag],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout == f"venvguard {__version__}\n"
    assert " typer" not in result.stderr and " click" not in result.stderr
