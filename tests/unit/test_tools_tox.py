"""tools/tox.py: which tox calls are guarded, and the environments each one makes, by
tox 4.67's own rules (tox/config/source/discover.py, config/sets.py, tox_env/api.py)."""

import os

import pytest

from venvguard import tools
from venvguard.decision import INTERRUPT_ONLY
from venvguard.tools import tox

INI = "[tox]\nenv_list = a, b\n"


def make(path, name="tox.ini", text=INI):
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(text)
    return path


@pytest.fixture
def project(tmp_path):
    return make(tmp_path / "proj")


def plan(argv, cwd, **environ):
    return tools.plan(["tox", *argv], str(cwd), environ)


def envs(root, *names, work=".tox"):
    return [os.path.join(str(root), work, n) for n in names]


# --- which calls are guarded ---------------------------------------------------------


def test_a_bare_run_guards_every_env_of_env_list_with_toxs_shape(project):
    p = plan([], project)
    assert p.targets == [(e, "tox") for e in envs(project, "a", "b")]
    assert (p.create_only, p.repair) == (False, None)


def test_only_an_interrupt_marks_a_tox_run_unfinished_not_a_failing_test(project):
    assert plan([], project).policy == INTERRUPT_ONLY


@pytest.mark.parametrize("command", ["run", "r", "run-parallel", "p"])
def test_run_commands_are_guarded(project, command):
    assert plan([command], project).paths == envs(project, "a", "b")


@pytest.mark.parametrize("argv", [
    ["l"], ["list"], ["c"], ["config"], ["devenv"], ["exec"], ["e"], ["depends"], ["d"],
    ["quickstart"], ["schema"], ["-h"], ["--help"], ["--version"], ["run", "-h"],
    ["run", "--bogus"], ["-e"], ["run", "run"], ["-m", "lab"], ["-f", "py"],
    ["--root", "x"], ["--devenv", "x"], ["--showconfig"], ["-e", "ALL"], ["-r=1"],
])
def test_calls_that_make_no_env_or_are_not_followed_are_not_guarded(project, argv):
    assert plan(argv, project) is None


def test_no_config_file_is_not_guarded(tmp_path):
    assert plan([], tmp_path) is None


def test_an_empty_env_list_is_not_guarded(tmp_path):
    assert plan([], make(tmp_path / "p", text="[tox]\n")) is None


# --- argv ------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["-e", "x"], ["-ex"], ["-e=x"], ["run", "-e", "x"], ["-e", "x", "run"], ["-r", "-e", "x"],
    ["-vvr", "-e", "x"], ["-q", "--recreate", "-e", "x", "--", "-e", "y"],
    ["p", "-p", "auto", "-e", "x"], ["--parallel=2", "p", "-ex"], ["-e", "x,x"],
])
def test_the_env_option_is_read_as_argparse_reads_it(project, argv):
    assert plan(argv, project).paths == envs(project, "x")


def test_env_options_accumulate_and_split_at_commas(project):
    assert plan(["-e", "x, y", "-e", "z"], project).paths == envs(project, "x", "y", "z")


def test_toxenv_is_used_without_an_env_option(project):
    assert plan([], project, TOXENV="t").paths == envs(project, "t")
    assert plan(["-e", "x"], project, TOXENV="t").paths == envs(project, "x")


def test_an_empty_toxenv_falls_back_to_env_list(project):
    assert plan([], project, TOXENV="").paths == envs(project, "a", "b")


def test_brace_groups_expand_in_order(project):
    assert plan(["-e", "py3{11,12}-{x,y}"], project).paths == envs(
        project, "py311-x", "py311-y", "py312-x", "py312-y")


@pytest.mark.parametrize("value", ["py{a,{b}}", "py{a"])
def test_nested_or_open_braces_are_not_guarded(project, value):
    assert plan(["-e", value], project) is None


@pytest.mark.parametrize("name", [".pkg", "../x", "a/b"])
def test_names_that_are_no_plain_env_are_not_guarded(project, name):
    assert plan(["-e", name], project) is None


# --- config discovery --------------------------------------------------------------------


def test_the_config_is_found_above_the_working_directory(project):
    (project / "sub").mkdir()
    assert plan([], project / "sub").paths == envs(project, "a", "b")


def test_tox_ini_comes_before_the_others(tmp_path):
    root = make(tmp_path / "p", "tox.toml", 'env_list = ["toml"]\n')
    make(root, "setup.cfg", "[tox:tox]\nenv_list = cfg\n")
    make(root, "tox.ini", "[tox]\nenv_list = ini\n")
    assert plan([], root).paths == envs(root, "ini")


def test_setup_cfg_needs_its_tox_section(tmp_path):
    root = make(tmp_path / "p", "setup.cfg", "[metadata]\nname = x\n")
    make(root, "tox.toml", 'env_list = ["toml"]\n')
    assert plan([], root).paths == envs(root, "toml")
    make(root, "setup.cfg", "[tox:tox]\nenvlist = cfg\n")
    assert plan([], root).paths == envs(root, "cfg")


def test_a_tox_ini_without_its_core_section_is_still_the_config(tmp_path):
    root = make(tmp_path / "p", "tox.ini", "[testenv]\n")
    make(root, "tox.toml", 'env_list = ["toml"]\n')
    assert plan([], root) is None  # tox.ini wins, and lists nothing


