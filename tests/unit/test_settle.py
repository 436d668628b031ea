"""settle: from a journal entry and how its run ended, to what is done on disk.

Entries are written by hand, as a supervisor that died (kill -9, a crash) leaves
them: named after a pid that is gone, unlocked."""

import fcntl
import json
import os
import time

import pytest
from unit_helpers import make_env

from venvguard import decision, journal, kept, removal, settle


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory, which is also the current directory."""
    path = tmp_path / "project"
    path.mkdir()
    (path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    monkeypatch.chdir(path)
    return path


def write_entry(pid, *, targets, token="abc123", argv=("uv", "sync"), policy="exit",
                cwd=None, data_token=None, **overrides):
    """An orphaned journal entry as a supervisor that died leaves it."""
    data = {
        "venvguard": journal.FORMAT,
        "token": data_token or token,
        "host": os.uname().nodename,
        "boot": journal.boot_id(),
        "owner": [pid, None],
        "tool": [pid, None],
        "started": time.time(),
        "cwd": cwd or os.getcwd(),
        "argv": list(argv),
        "targets": [[str(path), kind] for path, kind in targets],
        "policy": policy,
        "repair": "uv sync --reinstall" if argv[0] == "uv" else None,
    }
    data.update(overrides)
    directory = journal.runs_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, journal.entry_name(pid, token))
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def journal_files():
    try:
        return sorted(os.listdir(journal.runs_dir()))
    except FileNotFoundError:
        return []


def kept_records():
    return [record for _file, record in kept.records()]


# --- orphans: what a dead supervisor's run leaves is settled -----------------------


def test_a_venv_made_by_an_abandoned_run_is_removed_and_its_entry_deleted(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, targets=[(env, decision.ABSENT)])

    assert settle.orphans() == 1

    assert not os.path.lexists(env)
    assert sorted(os.listdir(project)) == ["pyproject.toml"]  # no trash left either
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the cut-short `uv sync`)\n"
    )


def test_a_venv_that_existed_before_an_abandoned_run_is_kept_and_recorded(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, targets=[(env, decision.DIR)])

    assert settle.orphans() == 1

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it existed before; the cut-short `uv sync` may have left it "
        "incomplete; `uv sync --reinstall` repairs it)\n"
    )
    [record] = kept_records()
    assert record["path"] == str(env)
    assert record["reason"] == "existed"
    assert record["argv"] == ["uv", "sync"]
    assert record["repair"] == "uv sync --reinstall"


def test_an_abandoned_uv_run_keeps_what_it_made_because_it_may_have_finished(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, targets=[(env, decision.ABSENT)], argv=("uv", "run", "pytest"),
                policy=decision.SIGNAL_DEATH)

    assert settle.orphans() == 1

    assert env.exists()
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (the cut-short `uv run pytest` may have left it incomplete; "
        "`uv sync --reinstall` repairs it)\n"
    )
    [record] = kept_records()
    assert record["reason"] == "unknown"


def test_a_corrupt_entry_is_set_aside_and_nothing_else_is_touched(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    directory = journal.runs_dir()
    os.makedirs(directory)
    corrupt = os.path.join(directory, journal.entry_name(dead_pid, "abc123"))
    with open(corrupt, "w") as f:
        f.write('{"venvguard": 1, "targets": [["' + str(env))  # cut off mid-write

    assert settle.orphans() == 0

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == [f"{dead_pid}.abc123.json.corrupt"]
    assert journal.listing() == []  # the prompt hook stops finding it
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"venvguard: journal entry {corrupt} is unreadable: not valid JSON")
    assert err.endswith(f"set aside as {dead_pid}.abc123.json.corrupt, no environment touched\n")


@pytest.mark.parametrize(
    "overrides",
    [{"tool": []}, {"argv": ["uv", 1]}, {"data_token": "../../x"}],
    ids=["tool-empty", "argv-not-strings", "token-a-path"],
)
def test_an_entry_with_a_malformed_field_is_set_aside_without_a_traceback(
    project, dead_pid, capsys, overrides
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, targets=[(env, decision.ABSENT)], **overrides)

    assert settle.orphans() == 0

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == [f"{dead_pid}.abc123.json.corrupt"]
    assert "is unreadable" in capsys.readouterr().err


def test_an_entry_from_another_host_is_left_alone(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid, targets=[(env, decision.ABSENT)], host="some-other-host")

    assert settle.orphans() == 0

    assert env.exists()
    assert os.path.exists(entry)
    assert capsys.readouterr().err == ""


def test_an_entry_whose_lock_is_held_is_left_alone(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid, targets=[(env, decision.ABSENT)])
    fd = os.open(entry, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert settle.orphans() == 0
    finally:
        os.close(fd)

    assert env.exists()
    assert os.path.exists(entry)
    assert capsys.readouterr().err == ""


def test_an_entry_whose_tool_still_runs_is_left_alone_under_the_tools_pid(
    project, dead_pid, live_child, monkeypatch
):
    monkeypatch.setattr(settle, "TOOL_GRACE", 0.05)
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid, targets=[(env, decision.ABSENT)],
                        tool=[live_child.pid, journal.start_time(live_child.pid)])

    assert settle.orphans() == 0

    assert env.exists()
    assert not os.path.exists(entry)
    # Named after the live tool, the prompt hooks skip it without starting Python.
    renamed = os.path.join(os.path.dirname(entry), journal.entry_name(live_child.pid, "abc123"))
    assert os.path.exists(renamed)
    assert journal.claim(renamed) is not None  # and not left locked


def test_a_run_cut_short_by_a_reboot_keeps_an_environment_written_since(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")  # written now, long after this machine booted
    entry = write_entry(dead_pid, targets=[(env, decision.ABSENT)], boot="an-earlier-boot")

    assert settle.orphans() == 1

    assert env.exists()
    assert not os.path.exists(entry)
    err = capsys.readouterr().err
    assert "kept .venv (it was written after the cut-short `uv sync` ended" in err


def test_a_run_cut_short_by_a_reboot_removes_what_it_left_before_the_reboot(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    before_boot = journal.boot_time() - 3600
    for path in (env, env / "pyvenv.cfg"):
        os.utime(path, (before_boot, before_boot))
    write_entry(dead_pid, targets=[(env, decision.ABSENT)], boot="an-earlier-boot")

    assert settle.orphans() == 1

    assert not env.exists()
    assert "removed .venv (made by the cut-short `uv sync`)" in capsys.readouterr().err


def test_a_leftover_trash_directory_is_deleted_pyvenv_cfg_last(project, dead_pid, monkeypatch):
    # A background deletion was cut short: the env is already set aside.
    trash = make_env(project / f"{removal.TRASH_PREFIX}abc123-0")
    entry = write_entry(dead_pid, targets=[(project / ".venv", decision.ABSENT)])
    events = []
    real_unlink, real_rmdir = os.unlink, os.rmdir

    def unlink(path, *args, dir_fd=None, **kwargs):
        events.append(("unlink", os.fspath(path), dir_fd))
        return real_unlink(path, *args, dir_fd=dir_fd, **kwargs)

    def rmdir(path, *args, dir_fd=None, **kwargs):
        events.append(("rmdir", os.fspath(path), dir_fd))
        return real_rmdir(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "rmdir", rmdir)

    assert settle.orphans() == 1

    assert not os.path.lexists(trash)
    assert journal_files() == []
    names = [os.path.basename(path) for _op, path, _fd in events]
    cfg = names.index("pyvenv.cfg")
    # Every other file of the environment went first, then pyvenv.cfg, then the
    # directory itself, then the journal entry.
    assert {"python", "__init__.py"} <= set(names[:cfg])
    assert events[cfg + 1:] == [("rmdir", str(trash), None), ("unlink", entry, None)]


def test_a_dry_run_changes_nothing_and_says_what_it_would_settle(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid, targets=[(env, decision.ABSENT)])

    assert settle.orphans(dry_run=True) == 1

    assert (env / "pyvenv.cfg").exists()
    assert os.path.exists(entry)
    assert journal.claim(entry) is not None  # released again
    assert kept_records() == []
    assert capsys.readouterr().err == (
        f"venvguard: would settle {entry}: uv sync was cut short\n"
    )


def test_a_dry_run_leaves_a_corrupt_entry_where_it_is(project, dead_pid, capsys):
    directory = journal.runs_dir()
    os.makedirs(directory)
    corrupt = os.path.join(directory, journal.entry_name(dead_pid, "abc123"))
    with open(corrupt, "w") as f:
        f.write("[]")

    assert settle.orphans(dry_run=True) == 0

    assert os.path.exists(corrupt)
    assert capsys.readouterr().err == (
        f"venvguard: journal entry {corrupt} is unreadable: not a JSON object\n"
    )


def test_orphans_without_a_journal_settle_nothing(project, capsys):
    assert settle.orphans() == 0
    assert capsys.readouterr().err == ""


def test_a_symlink_venv_made_by_the_run_is_unlinked_and_its_target_kept(
    project, tmp_path, dead_pid, capsys
):
    elsewhere = make_env(tmp_path / "central" / "env")
    link = project / ".venv"
    link.symlink_to(elsewhere)
    write_entry(dead_pid, targets=[(link, decision.ABSENT)])

    assert settle.orphans() == 1

    assert not os.path.lexists(link)
    assert (elsewhere / "pyvenv.cfg").exists()
    assert (elsewhere / "bin" / "python").exists()
    assert capsys.readouterr().err == (
        "venvguard: removed the link .venv (made by the cut-short `uv sync`; "
        "what it points to is untouched)\n"
    )


def test_a_venv_holding_a_git_directory_is_kept_as_foreign(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    (env / ".git").mkdir()
    write_entry(dead_pid, targets=[(env, decision.ABSENT)])

    settle.orphans()

    assert (env / ".git").exists()
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it holds files no environment tool writes)\n"
    )


def test_a_target_that_is_the_current_directory_is_kept(project, dead_pid, capsys):
    write_entry(dead_pid, targets=[(project, decision.ABSENT)],
                argv=("uv", "venv", "."), cwd=str(project))
    (project / "pyproject.toml").unlink()  # not even a marker saves it: protection does

    settle.orphans()

    assert project.is_dir()
    assert capsys.readouterr().err == (
        f"venvguard: kept {project} (it is the current directory or holds it; "
        "the cut-short `uv venv .` may have left it incomplete)\n"
    )


def test_a_target_another_live_run_is_using_is_kept_as_busy(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    write_entry(dead_pid, targets=[(env, decision.ABSENT)], token="dead01")
    live = write_entry(os.getpid(), targets=[(env, decision.ABSENT)], token="live01")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # its supervisor is alive
    try:
        assert settle.orphans() == 1
    finally:
        os.close(fd)

    assert env.exists()
    assert journal_files() == [os.path.basename(live)]
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (another guarded run is using it)\n"
    )


def test_a_target_that_is_gone_is_settled_silently(project, dead_pid, capsys):
    write_entry(dead_pid, targets=[(project / ".venv", decision.ABSENT)])

    assert settle.orphans() == 1

    assert journal_files() == []
    assert capsys.readouterr().err == ""


def test_every_target_of_a_run_is_settled(project, dead_pid, capsys):
    made = make_env(project / "env")
    redirect = project / ".venv"
    redirect.write_text("env\n")
    write_entry(dead_pid, targets=[(made, decision.ABSENT), (redirect, decision.ABSENT)],
                argv=("virtualenv", "env"))

    settle.orphans()

    assert not os.path.lexists(made)
    assert not os.path.lexists(redirect)
    assert capsys.readouterr().err == (
        "venvguard: removed env (made by the cut-short `virtualenv env`)\n"
        "venvguard: removed the link .venv (made by the cut-short `virtualenv env`; "
        "what it points to is untouched)\n"
    )


# --- conclude: a run that ended under its supervisor -------------------------------------


def create_entry(targets, argv=("uv", "sync"), policy="exit"):
    return journal.create(journal.new_data(
        argv=list(argv), cwd=os.getcwd(), targets=[[str(p), k] for p, k in targets],
        policy=policy, repair="uv sync --reinstall", tool_pid=os.getpid(),
        token=os.urandom(6).hex(),
    ))


def test_a_finished_run_forgets_kept_records_of_its_targets_and_says_nothing(project, capsys):
    env = make_env(project / ".venv")
    kept.remember(str(env), reason="existed", argv=["uv", "sync"], repair="uv sync --reinstall")
    kept.remember("/elsewhere/.venv", reason="existed", argv=["uv", "sync"], repair=None)
    entry = create_entry([(env, decision.DIR)])

    settle.conclude(entry, decision.FINISHED)

    assert env.exists()
    assert [r["path"] for r in kept_records()] == ["/elsewhere/.venv"]
    assert journal_files() == []
    assert capsys.readouterr().err == ""


def test_a_finished_run_leaves_a_venv_it_made(project, capsys):
    env = make_env(project / ".venv")
    entry = create_entry([(env, decision.ABSENT)])

    settle.conclude(entry, decision.FINISHED)

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == []
    assert capsys.readouterr().err == ""


def test_an_interrupted_run_says_interrupted(project, capsys):
    env = make_env(project / ".venv")
    entry = create_entry([(env, decision.ABSENT)])

    settle.conclude(entry, decision.INTERRUPTED, background=False)

    assert not os.path.lexists(env)
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the interrupted `uv sync`)\n"
    )


def test_a_failed_run_says_failed(project, capsys):
    env = make_env(project / ".venv")
    entry = create_entry([(env, decision.ABSENT)], argv=("python3", "-m", "venv", ".venv"))

    settle.conclude(entry, decision.FAILED, background=False)

    assert not os.path.lexists(env)
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the failed `python3 -m venv .venv`)\n"
    )


def test_an_interrupted_run_removes_the_venv_at_once_and_deletes_it_in_the_background(
    project, monkeypatch
):
    env = make_env(project / ".venv")
    entry = create_entry([(env, decision.ABSENT)])
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    settle.conclude(entry, decision.INTERRUPTED)  # background=True, as the supervisor does

    assert not os.path.lexists(env)  # gone under its name at once
    [deleter] = forked
    os.waitpid(deleter, 0)
    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    assert journal_files() == []


def test_a_venv_that_cannot_be_set_aside_is_kept_and_recorded(project, monkeypatch, capsys):
    env = make_env(project / ".venv")
    entry = create_entry([(env, decision.ABSENT)])

    def refuse(path, trash):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(removal, "set_aside", refuse)
    settle.conclude(entry, decision.INTERRUPTED, background=False)

    assert env.exists()
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: could not remove .venv (Permission denied); it may be incomplete\n"
    )
    [record] = kept_records()
    assert record["reason"] == "unremovable"


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (decision.INTERRUPTED, "the interrupted `uv sync`"),
        (decision.FAILED, "the failed `uv sync`"),
        (decision.CUT_SHORT, "the cut-short `uv sync`"),
        (decision.UNKNOWN, "the cut-short `uv sync`"),
    ],
)
def test_describe_run_names_how_the_run_ended(outcome, words):
    assert settle.describe_run(outcome, ["/usr/bin/uv", "sync"]) == words


def test_a_dry_run_leaves_an_entry_whose_tool_still_runs_under_its_name(
    project, dead_pid, live_child, monkeypatch
):
    monkeypatch.setattr(settle, "TOOL_GRACE", 0.05)
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid, targets=[(env, decision.ABSENT)],
                        tool=[live_child.pid, journal.start_time(live_child.pid)])

    assert settle.orphans(dry_run=True) == 0

    assert os.path.exists(entry), "a dry run renamed the journal entry"
