"""settle: from a journal entry and how its run ended, to what is done on disk.

Orphaned entries are written by hand, as a supervisor that died (kill -9, a crash,
a reboot) leaves them: named after a pid that is gone, unlocked, in FORMAT 2, with
each target's anchor taken from the real directory and an argv that plans again to
exactly those targets (settle checks that it does)."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import uv
from unit_helpers import make_env

from venvguard import decision, journal, kept, processes, removal, settle, tools
from venvguard.decision import ABSENT, DIR, FILE

HOUR = 3600.0


@pytest.fixture(autouse=True)
def quick_grace(monkeypatch):
    """A process that ignores SIGTERM gets SIGKILL sooner than in real runs."""
    monkeypatch.setattr(processes, "GRACE", 0.2)


def new_token():
    """A fresh run token for each entry: processes are found by it, so that nothing
    of a guarded run elsewhere on this machine is ever ended by these tests."""
    return os.urandom(6).hex()


def anchor_of(path):
    """[nearest existing directory above path, its device, its inode], as the
    supervisor records it before the run."""
    fd, anchor = removal.hold_anchor(str(path))
    os.close(fd)
    return anchor


def target(path, existed, shape):
    return {"path": str(path), "existed": existed, "shape": shape, "anchor": anchor_of(path)}


def entry_data(pid, *, token, existed=ABSENT, argv=("uv", "sync"), cwd=None, environ=None,
               targets=None, **overrides):
    """The data a supervisor writes for `argv` run in `cwd` (default: the current
    directory) with `environ`: its targets are the command's own plan, each with
    `existed` (one kind for all, or one per target), unless `targets` is given as
    (path, existed, shape) triples."""
    cwd = str(cwd or os.getcwd())
    recorder = tools.Recorder(dict(environ or {}))
    plan = tools.plan(list(argv), cwd, recorder)
    if targets is None:
        assert plan is not None, f"{argv} plans no targets in {cwd}"
        kinds = [existed] * len(plan.targets) if isinstance(existed, str) else list(existed)
        targets = [
            (path, kind, shape)
            for (path, shape), kind in zip(plan.targets, kinds, strict=True)
        ]
    data = {
        "venvguard": journal.FORMAT,
        "token": token,
        "host": os.uname().nodename,
        "boot": processes.boot_id(),
        "owner": [pid, None],
        "started": 0.0,  # long before anything the tests make
        "cwd": cwd,
        "argv": list(argv),
        "environ": recorder.read,
        "targets": [target(*t) for t in targets],
        "policy": plan.policy if plan else decision.ANY_FAILURE,
        "repair": plan.repair if plan else None,
    }
    data.update(overrides)
    return data


def runs_dir():
    directory = journal.runs_dir()
    journal.private_dir(os.path.dirname(os.path.dirname(directory)))
    journal.private_dir(directory)
    return directory


def entry_path(pid, token):
    return os.path.join(runs_dir(), journal.entry_name(pid, token))


def write_raw(path, content):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    return path


def write_entry(pid, *, token=None, **kwargs):
    """An orphaned journal entry as a supervisor that died leaves it; its path."""
    token = token or new_token()
    data = entry_data(pid, token=token, **kwargs)
    return write_raw(entry_path(pid, token), json.dumps(data))


def age(path, seconds_ago):
    """Set the modification time of path and of everything below it back."""
    when = time.time() - seconds_ago
    below = []
    if path.is_dir() and not path.is_symlink():
        for top, dirs, files in os.walk(path):
            below += [os.path.join(top, n) for n in dirs + files]
    for each in [*below, path]:
        os.utime(each, (when, when), follow_symlinks=False)


def heartbeat_stopped(entry, seconds_ago):
    """The entry's last heartbeat (its mtime) was this long ago."""
    when = time.time() - seconds_ago
    os.utime(entry, (when, when))


def journal_files():
    try:
        return sorted(os.listdir(journal.runs_dir()))
    except FileNotFoundError:
        return []


def kept_records():
    return [record for _file, record in kept.records()]


def tree(path):
    """Every path below `path`, with file contents: to show nothing was touched."""
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs:
            out[os.path.relpath(os.path.join(root, name), path)] = None
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                out[os.path.relpath(os.path.join(root, name), path)] = f.read()
    return out


# --- orphans: what a dead supervisor's run leaves is settled -----------------------


def test_a_venv_made_by_an_abandoned_run_is_removed_and_its_entry_deleted(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid)

    assert settle.orphans() == 1

    assert not os.path.lexists(env)
    assert sorted(os.listdir(project)) == ["pyproject.toml"]  # no trash left either
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the cut-short `uv sync`)\n"
    )


