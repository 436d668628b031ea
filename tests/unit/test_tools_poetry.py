"""tools/poetry.py: which poetry calls are guarded, and the environment each one uses
or makes, by poetry 2.5.1's own rules (poetry/utils/env/env_manager.py, config/)."""

import base64
import hashlib
import os
import pathlib

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH
from venvguard.tools import poetry

PYPROJECT = '[tool.poetry]\npackage-mode = false\n'
MINORS = [f"3.{m}" for m in range(7, 17)]


def make_project(path, text=PYPROJECT):
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(text)
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
    return tools.plan(["poetry", *argv], str(cwd), {"HOME": str(home), **environ})


def env_name(name, root):
    digest = hashlib.sha256(os.path.realpath(root).encode()).digest()
    return f"{name}-{base64.urlsafe_b64encode(digest).decode()[:8]}"


def centrals(location, root, name="non-package-mode"):
    return [(f"{location}/{env_name(name, root)}-py{m}", "virtualenv") for m in MINORS]


def default_location(home):
    return str(home / ".cache" / "pypoetry" / "virtualenvs")


@pytest.mark.parametrize("command", ["install", "sync", "add", "remove", "update"])
def test_installing_commands_guard_every_central_env_they_may_create(project, home, command):
    p = plan([command], project, home)
    assert p.targets == centrals(default_location(home), project)
    assert (p.policy, p.create_only, p.repair) == (ANY_FAILURE, False, None)


def test_lock_guards_the_env_only_while_it_creates_it(project, home):
    assert plan(["lock"], project, home).create_only


def test_a_dry_run_guards_the_env_only_while_it_creates_it(project, home):
    assert plan(["install", "--dry-run"], project, home).create_only


@pytest.mark.parametrize("command", ["run", "shell"])
def test_run_and_shell_count_only_a_signal_death_and_only_while_creating(
        project, home, command):
    p = plan([command, "python", "-c", "1"], project, home)
    assert (p.policy, p.create_only) == (SIGNAL_DEATH, True)


@pytest.mark.parametrize("argv", [["show"], ["env", "info"], ["build"], ["--version"],
                                  ["install", "--help"], ["-h"], [], ["config", "--list"]])
def test_other_commands_and_help_are_not_guarded(project, home, argv):
    assert plan(argv, project, home) is None


def test_no_pyproject_upward_is_not_guarded(tmp_path, home):
    assert plan(["install"], tmp_path, home) is None


def test_bad_pyproject_toml_is_not_guarded(tmp_path, home):
    make_project(tmp_path / "p", "[tool.poetry\n")
    assert plan(["install"], tmp_path / "p", home) is None


def test_the_project_is_found_upward_from_the_working_directory(project, home):
    (project / "src").mkdir()
    assert plan(["install"], project / "src", home).targets == centrals(
        default_location(home), project)


@pytest.mark.parametrize("option", [["-P", "proj"], ["--project", "proj"], ["--project=proj"],
                                    ["-Pproj"]])
def test_project_option_names_the_project(project, home, option):
    p = plan([*option, "install"], project.parent, home)
    assert p.targets == centrals(default_location(home), project)


@pytest.mark.parametrize("option", [["-C", "proj"], ["--directory", "proj"]])
def test_directory_option_is_the_working_directory(project, home, option):
    assert plan(["install", *option], project.parent, home).targets == centrals(
        default_location(home), project)


def test_project_is_relative_to_directory(project, home):
    p = plan(["-C", str(project.parent), "-P", "proj", "install"], "/", home)
    assert p.targets == centrals(default_location(home), project)


def test_the_name_is_project_name_lowered_and_sanitized(tmp_path, home):
    root = make_project(tmp_path / "q", '[project]\nname = "My App!"\nversion = "1"\n')
    assert plan(["install"], root, home).targets[0][0].startswith(
        f"{default_location(home)}/my_app_-")


def test_the_name_falls_back_to_tool_poetry_name(tmp_path, home):
    root = make_project(tmp_path / "q", '[tool.poetry]\nname = "Tp"\n')
    assert plan(["install"], root, home).targets == centrals(default_location(home), root, "tp")


def test_the_name_is_cut_to_42_characters(tmp_path, home):
    root = make_project(tmp_path / "q", f'[project]\nname = "{"a" * 50}"\n')
    name = os.path.basename(plan(["install"], root, home).paths[0])
    assert name.startswith("a" * 42 + "-")


