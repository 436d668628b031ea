"""tools.venv and the dispatch in tools.plan: `python -m venv`, `python -m virtualenv`
and `virtualenv`, read as CPython, venv's argparse and virtualenv read them."""

import pytest

from venvguard import tools
from venvguard.decision import ANY_FAILURE
from venvguard.tools import venv

CWD = "/work/project"


def python(*args):
    return venv.plan_python(list(args), CWD)


def virtualenv(*args):
    return venv.plan_virtualenv(list(args), CWD)


# --- python -m venv ------------------------------------------------------------------


def test_every_env_dir_of_python_m_venv_is_a_target():
    assert python("-m", "venv", "a", "b").paths == [f"{CWD}/a", f"{CWD}/b"]


def test_an_absolute_env_dir_stays_as_given():
    assert python("-m", "venv", "/opt/env").paths == ["/opt/env"]


def test_env_dirs_are_normalised_against_the_working_directory():
    assert python("-m", "venv", "../other/.venv/").paths == ["/work/other/.venv"]


@pytest.mark.parametrize(
    "args",
    [
        ["-Im", "venv", "x"],
        ["-mvenv", "x"],
        ["-I", "-m", "venv", "x"],
        ["-X", "dev", "-m", "venv", "x"],
        ["-Xdev", "-m", "venv", "x"],
        ["-W", "error", "-m", "venv", "x"],
        ["-Werror", "-m", "venv", "x"],
        ["-E", "-s", "-B", "-m", "venv", "x"],
        ["-OO", "-m", "venv", "x"],
        ["--check-hash-based-pycs", "always", "-m", "venv", "x"],
        ["--check-hash-based-pycs=never", "-m", "venv", "x"],
    ],
)
def test_interpreter_options_before_dash_m_are_read_as_cpython_reads_them(args):
    assert python(*args).paths == [f"{CWD}/x"]


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "venv", "--prompt", "p", "x"],
        ["-m", "venv", "--prompt=p", "x"],
        ["-m", "venv", "--prom", "p", "x"],
        ["-m", "venv", "--pro", "p", "x"],
        ["-m", "venv", "--upgrade", "x"],
        ["-m", "venv", "--clear", "--without-pip", "x"],
        ["-m", "venv", "--system-site-packages", "--symlinks", "x"],
        ["-m", "venv", "--upgrade-deps", "x"],
        ["-m", "venv", "--", "x"],
    ],
)
def test_venv_options_are_not_taken_for_env_dirs(args):
    assert python(*args).paths == [f"{CWD}/x"]


def test_a_dash_dash_makes_the_rest_env_dirs():
    assert python("-m", "venv", "--", "-odd").paths == [f"{CWD}/-odd"]


def test_python_m_venv_is_judged_on_any_failure():
    result = python("-m", "venv", "x")
    assert result.policy == ANY_FAILURE
    assert result.repair is None  # running the same command again repairs it


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "venv", "-h"],
        ["-m", "venv", "--help", "x"],
        ["-m", "venv"],
        ["-m", "venv", "--clear"],
        ["-c", "import venv; venv.create('x')"],
        ["-Ic", "import venv"],
        ["-m", "pip", "install", "venv"],
        ["foo.py", "venv"],
        ["-", "venv"],
        ["-m"],
        [],
        ["--version"],
        ["-V"],
    ],
)
def test_python_invocations_that_do_not_run_venv_are_not_guarded(args):
    assert python(*args) is None


# --- virtualenv --------------------------------------------------------------------------


def test_python_m_virtualenv_targets_the_destination_and_the_sibling_redirect():
    assert python("-m", "virtualenv", "dest").paths == [f"{CWD}/dest", f"{CWD}/.venv"]


def test_virtualenv_targets_the_destination_and_the_sibling_redirect():
    assert virtualenv("-p", "3.11", "dest").paths == [f"{CWD}/dest", f"{CWD}/.venv"]


def test_the_redirect_is_beside_the_destination_not_in_the_working_directory():
    assert virtualenv("envs/dest").paths == [f"{CWD}/envs/dest", f"{CWD}/envs/.venv"]


def test_a_destination_named_dot_venv_is_its_own_redirect():
    assert virtualenv(".venv").paths == [f"{CWD}/.venv"]


def test_no_venv_redirect_leaves_only_the_destination():
    assert virtualenv("--no-venv-redirect", "dest").paths == [f"{CWD}/dest"]


@pytest.mark.parametrize(
    "args",
    [
        ["--python", "3.11", "dest"],
        ["--python=3.11", "dest"],
        ["--prompt", "p", "--seeder", "app-data", "dest"],
        ["--clear", "dest"],
        ["--extra-search-dir", "a", "b", "dest"],
        ["dest", "--activators", "bash"],
    ],
)
def test_virtualenv_options_are_not_taken_for_the_destination(args):
    assert virtualenv(*args).paths[0] == f"{CWD}/dest"


@pytest.mark.parametrize("args", [["--version"], ["-h"], ["--help"], ["dest", "--help"], []])
def test_virtualenv_invocations_that_make_nothing_are_not_guarded(args):
    assert virtualenv(*args) is None


# --- dispatch by program name ------------------------------------------------------------


@pytest.mark.parametrize(
    "program",
    ["python", "python3", "python3.12", "python3.9", "/usr/bin/python3.12",
     "/home/u/.pyenv/shims/python3", "./python"],
)
def test_every_python_name_the_snippets_wrap_is_read_as_python(program):
    assert tools.plan([program, "-m", "venv", "x"], CWD, {}).paths == [f"{CWD}/x"]


@pytest.mark.parametrize(
    "program",
    ["python3.x", "python3.", "python3.12-config", "python2", "python2.7", "pythonw",
     "ipython", "python3.12t", "pip"],
)
def test_other_program_names_are_not_guarded(program):
    assert tools.plan([program, "-m", "venv", "x"], CWD, {}) is None


def test_virtualenv_by_full_path_is_dispatched():
    assert tools.plan(["/usr/local/bin/virtualenv", "d"], CWD, {}).paths[0] == f"{CWD}/d"


def test_uv_by_full_path_is_dispatched(tmp_path):
    assert tools.plan(["/opt/bin/uv", "venv"], str(tmp_path), {}).paths == [
        str(tmp_path / ".venv")
    ]


def test_an_empty_command_line_is_not_guarded():
    assert tools.plan([], CWD, {}) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("python", True), ("python3", True), ("python3.13", True), ("python3.x", False),
     ("python3.", False), ("python4", False), ("python3.12-dbg", False)],
)
def test_is_python_knows_the_wrapped_names(name, expected):
    assert tools.is_python(name) is expected


def test_absolute_never_resolves_symlinks():
    assert tools.absolute(".venv", "/a/link/../b") == "/a/b/.venv"
    assert tools.absolute("/x/./y/", "/ignored") == "/x/y"


def test_a_plan_shows_its_targets_policy_and_repair():
    assert repr(tools.Plan([("/a", "venv")])) == (
        "Plan([('/a', 'venv')], policy='exit', repair=None, create_only=False)"
    )


def test_venv_targets_have_the_venv_shape():
    assert python("-m", "venv", "a").targets == [(f"{CWD}/a", "venv")]


def test_virtualenvs_sibling_is_a_redirect_target():
    assert virtualenv("d").targets == [(f"{CWD}/d", "virtualenv"), (f"{CWD}/.venv", "redirect")]
