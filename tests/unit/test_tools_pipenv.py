"""tools/pipenv.py: which pipenv calls are guarded, and the virtualenv each one makes
or changes, by pipenv 2026.10.3's own rules (utils/venv_locator.py, utils/pipfile.py,
environments.py, cli/options.py, cli/command.py)."""

import base64
import hashlib
import os

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH

PIPFILE = '[packages]\nrequests = "*"\n'


def make_project(path, text=PIPFILE):
    path.mkdir(parents=True, exist_ok=True)
    (path / "Pipfile").write_text(text)
    return path


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def plan(argv, cwd, home, **environ):
    return tools.plan(["pipenv", *argv], str(cwd), {"HOME": str(home), **environ})


def name(project_dir, dirname=None):
    """VenvLocator.name: `<dir name>-<8 characters of the Pipfile path's hash>`."""
    digest = hashlib.sha256(str(project_dir / "Pipfile").encode()).digest()[:6]
    return f"{dirname or project_dir.name}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


def central(home, project_dir):
    return str(home / ".local" / "share" / "virtualenvs" / name(project_dir))


# --- which calls are guarded ---------------------------------------------------------


@pytest.mark.parametrize("command", ["install", "sync", "update", "upgrade", "uninstall",
                                     "clean"])
def test_changing_commands_guard_the_project_env_on_any_failure(project, home, command):
    p = plan([command], project, home)
    assert p.targets == [(central(home, project), "virtualenv")]
    assert (p.policy, p.create_only, p.repair) == (ANY_FAILURE, False, None)


@pytest.mark.parametrize("argv", [["lock"], ["update", "--lock-only"], ["upgrade", "--lock-only"],
                                  ["update", "--dry-run"], ["update", "--outdated"],
                                  ["clean", "--dry-run"], ["upgrade", "--system"]])
def test_runs_that_only_make_the_env_are_guarded_while_it_is_missing(project, home, argv):
    p = plan(argv, project, home)
    assert p.paths == [central(home, project)]
    assert (p.policy, p.create_only) == (ANY_FAILURE, True)


def test_pipenv_lock_only_in_the_environment_makes_update_create_only(project, home):
    assert plan(["update"], project, home, PIPENV_LOCK_ONLY="1").create_only is True
    assert plan(["update"], project, home, PIPENV_LOCK_ONLY="bogus").create_only is False


@pytest.mark.parametrize("argv", [["run", "pytest"], ["shell"], ["activate"], ["open", "mod"],
                                  ["check"], ["audit"], ["run", "python", "-h"]])
def test_commands_that_hand_over_are_guarded_only_while_creating(project, home, argv):
    p = plan(argv, project, home)
    assert p.paths == [central(home, project)]
    assert (p.policy, p.create_only) == (SIGNAL_DEATH, True)


@pytest.mark.parametrize("argv", [
    [], ["--version"], ["-h"], ["--help"], ["--venv"], ["--where"], ["--py"], ["--envs"],
    ["--rm"], ["--support"], ["--man"], ["remove"], ["graph"], ["scripts"], ["verify"],
    ["requirements"], ["pylock"], ["install", "--help"], ["install", "-h"], ["lock", "-h"],
    ["run"], ["run", "-h"], ["run", "--help"], ["install", "--bogus"], ["bogus"],
    ["install", "-i"], ["--python"], ["--bare"], ["--no-site-packages"],
    ["--python", "3.11", "--venv"], ["--python", "3.11", "--clear"],
    ["--site-packages", "--no-site-packages"],
])
def test_calls_that_make_no_environment_are_not_guarded(project, home, argv):
    assert plan(argv, project, home) is None


@pytest.mark.parametrize("argv", [["install", "--system"], ["sync", "--system"],
                                  ["run", "--system", "x"], ["update", "--system"],
                                  ["uninstall", "--system", "x"], ["check", "--system"]])
def test_system_runs_are_not_guarded(project, home, argv):
    assert plan(argv, project, home) is None


def test_pipenv_system_in_the_environment_is_honoured_as_a_boolean(project, home):
    assert plan(["install"], project, home, PIPENV_SYSTEM="true") is None
    assert plan(["install"], project, home, PIPENV_SYSTEM="0") is not None
    assert plan(["install"], project, home, PIPENV_SYSTEM="bogus") is not None


# --- the root's ensure_project ------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--python", "3.11"], ["--python=3.11"], ["--pyt", "3.11"],
                                  ["--site-packages"], ["-v", "--python", "3.11"]])
def test_the_root_with_python_or_site_packages_makes_the_env(project, home, argv):
    """--python does not name the environment (only PIPENV_PYTHON does)."""
    p = plan(argv, project, home)
    assert p.paths == [central(home, project)]
    assert (p.policy, p.create_only) == (ANY_FAILURE, False)