def test_the_hash_is_of_the_real_project_path(project, tmp_path, home):
    os.symlink(project, tmp_path / "link")
    p = plan(["install"], tmp_path / "link", home)
    assert [os.path.basename(t) for t in p.paths] == [
        os.path.basename(t) for t, _ in centrals(default_location(home), project)]
    assert p.paths[0].startswith(default_location(home))


def test_generate_env_name_matches_poetry():
    assert poetry.generate_env_name("Ab C", "/nonexistent/x") == env_name("ab_c", "/nonexistent/x")


def test_cache_dir_variable_moves_the_default_location(project, home, tmp_path):
    p = plan(["install"], project, home, POETRY_CACHE_DIR=str(tmp_path / "c"))
    assert p.targets == centrals(str(tmp_path / "c" / "virtualenvs"), project)


def test_xdg_cache_home_moves_the_default_cache_dir(project, home, tmp_path):
    p = plan(["install"], project, home, XDG_CACHE_HOME=str(tmp_path / "x"))
    assert p.targets == centrals(str(tmp_path / "x" / "pypoetry" / "virtualenvs"), project)


def test_virtualenvs_path_variable(project, home, tmp_path):
    p = plan(["install"], project, home, POETRY_VIRTUALENVS_PATH=str(tmp_path / "v"))
    assert p.targets == centrals(str(tmp_path / "v"), project)


def test_virtualenvs_path_tilde_is_home(project, home):
    p = plan(["install"], project, home, POETRY_VIRTUALENVS_PATH="~/envs")
    assert p.targets == centrals(str(home / "envs"), project)


def test_virtualenvs_path_with_cache_dir_placeholder_from_poetry_toml(project, home, tmp_path):
    (project / "poetry.toml").write_text(
        'cache-dir = "/c"\n[virtualenvs]\npath = "{cache-dir}/e"\n')
    assert plan(["install"], project, home).targets == centrals("/c/e", project)


def test_user_config_from_poetry_config_dir(project, home, tmp_path):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.toml").write_text('[virtualenvs]\npath = "/u"\n')
    p = plan(["install"], project, home, POETRY_CONFIG_DIR=str(tmp_path / "cfg"))
    assert p.targets == centrals("/u", project)


def test_user_config_default_is_under_xdg_config(project, home):
    (home / ".config" / "pypoetry").mkdir(parents=True)
    (home / ".config" / "pypoetry" / "config.toml").write_text('[virtualenvs]\npath = "/u"\n')
    assert plan(["install"], project, home).targets == centrals("/u", project)


def test_poetry_toml_wins_over_user_config(project, home):
    (home / ".config" / "pypoetry").mkdir(parents=True)
    (home / ".config" / "pypoetry" / "config.toml").write_text('[virtualenvs]\npath = "/u"\n')
    (project / "poetry.toml").write_text('[virtualenvs]\npath = "/l"\n')
    assert plan(["install"], project, home).targets == centrals("/l", project)