def test_a_venv_really_made_by_python_m_venv_is_removed_without_following_lib64(
    project, dead_pid, capsys
):
    """A real venv has a lib64 -> lib link at its top: an allowed name, unlinked and
    never followed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "env"], check=True)
    write_entry(dead_pid, argv=("python3", "-m", "venv", "--without-pip", "env"))

    assert settle.orphans() == 1

    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    assert capsys.readouterr().err == (
        "venvguard: removed env (made by the cut-short `python3 -m venv --without-pip env`)\n"
    )


def test_a_venv_really_made_by_uv_venv_is_removed(project, tmp_path, dead_pid, monkeypatch,
                                                   capsys):
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    argv = ["venv", "--python", sys.executable]
    subprocess.run([uv.find_uv_bin(), *argv], check=True, capture_output=True)
    assert (project / ".venv" / "pyvenv.cfg").exists()
    write_entry(dead_pid, argv=("uv", *argv))

    assert settle.orphans() == 1

    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    assert "venvguard: removed .venv (made by the cut-short `uv venv" in capsys.readouterr().err


def test_a_venv_that_existed_before_an_abandoned_run_is_kept_and_said_whole(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, existed=DIR)

    assert settle.orphans() == 1

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it existed before); the cut-short `uv sync` touched no package\n"
    )
    assert kept_records() == []  # nothing broken to remember


def test_an_abandoned_uv_run_keeps_what_it_made_because_it_may_have_finished(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, argv=("uv", "run", "pytest"))  # planned with policy "signal"

    assert settle.orphans() == 1

    assert env.exists()
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (the cut-short `uv run pytest` may have left it incomplete; "
        "`uv sync --reinstall` repairs it)\n"
    )
    [record] = kept_records()
    assert record["reason"] == "unknown"


def test_the_recorded_environment_variables_are_what_the_command_is_planned_with(
    project, dead_pid, capsys
):
    """uv sync with UV_PROJECT_ENVIRONMENT=env made ./env: the entry holds the variable,
    so the settle plans the same target again, whatever its own environment says."""
    env = make_env(project / "env")
    write_entry(dead_pid, environ={"UV_PROJECT_ENVIRONMENT": "env", "UNRELATED": "x"})

    assert settle.orphans() == 1

    assert not os.path.lexists(env)
    assert capsys.readouterr().err == "venvguard: removed env (made by the cut-short `uv sync`)\n"


def test_a_target_that_is_gone_is_settled_silently(project, dead_pid, capsys):
    write_entry(dead_pid)

    assert settle.orphans() == 1

    assert journal_files() == []
    assert capsys.readouterr().err == ""


def test_every_target_of_a_run_is_settled(project, dead_pid, capsys):
    made = make_env(project / "env")
    redirect = project / ".venv"
    redirect.write_text("env\n")
    write_entry(dead_pid, argv=("virtualenv", "env"))  # env, and the .venv redirect

    assert settle.orphans() == 1

    assert not os.path.lexists(made)
    assert not os.path.lexists(redirect)
    assert capsys.readouterr().err == (
        "venvguard: removed env (made by the cut-short `virtualenv env`)\n"
        "venvguard: removed .venv (the redirect file made by the cut-short `virtualenv env`)\n"
    )


def test_a_redirect_file_that_existed_before_is_left_silently(project, dead_pid, capsys):
    """virtualenv leaves a redirect it found alone: nothing to say about it."""
    redirect = project / ".venv"
    redirect.write_text("elsewhere\n")
    write_entry(dead_pid, argv=("virtualenv", "env"), existed=(ABSENT, FILE))

    settle.orphans()

    assert redirect.read_text() == "elsewhere\n"
    assert capsys.readouterr().err == ""


def test_a_directory_where_the_redirect_file_was_to_be_is_kept(project, dead_pid, capsys):
    directory = make_env(project / ".venv")
    write_entry(dead_pid, argv=("virtualenv", "env"))

    settle.orphans()

    assert (directory / "pyvenv.cfg").exists()
    assert capsys.readouterr().err == "venvguard: kept .venv (it is not a redirect file)\n"


# --- what the allowlist keeps -------------------------------------------------------


def test_a_symlinked_target_is_kept_and_its_target_untouched(
    project, tmp_path, dead_pid, capsys
):
    elsewhere = make_env(tmp_path / "central" / "env")
    before = tree(elsewhere)
    link = project / ".venv"
    link.symlink_to(elsewhere)
    write_entry(dead_pid)

    assert settle.orphans() == 1

    assert os.path.islink(link)
    assert tree(elsewhere) == before
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it is a symbolic link, not an environment; "
        "what it points to is untouched)\n"
    )
    assert [r["reason"] for r in kept_records()] == ["link"]


def test_a_venv_holding_a_git_directory_is_kept_and_the_message_names_it(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    (env / ".git").mkdir()
    write_entry(dead_pid)

    settle.orphans()

    assert (env / ".git").exists()
    assert (env / "pyvenv.cfg").exists()
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it holds '.git', which no environment tool writes there)\n"
    )


def test_a_directory_without_pyvenv_cfg_holding_files_is_kept(project, dead_pid, capsys):
    """Only names an environment tool writes, but no pyvenv.cfg and a file in bin/:
    more than uv writes before pyvenv.cfg, so not provably an environment."""
    env = project / ".venv"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "mine").write_text("#!/bin/sh\n")
    (env / "share").mkdir()
    write_entry(dead_pid)

    settle.orphans()

    assert (env / "bin" / "mine").exists()
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it has no pyvenv.cfg, so it may not be an environment)\n"
    )


def test_a_target_that_is_the_current_directory_is_kept(project, dead_pid, capsys):
    (project / "pyproject.toml").unlink()  # not its contents that save it: protection does
    (project / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write_entry(dead_pid, argv=("uv", "venv", "."))

    settle.orphans()

    assert (project / "pyvenv.cfg").exists()
    assert capsys.readouterr().err == (
        f"venvguard: kept {project} (it is the current directory, one of its parents "
        "or your home)\n"
    )


def test_the_current_directory_spelled_through_a_link_is_kept(
    project, tmp_path, dead_pid, capsys
):
    """Protection compares device and inode too, not only the spelling."""
    (project / "pyproject.toml").unlink()
    (project / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "alias").symlink_to(tmp_path)
    write_entry(dead_pid, argv=("python3", "-m", "venv", "alias/project"), cwd=tmp_path)

    settle.orphans()

    assert (project / "pyvenv.cfg").exists()
    assert "(it is the current directory, one of its parents or your home)" in (
        capsys.readouterr().err
    )


def test_a_target_that_is_the_home_directory_is_kept(project, dead_pid, capsys):
    home = os.environ["HOME"]
    os.rmdir(home)
    make_env(Path(home))  # shaped like an environment: protection keeps it
    write_entry(dead_pid, argv=("python3", "-m", "venv", home))

    settle.orphans()

    assert os.path.exists(os.path.join(home, "pyvenv.cfg"))
    assert capsys.readouterr().err == (
        f"venvguard: kept {home} (it is the current directory, one of its parents "
        "or your home)\n"
    )


def test_a_target_another_live_run_is_using_is_kept_as_busy(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    write_entry(dead_pid)
    live = write_entry(os.getpid())
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # its supervisor is alive
    try:
        assert settle.orphans() == 1
    finally:
        os.close(fd)

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == [os.path.basename(live)]
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (another guarded run is using it)\n"
    )


# --- orphans are held to their own command -------------------------------------------


def test_an_entry_whose_command_does_not_plan_its_targets_is_kept_as_unplanned(
    project, tmp_path, dead_pid, capsys
):
    """A damaged or forged entry naming another directory: `uv sync` here makes
    ./.venv, not that one, so nothing is done to it."""
    victim = make_env(tmp_path / "victim" / ".venv")
    before = tree(victim)
    write_entry(dead_pid, targets=[(victim, ABSENT, "uv")])

    assert settle.orphans() == 1

    assert tree(victim) == before
    assert journal_files() == []
    assert capsys.readouterr().err == (
        f"venvguard: kept {victim} (the journal names it, but the run's command does not)\n"
    )


def test_an_entry_whose_target_has_another_shape_than_planned_is_kept_as_unplanned(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    write_entry(dead_pid, targets=[(env, ABSENT, "venv")])  # uv sync plans shape "uv"

    settle.orphans()

    assert (env / "pyvenv.cfg").exists()
    assert "(the journal names it, but the run's command does not)" in capsys.readouterr().err


def test_an_entry_whose_command_plans_nothing_is_kept_as_unplanned(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    write_entry(dead_pid, argv=("uv", "lock"), targets=[(env, ABSENT, "uv")])

    settle.orphans()

    assert (env / "pyvenv.cfg").exists()
    assert "(the journal names it, but the run's command does not)" in capsys.readouterr().err


def test_an_anchor_replaced_by_a_link_touches_nothing_behind_it(
    project, tmp_path, dead_pid, capsys
):
    """The run's directory was renamed away and a link to a victim put in its place:
    the path now leads into the victim, whose .venv is not the run's."""
    work = tmp_path / "work"
    make_env(work / ".venv")
    entry = write_entry(dead_pid, argv=("python3", "-m", "venv", ".venv"), cwd=work)
    victim = make_env(tmp_path / "victim" / ".venv")
    before = tree(victim)
    work.rename(tmp_path / "moved")
    work.symlink_to(tmp_path / "victim")

    assert settle.orphans() == 1

    assert tree(victim) == before
    assert (tmp_path / "moved" / ".venv" / "pyvenv.cfg").exists()  # reached no other way
    assert not os.path.exists(entry)
    assert capsys.readouterr().err == (
        f"venvguard: kept {work}/.venv (its parent directory was moved or replaced "
        "during the run)\n"
    )


