"""The settings: defaults, config.toml, variables over both, and bad files that
never stand between a user and a tool."""

import json
import os
import subprocess
import sys

import pytest

from venvguard import config

VARIABLES = ("VENVGUARD_CONFIG", "VENVGUARD_UNGUARDED", "VENVGUARD_FAILED_RUNS",
             "VENVGUARD_QUIET", "VENVGUARD_SNAPSHOT", "XDG_CONFIG_HOME")


@pytest.fixture(autouse=True)
def no_settings_variables(monkeypatch, tmp_path):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def write_config(tmp_path, text: str):
    file = tmp_path / "config" / "venvguard" / "config.toml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    return file


# --- where the file is ---------------------------------------------------------------


def test_the_file_is_in_xdg_config_home():
    assert config.path({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}) == "/x/venvguard/config.toml"


def test_without_xdg_config_home_the_file_is_in_dot_config():
    assert config.path({"HOME": "/h"}) == "/h/.config/venvguard/config.toml"


def test_a_relative_xdg_config_home_counts_as_unset():
    assert config.path({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) == \
        "/h/.config/venvguard/config.toml"


def test_venvguard_config_names_another_file():
    assert config.path({"VENVGUARD_CONFIG": "/etc/vg.toml", "HOME": "/h"}) == "/etc/vg.toml"


# --- defaults and the file -------------------------------------------------------------


def test_without_a_file_every_setting_is_its_default():
    settings = config.load()
    assert (settings.unguarded, settings.failed_runs, settings.quiet, settings.snapshot) == \
        ((), "remove", False, False)
    assert set(settings.source.values()) == {"default"}
    assert settings.problem is None


def test_a_file_sets_what_it_names_and_leaves_the_rest_at_their_defaults(tmp_path):
    file = write_config(tmp_path, 'quiet = true\nunguarded = ["pip", "uv pip install"]\n')
    settings = config.load()
    assert settings.quiet is True and settings.unguarded == ("pip", "uv pip install")
    assert settings.source["quiet"] == str(file) and settings.source["snapshot"] == "default"


def test_a_variable_overrides_the_file(tmp_path, monkeypatch):
    write_config(tmp_path, "quiet = true\n")
    monkeypatch.setenv("VENVGUARD_QUIET", "0")
    settings = config.load()
    assert settings.quiet is False and settings.source["quiet"] == "VENVGUARD_QUIET"


def test_failed_runs_keep_from_a_variable(monkeypatch):
    monkeypatch.setenv("VENVGUARD_FAILED_RUNS", "keep")
    assert config.load().failed_runs == "keep"


def test_unguarded_from_a_variable_is_comma_separated(monkeypatch):
    monkeypatch.setenv("VENVGUARD_UNGUARDED", "pip, uv pip install,")
    assert config.load().unguarded == ("pip", "uv pip install")


@pytest.mark.parametrize("word, value", [("1", True), ("yes", True), ("TRUE", True),
                                         ("0", False), ("no", False), ("", False)])
def test_snapshot_variable_words(monkeypatch, word, value):
    monkeypatch.setenv("VENVGUARD_SNAPSHOT", word)
    assert config.load().snapshot is value


def test_a_bad_variable_is_ignored_and_said(monkeypatch):
    monkeypatch.setenv("VENVGUARD_QUIET", "loud")
    settings = config.load()
    assert settings.quiet is False
    assert settings.problem == "VENVGUARD_QUIET='loud': must be 1 or 0; ignored"


# --- bad files: one line, defaults for all ------------------------------------------------


@pytest.mark.parametrize("text, said", [
    ('quiet = true\nquite = true\n', "line 2: quite: not a setting"),
    ('quiet = "yes"\n', 'line 1: quiet: must be true or false'),
    ('failed-runs = "delete"\n', 'line 1: failed-runs: must be "remove" or "keep"'),
    ('unguarded = "pip"\n', "line 1: unguarded: must be a list of commands"),
    ('unguarded = ["pip", ""]\n', "line 1: unguarded: must be a list of commands"),
    ('  snapshot = 1\n', "line 1: snapshot: must be true or false"),
], ids=["unknown-key", "quiet-string", "failed-runs-word", "unguarded-string",
        "unguarded-empty-item", "snapshot-number"])
def test_a_bad_setting_names_the_file_line_and_key_and_nothing_applies(tmp_path, text, said):
    file = write_config(tmp_path, text)
    settings = config.load()
    assert settings.problem.startswith(f"{file}, {said}")
    assert settings.problem.endswith("using the defaults")
    assert "\n" not in settings.problem
    assert set(settings.source.values()) == {"default"}


def test_a_file_that_is_not_toml_is_one_line_with_its_position(tmp_path):
    file = write_config(tmp_path, "quiet = true\nquiet =\n")
    settings = config.load()
    assert settings.problem.startswith(f"{file}: ") and "line 2" in settings.problem
    assert settings.quiet is False


def test_a_file_that_is_not_utf8_falls_back_to_the_defaults(tmp_path):
    file = write_config(tmp_path, "")
    file.write_bytes(b"quiet = true # \xff\n")
    assert config.load().problem == f"{file}: not UTF-8; using the defaults"


def test_an_unreadable_file_falls_back_to_the_defaults(tmp_path):
    file = write_config(tmp_path, "quiet = true\n")
    file.unlink()
    file.mkdir()  # opening a directory fails as an unreadable file does, even as root
    settings = config.load()
    assert settings.problem.startswith(f"{file}: ") and settings.quiet is False


# --- which commands the user left unguarded ------------------------------------------------


def settings_with(*unguarded):
    settings = config.Settings()
    settings.unguarded = unguarded
    return settings


@pytest.mark.parametrize("entry, argv, matched", [
    ("pip", ["pip", "install", "x"], True),
    ("pip", ["/usr/bin/pip", "install", "x"], True),
    ("pip", ["pip3", "install", "x"], False),
    ("uv pip", ["uv", "--quiet", "pip", "install", "x"], True),
    ("uv pip install", ["uv", "pip", "sync", "r.txt"], False),
    ("python3 -m venv", ["python3", "-m", "venv", ".venv"], True),
    ("poetry add", ["poetry", "install"], False),
    ("uv sync", ["uv"], False),
])
def test_an_unguarded_entry_matches_the_program_and_then_its_words_in_order(entry, argv,
                                                                             matched):
    assert config.unguarded(settings_with(entry), argv) is matched


def test_nothing_is_unguarded_by_default():
    assert config.unguarded(config.Settings(), ["uv", "sync"]) is False


# --- the hot path -----------------------------------------------------------------------


def test_loading_without_a_file_imports_no_toml_parser():
    code = ("import sys; from venvguard import config; s = config.load(); "
            "print('tomllib' in sys.modules, s.problem)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, check=True).stdout
    assert out.split() == ["False", "None"]


# --- the settings in a guarded run (a stand-in `uv venv` that makes .venv, then fails
# or dies of SIGINT, as the decision needs; the real tools are the e2e tests' part) ----

FAKE_UV = """#!{python}
import os, signal, sys
os.mkdir(".venv")
with open(".venv/pyvenv.cfg", "w") as f:
    f.write("home = /usr/bin\\n")
if os.environ.get("FAKE_UV_END") == "sigint":
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
sys.exit(1)
"""


def guarded_uv_venv(tmp_path, end: str, **variables):
    """`venvguard exec -- uv venv` in a fresh project: (exit status, stderr, .venv left?)."""
    bin_dir, project = tmp_path / "bin", tmp_path / "project"
    bin_dir.mkdir()
    project.mkdir()
    uv = bin_dir / "uv"
    uv.write_text(FAKE_UV.format(python=sys.executable))
    uv.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_UV_END": end,
           **variables}
    done = subprocess.run([sys.executable, "-m", "venvguard", "exec", "--", "uv", "venv"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stderr, (project / ".venv").exists()


def test_by_default_a_failed_run_that_made_the_env_removes_it(tmp_path):
    code, said, left = guarded_uv_venv(tmp_path, "fail")
    assert (code, left) == (1, False) and "removed .venv" in said


def test_failed_runs_keep_keeps_the_env_a_failed_run_made(tmp_path):
    write_config(tmp_path, 'failed-runs = "keep"\n')
    code, said, left = guarded_uv_venv(tmp_path, "fail")
    assert (code, left, said) == (1, True, "")


def test_failed_runs_keep_still_removes_the_env_of_an_interrupted_run(tmp_path):
    write_config(tmp_path, 'failed-runs = "keep"\n')
    code, _said, left = guarded_uv_venv(tmp_path, "sigint")
    assert (code, left) == (-2, False)


def test_quiet_leaves_out_the_removal_notice(tmp_path):
    code, said, left = guarded_uv_venv(tmp_path, "sigint", VENVGUARD_QUIET="1")
    assert (code, left, said) == (-2, False, "")


def test_an_unguarded_command_runs_as_if_venvguard_were_not_there(tmp_path):
    code, said, left = guarded_uv_venv(tmp_path, "fail", VENVGUARD_UNGUARDED="uv venv")
    assert (code, left, said) == (1, True, "")


def test_a_bad_config_is_said_in_one_line_and_the_run_is_guarded_by_the_defaults(tmp_path):
    file = write_config(tmp_path, "quite = true\n")
    code, said, left = guarded_uv_venv(tmp_path, "fail")
    lines = said.splitlines()
    assert (code, left) == (1, False)
    assert lines[0] == (f"venvguard: {file}, line 1: quite: not a setting (unguarded, "
                        "failed-runs, quiet, snapshot are); using the defaults")
    assert "removed .venv" in lines[1]


# --- venvguard config -----------------------------------------------------------------


def test_config_lines_show_each_setting_with_its_source(tmp_path, monkeypatch):
    file = write_config(tmp_path, 'unguarded = ["pip"]\n')
    monkeypatch.setenv("VENVGUARD_QUIET", "1")
    shown = config.lines(config.load())
    assert shown[0] == f"file         {file}"
    assert shown[1].split() == ["unguarded", '["pip"]', str(file)]
    assert shown[3].split() == ["quiet", "true", "VENVGUARD_QUIET"]
    assert shown[4].split() == ["snapshot", "false", "default"]


def test_config_lines_say_when_there_is_no_file(tmp_path):
    assert config.lines(config.load())[0].endswith("(none: the defaults)")


def test_config_report_carries_the_problem_and_the_defaults(tmp_path):
    write_config(tmp_path, "quiet = 3\n")
    report = config.report(config.load())
    assert "quiet: must be true or false" in report["problem"]
    assert report["settings"]["unguarded"] == {"value": [], "source": "default"}


def test_venvguard_config_json_shows_the_problem_and_exits_1(tmp_path):
    file = write_config(tmp_path, "quiet = 3\n")
    done = subprocess.run([sys.executable, "-m", "venvguard", "config", "--json"],
                          capture_output=True, text=True, timeout=30)
    shown = json.loads(done.stdout)
    assert done.returncode == 1 and shown["file"] == str(file)
    assert shown["settings"]["quiet"] == {"value": False, "source": "default"}


def test_venvguard_config_exits_0_with_a_good_file(tmp_path):
    write_config(tmp_path, "quiet = true\n")
    done = subprocess.run([sys.executable, "-m", "venvguard", "config"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "quiet        true" in done.stdout
