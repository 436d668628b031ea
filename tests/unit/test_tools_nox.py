"""tools/nox.py: which nox calls are guarded, and the environments each one makes, by
nox 2026.10.20's own rules (_options.py, _merge.py, tasks.py, manifest.py,
_decorators.py, _parametrize.py, sessions._normalize_path)."""

import hashlib
import os

import pytest

from venvguard import tools
from venvguard.decision import INTERRUPT_ONLY
from venvguard.tools import nox

BASIC = '''\
import nox

@nox.session
def tests(session):
    pass

@nox.session(default=False)
def docs(session):
    pass
'''


def write(path, text):
    path.mkdir(parents=True, exist_ok=True)
    (path / "noxfile.py").write_text(text)
    return path


@pytest.fixture
def proj(tmp_path):
    return write(tmp_path / "proj", BASIC)


def plan(argv, cwd, **environ):
    return tools.plan(["nox", *argv], str(cwd), environ)


def envs(argv, cwd, **environ):
    p = plan(argv, cwd, **environ)
    return None if p is None else p.paths


def env(proj, *names):
    return [str(proj / ".nox" / n) for n in names]


# --- which calls are guarded ---------------------------------------------------------


def test_a_bare_nox_guards_the_default_sessions_as_virtualenvs(proj):
    p = plan([], proj)
    assert p.targets == [(str(proj / ".nox" / "tests"), "virtualenv")]
    # a failing session is no interrupt
    assert (p.policy, p.create_only, p.repair) == (INTERRUPT_ONLY, False, None)


@pytest.mark.parametrize("flag", ["-h", "--help", "--version", "-l", "--list",
                                  "--list-sessions"])
def test_calls_that_run_no_session_are_not_guarded(proj, flag):
    assert plan([flag], proj) is None


def test_usage_is_not_guarded(proj):
    assert plan(["--usage", "tests"], proj) is None


def test_a_word_before_the_double_dash_is_refused_by_nox_and_not_guarded(proj):
    assert plan(["tests"], proj) is None


def test_words_after_the_double_dash_are_the_sessions_posargs(proj):
    assert envs(["-s", "docs", "--", "-s", "tests", "x"], proj) == env(proj, "docs")


def test_an_unknown_option_is_refused_by_nox_and_not_guarded(proj):
    assert plan(["--sesion", "tests"], proj) is None


def test_a_flag_given_a_value_is_refused_and_not_guarded(proj):
    assert plan(["--verbose=1"], proj) is None


def test_an_option_missing_its_value_is_refused_and_not_guarded(proj):
    assert plan(["--envdir"], proj) is None
    assert plan(["--envdir", "-s", "tests"], proj) is None


def test_an_invalid_backend_choice_is_refused_and_not_guarded(proj):
    assert plan(["-db", "uv|virtualenv"], proj) is None


def test_known_flags_do_not_change_the_environments(proj):
    argv = ["-r", "-x", "-v", "--no-install", "-ts", "--nocolor", "--install-only",
            "-j", "2", "--report", "r.json", "--reuse-venv", "yes", "-N"]
    assert envs(argv, proj) == env(proj, "tests")


def test_no_venv_is_not_guarded(proj):
    assert plan(["--no-venv"], proj) is None


@pytest.mark.parametrize("backend", ["none", "conda", "mamba", "micromamba", "rattler"])
def test_a_forced_backend_without_a_venv_is_not_guarded(proj, backend):
    assert plan(["-fb", backend], proj) is None


def test_a_missing_noxfile_is_not_guarded(tmp_path):
    assert plan([], tmp_path) is None


def test_a_noxfile_that_is_not_python_is_not_guarded(tmp_path):
    assert plan([], write(tmp_path / "p", "def (:\n")) is None


def test_a_noxfile_with_a_script_block_is_not_guarded(tmp_path):
    proj = write(tmp_path / "p", "# /// script\n# dependencies = ['nox']\n# ///\n" + BASIC)
    assert plan([], proj) is None


def test_a_script_block_counts_not_in_script_mode_none(tmp_path):
    proj = write(tmp_path / "p", "# /// script\n# dependencies = ['nox']\n# ///\n" + BASIC)
    assert envs(["--script-mode", "none"], proj) == env(proj, "tests")
    assert envs([], proj, NOX_SCRIPT_MODE="none") == env(proj, "tests")


def test_no_session_chosen_is_not_guarded(proj):
    assert plan(["-s"], proj) is None


# --- choosing sessions ---------------------------------------------------------------


def test_session_options_name_sessions(proj):
    for flag in ("-s", "-e", "--session", "--sessions"):
        assert envs([flag, "docs"], proj) == env(proj, "docs")


