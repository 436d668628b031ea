"""tools.uv: which uv commands create or change an environment, and where it is.

Each test builds a real directory tree; rules follow uv's own (docs/how-it-works.md),
and a few are cross-checked against the real uv at the end."""

import os
import shutil
import subprocess

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH
from venvguard.tools import uv

PROJECT = '[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.8"\n' \
          'dependencies = []\n'


def make_project(path, extra=""):
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(PROJECT.format(name=path.name) + extra)
    return path


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


@pytest.fixture
def workspace(tmp_path):
    """A workspace root with members pkgs/*, pkgs/b excluded, and a non-member."""
    root = make_project(
        tmp_path / "ws",
        '\n[tool.uv.workspace]\nmembers = ["pkgs/*"]\nexclude = ["pkgs/b"]\n',
    )
    make_project(root / "pkgs" / "a")
    make_project(root / "pkgs" / "b")
    make_project(root / "other")
    return root


def plan(args, cwd, **environ):
    return uv.plan(args, str(cwd), environ)


def targets(args, cwd, **environ):
    result = plan(args, cwd, **environ)
    assert result is not None, f"uv {' '.join(args)} should be guarded"
    return result.paths


# --- where the project environment is ------------------------------------------------


def test_the_project_environment_is_dot_venv_beside_the_nearest_pyproject(project):
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    assert targets(["sync"], sub) == [str(project / ".venv")]


def test_the_project_environment_of_the_project_directory_itself(project):
    assert targets(["sync"], project) == [str(project / ".venv")]


def test_a_workspace_member_uses_the_workspace_roots_environment(workspace):
    assert targets(["sync"], workspace / "pkgs" / "a") == [str(workspace / ".venv")]


def test_a_directory_below_a_member_uses_the_workspace_roots_environment(workspace):
    deep = workspace / "pkgs" / "a" / "src"
    deep.mkdir()
    assert targets(["sync"], deep) == [str(workspace / ".venv")]


def test_an_excluded_member_uses_its_own_environment(workspace):
    assert targets(["sync"], workspace / "pkgs" / "b") == [str(workspace / "pkgs/b/.venv")]


def test_a_project_that_is_not_a_member_uses_its_own_environment(workspace):
    assert targets(["sync"], workspace / "other") == [str(workspace / "other" / ".venv")]


def test_a_workspace_root_that_is_itself_the_project_uses_its_own_environment(workspace):
    assert targets(["sync"], workspace) == [str(workspace / ".venv")]


def test_a_workspace_declared_with_explicit_member_paths(tmp_path):
    root = make_project(tmp_path / "ws", '\n[tool.uv.workspace]\nmembers = ["lib"]\n')
    make_project(root / "lib")
    assert targets(["sync"], root / "lib") == [str(root / ".venv")]


