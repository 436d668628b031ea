"""tools/pdm.py: which pdm calls are guarded, and the environment each one uses or
makes, by pdm 2.29's own rules (pdm/project/core.py, pdm/cli/commands/venv/)."""

import base64
import hashlib
import os
import pathlib

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH
from venvguard.tools import pdm

PYPROJECT = '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = []\n'


def make_project(path, extra=""):
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(PYPROJECT + extra)
    return path


def make_venv(path):
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").write_text("")
    (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return path


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def plan(argv, cwd, home, **environ):
    return tools.plan(["pdm", *argv], str(cwd), {"HOME": str(home), **environ})


def central(home, root, ident):
    digest = hashlib.md5(str(root).encode()).digest()
    name = f"{root.name}-{base64.urlsafe_b64encode(digest).decode()[:8]}-{ident}"
    return str(home / ".local" / "share" / "pdm" / "venvs" / name)


@pytest.mark.parametrize("command", ["install", "sync", "add", "remove", "update"])
def test_installing_commands_guard_the_in_project_venv_they_create(project, home, command):
    p = plan([command, "six"] if command in ("add", "remove") else [command], project, home)
    assert p.targets == [(str(project / ".venv"), "virtualenv")]
    assert (p.policy, p.create_only, p.repair) == (ANY_FAILURE, False, "pdm sync --reinstall")


def test_an_existing_in_project_venv_is_guarded_and_kept(project, home):
    make_venv(project / ".venv")
    assert plan(["install"], project, home).paths == [str(project / ".venv")]


@pytest.mark.parametrize("name", ["venv", "env"])
def test_a_venv_or_env_directory_in_the_project_is_its_environment(project, home, name):
    make_venv(project / name)
    assert plan(["sync"], project, home).paths == [str(project / name)]


def test_the_project_is_found_upward_from_the_working_directory(project, home):
    (project / "src" / "pkg").mkdir(parents=True)
    assert plan(["install"], project / "src" / "pkg", home).paths == [str(project / ".venv")]


@pytest.mark.parametrize("spelling", [["-p", "{p}"], ["--project={p}"], ["-p{p}"],
                                      ["--proj", "{p}"]])
def test_the_project_option_names_the_project(project, home, tmp_path, spelling):
    argv = ["install", *(s.format(p=project) for s in spelling)]
    assert plan(argv, tmp_path, home).paths == [str(project / ".venv")]


def test_pdm_project_variable_names_the_project(project, home, tmp_path):
    assert plan(["install"], tmp_path, home, PDM_PROJECT=str(project)).paths == [
        str(project / ".venv")]


def test_no_project_is_not_guarded(tmp_path, home):
    assert plan(["install"], tmp_path, home) is None


@pytest.mark.parametrize("argv", [["--version"], ["-V"], ["install", "--help"], ["-h"],
                                  ["list"], ["show"], ["info"], ["config"], ["build"],
                                  ["lock", "--check"], ["install", "--plugins"],
                                  ["install", "-g"], ["--pep582"], []])
def test_calls_that_make_no_environment_are_not_guarded(project, home, argv):
    assert plan(argv, project, home) is None


@pytest.mark.parametrize("argv", [["lock"], ["install", "--dry-run"], ["add", "--no-sync", "x"],
                                  ["update", "--outdated"], ["remove", "--dry-run", "x"]])
def test_lock_and_dry_runs_are_guarded_only_while_they_create_the_env(project, home, argv):
    p = plan(argv, project, home)
    assert p.paths == [str(project / ".venv")] and p.create_only
    make_venv(project / ".venv")
    assert plan(argv, project, home) is None


def test_pdm_run_is_guarded_only_while_it_has_an_environment_to_create(project, home):
    p = plan(["run", "python", "-c", "pass"], project, home)
    assert p.paths == [str(project / ".venv")]
    assert (p.policy, p.create_only) == (SIGNAL_DEATH, True)
    make_venv(project / ".venv")
    assert plan(["run", "python"], project, home) is None


def test_a_project_script_called_by_name_is_pdm_run(tmp_path, home):
    project = make_project(tmp_path / "proj", '[tool.pdm.scripts]\nserve = "python -V"\n')
    assert plan(["serve"], project, home).policy == SIGNAL_DEATH
    assert plan(["nosuchscript"], project, home) is None


def test_a_pep_723_script_runs_in_its_own_central_environment(project, home):
    script = project / "tool.py"
    script.write_text('# /// script\n# dependencies = []\n# ///\nprint(1)\n')
    name = hashlib.md5(os.path.realpath(script).encode()).hexdigest()
    p = plan(["run", "tool.py"], project, home)
    assert p.paths == [str(home / ".local" / "share" / "pdm" / "venvs" / name)]
    assert p.create_only


def test_venv_in_project_off_moves_the_env_to_the_hashed_central_name(project, home):
    paths = plan(["install"], project, home, PDM_VENV_IN_PROJECT="false").paths
    assert central(home, project, "3.11") in paths
    assert all(p.startswith(central(home, project, "3.")) for p in paths)


def test_an_existing_central_env_is_the_projects_environment(project, home):
    env = make_venv(pathlib.Path(central(home, project, "3.12")))
    assert plan(["install"], project, home).paths == [str(env)]


def test_venv_create_name_makes_the_named_central_env(project, home):
    p = plan(["venv", "create", "--name", "x"], project, home)
    assert p.targets == [(central(home, project, "x"), "virtualenv")]


def test_venv_create_without_name_makes_dot_venv(project, home):
    assert plan(["venv", "create"], project, home).paths == [str(project / ".venv")]


@pytest.mark.parametrize(("backend", "shape"), [("venv", "venv"), ("uv", "uv"),
                                                 ("virtualenv", "virtualenv")])
def test_venv_create_backend_picks_the_shape(project, home, backend, shape):
    assert plan(["venv", "create", "-w", backend], project, home).targets == [
        (str(project / ".venv"), shape)]


def test_a_conda_backend_is_not_guarded(project, home):
    assert plan(["venv", "create", "--with", "conda"], project, home) is None


def test_use_uv_makes_the_project_env_with_uv(project, home):
    assert plan(["install"], project, home, PDM_USE_UV="1").targets == [
        (str(project / ".venv"), "uv")]


def test_pdm_use_makes_a_venv_for_a_plain_interpreter(project, home):
    assert plan(["use", "-f", "/usr/bin/python3"], project, home).paths == [
        str(project / ".venv")]


def test_pdm_use_of_a_venvs_python_or_by_key_makes_none(project, home, tmp_path):
    env = make_venv(tmp_path / "other")
    assert plan(["use", str(env / "bin" / "python")], project, home) is None
    assert plan(["use", "--venv", "x"], project, home) is None


def test_the_project_pdm_toml_is_read(project, home, tmp_path):
    (project / "pdm.toml").write_text(f'[venv]\nin_project = false\nlocation = "{tmp_path}/c"\n')
    assert all(p.startswith(f"{tmp_path}/c/proj-") for p in plan(["install"], project, home).paths)


def test_the_global_config_file_is_read_from_home_or_the_config_option(project, home, tmp_path):
    (home / ".config" / "pdm").mkdir(parents=True)
    (home / ".config" / "pdm" / "config.toml").write_text('[venv]\nlocation = "~/v"\n'
                                                          'in_project = false\n')
    assert all(p.startswith(f"{home}/v/") for p in plan(["install"], project, home).paths)
    other = tmp_path / "other.toml"
    other.write_text('[venv]\nbackend = "venv"\n')
    assert plan(["-c", str(other), "install"], project, home).targets == [
        (str(project / ".venv"), "venv")]
    assert plan(["install"], project, home, PDM_CONFIG_FILE=str(other)).targets == [
        (str(project / ".venv"), "venv")]


def test_environment_variables_win_over_config_files(project, home):
    (project / "pdm.toml").write_text('[venv]\nin_project = false\n')
    assert plan(["install"], project, home, PDM_VENV_IN_PROJECT="1").paths == [
        str(project / ".venv")]


def test_pep_582_mode_is_not_guarded(project, home):
    assert plan(["install"], project, home, PDM_USE_VENV="0") is None
    (project / "__pypackages__").mkdir()
    assert plan(["install"], project, home) is None


def test_the_saved_interpreter_names_the_environment(project, home, tmp_path):
    env = make_venv(tmp_path / "elsewhere")
    (project / ".pdm-python").write_text(f"{env}/bin/python\n")
    assert plan(["install"], project, home).paths == [str(env)]
    assert plan(["install"], project, home, PDM_IGNORE_SAVED_PYTHON="1").paths == [
        str(project / ".venv")]
    assert plan(["-I", "install"], project, home).paths == [str(project / ".venv")]


def test_a_saved_plain_interpreter_means_pep_582(project, home, tmp_path):
    python = tmp_path / "usr" / "bin" / "python3"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert plan(["install"], project, home, PDM_PYTHON=str(python)) is None


def test_a_saved_interpreter_that_is_gone_is_passed_over(project, home):
    (project / ".pdm-python").write_text("/nonexistent/bin/python")
    assert plan(["install"], project, home).paths == [str(project / ".venv")]


def test_an_active_virtual_env_is_used(project, home, tmp_path):
    env = make_venv(tmp_path / "active")
    assert plan(["install"], project, home, VIRTUAL_ENV=str(env)).paths == [str(env)]
    assert plan(["install"], project, home, VIRTUAL_ENV=str(env),
                PDM_IGNORE_ACTIVE_VENV="1").paths == [str(project / ".venv")]


def test_the_venv_option_picks_an_existing_env_by_key(project, home):
    make_venv(project / ".venv")
    assert plan(["install", "--venv"], project, home).paths == [str(project / ".venv")]
    assert plan(["install", "--venv", "nosuch"], project, home) is None


def test_a_workspace_member_uses_the_workspace_roots_environment(tmp_path, home):
    root = make_project(tmp_path / "ws", '[tool.pdm.workspace]\nmembers = ["packages/*"]\n')
    member = make_project(root / "packages" / "a")
    assert plan(["install"], member, home).paths == [str(root / ".venv")]


def test_tool_pdm_options_are_read_as_typed_after_the_command(tmp_path, home):
    project = make_project(tmp_path / "proj", '[tool.pdm.options]\nadd = ["--no-sync"]\n')
    make_venv(project / ".venv")
    assert plan(["add", "six"], project, home) is None


def test_hash_path_is_pdms():
    assert pdm.hash_path("/tmp/vg/s1/proj") == "kdnulYBE"  # `pdm venv list` said so


def test_reinstall_is_pdm_sync_reinstall():
    assert pdm.reinstall(["pdm", "install"], "/p/.venv", [("six", "1")]) == \
        "pdm sync --reinstall"
    assert pdm.reinstall(["pdm", "venv", "create"], "/p/.venv", []) is None