def test_a_link_swapped_in_below_the_anchor_is_not_followed(project, tmp_path, dead_pid, capsys):
    """`python -m venv sub/env` with no sub/ yet: the anchor is the directory above,
    and sub/ became a link to a victim before the settle."""
    write_entry(dead_pid, argv=("python3", "-m", "venv", "sub/env"))
    victim = make_env(tmp_path / "victim" / "env")
    before = tree(victim)
    (project / "sub").symlink_to(victim.parent)

    settle.orphans()

    assert tree(victim) == before
    assert capsys.readouterr().err == (
        "venvguard: kept sub/env (its parent directory was moved or replaced during the run)\n"
    )


# --- orphans: what was written after the run is not the run's ---------------------------


def test_an_orphans_env_re_made_after_its_run_is_kept_as_written_after(
    project, dead_pid, capsys
):
    entry = write_entry(dead_pid)
    heartbeat_stopped(entry, HOUR)  # the run ended an hour ago at the latest
    env = make_env(project / ".venv")  # made now, by somebody else

    assert settle.orphans() == 1

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it was written after the cut-short `uv sync` ended, "
        "so it is not only the run's)\n"
    )
    assert [r["reason"] for r in kept_records()] == ["changed"]


def test_an_orphans_env_added_to_at_its_top_after_its_run_is_kept(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    age(env, 2 * HOUR)
    entry = write_entry(dead_pid)
    heartbeat_stopped(entry, HOUR)
    (env / "bin" / "black").write_text("#!/bin/sh\n")  # a later install: bin/ changed

    settle.orphans()

    assert (env / "bin" / "black").exists()
    assert "(it was written after the cut-short `uv sync` ended" in capsys.readouterr().err


def test_an_orphans_env_installed_into_after_its_run_is_kept(project, dead_pid, capsys):
    """A package with no scripts changes only site-packages, two levels down."""
    env = make_env(project / ".venv")
    age(env, 2 * HOUR)
    entry = write_entry(dead_pid)
    heartbeat_stopped(entry, HOUR)
    site = env / "lib" / "python3.11" / "site-packages"
    (site / "six.py").write_text("")

    settle.orphans()

    assert (site / "six.py").exists()
    assert "(it was written after the cut-short `uv sync` ended" in capsys.readouterr().err


def test_an_orphans_env_last_written_before_its_heartbeat_stopped_is_removed(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    age(env, 2 * HOUR)
    entry = write_entry(dead_pid)
    heartbeat_stopped(entry, HOUR)

    assert settle.orphans() == 1

    assert not os.path.lexists(env)
    assert "removed .venv" in capsys.readouterr().err


def test_a_run_cut_short_by_a_reboot_removes_what_it_left_before_the_reboot(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    age(env, time.time() - processes.boot_time() + HOUR)  # an hour before this boot
    write_entry(dead_pid, boot="an-earlier-boot")  # its heartbeat: just now, by the look

    assert settle.orphans() == 1

    assert not env.exists()
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the cut-short `uv sync`)\n"
    )


def test_a_run_cut_short_by_a_reboot_keeps_an_environment_written_since(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")  # written now, long after this machine booted
    entry = write_entry(dead_pid, boot="an-earlier-boot")

    assert settle.orphans() == 1

    assert (env / "pyvenv.cfg").exists()
    assert not os.path.exists(entry)
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it was written after the cut-short `uv sync` ended, "
        "so it is not only the run's)\n"
    )


# --- orphans: the run's processes are ended first --------------------------------------


def test_a_tool_that_outlives_its_supervisor_is_ended_and_its_env_removed(
    project, dead_pid, marked_process, capsys
):
    """The tool ran until now, so all it wrote is the run's, however late."""
    token = new_token()
    tool = marked_process(token)
    entry = write_entry(dead_pid, token=token)
    heartbeat_stopped(entry, HOUR)
    env = make_env(project / ".venv")

    assert settle.orphans() == 1

    assert tool.wait(timeout=5) == -signal.SIGTERM
    assert not os.path.lexists(env)
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the cut-short `uv sync`)\n"
    )


