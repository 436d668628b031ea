"""venvguard clean --json: one JSON object on stdout naming, for each cut-short run,
what settling it did (with --dry-run: would do) to each target, and why."""

import json
import os
import subprocess
import sys

from test_settle import entry_path, journal_files, new_token, tree, write_entry, write_raw
from unit_helpers import make_env

from venvguard import clean, journal, kept
from venvguard.decision import ABSENT, DIR


def clean_json(*args: str):
    """`venvguard clean --json ARGS` as the installed command runs it (entry.py's fast
    path), in the current directory: (the parsed stdout, stderr, exit status)."""
    result = subprocess.run([sys.executable, "-m", "venvguard", "clean", "--json", *args],
                            capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout), result.stderr, result.returncode


def test_nothing_to_settle_is_an_empty_list_and_exit_0(project):
    data, err, code = clean_json()
    assert data == {"dry_run": False, "settled": [], "unreadable": []}
    assert (err, code) == ("", 0)


def test_nothing_to_settle_dry_is_an_empty_list_too(project):
    data, _err, code = clean_json("--dry-run")
    assert data == {"dry_run": True, "settled": [], "unreadable": []}
    assert code == 0


def test_a_cut_short_run_that_made_an_env_is_reported_removed(project, dead_pid):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid)

    data, err, code = clean_json()

    assert code == 0
    assert not os.path.lexists(env)
    assert journal_files() == []
    [run] = data["settled"]
    assert run["entry"] == entry
    assert run["argv"] == ["uv", "sync"]
    assert run["cwd"] == str(project)
    assert run["outcome"] == "cut-short"
    assert run["targets"] == [{
        "path": str(env), "existed": False, "action": "removed", "reason": "created",
        "message": "removed .venv (made by the cut-short `uv sync`)",
    }]
    # The one-line message is still said, on stderr: stdout holds the JSON alone.
    assert err == "venvguard: removed .venv (made by the cut-short `uv sync`)\n"


def test_dry_run_reports_would_remove_and_touches_nothing(project, dead_pid):
    env = make_env(project / ".venv")
    before = tree(project)
    entry = write_entry(dead_pid)

    data, err, code = clean_json("--dry-run")

    assert code == 0
    assert tree(project) == before
    assert journal_files() == [os.path.basename(entry)]  # left for the real settle
    [run] = data["settled"]
    assert run["outcome"] == "cut-short"
    assert run["targets"] == [{
        "path": str(env), "existed": False, "action": "would-remove", "reason": "created",
        "message": "would remove .venv (made by the cut-short `uv sync`)",
    }]
    assert err == f"venvguard: would settle {entry}: uv sync was cut short\n"
    # ... and the real settle then does what the dry run said.
    data, _err, _code = clean_json()
    assert data["settled"][0]["targets"][0]["action"] == "removed"
    assert not os.path.lexists(env)


def test_dry_run_with_n_and_json_in_either_order(project, dead_pid):
    make_env(project / ".venv")
    write_entry(dead_pid)
    result = subprocess.run([sys.executable, "-m", "venvguard", "clean", "--json", "-n"],
                            capture_output=True, text=True, timeout=60)
    assert json.loads(result.stdout)["settled"][0]["targets"][0]["action"] == "would-remove"
    assert (project / ".venv" / "pyvenv.cfg").exists()


def test_an_env_that_existed_before_is_reported_kept_and_checked(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    write_entry(dead_pid, existed=DIR)

    assert clean.run(as_json=True) == 0

    [run] = json.loads(capsys.readouterr().out)["settled"]
    assert run["targets"] == [{
        "path": str(env), "existed": True, "action": "kept", "reason": "existed",
        "message": "kept .venv (it existed before); the cut-short `uv sync` touched no package",
        "damage": None, "repair": None, "swept": [],
    }]
    assert (env / "pyvenv.cfg").exists()


def test_a_forged_entry_is_reported_kept_as_unplanned_and_dry_run_remembers_nothing(
    project, tmp_path, dead_pid, capsys
):
    victim = make_env(tmp_path / "victim" / ".venv")
    write_entry(dead_pid, targets=[(victim, ABSENT, "uv")])

    clean.run(dry_run=True, as_json=True)
    [row] = json.loads(capsys.readouterr().out)["settled"][0]["targets"]
    assert (row["action"], row["reason"]) == ("would-keep", "unplanned")
    assert row["message"].startswith(f"would keep {victim} (the journal names it")
    assert list(kept.records()) == []

    clean.run(as_json=True)
    [row] = json.loads(capsys.readouterr().out)["settled"][0]["targets"]
    assert (row["action"], row["reason"]) == ("kept", "unplanned")
    assert (victim / "pyvenv.cfg").exists()


def test_an_unreadable_entry_is_listed_apart_and_set_aside(project, dead_pid, capsys):
    path = write_raw(entry_path(dead_pid, new_token()), "{not json")

    clean.run(dry_run=True, as_json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["settled"] == []
    [bad] = data["unreadable"]
    assert bad["entry"] == path and "not valid JSON" in bad["error"]
    assert bad["set_aside"] is None
    assert journal.listing() == [path]  # a dry run sets nothing aside

    clean.run(as_json=True)
    assert json.loads(capsys.readouterr().out)["unreadable"][0]["set_aside"] == path + ".corrupt"


def test_without_json_the_messages_are_as_before(project, dead_pid, capsys):
    make_env(project / ".venv")
    entry = write_entry(dead_pid)
    assert clean.run(dry_run=True) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"venvguard: would settle {entry}: uv sync was cut short\n"
    clean.run()
    assert capsys.readouterr().err == "venvguard: removed .venv (made by the cut-short `uv sync`)\n"
    clean.run()
    assert capsys.readouterr().err == "venvguard: nothing to settle\n"