def test_a_session_list_takes_every_word_up_to_the_next_option(proj):
    assert envs(["-s", "docs", "tests", "-r"], proj) == env(proj, "docs", "tests")


def test_a_session_attached_to_its_option(proj):
    assert envs(["-sdocs"], proj) == env(proj, "docs")
    assert envs(["--session=docs"], proj) == env(proj, "docs")
    assert envs(["-s=docs"], proj) == env(proj, "docs")


def test_the_last_session_option_wins(proj):
    assert envs(["-s", "docs", "-s", "tests"], proj) == env(proj, "tests")


def test_noxsession_names_sessions_split_on_commas(proj):
    assert envs([], proj, NOXSESSION="docs,tests") == env(proj, "docs", "tests")


def test_the_command_line_wins_over_noxsession(proj):
    assert envs(["-s", "tests"], proj, NOXSESSION="docs") == env(proj, "tests")


def test_an_unknown_session_name_stops_nox_and_is_not_guarded(proj):
    assert plan(["-s", "tests", "nope"], proj) is None


def test_a_session_not_readable_from_the_noxfile_is_not_guarded(tmp_path):
    proj = write(tmp_path / "p", "import nox\nPY = make()\n\n@nox.session(python=PY)\n"
                 "def tests(session): pass\n")
    assert plan(["-s", "tests"], proj) is None
    assert plan([], proj) is None


def test_session_names_match_as_the_python_they_parse_as(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session\n@nox.parametrize('x', [1])\n"
                 "def t(session, x): pass\n")
    assert envs(["-s", "t(x=1)"], proj) == envs(["-s", "t( x = 1 )"], proj) == [
        str(proj / ".nox" / "t-x-1")]


def test_default_false_sessions_are_left_out_by_default(proj):
    assert envs([], proj) == env(proj, "tests")


def test_the_noxfile_sessions_option_chooses_the_sessions(tmp_path):
    proj = write(tmp_path / "p", BASIC + "nox.options.sessions = ['docs']\n")
    assert envs([], proj) == env(proj, "docs")


def test_noxfile_sessions_do_not_count_when_tags_or_keywords_are_given(tmp_path):
    proj = write(tmp_path / "p", BASIC + "nox.options.sessions = ['docs']\n")
    assert envs(["-k", "tests"], proj) == env(proj, "tests")


def test_an_unreadable_noxfile_option_is_not_guarded(tmp_path):
    proj = write(tmp_path / "p", BASIC + "nox.options.envdir = where()\n")
    assert plan([], proj) is None


def test_keywords_choose_among_all_sessions(proj):
    assert envs(["-k", "doc"], proj) == env(proj, "docs")
    assert envs(["-k", "not doc"], proj) == env(proj, "tests")
    assert envs(["-k", "doc or test"], proj) == env(proj, "tests", "docs")
    assert envs(["-k", "doc and test"], proj) is None


def test_keywords_that_are_not_python_are_not_guarded(proj):
    assert plan(["-k", "a b"], proj) is None


def test_tags_choose_among_all_sessions(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(tags=['x'], default=False)\n"
                 "def a(session): pass\n@nox.session\ndef b(session): pass\n")
    assert envs(["-t", "x"], proj) == [str(proj / ".nox" / "a")]
    assert envs(["-t", "y"], proj) is None


def test_parametrize_tags_count(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session\n"
                 "@nox.parametrize('x', [1, 2], tags=[['one'], []])\ndef t(session, x): pass\n")
    assert envs(["-t", "one"], proj) == [str(proj / ".nox" / "t-x-1")]


# --- session names -------------------------------------------------------------------


PYTHONS = '''\
import nox

PYTHONS = ["3.11", "3.12"]

@nox.session(python=PYTHONS)
def tests(session):
    pass

@nox.session(python="3.11")
def one(session):
    pass
'''


def test_a_python_list_makes_one_env_per_python(tmp_path):
    proj = write(tmp_path / "p", PYTHONS)
    assert envs(["-s", "tests"], proj) == env(proj, "tests-3-11", "tests-3-12")


def test_a_single_python_is_named_after_the_session(tmp_path):
    proj = write(tmp_path / "p", PYTHONS)
    assert envs(["-s", "one"], proj) == env(proj, "one")


def test_a_session_python_signature_picks_one(tmp_path):
    proj = write(tmp_path / "p", PYTHONS)
    assert envs(["-s", "tests-3.12"], proj) == env(proj, "tests-3-12")


def test_python_option_keeps_sessions_of_those_pythons(tmp_path):
    proj = write(tmp_path / "p", PYTHONS)
    assert envs(["-p", "3.12"], proj) == env(proj, "tests-3-12")
    assert envs([], proj, NOXPYTHON="3.11") == env(proj, "tests-3-11", "one")


