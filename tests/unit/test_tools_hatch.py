"""tools/hatch.py: which hatch calls are guarded, and the environment each one makes,
by hatch 1.18's own rules (hatch/env/virtual.py, hatch/project/core.py, hatch/cli/)."""

import base64
import hashlib

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH
from venvguard.tools import hatch

PYPROJECT = '[project]\nname = "My.Proj"\nversion = "0"\n'


def make_project(path, extra="", *, pyproject=PYPROJECT):
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(pyproject + extra)
    return path


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "proj")


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def plan(argv, cwd, home, **environ):
    return tools.plan(["hatch", *argv], str(cwd), {"HOME": str(home), **environ})


def ident(root):
    return base64.urlsafe_b64encode(hashlib.sha256(str(root).encode()).digest()).decode()[:8]


def default_env(home, root, env="my-proj", name="my-proj"):
    return str(home / ".local" / "share" / "hatch" / "env" / "virtual" / name / ident(root) / env)


def config(tmp_path, text):
    path = tmp_path / "hatch-config.toml"
    path.write_text(text)
    return str(path)


# --- which calls are guarded ---------------------------------------------------------


def test_env_create_guards_the_default_environment_in_the_data_dir(project, home):
    p = plan(["env", "create"], project, home)
    assert p.targets == [(default_env(home, project), "virtualenv")]
    assert (p.policy, p.create_only, p.repair) == (ANY_FAILURE, False, None)


def test_env_create_takes_its_own_argument_not_the_root_env_option(project, home):
    make_project(project, '[tool.hatch.envs.lint]\n')
    assert plan(["-e", "lint", "env", "create"], project, home).paths == [
        default_env(home, project)]
    assert plan(["env", "create", "lint"], project, home).paths == [
        default_env(home, project, "lint")]


@pytest.mark.parametrize("argv", [["run", "pytest"], ["shell"], ["env", "run", "--", "pytest"]])
def test_commands_that_hand_over_are_guarded_only_while_creating(project, home, argv):
    p = plan(argv, project, home)
    assert p.paths == [default_env(home, project)]
    assert (p.policy, p.create_only) == (SIGNAL_DEATH, True)


@pytest.mark.parametrize("argv", [
    ["--version"], ["-h"], ["--help"], ["env", "create", "--help"], ["env", "find"],
    ["env", "show"], ["env", "prune"], ["env", "remove"], ["version"], ["status"], ["fmt"],
    ["build"], ["check"], ["lock"], ["env"], [], ["run"], ["run", "-h"], ["run", "--help"],
    ["test", "--show"], ["test", "-h"], ["shell", "--help"], ["--bogus", "env", "create"],
    ["env", "create", "a", "b"], ["-e"],
])
def test_calls_that_make_no_environment_are_not_guarded(project, home, argv):
    assert plan(argv, project, home) is None


def test_run_in_the_system_environment_is_not_guarded(project, home):
    assert plan(["run", ":python", "-V"], project, home) is None
    assert plan(["env", "run", "-e", "system", "--", "x"], project, home) is None


def test_run_of_a_python_script_is_not_guarded(project, home):
    (project / "s.py").write_text("# /// script\n# dependencies = []\n# ///\n")
    assert plan(["run", "s.py"], project, home) is None


def test_an_unknown_environment_is_not_guarded(project, home):
    assert plan(["env", "create", "nope"], project, home) is None
    assert plan(["run", "nope:x"], project, home) is None


# --- argv ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["-e", "lint", "run", "x"], ["--env", "lint", "run", "x"], ["--env=lint", "run", "x"],
    ["-elint", "run", "x"], ["-ve", "lint", "run", "x"], ["-v", "-q", "-e", "lint", "run", "x"],
    ["--no-color", "--interactive", "-e", "lint", "run", "x"], ["run", "lint:x"],
    ["-e", "other", "run", "lint:x"], ["run", "+py=3", "-v=1", "lint:x", "-y"],
    ["--", "run", "lint:x"], ["run", "--", "lint:x"], ["-e", "lint", "shell"],
    ["shell", "lint"], ["shell", "--name", "bash", "lint"], ["env", "run", "-e", "lint", "x"],
    ["env", "run", "--env=lint", "--", "x"], ["env", "run", "x", "-elint"],
])
def test_the_environment_is_read_as_clicks_parser_reads_it(project, home, argv):
    make_project(project, '[tool.hatch.envs.lint]\n[tool.hatch.envs.other]\n')
    assert plan(argv, project, home).paths == [default_env(home, project, "lint")]


