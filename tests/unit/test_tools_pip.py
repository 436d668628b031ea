"""tools/pip.py: which pip calls are guarded, and the environment they change."""

import os

import pytest

from venvguard import tools


@pytest.fixture
def venv(tmp_path):
    """A virtual environment with a pip script pointing at its python."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (env / "bin" / "python").write_text("")
    pip = env / "bin" / "pip"
    pip.write_text(f"#!{env}/bin/python\nimport pip\n")
    pip.chmod(0o755)
    return env


def plan(argv, cwd, path=""):
    return tools.plan(argv, str(cwd), {"PATH": path})


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_pip_install_and_uninstall_change_the_environment_of_pips_python(venv, command):
    assert plan([str(venv / "bin" / "pip"), command, "six"], venv).targets == [
        (str(venv), "venv")
    ]


def test_pip_is_found_on_path_as_the_shell_would(venv, tmp_path):
    assert plan(["pip", "install", "six"], tmp_path, str(venv / "bin")).paths == [str(venv)]


def test_python_m_pip_changes_the_environment_of_that_python(venv, tmp_path):
    assert plan([str(venv / "bin" / "python"), "-m", "pip", "install", "six"],
                tmp_path).paths == [str(venv)]


@pytest.mark.parametrize("value", ["{env}", "{env}/bin/python"])
def test_pips_python_option_names_the_environment_it_changes(venv, tmp_path, value):
    python = tmp_path / "base" / "bin" / "python3"  # not a virtual environment's
    python.parent.mkdir(parents=True)
    python.write_text("")
    argv = [str(python), "-m", "pip", "--python", value.format(env=venv), "install", "six"]
    assert plan(argv, tmp_path).paths == [str(venv)]


def test_general_options_before_the_command_are_read_with_their_values(venv):
    argv = [str(venv / "bin" / "pip"), "-q", "--log", "install.log", "--timeout=5", "install",
            "six"]
    assert plan(argv, venv).paths == [str(venv)]


@pytest.mark.parametrize("argv", [["list"], ["show", "six"], ["--version"], ["freeze"],
                                  ["--log", "install", "list"]])
def test_calls_that_change_nothing_are_not_guarded(venv, argv):
    assert plan([str(venv / "bin" / "pip"), *argv], venv) is None


@pytest.mark.parametrize("option", ["--target", "-t", "--prefix", "--root", "--user",
                                    "--target=elsewhere"])
def test_an_install_sent_elsewhere_is_not_guarded(venv, option):
    argv = [str(venv / "bin" / "pip"), "install", option, *([] if "=" in option or
            option == "--user" else ["elsewhere"]), "six"]
    assert plan(argv, venv) is None


def test_a_pip_outside_a_virtual_environment_is_not_guarded(tmp_path):
    pip = tmp_path / "bin" / "pip"
    pip.parent.mkdir()
    pip.write_text("#!/usr/bin/python3\n")
    pip.chmod(0o755)
    assert plan([str(pip), "install", "six"], tmp_path) is None


def test_a_pip_that_is_not_a_python_script_is_not_guarded(tmp_path):
    shim = tmp_path / "pip"
    shim.write_text("#!/usr/bin/env bash\nexec pyenv exec pip \"$@\"\n")
    shim.chmod(0o755)
    assert plan([str(shim), "install", "six"], tmp_path) is None
    assert not os.path.exists(tmp_path / "pyvenv.cfg")