def test_a_process_carrying_the_runs_marker_is_ended_too(project, dead_pid):
    """A build backend re-parented to init is found by VENVGUARD_RUN=<token>."""
    token = new_token()
    backend = subprocess.Popen(["sleep", "60"], env={**os.environ, processes.MARKER: token})
    try:
        write_entry(dead_pid, token=token)
        make_env(project / ".venv")

        settle.orphans()

        assert backend.wait(timeout=5) == -signal.SIGTERM
    finally:
        backend.kill()
        backend.wait()


def test_a_process_of_another_run_is_not_ended(project, dead_pid):
    other = subprocess.Popen(["sleep", "60"], env={**os.environ, processes.MARKER: new_token()})
    try:
        write_entry(dead_pid)

        settle.orphans()

        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_tool_that_ignores_sigterm_is_killed(project, dead_pid):
    token = new_token()
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time\n"
         "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
         "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, processes.MARKER: token},
    )
    try:
        assert stubborn.stdout.readline() == "ready\n"
        write_entry(dead_pid, token=token)

        settle.orphans()

        assert stubborn.wait(timeout=5) == -signal.SIGKILL
    finally:
        stubborn.kill()
        stubborn.wait()
        stubborn.stdout.close()


# --- orphans: a live watchdog settles its own run -------------------------------------


def lock_holder(path, code):
    """A process standing in for a run's watchdog: it holds the entry's lock (as the
    real one does, sharing its supervisor's), says so, then runs `code`."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('ready', flush=True)\n" + code, path],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline() == "ready\n"
    return holder


def test_orphans_waits_for_a_live_watchdog_to_settle_its_run(project, dead_pid, capsys):
    """The prompt comes back after the watchdog is done, and the run is its to settle:
    this one takes a moment, then deletes the entry (and, a fake, nothing else)."""
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid)
    dog = lock_holder(entry, "time.sleep(0.3); os.unlink(sys.argv[1])")
    try:
        assert settle.orphans(wait=30) == 0

        assert dog.wait(timeout=5) == 0  # it did its part, and orphans waited for it
        assert (env / "pyvenv.cfg").exists()
        assert capsys.readouterr().err == ""
    finally:
        dog.kill()
        dog.wait()
        dog.stdout.close()


def test_a_watchdog_still_settling_after_the_wait_is_left_to_it(project, dead_pid, capsys):
    """A watchdog busy for longer (a large deletion, or stopped) must not hold every
    prompt up, and its run is still its own: orphans goes on, touching nothing."""
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid)
    age(env, 60)
    heartbeat_stopped(entry, 30)
    dog = lock_holder(entry, "time.sleep(60)")
    try:
        assert settle.orphans(wait=0.2) == 0

        assert (env / "pyvenv.cfg").exists()
        assert os.path.exists(entry)
        assert capsys.readouterr().err == ""
    finally:
        dog.kill()
        dog.wait()
        dog.stdout.close()


# --- abandoned: the watchdog's settle ----------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (decision.INTERRUPTED, "the interrupted `uv sync`"),
        (decision.FAILED, "the failed `uv sync`"),
    ],
)
def test_abandoned_settles_for_the_outcome_the_supervisor_told(
    project, dead_pid, capsys, outcome, words
):
    env = make_env(project / ".venv")
    entry = journal.claim(write_entry(dead_pid))

    settle.abandoned(entry, outcome)

    assert not os.path.lexists(env)
    assert journal_files() == []
    assert capsys.readouterr().err == f"venvguard: removed .venv (made by {words})\n"


def test_abandoned_after_a_finished_run_leaves_its_env_and_forgets_its_records(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    kept.remember(str(env), reason="existed", argv=["uv", "sync"], repair=None)
    entry = journal.claim(write_entry(dead_pid, existed=DIR))

    settle.abandoned(entry, decision.FINISHED)

    assert (env / "pyvenv.cfg").exists()
    assert kept_records() == []
    assert journal_files() == []
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("outcome", [None, "gibberish"], ids=["untold", "garbled"])
def test_abandoned_without_a_known_outcome_settles_as_cut_short_just_now(
    project, dead_pid, capsys, outcome
):
    """The watchdog saw the supervisor die just now: what is there is the run's,
    however long ago the last heartbeat was."""
    path = write_entry(dead_pid)
    heartbeat_stopped(path, HOUR)
    env = make_env(project / ".venv")

    settle.abandoned(journal.claim(path), outcome)

    assert not os.path.lexists(env)
    assert journal_files() == []
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the cut-short `uv sync`)\n"
    )


def test_abandoned_ends_what_the_run_left_running(project, dead_pid, marked_process):
    token = new_token()
    tool = marked_process(token)
    entry = journal.claim(write_entry(dead_pid, token=token))

    settle.abandoned(entry, decision.INTERRUPTED)

    assert tool.wait(timeout=5) == -signal.SIGTERM


def test_abandoned_after_a_finished_run_ends_nothing_it_left_running(
    project, dead_pid, marked_process
):
    """The tool finished: a server or daemon it started is the user's to keep."""
    token = new_token()
    daemon = marked_process(token)
    entry = journal.claim(write_entry(dead_pid, token=token, existed=DIR))

    settle.abandoned(entry, decision.FINISHED)

    assert daemon.poll() is None