def test_hatch_env_then_hatch_env_active_choose_the_environment(project, home):
    make_project(project, '[tool.hatch.envs.a]\n[tool.hatch.envs.b]\n')
    assert plan(["run", "x"], project, home, HATCH_ENV="a").paths == [
        default_env(home, project, "a")]
    assert plan(["run", "x"], project, home, HATCH_ENV_ACTIVE="b").paths == [
        default_env(home, project, "b")]
    assert plan(["run", "x"], project, home, HATCH_ENV="a", HATCH_ENV_ACTIVE="b").paths == [
        default_env(home, project, "a")]


def test_shell_in_the_environment_it_runs_in_is_not_guarded(project, home):
    assert plan(["shell", "default"], project, home, HATCH_ENV_ACTIVE="default") is None


def test_env_run_with_several_environments_guards_each(project, home):
    make_project(project, '[tool.hatch.envs.a]\n[tool.hatch.envs.b]\n')
    assert plan(["env", "run", "-e", "a", "-e", "b", "-e", "a", "--", "x"], project,
                home).paths == [default_env(home, project, "a"), default_env(home, project, "b")]


def test_data_dir_option_and_variable_move_the_environments(project, home, tmp_path):
    expected = str(tmp_path / "d" / "env" / "virtual" / "my-proj" / ident(project) / "my-proj")
    assert plan(["--data-dir", str(tmp_path / "d"), "env", "create"], project, home).paths == [
        expected]
    assert plan(["env", "create"], project, home, HATCH_DATA_DIR=str(tmp_path / "d")).paths == [
        expected]
    assert plan(["env", "create"], project, home,
                XDG_DATA_HOME=str(tmp_path / "x")).paths == [
        str(tmp_path / "x" / "hatch" / "env" / "virtual" / "my-proj" / ident(project) / "my-proj")]


def test_a_relative_data_dir_is_against_the_working_directory(project, home):
    assert plan(["env", "create"], project, home, HATCH_DATA_DIR="d").paths == [
        str(project / "d" / "env" / "virtual" / "my-proj")]  # inside the project: flat


# --- where the environment is ------------------------------------------------------------


def test_the_project_id_is_hatchs_sha256_of_the_root():
    digest = hashlib.sha256(b"/tmp/hx/proj").digest()
    assert hatch.project_id("/tmp/hx/proj") == base64.urlsafe_b64encode(digest).decode()[:8]
    assert hatch.project_id("/tmp/hx/proj") == "f8f9-OQQ"  # as the real `hatch env find` said


def test_the_project_is_found_upward_and_by_its_real_path(project, home, tmp_path):
    (project / "a" / "b").mkdir(parents=True)
    assert plan(["env", "create"], project / "a" / "b", home).paths == [
        default_env(home, project)]
    (tmp_path / "link").symlink_to(project)
    assert plan(["env", "create"], tmp_path / "link", home).paths == [default_env(home, project)]


def test_setup_py_marks_a_root_and_no_project_table_names_it_after_its_directory(tmp_path, home):
    root = tmp_path / "Old_Style"
    root.mkdir()
    (root / "setup.py").write_text("")
    assert plan(["env", "create"], root, home).paths == [
        default_env(home, root, "old-style", "old-style")]
    bare = make_project(tmp_path / "Bare", pyproject="[tool.hatch]\n")
    assert plan(["env", "create"], bare, home).paths == [default_env(home, bare, "bare", "bare")]


def test_a_project_table_without_a_name_is_not_guarded(tmp_path, home):
    root = make_project(tmp_path / "p", pyproject='[project]\nversion = "1"\n')
    assert plan(["env", "create"], root, home) is None


def test_no_project_file_uses_the_working_directory(tmp_path, home):
    here = tmp_path / "Plain"
    here.mkdir()
    assert plan(["env", "create"], here, home).paths == [
        default_env(home, here, "plain", "plain")]


def test_a_named_environment_is_beside_the_default_one(project, home):
    make_project(project, '[tool.hatch.envs.Lint-X]\n')
    assert plan(["env", "create", "Lint-X"], project, home).paths == [
        default_env(home, project, "Lint-X")]