def test_extra_python_adds_a_python_to_sessions_that_have_one(tmp_path):
    proj = write(tmp_path / "p", PYTHONS)
    assert envs(["--extra-python", "3.13", "-s", "one"], proj) == env(proj, "one-3-11",
                                                                       "one-3-13")


def test_force_python_runs_every_session_with_that_python(proj):
    assert envs(["-P", "3.13"], proj) == env(proj, "tests-3-13")
    assert envs([], proj, NOXFORCEPYTHON="3.13") == env(proj, "tests-3-13")


def test_the_session_name_argument_names_the_env(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(name='my-lint')\n"
                 "def lint(session): pass\n")
    assert envs([], proj) == [str(proj / ".nox" / "my-lint")]


def test_from_nox_import_session_counts(tmp_path):
    proj = write(tmp_path / "p", "from nox import session\n@session\ndef t(s): pass\n")
    assert envs([], proj) == [str(proj / ".nox" / "t")]


def test_parametrize_names_each_call(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session\n"
                 "@nox.parametrize('x, y', [(1, 'a'), (2, 'b')], ids=['first'])\n"
                 "def t(session, x, y): pass\n")
    assert envs([], proj) == [str(proj / ".nox" / n) for n in ("t-first", "t-x-2-y-b")]


def test_stacked_parametrize_names_inner_then_outer(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session\n@nox.parametrize('a', [1])\n"
                 "@nox.parametrize('b', [2, 3])\ndef t(session, a, b): pass\n")
    assert envs([], proj) == [str(proj / ".nox" / n) for n in ("t-b-2-a-1", "t-b-3-a-1")]


def test_a_parametrized_python_list_names_python_and_call(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(python=['3.11'])\n"
                 "@nox.parametrize('x', [1])\ndef t(session, x): pass\n")
    assert envs([], proj) == [str(proj / ".nox" / "t-3-11-x-1")]


def test_a_python_parameter_sets_the_python_unless_the_function_takes_it(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session\n"
                 "@nox.parametrize('python', ['3.11'])\ndef t(session): pass\n")
    assert envs(["-p", "3.11"], proj) == [str(proj / ".nox" / "t-python-3-11")]
    proj = write(tmp_path / "q", "import nox\n@nox.session\n"
                 "@nox.parametrize('python', ['3.11'])\ndef t(session, python): pass\n")
    assert plan(["-p", "3.11"], proj) is None


def test_force_python_names_parametrized_calls_without_the_python(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session\n"
                 "@nox.parametrize('x', [1])\ndef t(session, x): pass\n")
    assert envs(["-P", "3.13"], proj) == [str(proj / ".nox" / "t-x-1")]


def test_an_unreadable_parametrize_leaves_its_session_out(tmp_path):
    proj = write(tmp_path / "p", BASIC + "@nox.session\n@nox.parametrize('x', VALUES)\n"
                 "def p(session, x): pass\n")
    assert envs([], proj) == env(proj, "tests")


def test_python_false_makes_no_env(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(python=False)\n"
                 "def t(session): pass\n")
    assert plan([], proj) is None


# --- requires ------------------------------------------------------------------------


def test_requires_adds_prerequisites(tmp_path):
    proj = write(tmp_path / "p", PYTHONS + "@nox.session(requires=['one'])\n"
                 "def cov(session): pass\n")
    assert envs(["-s", "cov"], proj) == env(proj, "cov", "one")


def test_requires_a_python_list_name_adds_all_its_runs(tmp_path):
    proj = write(tmp_path / "p", PYTHONS + "@nox.session(requires=['tests'])\n"
                 "def cov(session): pass\n")
    assert envs(["-s", "cov"], proj) == env(proj, "cov", "tests-3-11", "tests-3-12")


def test_requires_is_formatted_with_the_python(tmp_path):
    proj = write(tmp_path / "p", PYTHONS + "@nox.session(python=['3.12'], "
                 "requires=['tests-{python}'])\ndef cov(session): pass\n")
    assert envs(["-s", "cov"], proj) == env(proj, "cov-3-12", "tests-3-12")


def test_no_dependencies_skips_prerequisites(tmp_path):
    proj = write(tmp_path / "p", PYTHONS + "@nox.session(requires=['one'])\n"
                 "def cov(session): pass\n")
    assert envs(["-s", "cov", "--no-dependencies"], proj) == env(proj, "cov")


def test_a_missing_prerequisite_stops_nox_and_is_not_guarded(tmp_path):
    proj = write(tmp_path / "p", BASIC + "@nox.session(requires=['nope'])\n"
                 "def cov(session): pass\n")
    assert plan(["-s", "cov"], proj) is None


# --- where -----------------------------------------------------------------------------