@pytest.mark.parametrize("meanwhile", ["removed", "handed-on"])
def test_abandoned_leaves_an_entry_no_longer_where_it_was(project, dead_pid, capsys, meanwhile):
    """The supervisor died after removing its entry, or after handing it to a
    background deleter: the run is not the watchdog's to settle any more."""
    env = make_env(project / ".venv")
    entry = journal.claim(write_entry(dead_pid))
    if meanwhile == "removed":
        os.unlink(entry.path)
    else:
        os.rename(entry.path, entry_path(os.getpid(), entry.token))

    settle.abandoned(entry, decision.INTERRUPTED)

    assert (env / "pyvenv.cfg").exists()
    assert capsys.readouterr().err == ""


# --- a deletion cut short is finished ------------------------------------------------


def test_a_leftover_set_aside_directory_is_deleted_pyvenv_cfg_last(
    project, dead_pid, monkeypatch, capsys
):
    """A background deletion was cut short: the env is already set aside under the
    run's name, and the next settle finishes it."""
    token = new_token()
    trash = make_env(project / removal.trash_name(token, 0))
    entry = write_entry(dead_pid, token=token)
    events = []
    real_unlink, real_rmdir = os.unlink, os.rmdir

    def unlink(path, *args, dir_fd=None, **kwargs):
        events.append(("unlink", os.fspath(path)))
        return real_unlink(path, *args, dir_fd=dir_fd, **kwargs)

    def rmdir(path, *args, dir_fd=None, **kwargs):
        events.append(("rmdir", os.fspath(path)))
        return real_rmdir(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "rmdir", rmdir)

    assert settle.orphans() == 1

    assert not os.path.lexists(trash)
    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    assert journal_files() == []
    names = [os.path.basename(path) for _op, path in events]
    cfg = names.index("pyvenv.cfg")
    # Every other file of the environment went first, then pyvenv.cfg, then the
    # directory itself, then the journal entry.
    assert {"python", "__init__.py"} <= set(names[:cfg])
    assert events[cfg:] == [
        ("unlink", "pyvenv.cfg"), ("rmdir", trash.name), ("unlink", entry),
    ]
    assert capsys.readouterr().err == (
        "venvguard: finishing the removal of .venv, cut short earlier\n"
    )


def test_a_leftover_set_aside_directory_holding_a_foreign_file_is_left_alone(
    project, dead_pid, capsys
):
    token = new_token()
    leftover = make_env(project / removal.trash_name(token, 0))
    (leftover / "thesis.tex").write_text("years of work")
    before = tree(leftover)
    write_entry(dead_pid, token=token)

    assert settle.orphans() == 1

    assert tree(leftover) == before
    assert journal_files() == []
    assert capsys.readouterr().err == (
        f"venvguard: left {leftover.name} beside .venv alone: "
        "it is not what venvguard set aside\n"
    )


def test_a_leftover_named_like_a_set_aside_directory_but_a_link_is_left_alone(
    project, tmp_path, dead_pid, capsys
):
    token = new_token()
    victim = make_env(tmp_path / "victim")
    before = tree(victim)
    (project / removal.trash_name(token, 0)).symlink_to(victim)
    write_entry(dead_pid, token=token)

    settle.orphans()

    assert tree(victim) == before
    assert "it is not what venvguard set aside" in capsys.readouterr().err


# --- unreadable entries are set aside, never acted upon ------------------------------


def valid_entry_text(pid):
    return json.dumps(entry_data(pid, token=new_token()))


def as_fifo(path, _pid, _tmp_path):
    os.mkfifo(path, 0o600)


def as_directory(path, _pid, _tmp_path):
    os.mkdir(path, 0o700)


def as_symlink_to_a_valid_entry(path, pid, tmp_path):
    real = write_raw(str(tmp_path / "elsewhere.json"), valid_entry_text(pid))
    os.symlink(real, path)


def owned_by_another_user(path, pid, _tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    write_raw(path, valid_entry_text(pid))
    os.chown(path, 65534, 65534)


def too_large(path, _pid, _tmp_path):
    write_raw(path, json.dumps({"venvguard": journal.FORMAT, "pad": "x" * journal.MAX_SIZE}))


def cut_off_mid_write(path, pid, _tmp_path):
    write_raw(path, valid_entry_text(pid)[:120])


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (as_fifo, "not a regular file"),
        (as_directory, "not a regular file"),
        (as_symlink_to_a_valid_entry, "cannot be opened (Too many levels of symbolic links)"),
        (owned_by_another_user, "owned by another user (uid 65534)"),
        (too_large, "too large"),
        (cut_off_mid_write, "not valid JSON"),
    ],
    ids=["fifo", "directory", "symlink", "other-owner", "too-large", "not-json"],
)
def test_an_unreadable_entry_is_set_aside_as_corrupt_and_no_environment_touched(
    project, tmp_path, dead_pid, capsys, make, problem
):
    env = make_env(project / ".venv")
    before = tree(env)
    name = journal.entry_name(dead_pid, new_token())
    path = os.path.join(runs_dir(), name)
    make(path, dead_pid, tmp_path)

    assert settle.orphans() == 0

    assert tree(env) == before
    assert journal_files() == [f"{name}.corrupt"]
    assert journal.listing() == []  # the prompt hook stops finding it
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"venvguard: journal entry {path} is unreadable: {problem}")
    assert err.endswith(f"; set aside as {name}.corrupt, no environment touched\n")