def test_matrix_environments_are_named_as_hatch_names_them(project, home):
    make_project(project, '[[tool.hatch.envs.test.matrix]]\npython = ["3.11", "py3.12"]\n'
                          'v = ["a", "b"]\n[[tool.hatch.envs.test.matrix]]\nfoo = ["x"]\n')
    names = ["test.py3.11-a", "test.py3.11-b", "test.py3.12-a", "test.py3.12-b", "test.x"]
    assert plan(["env", "create", "test"], project, home).paths == [
        default_env(home, project, n) for n in names]
    assert plan(["env", "create", "test.x"], project, home).paths == [
        default_env(home, project, "test.x")]


def test_matrix_name_format_and_a_default_matrix(project, home):
    make_project(project, '[tool.hatch.envs.t]\nmatrix-name-format = "{variable}_{value}"\n'
                          '[[tool.hatch.envs.t.matrix]]\nv = ["a"]\n'
                          '[[tool.hatch.envs.default.matrix]]\nw = ["b", "c"]\n')
    assert plan(["env", "create", "t"], project, home).paths == [
        default_env(home, project, "t.v_a")]
    assert plan(["env", "create"], project, home).paths == [
        default_env(home, project, "b"), default_env(home, project, "c")]


def test_a_matrix_cannot_be_entered_by_shell(project, home):
    make_project(project, '[[tool.hatch.envs.t.matrix]]\nv = ["a"]\n')
    assert plan(["shell", "t"], project, home) is None
    assert plan(["shell", "t.a"], project, home).paths == [default_env(home, project, "t.a")]


def test_run_with_matrix_selections_guards_the_matrix(project, home):
    make_project(project, '[[tool.hatch.envs.t.matrix]]\nv = ["a", "b"]\n')
    p = plan(["run", "+v=a", "t:x"], project, home)
    assert p.paths == [default_env(home, project, "t.a"), default_env(home, project, "t.b")]


def test_the_path_option_sets_the_environment_exactly(project, home, tmp_path):
    make_project(project, '[tool.hatch.envs.default]\npath = ".venv"\n'
                          f'[tool.hatch.envs.abs]\npath = "{tmp_path}/x/../abs"\n')
    assert plan(["env", "create"], project, home).paths == [str(project / ".venv")]
    assert plan(["env", "create", "abs"], project, home).paths == [str(tmp_path / "abs")]


def test_a_relative_path_option_is_resolved_against_the_root(project, home, tmp_path):
    (tmp_path / "real").mkdir()
    (project / "link").symlink_to(tmp_path / "real")
    make_project(project, '[tool.hatch.envs.default]\npath = "link/env"\n')
    assert plan(["env", "create"], project, home).paths == [str(tmp_path / "real" / "env")]


def test_the_path_option_is_inherited_from_the_template(project, home):
    make_project(project, '[tool.hatch.envs.default]\npath = "../shared"\n'
                          '[tool.hatch.envs.other]\n[tool.hatch.envs.own]\ndetached = true\n'
                          '[tool.hatch.envs.base]\npath = "b"\n'
                          '[tool.hatch.envs.child]\ntemplate = "base"\n')
    assert plan(["env", "create", "other"], project, home).paths == [
        str(project.parent / "shared")]
    assert plan(["env", "create", "own"], project, home).paths == [
        default_env(home, project, "own")]
    assert plan(["env", "create", "child"], project, home).paths == [str(project / "b")]


def test_an_unknown_or_circular_template_is_not_guarded(project, home):
    make_project(project, '[tool.hatch.envs.a]\ntemplate = "nope"\n')
    assert plan(["env", "create", "a"], project, home) is None
    make_project(project, '[tool.hatch.envs.a]\ntemplate = "b"\n[tool.hatch.envs.b]\n'
                          'template = "a"\n')
    assert plan(["env", "create", "a"], project, home) is None


def test_the_path_variable_wins_over_the_option(project, home, tmp_path):
    make_project(project, '[tool.hatch.envs.default]\npath = ".venv"\n')
    assert plan(["env", "create"], project, home,
                HATCH_ENV_TYPE_VIRTUAL_PATH=str(tmp_path / "e")).paths == [str(tmp_path / "e")]


