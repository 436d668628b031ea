"""tools/pixi.py: which pixi calls are guarded and the environments they make, by the
rules of pixi's documentation (path rules only: pixi is not installable here)."""

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE, SIGNAL_DEATH

PIXI_TOML = '[workspace]\nname = "p"\nchannels = []\nplatforms = ["linux-64"]\n'


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pixi.toml").write_text(PIXI_TOML + '\n[environments]\ntest = ["t"]\nlint = []\n')
    return root


def plan(args, cwd, home, **environ):
    return tools.plan(["pixi", *args], str(cwd), {"HOME": str(home), **environ})


def env(root, name="default"):
    return str(root / ".pixi" / "envs" / name)


@pytest.mark.parametrize("command", [["install"], ["add", "numpy"], ["remove", "numpy"]])
def test_installing_commands_guard_the_default_environment_as_a_conda_prefix(project, home,
                                                                           command):
    p = plan(command, project, home)
    assert p.targets == [(env(project), "conda")]
    assert (p.policy, p.create_only) == (ANY_FAILURE, False)


@pytest.mark.parametrize("option", [["-e", "test"], ["--environment", "test"],
                                    ["--environment=test"]])
def test_the_environment_option_names_the_environment(project, home, option):
    assert plan(["install", *option], project, home).paths == [env(project, "test")]


def test_install_all_guards_every_environment_of_the_manifest(project, home):
    assert plan(["install", "--all"], project, home).paths == [
        env(project), env(project, "test"), env(project, "lint")]


@pytest.mark.parametrize("command", ["run", "shell"])
def test_run_and_shell_are_guarded_only_while_the_environment_is_missing(project, home,
                                                                       command):
    p = plan([command, "-e", "test", "python"], project, home)
    assert p.paths == [env(project, "test")]
    assert (p.policy, p.create_only) == (SIGNAL_DEATH, True)


def test_run_reads_no_option_of_the_users_program(project, home):
    assert plan(["run", "python", "-e", "lint"], project, home).paths == [env(project)]


def test_the_nearest_manifest_upward_is_the_project(project, home):
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    assert plan(["install"], deep, home).paths == [env(project)]


def test_a_pyproject_with_a_pixi_table_is_a_manifest(tmp_path, home):
    root = tmp_path / "py"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.pixi.workspace]\n'
                                         'channels = []\n\n[tool.pixi.environments]\ndev = []\n')
    assert plan(["install", "-a"], root, home).paths == [env(root), env(root, "dev")]


def test_a_pyproject_without_a_pixi_table_is_no_manifest(tmp_path, home):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert plan(["install"], tmp_path, home) is None


def test_pixi_toml_comes_before_a_pyproject_in_the_same_directory(project, home):
    (project / "pyproject.toml").write_text("[tool.pixi.workspace]\n")
    assert plan(["install", "--all"], project, home).paths[1:] == [
        env(project, "test"), env(project, "lint")]


@pytest.mark.parametrize("given", ["file", "directory"])
def test_manifest_path_names_the_project(project, tmp_path, home, given):
    path = project / "pixi.toml" if given == "file" else project
    assert plan(["install", "--manifest-path", str(path)], tmp_path, home).paths == \
        [env(project)]


@pytest.mark.parametrize("args", [
    ["add", "--no-install", "x"], ["add", "--feature", "t", "x"], ["remove", "-f", "t", "x"],
    ["update"], ["list"], ["info"], ["--help"], ["install", "--help"], ["-V"], [],
    ["install", "-e", "../x"], ["install", "-e"],
])
def test_calls_that_install_nothing_pixi_way_are_not_guarded(project, home, args):
    assert plan(args, project, home) is None


def test_no_manifest_is_not_guarded(tmp_path, home):
    assert plan(["install"], tmp_path, home) is None


@pytest.mark.parametrize("where", ["project", "user", "xdg", "pixi_home"])
def test_detached_environments_anywhere_in_the_config_is_not_guarded(project, home, tmp_path,
                                                                     where):
    path = {"project": project / ".pixi" / "config.toml",
            "user": home / ".pixi" / "config.toml",
            "xdg": tmp_path / "xdg" / "pixi" / "config.toml",
            "pixi_home": tmp_path / "ph" / "config.toml"}[where]
    path.parent.mkdir(parents=True)
    path.write_text("detached-environments = true\n")
    assert plan(["install"], project, home, XDG_CONFIG_HOME=str(tmp_path / "xdg"),
                PIXI_HOME=str(tmp_path / "ph")) is None


def test_a_config_without_detached_environments_changes_nothing(project, home):
    (home / ".pixi").mkdir(parents=True)
    (home / ".pixi" / "config.toml").write_text("change-ps1 = false\n")
    assert plan(["install"], project, home).paths == [env(project)]


def test_a_broken_manifest_with_all_is_not_guarded(project, home):
    (project / "pixi.toml").write_text("[environments\n")
    assert plan(["install", "--all"], project, home) is None