def test_the_root_reads_pipenv_python_and_pipenv_site_packages(project, home):
    assert plan([], project, home, PIPENV_PYTHON="3.11").paths == [
        central(home, project) + "-3.11"]
    assert plan([], project, home, PIPENV_SITE_PACKAGES="0").paths == [central(home, project)]
    assert plan(["--no-site-packages"], project, home, PIPENV_SITE_PACKAGES="1") is None


def test_pipenv_clear_makes_the_root_quit(project, home):
    assert plan(["--python", "3.11"], project, home, PIPENV_CLEAR="1") is None


# --- argv ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["install", "-i", "http://x", "pkg"], ["install", "-ihttp://x"], ["install", "-dv"],
    ["install", "--skip"], ["install", "--index=http://x", "-e", "."], ["-v", "install"],
    ["--pypi-mirror", "http://m", "install"], ["install", "-r", "req.txt"],
    ["install", "--extra-pip-args", "--foo --bar"], ["install", "--extra-pip-args=--foo"],
    ["install", "run"],
])
def test_options_are_read_as_pipenvs_argparse_reads_them(project, home, argv):
    assert plan(argv, project, home).paths == [central(home, project)]


@pytest.mark.parametrize("argv", [["install", "--s"], ["install", "--d"], ["install", "--py", "3"]])
def test_an_ambiguous_abbreviation_is_not_guarded(project, home, argv):
    """argparse: "ambiguous option: --d could match --deploy, --dev", exit 2."""
    assert plan(argv, project, home) is None


def test_an_unambiguous_abbreviation_counts(project, home):
    assert plan(["update", "--lock"], project, home).create_only is True


@pytest.mark.parametrize("argv", [["install", "--extra-pip-args", "--foo"],
                                  ["install", "-i", "-d"], ["--python", "--venv"]])
def test_an_option_where_a_value_is_expected_is_not_guarded(project, home, argv):
    """argparse: "argument --extra-pip-args: expected one argument", exit 2."""
    assert plan(argv, project, home) is None


def test_run_takes_no_options_after_its_command(project, home):
    assert plan(["run", "pytest", "--system"], project, home).create_only is True
    assert plan(["run", "pytest", "--help"], project, home) is not None


# --- where the environment is --------------------------------------------------------------


def test_the_pipfile_is_found_upward_from_the_current_directory(project, home):
    sub = project / "a" / "b"
    sub.mkdir(parents=True)
    assert plan(["install"], sub, home).paths == [central(home, project)]


def test_the_search_upward_stops_at_pipenv_max_depth(project, home):
    """PIPENV_MAX_DEPTH directories are looked at, the current one included."""
    sub = project / "a" / "b"
    sub.mkdir(parents=True)
    assert plan(["install"], sub, home, PIPENV_MAX_DEPTH="3").paths == [
        central(home, project)]
    assert plan(["install"], sub, home, PIPENV_MAX_DEPTH="2").paths == [central(home, sub)]
    assert plan(["install"], sub, home, PIPENV_MAX_DEPTH="x") is None


def test_pipenv_no_inherit_looks_only_in_the_current_directory(project, home):
    sub = project / "sub"
    sub.mkdir()
    assert plan(["install"], sub, home, PIPENV_NO_INHERIT="1").paths == [central(home, sub)]


def test_with_no_pipfile_the_current_directory_is_the_project(tmp_path, home):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert plan(["install"], empty, home).paths == [central(home, empty)]


def test_pipenv_pipfile_names_the_project(tmp_path, project, home):
    other = tmp_path / "other"
    other.mkdir()
    assert plan(["install"], other, home, PIPENV_PIPFILE="../proj/Pipfile").paths == [
        central(home, project)]
    assert plan(["install"], other, home, PIPENV_PIPFILE="missing") is None


def test_workon_home_and_xdg_data_home_choose_the_central_directory(tmp_path, project, home):
    assert plan(["install"], project, home, WORKON_HOME=str(tmp_path / "w")).paths == [
        str(tmp_path / "w" / name(project))]
    assert plan(["install"], project, home, WORKON_HOME="~/w").paths == [
        str(home / "w" / name(project))]
    assert plan(["install"], project, home, XDG_DATA_HOME=str(tmp_path / "x")).paths == [
        str(tmp_path / "x" / "virtualenvs" / name(project))]


def test_a_relative_workon_home_is_taken_from_the_project_except_for_run(tmp_path, project,
                                                                         home):
    sub = project / "sub"
    sub.mkdir()
    assert plan(["install"], sub, home, WORKON_HOME="w").paths == [
        str(project / "w" / name(project))]
    assert plan(["run", "x"], sub, home, WORKON_HOME="w").paths == [
        str(sub / "w" / name(project))]