def test_hatch_toml_replaces_the_pyproject_envs_table(project, home):
    make_project(project, '[tool.hatch.envs.a]\npath = "a"\n')
    (project / "hatch.toml").write_text('[envs.b]\npath = "bb"\n')
    assert plan(["env", "create", "b"], project, home).paths == [str(project / "bb")]
    assert plan(["env", "create", "a"], project, home) is None


def test_dirs_env_in_the_config_changes_the_base(project, home, tmp_path):
    cfg = config(tmp_path, f'[dirs.env]\nvirtual = "{tmp_path}/envs"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg).paths == [
        str(tmp_path / "envs" / "my-proj" / ident(project) / "my-proj")]


def test_a_relative_dirs_env_is_inside_the_project_and_flat(project, home, tmp_path):
    cfg = config(tmp_path, '[dirs.env]\nvirtual = ".hatch"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg).paths == [
        str(project / ".hatch" / "my-proj")]
    assert plan(["--config", cfg, "env", "create", "hatch-test.py3.11"], project,
                home).paths == [str(project / ".hatch" / "hatch-test.py3.11")]


def test_dirs_env_expands_variables_and_home(project, home, tmp_path):
    cfg = config(tmp_path, '[dirs.env]\nvirtual = "$ENVS/x"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg,
                ENVS=str(tmp_path)).paths == [
        str(tmp_path / "x" / "my-proj" / ident(project) / "my-proj")]
    cfg = config(tmp_path, '[dirs.env]\nvirtual = "~/.virtualenvs"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg).paths == [
        str(home / ".virtualenvs" / "my-proj")]


def test_the_config_files_data_dir_is_used_and_expanded(project, home, tmp_path):
    cfg = config(tmp_path, '[dirs]\ndata = "~/dd"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg).paths == [
        str(home / "dd" / "env" / "virtual" / "my-proj" / ident(project) / "my-proj")]


def test_the_default_config_file_is_read_from_xdg_config_home(project, home, tmp_path):
    (tmp_path / "xc" / "hatch").mkdir(parents=True)
    (tmp_path / "xc" / "hatch" / "config.toml").write_text('[dirs]\ndata = "/dd"\n')
    assert plan(["env", "create"], project, home, XDG_CONFIG_HOME=str(tmp_path / "xc")).paths == [
        "/dd/env/virtual/my-proj/" + ident(project) + "/my-proj"]


def test_a_missing_or_broken_chosen_config_is_not_guarded(project, home, tmp_path):
    assert plan(["env", "create"], project, home, HATCH_CONFIG=str(tmp_path / "no")) is None
    assert plan(["env", "create"], project, home,
                HATCH_CONFIG=config(tmp_path, "[dirs\n")) is None


def test_installer_uv_or_a_uv_path_makes_a_uv_environment(project, home):
    make_project(project, '[tool.hatch.envs.default]\ninstaller = "uv"\n'
                          '[tool.hatch.envs.b]\ninstaller = "pip"\nuv-path = "/u"\n'
                          '[tool.hatch.envs.c]\ninstaller = "pip"\n')
    assert plan(["env", "create"], project, home).targets[0][1] == "uv"
    assert plan(["env", "create", "b"], project, home).targets[0][1] == "uv"
    assert plan(["env", "create", "c"], project, home).targets[0][1] == "virtualenv"
    assert plan(["env", "create", "c"], project, home,
                HATCH_ENV_TYPE_VIRTUAL_UV_PATH="/u").targets[0][1] == "uv"


def test_another_environment_type_is_not_guarded(project, home):
    make_project(project, '[tool.hatch.envs.default]\ntype = "container"\n')
    assert plan(["env", "create"], project, home) is None


def test_overrides_that_move_an_environment_are_not_followed(project, home):
    make_project(project, '[tool.hatch.envs.default.overrides]\n'
                          'env.X.path = { value = "elsewhere" }\n')
    assert plan(["env", "create"], project, home) is None


def test_overrides_of_other_options_are_harmless(project, home):
    make_project(project, '[tool.hatch.envs.default.overrides]\n'
                          'env.X.dependencies = ["six"]\n')
    assert plan(["env", "create"], project, home).paths == [default_env(home, project)]


