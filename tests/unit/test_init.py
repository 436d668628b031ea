"""init: `venvguard init SHELL` prints the shell's snippet, with a wrapper for every
python3.N on PATH."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from venvguard import __version__, init

SHELL_DIR = Path(__file__).resolve().parents[2] / "shell"


def snippet_file(shell):
    return (SHELL_DIR / f"venvguard.{shell}").read_text()


def printed(shell):
    """The file as init prints it where no python3.N is on PATH: with its version."""
    return snippet_file(shell).replace(init.VERSION, __version__)


def make_bin(directory, *names):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return directory


@pytest.mark.parametrize("shell", init.SHELLS)
def test_each_snippet_lists_the_wrapped_names_exactly_once(shell):
    assert snippet_file(shell).count(init.WRAPPED) == 1


@pytest.mark.parametrize("shell", init.SHELLS)
def test_each_snippet_leaves_a_place_for_its_version_exactly_once(shell):
    assert snippet_file(shell).count(init.VERSION) == 1


@pytest.mark.parametrize("shell", init.SHELLS)
def test_the_packaged_snippet_is_the_file_in_shell_knowing_its_version(shell):
    assert init.snippet(shell, []) == printed(shell)
    assert f"'{__version__}'" in init.snippet(shell, [])


@pytest.mark.parametrize(
    ("shell", "wrapper_list"),
    [
        ("bash", " python python3 python3.11 pip3.11; do"),
        ("zsh", " python python3 python3.11 pip3.11; do"),
        ("fish", "__venvguard_wrap python python3 python3.11 pip3.11\n"),
    ],
)
def test_the_snippet_wraps_the_python_versions_it_is_given_and_their_pips(shell, wrapper_list):
    assert wrapper_list in init.snippet(shell, ["python3.11"])


def test_the_snippet_wraps_several_versions_in_the_order_given():
    text = init.snippet("bash", ["python3.9", "python3.12"])
    assert " python python3 python3.9 python3.12 pip3.9 pip3.12;" in text


def test_python_versions_finds_every_python3_n_once_in_version_order(tmp_path):
    first = make_bin(tmp_path / "a", "python3.12", "python3.9", "python3", "python3.11-config")
    second = make_bin(tmp_path / "b", "python3.12", "python3.11", "python3.10", "python")
    path = os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])
    assert init.python_versions(path) == ["python3.9", "python3.10", "python3.11", "python3.12"]


@pytest.mark.parametrize(
    "name",
    ["python3.11-config", "python3.x", "python3.", "python3", "python2.7", "python3.12t",
     "python3.1\N{SUPERSCRIPT TWO}"],
)
def test_python_versions_ignores_other_names(tmp_path, name):
    make_bin(tmp_path / "bin", name)
    assert init.python_versions(str(tmp_path / "bin")) == []


def test_python_versions_wraps_3_6_to_3_29_only(tmp_path):
    """A fixed range, looked up name by name; the cached snippets count the same."""
    make_bin(tmp_path / "bin", "python3.5", "python3.6", "python3.29", "python3.30")
    assert init.python_versions(str(tmp_path / "bin")) == ["python3.6", "python3.29"]


def test_an_empty_path_entry_means_the_current_directory_as_in_the_shell(tmp_path, monkeypatch):
    make_bin(tmp_path / "here", "python3.11")
    monkeypatch.chdir(tmp_path / "here")
    assert init.python_versions("") == ["python3.11"]
    assert init.python_versions(os.pathsep.join([str(tmp_path / "missing"), ""])) == [
        "python3.11"
    ]


def test_init_rejects_an_unknown_shell_with_exit_2_and_one_line(capsys):
    assert init.main(["nosuchshell"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "venvguard: unknown shell 'nosuchshell'; venvguard knows bash, zsh and fish\n"


def test_init_rejects_more_than_one_shell(capsys):
    assert init.main(["bash", "zsh"]) == 2
    assert capsys.readouterr().err == "venvguard: usage: venvguard init [bash|zsh|fish] [--cache]\n"


def test_init_says_so_when_it_cannot_tell_the_shell(monkeypatch, capsys):
    monkeypatch.setattr(init, "detect", lambda: None)
    assert init.main([]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_init_without_a_shell_uses_the_detected_one(monkeypatch, capsys):
    monkeypatch.setattr(init, "detect", lambda: "zsh")
    monkeypatch.setenv("PATH", "")
    assert init.main([]) == 0
    assert capsys.readouterr().out == init.snippet("zsh", init.python_versions(""))


def run_venvguard(*args, path):
    env = {**os.environ, "PATH": path}
    return subprocess.run([sys.executable, "-m", "venvguard", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_venvguard_init_nosuchshell_exits_2_with_one_line_on_stderr(tmp_path):
    result = run_venvguard("init", "nosuchshell", path=str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "venvguard: unknown shell 'nosuchshell'; venvguard knows bash, zsh and fish\n"
    )


@pytest.mark.parametrize("shell", init.SHELLS)
def test_venvguard_init_prints_the_file_with_the_pythons_on_path_added(tmp_path, shell):
    bin_dir = make_bin(tmp_path / "bin", "python3.13", "python3.11", "python3")
    result = run_venvguard("init", shell, path=str(bin_dir))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    expected = printed(shell).replace(
        " python python3", " python python3 python3.11 python3.13 pip3.11 pip3.13", 1
    )
    assert result.stdout == expected