def test_an_empty_xdg_data_home_gives_a_relative_directory(project, home):
    assert plan(["install"], project, home, XDG_DATA_HOME="").paths == [
        str(project / "virtualenvs" / name(project))]


@pytest.mark.parametrize("workon", ["$HOME/w", "~other/w"])
def test_a_workon_home_pipenv_fails_on_or_not_followed_is_not_guarded(project, home, workon):
    assert plan(["install"], project, home, WORKON_HOME=workon) is None


def test_a_workon_home_under_tilde_needs_home(project):
    assert tools.plan(["pipenv", "install"], str(project), {"WORKON_HOME": "~/w"}) is None


def test_the_name_is_sanitised_and_cut_to_42_characters(tmp_path, home):
    project = make_project(tmp_path / ("a b&c" + "x" * 50))
    [path] = plan(["install"], project, home).paths
    assert os.path.basename(path) == name(project, ("a_b_c" + "x" * 50)[:42])


def test_pipenv_python_adds_a_suffix(project, home):
    assert plan(["install"], project, home, PIPENV_PYTHON="3.12").paths == [
        central(home, project) + "-3.12"]
    assert plan(["install"], project, home, PIPENV_PYTHON="/usr/bin/python3").paths == [
        central(home, project) + "-python3"]


def test_pipenv_custom_venv_name_replaces_the_name(project, home):
    assert plan(["install"], project, home, PIPENV_CUSTOM_VENV_NAME="mine",
                PIPENV_PYTHON="3").paths == [
        str(home / ".local" / "share" / "virtualenvs" / "mine")]


def test_pipenv_venv_in_project_puts_it_in_dot_venv(project, home):
    assert plan(["install"], project, home, PIPENV_VENV_IN_PROJECT="1").paths == [
        str(project / ".venv")]
    assert plan(["install"], project, home, PIPENV_NO_VENV_IN_PROJECT="0").paths == [
        str(project / ".venv")]


def test_the_pipfile_venv_in_project_setting_counts_unless_the_variable_says_no(project,
                                                                                 home):
    make_project(project, PIPFILE + "[pipenv]\nvenv_in_project = true\n")
    assert plan(["install"], project, home).paths == [str(project / ".venv")]
    assert plan(["install"], project, home, PIPENV_VENV_IN_PROJECT="0").paths == [
        central(home, project)]


def test_a_bad_pipfile_falls_back_to_the_default(project, home):
    make_project(project, "venv_in_project = [\n")
    assert plan(["install"], project, home).paths == [central(home, project)]


def test_an_existing_dot_venv_directory_is_used(project, home):
    (project / ".venv").mkdir()
    assert plan(["install"], project, home).paths == [str(project / ".venv")]
    assert plan(["install"], project, home, PIPENV_VENV_IN_PROJECT="false").paths == [
        central(home, project)]


def test_a_central_env_made_before_wins_over_a_found_dot_venv(project, home):
    (project / ".venv").mkdir()
    os.makedirs(central(home, project))
    assert plan(["install"], project, home).paths == [central(home, project)]
    assert plan(["install"], project, home, PIPENV_VENV_IN_PROJECT="1").paths == [
        str(project / ".venv")]


def test_a_dot_venv_file_names_the_env(tmp_path, project, home):
    (project / ".venv").write_text("myenv\n")
    assert plan(["install"], project, home).paths == [
        str(home / ".local" / "share" / "virtualenvs" / "myenv")]
    (project / ".venv").write_text("../elsewhere/\n")
    assert plan(["install"], project, home).paths == [str(tmp_path / "elsewhere")]
    (project / ".venv").write_text("/abs\n")
    assert plan(["install"], project, home).paths == ["/abs"]
    (project / ".venv").write_text("\n")
    assert plan(["install"], project, home).paths == [central(home, project)]


def test_an_active_virtualenv_is_the_environment(tmp_path, project, home):
    active = str(tmp_path / "active")
    assert plan(["install"], project, home, VIRTUAL_ENV=active).paths == [active]
    assert plan(["install"], project, home, VIRTUAL_ENV=active, PIPENV_ACTIVE="1").paths == [
        central(home, project)]
    assert plan(["install"], project, home, VIRTUAL_ENV=active,
                PIPENV_IGNORE_VIRTUALENVS="1").paths == [central(home, project)]
    assert plan(["install"], project, home, VIRTUAL_ENV=active,
                PIPENV_IGNORE_VIRTUALENVS="0").paths == [active]