def test_in_project_from_poetry_toml_makes_dot_venv(project, home):
    (project / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n")
    assert plan(["install"], project, home).targets == [(str(project / ".venv"), "virtualenv")]


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_in_project_variable_true_values(project, home, value):
    p = plan(["install"], project, home, POETRY_VIRTUALENVS_IN_PROJECT=value)
    assert p.paths == [str(project / ".venv")]


def test_in_project_variable_wins_over_poetry_toml(project, home):
    (project / "poetry.toml").write_text("[virtualenvs]\nin-project = true\n")
    p = plan(["install"], project, home, POETRY_VIRTUALENVS_IN_PROJECT="no")
    assert p.targets == centrals(default_location(home), project)


def test_an_existing_dot_venv_is_used_and_kept(project, home):
    make_venv(project / ".venv")
    p = plan(["install"], project, home)
    assert (p.targets, p.create_only) == ([(str(project / ".venv"), "virtualenv")], False)


def test_an_existing_dot_venv_is_ignored_with_in_project_false(project, home):
    make_venv(project / ".venv")
    p = plan(["install"], project, home, POETRY_VIRTUALENVS_IN_PROJECT="false")
    assert p.targets == centrals(default_location(home), project)


def test_an_existing_dot_venv_makes_lock_and_run_unguarded(project, home):
    make_venv(project / ".venv")
    assert plan(["lock"], project, home) is None
    assert plan(["run", "x"], project, home) is None


def test_one_existing_central_env_is_the_one_used(project, home):
    env = centrals(default_location(home), project)[4][0]
    make_venv(pathlib.Path(env))
    assert plan(["sync"], project, home).paths == [env]


def test_an_existing_central_env_wins_over_in_project(project, home):
    env = centrals(default_location(home), project)[4][0]
    make_venv(pathlib.Path(env))
    assert plan(["sync"], project, home, POETRY_VIRTUALENVS_IN_PROJECT="true").paths == [env]


def test_several_existing_central_envs_are_not_guarded(project, home):
    for env, _ in centrals(default_location(home), project)[4:6]:
        make_venv(pathlib.Path(env))
    assert plan(["sync"], project, home) is None


def test_envs_toml_minor_names_the_one_env(project, home):
    location = home / ".cache" / "pypoetry" / "virtualenvs"
    location.mkdir(parents=True)
    base = env_name("non-package-mode", project)
    (location / "envs.toml").write_text(f'[{base}]\nminor = "3.12"\npatch = "3.12.1"\n')
    assert plan(["install"], project, home).paths == [f"{location}/{base}-py3.12"]


def test_an_active_virtualenv_is_used_and_kept(project, home, tmp_path):
    p = plan(["install"], project, home, VIRTUAL_ENV=str(tmp_path / "act"))
    assert p.targets == [(str(tmp_path / "act"), "virtualenv")]


def test_an_active_conda_env_is_used_unless_base(project, home, tmp_path):
    assert plan(["install"], project, home, CONDA_PREFIX="/c").paths == ["/c"]
    p = plan(["install"], project, home, CONDA_PREFIX="/c", CONDA_DEFAULT_ENV="base")
    assert p.targets == centrals(default_location(home), project)


def test_an_envs_toml_entry_wins_over_the_active_virtualenv(project, home, tmp_path):
    location = home / ".cache" / "pypoetry" / "virtualenvs"
    location.mkdir(parents=True)
    base = env_name("non-package-mode", project)
    (location / "envs.toml").write_text(f'[{base}]\nminor = "3.12"\n')
    p = plan(["install"], project, home, VIRTUAL_ENV=str(tmp_path / "act"))
    assert p.paths == [f"{location}/{base}-py3.12"]


def test_an_active_virtualenv_makes_run_unguarded(project, home, tmp_path):
    assert plan(["run", "x"], project, home, VIRTUAL_ENV=str(tmp_path / "act")) is None


def test_create_false_is_the_system_env_not_guarded(project, home):
    assert plan(["install"], project, home, POETRY_VIRTUALENVS_CREATE="false") is None


def test_create_false_with_an_active_virtualenv_keeps_it(project, home, tmp_path):
    p = plan(["install"], project, home, POETRY_VIRTUALENVS_CREATE="0",
             VIRTUAL_ENV=str(tmp_path / "act"))
    assert p.paths == [str(tmp_path / "act")]


def test_env_use_with_a_version_names_that_env(project, home):
    p = plan(["env", "use", "3.12"], project, home)
    base = env_name("non-package-mode", project)
    assert p.targets == [(f"{default_location(home)}/{base}-py3.12", "virtualenv")]
    assert (p.policy, p.create_only) == (ANY_FAILURE, False)


def test_env_use_with_a_path_lists_every_minor(project, home):
    assert plan(["env", "use", "/usr/bin/python3"], project, home).targets == centrals(
        default_location(home), project)


def test_env_use_in_project_is_dot_venv(project, home):
    p = plan(["env", "use", "3.12"], project, home, POETRY_VIRTUALENVS_IN_PROJECT="1")
    assert p.paths == [str(project / ".venv")]


def test_env_use_without_create_is_not_guarded(project, home):
    assert plan(["env", "use", "3.12"], project, home, POETRY_VIRTUALENVS_CREATE="false") is None


def test_run_arguments_are_the_users_program(project, home):
    assert plan(["run", "poetry", "--help"], project, home) is not None


def test_options_after_double_dash_are_not_poetrys(project, home):
    assert plan(["run", "--", "x", "--version"], project, home) is not None