def test_envdir_option_relative_to_the_noxfile_directory(tmp_path, proj):
    assert envs(["--envdir", "../e"], proj) == [str(tmp_path / "e" / "tests")]


def test_envdir_noxfile_option(tmp_path):
    proj = write(tmp_path / "p", BASIC + "nox.options.envdir = 'envs'\n")
    assert envs([], proj) == [str(proj / "envs" / "tests")]
    assert envs(["--envdir", "/abs"], proj) == ["/abs/tests"]


def test_a_noxfile_elsewhere_puts_envs_beside_it(tmp_path, proj):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    assert envs(["-f", "../proj/noxfile.py"], cwd) == env(proj, "tests")
    assert envs(["--noxfile", "$D/noxfile.py"], cwd, D=str(proj)) == env(proj, "tests")


def test_envs_go_beside_the_real_noxfile_directory(tmp_path, proj):
    (tmp_path / "link").symlink_to(proj)
    assert envs([], tmp_path / "link") == env(proj, "tests")


def test_names_are_made_safe_for_the_filesystem():
    assert nox.normalize_path(".nox", "tests-3.11(x='A b')") == ".nox/tests-3-11-x-a-b"


def test_a_name_with_no_ascii_is_hashed():
    assert nox.normalize_path(".nox", "日本") == os.path.join(
        ".nox", hashlib.sha1("日本".encode()).hexdigest()[:8])


def test_a_too_long_path_is_hashed_as_nox_spells_it():
    long = "t" * 83
    assert nox.normalize_path(".nox", long) == os.path.join(
        ".nox", hashlib.sha1(long.encode()).hexdigest()[:8])
    assert nox.normalize_path(".nox", "t" * 82) == ".nox/" + "t" * 82


def test_the_hashing_length_is_of_the_relative_envdir(tmp_path):
    deep = tmp_path / ("d" * 60)
    proj = write(deep, BASIC.replace("def tests", "def " + "t" * 40))
    assert envs([], proj) == [str(proj / ".nox" / ("t" * 40))]


# --- backends ------------------------------------------------------------------------


def test_the_session_backend_gives_the_shape(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(venv_backend='uv')\n"
                 "def t(session): pass\n")
    assert plan([], proj).targets == [(str(proj / ".nox" / "t"), "uv")]
    assert plan(["-fb", "venv"], proj).targets == [(str(proj / ".nox" / "t"), "venv")]


def test_default_backend_option_and_variable(proj):
    assert plan(["-db", "uv"], proj).targets == [(str(proj / ".nox" / "tests"), "uv")]
    assert plan([], proj, NOX_DEFAULT_VENV_BACKEND="venv").targets == [
        (str(proj / ".nox" / "tests"), "venv")]


def test_a_fallback_backend_takes_the_widest_shape(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(venv_backend='uv|venv')\n"
                 "def t(session): pass\n")
    assert plan([], proj).targets == [(str(proj / ".nox" / "t"), "uv")]


def test_a_conda_session_is_not_guarded(tmp_path):
    proj = write(tmp_path / "p", BASIC + "@nox.session(venv_backend='conda')\n"
                 "def c(session): pass\n")
    assert plan(["-s", "c"], proj) is None
    assert plan(["-s", "uv|conda"], proj) is None


def test_a_noxfile_force_backend_counts(tmp_path):
    proj = write(tmp_path / "p", BASIC + "nox.options.force_venv_backend = 'none'\n")
    assert plan([], proj) is None


def test_odd_input_never_raises(tmp_path):
    proj = write(tmp_path / "p", "import nox\n@nox.session(name=1, tags=3)\n"
                 "@nox.parametrize(*x)\ndef t(s): pass\n@nox.session(requires=['{py']"
                 ", python='3')\ndef u(s): pass\nnox.options.sessions = ('u',)\n")
    for argv in ([], ["-s", "u"], ["-k", "1"], ["-p"], ["-f", ""], ["-f", "/"]):
        plan(argv, proj)


def test_a_kept_nox_env_is_repaired_by_running_the_same_nox_command_again(proj):
    env = str(proj / ".nox" / "tests")
    assert tools.reinstall(["/usr/bin/nox", "-s", "tests"], "virtualenv", env, [("pip", "25")]) \
        == "nox -s tests"


@pytest.mark.parametrize("flag", ["-r", "-R", "--reuse-existing-virtualenvs", "--reuse-venv=yes"])
def test_a_nox_run_that_reuses_envs_is_repaired_by_pip_instead(proj, flag):
    env = str(proj / ".nox" / "tests")
    command = tools.reinstall(["nox", flag, "-s", "tests"], "virtualenv", env, [("pip", "25")])
    assert command == f"{env}/bin/python -m pip install --force-reinstall --no-deps pip==25"