def test_pyproject_native_table(tmp_path):
    root = make(tmp_path / "p", "pyproject.toml", '[tool.tox]\nenv_list = ["n"]\n')
    assert plan([], root).paths == envs(root, "n")


def test_pyproject_legacy_tox_ini(tmp_path):
    root = make(tmp_path / "p", "pyproject.toml",
                '[tool.tox]\nlegacy_tox_ini = """\n[tox]\nenvlist = l1,l2\n"""\n')
    assert plan([], root).paths == envs(root, "l1", "l2")


def test_pyproject_native_keys_win_over_legacy_tox_ini(tmp_path):
    root = make(tmp_path / "p", "pyproject.toml",
                '[tool.tox]\nenv_list = ["n"]\nlegacy_tox_ini = "[tox]\\nenvlist = l"\n')
    assert plan([], root).paths == envs(root, "n")


def test_pyproject_without_a_tox_table_is_passed_over(tmp_path):
    root = make(tmp_path / "p", "pyproject.toml", '[project]\nname = "x"\n')
    make(root, "tox.toml", 'env_list = ["toml"]\n')
    assert plan([], root).paths == envs(root, "toml")


def test_conf_option_names_a_file_or_a_directory(tmp_path, project):
    other = make(tmp_path / "other", "tox.toml", 'env_list = ["o"]\n')
    assert plan(["-c", str(other / "tox.toml")], project).paths == envs(other, "o")
    assert plan(["--conf", str(other)], project).paths == envs(other, "o")
    assert plan(["-c", "../other"], project).paths == envs(other, "o")


def test_a_missing_conf_file_is_not_guarded(project):
    assert plan(["-c", "nope.ini"], project) is None


@pytest.mark.parametrize(("name", "text"), [
    ("tox.ini", "[tox\n"), ("tox.toml", "env_list = [\n"), ("pyproject.toml", "[tool\n"),
    ("tox.ini", b"\xff\xfe"),
])
def test_a_broken_config_is_not_guarded(tmp_path, name, text):
    root = tmp_path / "p"
    root.mkdir()
    (root / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    assert plan([], root) is None


def test_the_root_is_the_config_directory_resolved(tmp_path):
    real = make(tmp_path / "real")
    os.symlink(real, tmp_path / "link")
    assert plan([], tmp_path / "link").paths == envs(real, "a", "b")


# --- work dir and env dir ----------------------------------------------------------------


def test_toxworkdir_and_work_dir_are_against_the_root(tmp_path):
    root = make(tmp_path / "p", text="[tox]\nenv_list = a\ntoxworkdir = w\n")
    assert plan([], root).paths == envs(root, "a", work="w")
    root = make(tmp_path / "q", "tox.toml", 'env_list = ["a"]\nwork_dir = "../w"\n')
    assert plan([], root).paths == [str(tmp_path / "w" / "a")]


def test_workdir_option_is_against_the_working_directory_resolved(tmp_path, project):
    os.symlink(tmp_path, tmp_path / "link")
    assert plan(["--workdir", "out"], project).paths == envs(project, "a", "b", work="out")
    assert plan(["--workdir", str(tmp_path / "link" / "w")], project).paths == [
        str(tmp_path / "w" / "a"), str(tmp_path / "w" / "b")]


@pytest.mark.parametrize("value", ["{toxinidir}/w", "~/w"])
def test_a_work_dir_tox_would_substitute_is_not_guarded(tmp_path, value):
    root = make(tmp_path / "p", text=f"[tox]\nenv_list = a\nwork_dir = {value}\n")
    assert plan([], root) is None


def test_an_env_section_that_sets_env_dir_is_not_guarded(tmp_path):
    root = make(tmp_path / "p", text="[tox]\nenv_list = a, b\n[testenv:b]\nenvdir = x\n")
    assert plan(["-e", "a"], root).paths == envs(root, "a")
    assert plan([], root) is None
    root = make(tmp_path / "q", text="[tox]\nenv_list = a\n[testenv]\nenv_dir = x\n")
    assert plan([], root) is None


@pytest.mark.parametrize("text", [
    'env_list = ["a"]\n[env_run_base]\nenv_dir = "x"\n',
    'env_list = ["a"]\n[env.a]\nenv_dir = "x"\n',
    'env_list = ["a"]\n[env_base.t]\nfactors = [["x"]]\n',
    'env_list = [1]\n', 'env_list = ["py{1,2}"]\n', 'env_list = "a"\n',
])
def test_toml_settings_not_followed_are_not_guarded(tmp_path, text):
    assert plan([], make(tmp_path / "p", "tox.toml", text)) is None


def test_the_environ_is_read_only_through_get(project):
    recorder = tools.Recorder({"TOXENV": "t", "HOME": "/h"})
    assert tools.plan(["tox"], str(project), recorder).paths == envs(project, "t")
    assert recorder.read == {"TOXENV": "t"}


# --- repair --------------------------------------------------------------------------------


def test_repair_recreates_the_env_with_the_runs_config_options():
    assert tox.reinstall(["tox", "-e", "a,b"], ".tox/b", [("pip", "1")]) == "tox -r -e b"
    assert tox.reinstall(["/x/tox", "-c", "my dir/tox.ini", "--workdir", "w", "run"], "w/a",
                         []) == "tox -c 'my dir/tox.ini' --workdir w -r -e a"
    assert tox.reinstall(["tox", "--bogus"], "a", []) is None