def test_a_broken_pyproject_above_does_not_make_a_workspace(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.uv.workspace\nmembers = [")
    member = make_project(root / "pkgs" / "a")
    assert targets(["sync"], member) == [str(member / ".venv")]


def test_uv_project_environment_absolute(project, tmp_path):
    env = str(tmp_path / "elsewhere" / "env")
    assert targets(["sync"], project, UV_PROJECT_ENVIRONMENT=env) == [env]


def test_uv_project_environment_relative_is_taken_against_the_workspace_root(workspace):
    member = workspace / "pkgs" / "a"
    assert targets(["sync"], member, UV_PROJECT_ENVIRONMENT="envs/dev") == [
        str(workspace / "envs" / "dev")
    ]


def test_active_uses_virtual_env(project, tmp_path):
    active = str(tmp_path / "active-env")
    assert targets(["sync", "--active"], project, VIRTUAL_ENV=active) == [active]


def test_virtual_env_alone_does_not_move_the_project_environment(project, tmp_path):
    assert targets(["sync"], project, VIRTUAL_ENV=str(tmp_path / "x")) == [
        str(project / ".venv")
    ]


def test_active_without_virtual_env_falls_back_to_the_project_environment(project):
    assert targets(["sync", "--active"], project) == [str(project / ".venv")]


def test_no_active_overrides_active(project, tmp_path):
    assert targets(["sync", "--active", "--no-active"], project,
                   VIRTUAL_ENV=str(tmp_path / "x")) == [str(project / ".venv")]


def test_project_option_starts_the_search_elsewhere(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert targets(["sync", "--project", str(project)], elsewhere) == [str(project / ".venv")]
    assert targets(["--project=../proj", "sync"], elsewhere) == [str(project / ".venv")]


def test_uv_project_variable_starts_the_search_elsewhere(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert targets(["sync"], elsewhere, UV_PROJECT=str(project)) == [str(project / ".venv")]


@pytest.mark.parametrize(
    "args",
    [
        ["--directory", "proj", "sync"],
        ["--directory=proj", "sync"],
        ["sync", "--directory", "proj"],
    ],
)
def test_directory_option_moves_the_working_directory(project, tmp_path, args):
    assert targets(args, tmp_path) == [str(project / ".venv")]


def test_uv_working_dir_variable_moves_the_working_directory(project, tmp_path):
    assert targets(["sync"], tmp_path, UV_WORKING_DIR="proj") == [str(project / ".venv")]


def test_project_is_taken_relative_to_directory(project, tmp_path):
    assert targets(["--directory", str(tmp_path), "--project", "proj", "sync"], "/") == [
        str(project / ".venv")
    ]


def test_no_pyproject_anywhere_is_not_guarded(tmp_path):
    assert plan(["sync"], tmp_path) is None


def test_targets_are_never_resolved_through_symlinks(project, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(project)
    assert targets(["sync"], link) == [str(link / ".venv")]


# --- uv venv -----------------------------------------------------------------------------


def test_uv_venv_makes_dot_venv_in_the_working_directory(tmp_path):
    assert targets(["venv"], tmp_path) == [str(tmp_path / ".venv")]


def test_uv_venv_below_a_project_makes_dot_venv_in_the_working_directory(project):
    sub = project / "sub"
    sub.mkdir()
    assert targets(["venv"], sub) == [str(sub / ".venv")]


def test_uv_venv_in_a_workspace_member_makes_dot_venv_there(workspace):
    member = workspace / "pkgs" / "a"
    assert targets(["venv"], member, UV_PROJECT_ENVIRONMENT="env") == [str(member / ".venv")]


def test_uv_venv_at_a_project_root_honours_uv_project_environment(project):
    assert targets(["venv"], project, UV_PROJECT_ENVIRONMENT="myenv") == [
        str(project / "myenv")
    ]


def test_uv_venv_with_project_makes_that_projects_environment(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert targets(["venv", "--project", str(project)], elsewhere) == [str(project / ".venv")]


@pytest.mark.parametrize(
    ("args", "environ"),
    [(["venv", "--no-project"], {}), (["venv"], {"UV_NO_PROJECT": "1"})],
)
def test_uv_venv_without_project_discovery_makes_dot_venv_here(project, args, environ):
    assert targets(args, project, UV_PROJECT_ENVIRONMENT="myenv", **environ) == [
        str(project / ".venv")
    ]


def test_uv_venv_path(tmp_path):
    assert targets(["venv", "env"], tmp_path) == [str(tmp_path / "env")]
    assert targets(["venv", "/opt/env"], tmp_path) == ["/opt/env"]


def test_uv_venv_path_is_normalised(tmp_path):
    assert targets(["venv", "./a/../env/"], tmp_path) == [str(tmp_path / "env")]


def test_uv_venv_dash_c_is_clear_a_flag_not_an_option_with_a_value(tmp_path):
    assert targets(["venv", "-c", "env"], tmp_path) == [str(tmp_path / "env")]


@pytest.mark.parametrize(
    "args",
    [
        ["venv", "--python", "3.12", "env"],
        ["venv", "-p", "3.12", "env"],
        ["venv", "--python=3.12", "env"],
        ["venv", "--prompt", "hello", "env"],
        ["venv", "--seed", "--link-mode", "copy", "env"],
        ["--color", "never", "venv", "env"],
        ["venv", "--", "env"],
    ],
)
def test_uv_venv_options_with_values_are_not_taken_for_the_path(tmp_path, args):
    assert targets(args, tmp_path) == [str(tmp_path / "env")]


def test_uv_venv_path_is_relative_to_directory(tmp_path):
    assert targets(["--directory", "sub", "venv", "env"], tmp_path) == [
        str(tmp_path / "sub" / "env")
    ]


def test_uv_venv_is_judged_on_any_failure(tmp_path):
    assert plan(["venv"], tmp_path).policy == ANY_FAILURE


# --- which commands are guarded ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["sync"],
        ["sync", "--frozen"],
        ["sync", "--locked"],
        ["add", "requests"],
        ["remove", "requests"],
        ["version", "--bump", "minor"],
        ["version", "1.2.3"],
        ["-q", "sync"],
        ["--offline", "add", "-r", "requirements.txt"],
    ],
)
def test_commands_that_sync_the_project_environment_are_guarded(project, args):
    result = plan(args, project)
    assert result is not None
    assert result.paths == [str(project / ".venv")]
    assert result.policy == ANY_FAILURE
    assert result.repair == "uv sync --reinstall"


@pytest.mark.parametrize(
    ("args", "environ"),
    [
        (["sync", "--dry-run"], {}),
        (["sync", "--check"], {}),
        (["add", "--frozen", "x"], {}),
        (["add", "--no-sync", "x"], {}),
        (["remove", "--frozen", "x"], {}),
        (["add", "x"], {"UV_FROZEN": "1"}),
        (["add", "x"], {"UV_NO_SYNC": "1"}),
        (["version", "--bump", "patch", "--frozen"], {}),
        (["version", "--bump", "patch", "--dry-run"], {}),
        (["version"], {}),
        (["version", "--short"], {}),
        (["lock"], {}),
        (["tree"], {}),
        (["export"], {}),
        (["pip", "install", "requests"], {}),
        (["pip", "sync", "requirements.txt"], {}),
        (["tool", "run", "ruff"], {}),
        (["python", "install", "3.12"], {}),
        (["--version"], {}),
        ([], {}),
        (["add", "--script", "s.py", "requests"], {}),
        (["run", "--no-project", "python"], {}),
        (["run", "--isolated", "python"], {}),
        (["run", "python"], {"UV_NO_PROJECT": "1"}),
        (["run", "python"], {"UV_ISOLATED": "1"}),
        (["run", "--script", "s.py"], {}),
    ],
)
def test_commands_that_leave_the_project_environment_alone_are_not_guarded(
    project, args, environ
):
    assert plan(args, project, **environ) is None


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_a_false_uv_frozen_does_not_count(project, value):
    assert plan(["add", "x"], project, UV_FROZEN=value) is not None


def test_uv_run_is_guarded_while_the_environment_does_not_exist(project):
    result = plan(["run", "pytest"], project)
    assert result is not None
    assert result.paths == [str(project / ".venv")]
    assert result.policy == SIGNAL_DEATH


def test_uv_run_no_sync_still_creates_the_environment(project):
    assert plan(["run", "--no-sync", "pytest"], project).policy == SIGNAL_DEATH


def test_uv_run_is_not_guarded_once_the_environment_exists(project):
    (project / ".venv").mkdir()
    assert not tools.worth_guarding(plan(["run", "pytest"], project))


def test_uv_run_is_not_guarded_when_the_environment_is_a_dangling_link(project):
    (project / ".venv").symlink_to(project / "nowhere")
    assert not tools.worth_guarding(plan(["run", "pytest"], project))


def test_uv_run_is_guarded_while_the_environment_is_absent(project):
    assert tools.worth_guarding(plan(["run", "pytest"], project))


def test_uv_sync_is_guarded_whether_or_not_the_environment_exists(project):
    (project / ".venv").mkdir()
    assert tools.worth_guarding(plan(["sync"], project))


def test_uv_environments_have_the_uv_shape(project):
    assert plan(["sync"], project).targets == [(str(project / ".venv"), "uv")]


def test_uv_run_options_after_the_users_command_belong_to_it(project):
    # `--no-project` here is pytest's business, not uv's.
    assert plan(["run", "pytest", "--no-project"], project) is not None


def write_script(path, metadata=True):
    header = "# /// script\n# dependencies = []\n# ///\n" if metadata else ""
    path.write_text(header + "print('hi')\n")
    return path


def test_uv_run_of_a_script_with_inline_metadata_is_not_guarded(project):
    write_script(project / "s.py")
    assert plan(["run", "s.py"], project) is None


def test_uv_run_of_a_script_with_inline_metadata_is_found_relative_to_the_given_cwd(
    project, tmp_path, monkeypatch
):
    write_script(project / "s.py")
    monkeypatch.chdir(tmp_path)  # the planner's own cwd must not matter
    assert plan(["run", "s.py"], project) is None
    assert plan(["--directory", "proj", "run", "s.py"], tmp_path) is None


def test_uv_run_with_options_before_a_script_with_inline_metadata_is_not_guarded(project):
    write_script(project / "s.py")
    assert plan(["run", "--with", "rich", "s.py"], project) is None
    assert plan(["run", "-w", "rich", "s.py"], project) is None


def test_uv_run_of_a_plain_script_is_guarded(project):
    write_script(project / "s.py", metadata=False)
    assert plan(["run", "s.py"], project) is not None


def test_uv_run_outside_any_project_is_not_guarded(tmp_path):
    assert plan(["run", "python"], tmp_path) is None


# --- parsing -------------------------------------------------------------------------------


def test_parse_reads_global_options_command_and_positionals():
    parsed = uv.parse(["--directory", "d", "-q", "add", "--dev", "pytest", "ruff"])
    assert parsed.command == "add"
    assert parsed.options == {"--directory": "d", "-q": None, "--dev": None}
    assert parsed.positionals == ["pytest", "ruff"]


def test_parse_stops_at_the_users_command_for_uv_run():
    parsed = uv.parse(["run", "--with", "x", "python", "-m", "venv", "--dry-run"])
    assert parsed.options == {"--with": "x"}
    assert parsed.positionals == ["python"]


def test_parse_takes_the_last_value_of_a_repeated_option():
    assert uv.parse(["--project", "a", "--project", "b", "sync"]).options["--project"] == "b"


# --- uv pip install|sync|uninstall: an environment that exists ------------------------


@pytest.fixture
def venv(tmp_path):
    """A virtual environment at tmp_path/work/.venv (a pyvenv.cfg is what uv looks for)."""
    env = tmp_path / "work" / ".venv"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (env / "bin" / "python").write_text("")
    return env


@pytest.mark.parametrize("command", ["install", "sync", "uninstall"])
def test_uv_pip_writing_commands_change_the_nearest_dot_venv(venv, command):
    deep = venv.parent / "src" / "pkg"
    deep.mkdir(parents=True)
    result = plan(["pip", command, "x"], deep)
    assert result.targets == [(str(venv), "uv")]
    assert result.policy == ANY_FAILURE and not result.create_only


@pytest.mark.parametrize("command", ["list", "show", "freeze", "compile", "check", "tree"])
def test_uv_pip_reading_commands_are_not_guarded(venv, command):
    assert plan(["pip", command], venv.parent) is None


def test_uv_pip_install_changes_the_active_virtual_env_before_a_dot_venv(venv, tmp_path):
    active = tmp_path / "active"
    shutil.copytree(venv, active)
    assert targets(["pip", "install", "x"], venv.parent, VIRTUAL_ENV=str(active)) == [str(active)]


@pytest.mark.parametrize("how", [["--python"], ["-p"], ["--python="], ["UV_PYTHON"]])
@pytest.mark.parametrize("names", ["env", "interpreter"])
def test_uv_pip_install_python_names_the_environment_or_its_interpreter(venv, tmp_path, how,
                                                                       names):
    given = str(venv) if names == "env" else str(venv / "bin" / "python")
    if how == ["UV_PYTHON"]:
        result = targets(["pip", "install", "x"], tmp_path, UV_PYTHON=given)
    elif how == ["--python="]:
        result = targets(["pip", "install", f"--python={given}", "x"], tmp_path)
    else:
        result = targets(["pip", "install", *how, given, "x"], tmp_path)
    assert result == [str(venv)]


def test_uv_pip_install_python_option_goes_before_the_active_env(venv, tmp_path):
    assert targets(["pip", "install", "-p", str(venv), "x"], tmp_path,
                   VIRTUAL_ENV=str(tmp_path / "elsewhere")) == [str(venv)]


def test_uv_pip_install_python_names_a_relative_environment_without_a_slash(venv):
    assert targets(["pip", "install", "-p", ".venv", "x"], venv.parent, UV_PYTHON="/u/p") == \
        [str(venv)]


def test_uv_pip_install_with_a_python_version_request_is_not_guarded(venv):
    assert plan(["pip", "install", "-p", "3.11", "x"], venv.parent) is None


@pytest.mark.parametrize("args", [
    ["--target", "t"], ["-t", "t"], ["--target=t"], ["--prefix", "p"], ["--system"],
    ["--dry-run"],
])
def test_uv_pip_install_that_writes_elsewhere_is_not_guarded(venv, args):
    assert plan(["pip", "install", *args, "x"], venv.parent) is None


def test_uv_pip_install_with_uv_system_python_is_not_guarded(venv):
    assert plan(["pip", "install", "x"], venv.parent, UV_SYSTEM_PYTHON="1") is None


def test_uv_pip_install_into_a_dot_venv_without_pyvenv_cfg_is_not_guarded(venv):
    (venv / "pyvenv.cfg").unlink()
    assert plan(["pip", "install", "x"], venv.parent) is None


def test_uv_pip_install_stops_at_the_first_dot_venv_upward_even_when_broken(venv):
    """uv takes the nearest `.venv` and refuses a broken one: the parent's is not used."""
    (venv.parent / "sub" / ".venv").mkdir(parents=True)
    assert plan(["pip", "install", "x"], venv.parent / "sub") is None


def test_uv_pip_install_with_no_environment_is_not_guarded(tmp_path):
    assert plan(["pip", "install", "x"], tmp_path) is None


def test_uv_pip_install_reads_directory_before_looking_for_dot_venv(venv, tmp_path):
    assert targets(["--directory", str(venv.parent), "pip", "install", "x"], tmp_path) == \
        [str(venv)]


def test_parse_reads_uv_pip_install_options_by_the_pip_install_table():
    parsed = uv.parse(["pip", "install", "-r", "req.txt", "-p", "/e", "x"])
    assert parsed.command == "pip install"
    assert parsed.options == {"-r": "req.txt", "-p": "/e"}
    assert parsed.positionals == ["x"]


def test_a_kept_uv_pip_environment_is_repaired_with_uv_pip_not_uv_sync(venv):
    command = tools.reinstall(["uv", "pip", "install", "x"], "uv", str(venv), [("x", "1")])
    assert command == f"uv pip install --reinstall --no-deps --python {venv} x==1"


# --- cross-checks against the real uv (offline, no dependencies, fast) --------------------

REAL_UV = shutil.which("uv")
needs_uv = pytest.mark.skipif(REAL_UV is None, reason="uv is not installed")


def run_uv(args, cwd, **environ):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env.update(UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never", **environ)
    return subprocess.run([REAL_UV, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)


def made_envs(root):
    return sorted(str(p) for p in root.rglob("pyvenv.cfg"))


@needs_uv
def test_real_uv_sync_in_a_workspace_member_makes_the_environment_venvguard_names(workspace):
    member = workspace / "pkgs" / "a"
    result = run_uv(["sync", "-q"], member)
    assert result.returncode == 0, result.stderr
    assert made_envs(workspace) == [str(workspace / ".venv" / "pyvenv.cfg")]
    assert targets(["sync"], member) == [str(workspace / ".venv")]


@needs_uv
def test_real_uv_sync_in_an_excluded_member_makes_the_environment_venvguard_names(workspace):
    member = workspace / "pkgs" / "b"
    result = run_uv(["sync", "-q"], member)
    assert result.returncode == 0, result.stderr
    assert made_envs(workspace) == [str(member / ".venv" / "pyvenv.cfg")]
    assert targets(["sync"], member) == [str(member / ".venv")]


@needs_uv
def test_real_uv_sync_with_a_relative_project_environment_makes_what_venvguard_names(workspace):
    member = workspace / "pkgs" / "a"
    result = run_uv(["sync", "-q"], member, UV_PROJECT_ENVIRONMENT="envs/dev")
    assert result.returncode == 0, result.stderr
    assert made_envs(workspace) == [str(workspace / "envs" / "dev" / "pyvenv.cfg")]
    assert targets(["sync"], member, UV_PROJECT_ENVIRONMENT="envs/dev") == [
        str(workspace / "envs" / "dev")
    ]


@needs_uv
def test_real_uv_venv_at_a_project_root_honours_uv_project_environment(project):
    result = run_uv(["venv", "-q"], project, UV_PROJECT_ENVIRONMENT="myenv")
    assert result.returncode == 0, result.stderr
    assert made_envs(project) == [str(project / "myenv" / "pyvenv.cfg")]
    assert targets(["venv"], project, UV_PROJECT_ENVIRONMENT="myenv") == [str(project / "myenv")]


@needs_uv
@pytest.mark.parametrize("args", [["sync", "--dry-run"], ["lock"], ["version", "--short"]])
def test_real_uv_leaves_no_environment_for_commands_venvguard_does_not_guard(project, args):
    result = run_uv([*args, "-q"], project)
    assert result.returncode == 0, result.stderr
    assert made_envs(project) == []
    assert plan(args, project) is None


@needs_uv
@pytest.mark.parametrize("where", ["dot-venv", "active", "python", "relative", "two-up"])
def test_real_uv_pip_uses_the_environment_venvguard_names(tmp_path, where):
    work = tmp_path / "work"
    sub = work / "sub"
    sub.mkdir(parents=True)
    for env in (work / ".venv", tmp_path / "active", tmp_path / "named"):
        assert run_uv(["venv", "-q", str(env)], tmp_path).returncode == 0
    extra = {"dot-venv": ({}, []), "active": ({"VIRTUAL_ENV": str(tmp_path / "active")}, []),
             "python": ({}, ["-p", str(tmp_path / "named" / "bin" / "python")]),
             "relative": ({"UV_PYTHON": "/usr/bin/python3"}, ["-p", "../.venv"]),
             "two-up": ({}, ["--python", "../../named"])}[where]
    environ, options = extra
    args = ["pip", "uninstall", *options, "nothing-installed"]
    said = run_uv(args, sub, **environ).stderr
    assert f"environment at: {plan(args, sub, **environ).paths[0]}" in said