def test_a_symlinked_entry_is_set_aside_itself_and_what_it_points_to_is_untouched(
    project, tmp_path, dead_pid
):
    path = entry_path(dead_pid, new_token())
    as_symlink_to_a_valid_entry(path, dead_pid, tmp_path)
    real = tmp_path / "elsewhere.json"
    text = real.read_text()

    settle.orphans()

    assert os.path.islink(path + ".corrupt")
    assert real.read_text() == text


@pytest.mark.parametrize(
    "overrides",
    [
        lambda env: {"venvguard": 1},
        lambda env: {"owner": []},
        lambda env: {"argv": ["uv", 1]},
        lambda env: {"token": "../../x"},
        lambda env: {"environ": {"UV_PROJECT_ENVIRONMENT": 1}},
        lambda env: {"owner": [0, 0]},
        lambda env: {"targets": [[str(env), "absent"]]},
        lambda env: {"targets": [{**target(env, ABSENT, "uv"), "path": ".venv"}]},
        lambda env: {"targets": [{**target(env, ABSENT, "uv"), "shape": "spack"}]},
        lambda env: {"targets": [{**target(env, ABSENT, "uv"), "anchor": ["/elsewhere", 1, 2]}]},
    ],
    ids=["format-1", "owner-empty", "argv-not-strings", "token-a-path", "environ-not-strings",
         "owner-pid-0", "target-format-1", "target-relative", "shape-unknown",
         "anchor-not-above"],
)
def test_an_entry_with_a_malformed_field_is_set_aside_without_a_traceback(
    project, dead_pid, capsys, overrides
):
    env = make_env(project / ".venv")
    token = new_token()
    data = {**entry_data(dead_pid, token=token), **overrides(env)}
    entry = write_raw(entry_path(dead_pid, token), json.dumps(data))

    assert settle.orphans() == 0

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == [os.path.basename(entry) + ".corrupt"]
    assert "is unreadable" in capsys.readouterr().err


# --- entries that are not this settle's -------------------------------------------


def test_an_entry_from_another_host_is_left_alone(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid, host="some-other-host")

    assert settle.orphans() == 0

    assert env.exists()
    assert os.path.exists(entry)
    assert capsys.readouterr().err == ""


def test_an_entry_whose_lock_is_held_is_left_alone(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid)
    fd = os.open(entry, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert settle.orphans(wait=0.05) == 0
    finally:
        os.close(fd)

    assert env.exists()
    assert os.path.exists(entry)
    assert capsys.readouterr().err == ""


def test_orphans_without_a_journal_settle_nothing(project, capsys):
    assert settle.orphans() == 0
    assert capsys.readouterr().err == ""


# --- dry runs -------------------------------------------------------------------------


def test_a_dry_run_changes_nothing_and_says_what_it_would_settle(project, dead_pid, capsys):
    env = make_env(project / ".venv")
    entry = write_entry(dead_pid)

    assert settle.orphans(dry_run=True) == 1

    assert (env / "pyvenv.cfg").exists()
    assert os.path.exists(entry)
    assert journal.claim(entry) is not None  # released again
    assert kept_records() == []
    assert capsys.readouterr().err == (
        f"venvguard: would settle {entry}: uv sync was cut short\n"
    )


def test_a_dry_run_ends_no_process_and_renames_no_entry(project, dead_pid, marked_process):
    token = new_token()
    tool = marked_process(token)
    entry = write_entry(dead_pid, token=token)

    assert settle.orphans(dry_run=True) == 1

    assert tool.poll() is None
    assert journal_files() == [os.path.basename(entry)]


def test_a_dry_run_leaves_a_corrupt_entry_where_it_is(project, dead_pid, capsys):
    corrupt = write_raw(entry_path(dead_pid, new_token()), "[]")

    assert settle.orphans(dry_run=True) == 0

    assert os.path.exists(corrupt)
    assert capsys.readouterr().err == (
        f"venvguard: journal entry {corrupt} is unreadable: not a JSON object\n"
    )


# --- conclude: a run that ended under its supervisor -------------------------------------


@pytest.fixture
def supervise():
    """Journal a run as the supervisor does: plan it, hold each target's anchor
    from before the run, create (and lock) the entry. Returns (entry, held)."""
    held_fds = []

    def start(argv=("uv", "sync"), existed=ABSENT, cwd=None):
        argv, cwd = list(argv), str(cwd or os.getcwd())
        plan = tools.plan(argv, cwd, {})
        held, targets = {}, []
        for index, (path, shape) in enumerate(plan.targets):
            held[index], anchor = removal.hold_anchor(path)
            held_fds.append(held[index])
            targets.append({"path": path, "existed": existed, "shape": shape, "anchor": anchor})
        entry = journal.create(journal.new_data(
            argv=argv, cwd=cwd, environ={}, targets=targets, policy=plan.policy,
            repair=plan.repair, token=new_token(),
        ))
        return entry, held

    yield start
    for fd in held_fds:
        os.close(fd)


def test_a_finished_run_forgets_kept_records_of_its_targets_and_says_nothing(
    project, supervise, capsys
):
    env = make_env(project / ".venv")
    kept.remember(str(env), reason="existed", argv=["uv", "sync"], repair="uv sync --reinstall")
    kept.remember("/elsewhere/.venv", reason="existed", argv=["uv", "sync"], repair=None)
    entry, held = supervise(existed=DIR)

    settle.conclude(entry, decision.FINISHED, parents=held)

    assert env.exists()
    assert [r["path"] for r in kept_records()] == ["/elsewhere/.venv"]
    assert journal_files() == []
    assert capsys.readouterr().err == ""


def test_a_finished_run_leaves_a_venv_it_made(project, supervise, capsys):
    env = make_env(project / ".venv")
    entry, held = supervise()

    settle.conclude(entry, decision.FINISHED, parents=held)

    assert (env / "pyvenv.cfg").exists()
    assert journal_files() == []
    assert capsys.readouterr().err == ""


def test_an_interrupted_run_says_interrupted(project, supervise, capsys):
    env = make_env(project / ".venv")
    entry, held = supervise()

    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)

    assert not os.path.lexists(env)
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the interrupted `uv sync`)\n"
    )