def test_an_environment_collector_plugin_is_not_followed(project, home):
    make_project(project, '[tool.hatch.env.collectors.custom]\n')
    assert plan(["env", "create"], project, home) is None


@pytest.mark.parametrize("name", ["hatch-build", "hatch-static-analysis", "hatch-uv",
                                  "hatch-check-types"])
def test_internal_environments_but_hatch_test_are_not_followed(project, home, name):
    assert plan(["env", "create", name], project, home) is None


def test_hatch_test_guards_its_whole_matrix_made_by_uv(project, home):
    p = plan(["test", "-a", "--python", "3.11", "-x", "py=3.12", "--", "-k", "x"], project, home)
    assert p.paths == [default_env(home, project, f"hatch-test.py{v}") for v in (
        "3.15", "3.15t", "3.14", "3.14t", "3.13", "3.12", "3.11", "3.10")]
    assert {shape for _p, shape in p.targets} == {"uv"}
    assert (p.policy, p.create_only) == (SIGNAL_DEATH, True)


@pytest.mark.parametrize("argv", [["test", "-k", "x"], ["test", "--retries", "-s"],
                                  ["test", "--", "-s"], ["test", "-py=3.11", "tests/"]])
def test_hatch_tests_other_words_are_pytests(project, home, argv):
    assert plan(argv, project, home) is not None


def test_a_project_matrix_for_hatch_test_replaces_the_default_one(project, home):
    make_project(project, '[[tool.hatch.envs.hatch-test.matrix]]\npython = ["3.11"]\n')
    assert plan(["test"], project, home).paths == [
        default_env(home, project, "hatch-test.py3.11")]


def test_hatch_test_with_skip_install_is_isolated_in_the_data_dir(project, home):
    make_project(project, '[tool.hatch.envs.hatch-test]\nskip-install = true\n'
                          'matrix = [{python = ["3.11"]}]\n')
    data = home / ".local" / "share" / "hatch" / "env"
    assert plan(["test"], project, home).paths == [str(
        data / ".internal" / "hatch-test.py3.11" / "my-proj" / ident(project) /
        "hatch-test.py3.11")]


# --- which project -------------------------------------------------------------------


def test_project_option_names_a_project_of_the_config(tmp_path, home):
    other = make_project(tmp_path / "other")
    cfg = config(tmp_path, f'[projects]\nfoo = "{other}"\nbar = {{ location = "{other}" }}\n')
    for argv in (["-p", "foo"], ["--project=bar"]):
        assert plan([*argv, "env", "create"], tmp_path, home, HATCH_CONFIG=cfg).paths == [
            default_env(home, other)]
    assert plan(["env", "create"], tmp_path, home, HATCH_CONFIG=cfg,
                HATCH_PROJECT="foo").paths == [default_env(home, other)]
    assert plan(["-p", "nope", "env", "create"], tmp_path, home, HATCH_CONFIG=cfg) is None


def test_project_option_searches_dirs_project(tmp_path, home):
    make_project(tmp_path / "code" / "foo")
    cfg = config(tmp_path, f'[dirs]\nproject = ["{tmp_path}/none", "{tmp_path}/code"]\n')
    assert plan(["-p", "foo", "env", "create"], tmp_path, home, HATCH_CONFIG=cfg).paths == [
        default_env(home, tmp_path / "code" / "foo")]


def test_mode_project_and_aware_use_the_configs_project(tmp_path, home, project):
    other = make_project(tmp_path / "other")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cfg = config(tmp_path, f'mode = "project"\nproject = "o"\n[projects]\no = "{other}"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg).paths == [
        default_env(home, other)]
    cfg = config(tmp_path, f'mode = "aware"\nproject = "o"\n[projects]\no = "{other}"\n')
    assert plan(["env", "create"], project, home, HATCH_CONFIG=cfg).paths == [
        default_env(home, project)]
    assert plan(["env", "create"], elsewhere, home, HATCH_CONFIG=cfg).paths == [
        default_env(home, other)]


def test_the_variables_it_reads_are_recorded(project, home):
    environ = tools.Recorder({"HOME": str(home), "HATCH_DATA_DIR": "/d", "OTHER": "x"})
    tools.plan(["hatch", "env", "create"], str(project), environ)
    assert environ.read == {"HOME": str(home), "HATCH_DATA_DIR": "/d"}