def test_a_failed_run_says_failed_and_names_its_command_as_the_repair(
    project, supervise, capsys
):
    env = make_env(project / ".venv")
    entry, held = supervise(argv=("python3", "-m", "venv", ".venv"))

    settle.conclude(entry, decision.FAILED, parents=held, background=False)

    assert not os.path.lexists(env)
    assert capsys.readouterr().err == (
        "venvguard: removed .venv (made by the failed `python3 -m venv .venv`)\n"
    )


def test_an_interrupted_run_over_an_existing_venv_keeps_it_and_says_what_it_touched(
    project, supervise, capsys
):
    env = make_env(project / ".venv")
    entry, held = supervise(argv=("python3", "-m", "venv", ".venv"), existed=DIR)

    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)

    assert (env / "pyvenv.cfg").exists()
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it existed before); the interrupted `python3 -m venv .venv` "
        "touched no package\n"
    )


def test_an_interrupted_run_removes_the_venv_at_once_and_deletes_it_in_the_background(
    project, supervise, monkeypatch
):
    env = make_env(project / ".venv")
    entry, held = supervise()
    forked = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    settle.conclude(entry, decision.INTERRUPTED, parents=held)  # as the supervisor does

    assert not os.path.lexists(env)  # gone under its name at once
    [deleter] = forked
    os.waitpid(deleter, 0)
    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    assert journal_files() == []


def test_a_target_whose_parent_was_replaced_during_the_run_is_kept(
    project, tmp_path, supervise, capsys
):
    """The supervisor holds the parent from before the run; a link put in its place
    meanwhile leads elsewhere, and nothing there is touched."""
    work = tmp_path / "work"
    work.mkdir()
    entry, held = supervise(argv=("python3", "-m", "venv", ".venv"), cwd=work)
    make_env(work / ".venv")
    victim = make_env(tmp_path / "victim" / ".venv")
    before = tree(victim)
    work.rename(tmp_path / "moved")
    work.symlink_to(tmp_path / "victim")

    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)

    assert tree(victim) == before
    assert (tmp_path / "moved" / ".venv" / "pyvenv.cfg").exists()
    assert capsys.readouterr().err == (
        f"venvguard: kept {work}/.venv (its parent directory was moved or replaced "
        "during the run)\n"
    )


def test_a_venv_that_cannot_be_set_aside_is_kept_and_recorded(
    project, supervise, monkeypatch, capsys
):
    env = make_env(project / ".venv")
    entry, held = supervise()

    def refuse(parent, name, trash, fd, **options):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(removal, "set_aside", refuse)
    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)

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


# --- an environment that existed before: checked, swept, told ---------------------------


def half_installed(env, name="bigpkg", version="1.0", files=10, present=3):
    """What uv leaves when cut short mid-install: RECORD, then some of the files, and
    the temp file it was writing."""
    site = env / "lib" / "python3.11" / "site-packages"
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    rows = [f"{name}/f{i}.txt,,2" for i in range(files)] + [f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    (site / name).mkdir()
    for i in range(present):
        (site / name / f"f{i}.txt").write_text("ok")
    (site / name / ".tmpAb12Cd").write_text("o")


def left_broken(project, supervise, *, repair=None):
    """An existing .venv an interrupted run left broken, as settle records it; with
    `repair`, recorded with that repair command instead. (env, its record)"""
    env = make_env(project / ".venv")
    entry, held = supervise(existed=DIR)
    half_installed(env)
    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)
    [record] = kept_records()
    if repair is not None:
        kept.remember(record["path"], reason=record["reason"], argv=record["argv"],
                      repair=repair, cwd=record["cwd"])
        record = {**record, "repair": repair}
    return env, record


def test_an_interrupted_run_names_the_package_it_left_broken_with_its_repair(
    project, supervise, capsys
):
    env = make_env(project / ".venv")
    entry, held = supervise(existed=DIR)
    half_installed(env)

    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)

    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it existed before): bigpkg 1.0 is broken "
        "(7 of 11 files missing); repair: `uv sync --reinstall-package bigpkg`; "
        "swept 1 leftover: lib/python3.11/site-packages/bigpkg/.tmpAb12Cd\n"
    )
    assert not (env / "lib" / "python3.11" / "site-packages" / "bigpkg" / ".tmpAb12Cd").exists()
    [record] = kept_records()
    assert record["reason"] == "broken: bigpkg 1.0 is broken (7 of 11 files missing)"
    assert record["repair"] == "uv sync --reinstall-package bigpkg"


def test_status_lists_a_broken_environment_with_its_repair(project, supervise, capsys):
    left_broken(project, supervise)

    out = subprocess.run(["venvguard", "status"], capture_output=True, text=True,
                         check=True).stdout

    assert out.startswith(
        "broken   .venv: bigpkg 1.0 is broken (7 of 11 files missing) after `uv sync` ("
    )
    assert out.endswith("repair: uv sync --reinstall-package bigpkg\n")


def test_status_json_gives_a_broken_environment_with_its_repair(project, supervise):
    import json

    left_broken(project, supervise)

    out = subprocess.run(["venvguard", "status", "--json"], capture_output=True, text=True,
                         check=True).stdout

    data = json.loads(out)
    assert data["runs"] == []
    [record] = data["kept"]
    assert record["path"] == str(project / ".venv")
    assert record["state"] == "broken"
    assert record["reason"] == "bigpkg 1.0 is broken (7 of 11 files missing)"
    assert record["repair"] == "uv sync --reinstall-package bigpkg"
    assert record["argv"] == ["uv", "sync"]


def test_a_failed_run_that_left_an_existing_venv_whole_says_nothing(project, supervise, capsys):
    make_env(project / ".venv")
    entry, held = supervise(existed=DIR)

    settle.conclude(entry, decision.FAILED, parents=held, background=False)

    assert capsys.readouterr().err == ""
    assert kept_records() == []


def repair_run(cwd):
    return subprocess.run(["venvguard", "repair"], cwd=cwd, capture_output=True, text=True)


def test_repair_with_nothing_broken_recorded_says_so_and_fails(project):
    done = repair_run(project)
    assert done.returncode == 1
    assert done.stderr == (
        "venvguard: no broken environment recorded here; `venvguard status` lists them\n"
    )


def test_repair_runs_the_recorded_command_from_a_subdirectory_and_forgets_a_whole_env(
    project, supervise, capsys
):
    import shlex

    env = project / ".venv"
    command = shlex.join([sys.executable, "-c", "import pathlib; [pathlib.Path("
                          f"{str(env / 'lib/python3.11/site-packages/bigpkg')!r}, "
                          "f'f{i}.txt').write_text('ok') for i in range(10)]"])
    left_broken(project, supervise, repair=command)
    (project / "src").mkdir()

    done = repair_run(project / "src")

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"venvguard: repairing {env}: {command}",  # from below the project: the full path
        f"venvguard: {env} is whole: every package in it checks out against its RECORD",
    ]
    assert kept_records() == []


def test_repair_that_leaves_it_broken_says_so_and_keeps_the_record(project, supervise):
    left_broken(project, supervise, repair="true")

    done = repair_run(project)

    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "venvguard: .venv is still broken: bigpkg 1.0 is broken (7 of 11 files missing)"
    )
    [again] = kept_records()
    assert again["repair"] == "true"


# --- snapshots (VENVGUARD_SNAPSHOT=1): put back, never over later work ---------------


def snapshot_of(env, token):
    from venvguard import snapshot

    fd = os.open(env.parent, removal.DIR_FLAGS)
    try:
        snapshot.take(fd, env.name, snapshot.name(token, 0))
    finally:
        os.close(fd)


def test_an_orphans_snapshot_is_put_back_when_nothing_was_written_after_its_end(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    token = new_token()
    entry = write_entry(dead_pid, token=token, existed=DIR)
    snapshot_of(env, token)
    (env / "pyvenv.cfg").write_text("half-written by the run\n")
    age(env, 2 * HOUR)
    heartbeat_stopped(entry, HOUR)

    assert settle.orphans() == 1

    assert (env / "pyvenv.cfg").read_text() == "home = /usr/bin\nversion = 3.11.7\n"
    assert sorted(os.listdir(project)) == [".venv", "pyproject.toml"]
    assert capsys.readouterr().err == (
        "venvguard: restored .venv as it was before the cut-short `uv sync`\n"
    )


def test_an_orphans_snapshot_is_not_put_back_over_what_was_written_after_its_end(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    token = new_token()
    entry = write_entry(dead_pid, token=token, existed=DIR)
    snapshot_of(env, token)
    heartbeat_stopped(entry, HOUR)
    (env / "pyvenv.cfg").write_text("the user's later work\n")

    assert settle.orphans() == 1

    assert (env / "pyvenv.cfg").read_text() == "the user's later work\n"
    snap = f".venvguard-snapshot-{token}-0"
    assert os.path.isdir(project / snap)
    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it was written after the cut-short `uv sync` ended; "
        f"its snapshot from before the run is {snap} beside it)\n"
    )


def test_a_snapshot_cut_short_while_being_made_is_deleted_not_restored(
    project, dead_pid, capsys
):
    env = make_env(project / ".venv")
    token = new_token()
    write_entry(dead_pid, token=token, existed=DIR)
    (project / f".venvguard-snapshot-{token}-0.partial" / "bin").mkdir(parents=True)

    assert settle.orphans() == 1

    assert sorted(os.listdir(project)) == [".venv", "pyproject.toml"]
    assert (env / "pyvenv.cfg").exists()


def test_a_finished_run_keeps_the_record_of_an_environment_still_broken_and_says_so(
    project, supervise, capsys
):
    """`uv sync` finishing says "Checked": it does not reinstall a package whose
    metadata says it is there, so the environment is still broken."""
    env = make_env(project / ".venv")
    half_installed(env)
    kept.remember(str(env), reason="broken: bigpkg 1.0 is broken (7 of 11 files missing)",
                  argv=["uv", "sync"], repair="uv sync --reinstall-package bigpkg")
    entry, _held = supervise(existed=DIR)

    entry.finished()

    [record] = kept_records()
    assert record["repair"] == "uv sync --reinstall-package bigpkg"
    assert capsys.readouterr().err == (
        "venvguard: .venv is still broken after `uv sync`: bigpkg 1.0 is broken "
        "(7 of 11 files missing); repair: `uv sync --reinstall-package bigpkg`\n"
    )


def test_an_interrupted_run_that_left_what_it_touched_whole_says_so(project, supervise, capsys):
    env = make_env(project / ".venv")
    entry, held = supervise(existed=DIR)
    site = env / "lib" / "python3.11" / "site-packages"
    (site / "six-1.16.0.dist-info").mkdir()
    (site / "six-1.16.0.dist-info" / "RECORD").write_text("six.py,,2\n")
    (site / "six.py").write_text("ok")

    settle.conclude(entry, decision.INTERRUPTED, parents=held, background=False)

    assert capsys.readouterr().err == (
        "venvguard: kept .venv (it existed before); the package the interrupted "
        "`uv sync` touched is whole\n"
    )
    assert kept_records() == []


def test_a_repair_that_fails_keeps_the_record_as_it_was(project, supervise):
    _env, record = left_broken(project, supervise, repair="false")

    assert repair_run(project).returncode == 1

    [again] = kept_records()
    assert (again["reason"], again["repair"]) == (record["reason"], "false")
