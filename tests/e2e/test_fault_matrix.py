"""The fault matrix: every way a `uv sync` can be cut short, in bash, zsh and fish, for
an environment the run makes (new) and one that was there before (existing).

Whatever the fault, the same things must hold once the shell is back at its prompt
(or, for a run whose supervisor was killed, at the latest at the next Enter):

- no half-made environment survives: a new `.venv` is gone, an existing one is
  still there and its python runs;
- no user file is lost: the project holds what it held before (the user's
  `notes.txt` untouched), plus only `.venv` if it existed;
- the journal is empty, and `venvguard status` says nothing is under way (or,
  for an existing environment, lists only environments kept);
- nothing of the run runs on (no tool, build backend, supervisor or watchdog).

The table of results is printed at the end of the test run (conftest.py).
"""

import json
import os
import signal
import subprocess
import uuid

import pytest

from .conftest import FAULT_MATRIX, Proc, messages, wait_for

NEW, EXISTING = "new", "existing"
GONE, KEPT, COMPLETE = "gone", "kept", "complete"  # what becomes of .venv
NOTES = "notes.txt"
NOTES_TEXT = "my notes: do not lose them\n"
NOTHING_LINE = "nothing under way, nothing cut short, no environment kept incomplete"
REMOVED = "venvguard: removed .venv (made by the interrupted `uv sync`)"
REMOVED_CUT_SHORT = "venvguard: removed .venv (made by the cut-short `uv sync`)"
KEPT_EXISTING = "venvguard: kept .venv (it existed before"
KEPT_BUSY = "venvguard: kept .venv (another guarded run is using it)"
KEPT_WRITTEN_AFTER = (
    "venvguard: kept .venv (it was written after the cut-short `uv sync` ended, "
    "so it is not only the run's)"
)
# The second shell's build sleeps this long. Its uv waits for the first one's lock
# on .venv, so its build only starts once the first uv has died of the Ctrl-C; it
# must still be under way when the first supervisor looks for other runs on .venv,
# which it does at once (a few ms), and it finishes by itself a moment later.
SECOND_RUN_SLEEP = 2
STEPS_BEFORE_THE_TOOL = ("planned", "journaled", "running")
STEPS_AFTER_AN_INTERRUPT = ("ended", "decided", "set-aside", "deleting")


def fault(label: str):
    """Name the matrix row a test fills (`{step}` is filled from its parameters)."""

    def mark(test):
        test.fault = label
        return test

    return mark


@pytest.fixture(autouse=True)
def matrix_row(request):
    """Record this case (shell, fault, env) for the table; conftest fills in the outcome."""
    params = request.node.callspec.params
    row = {
        "shell": params["shell_name"],
        "fault": request.function.fault.format(**params),
        "env": params["env"],
        "outcome": "passed",
    }
    FAULT_MATRIX.append(row)
    request.node.vg_fault_case = row


@pytest.fixture(params=[NEW, EXISTING])
def env(request, world) -> str:
    """The project before the run: the user's notes.txt, and for "existing" a `.venv`
    made beforehand by `uv venv`."""
    with open(os.path.join(world.project, NOTES), "w") as f:
        f.write(NOTES_TEXT)
    if request.param == EXISTING:
        world.uv("venv")
    return request.param


@pytest.fixture
def decoys(world):
    """start(n): n live processes that have nothing to do with any run, to stand in for
    the processes a reused pid belongs to after a reboot."""
    started: list[subprocess.Popen] = []

    def start(count: int) -> list[int]:
        for _ in range(count):
            started.append(subprocess.Popen(
                ["sleep", "600"], env={**os.environ, "VG_E2E_WORLD": world.root},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        return [p.pid for p in started[-count:]]

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


# --- the invariants ----------------------------------------------------------------


def user_listing(world) -> list[str]:
    """The project's listing, leaving out what is inside .venv (a run may install)."""
    return [p for p in world.listing() if not p.startswith(".venv" + os.sep)]


def run_processes(world) -> list[Proc]:
    """What is left of any guarded run: its tool and what the tool started (they carry
    the run's marker), and any supervisor, watchdog or deleter (`venvguard exec`)."""
    return [
        p for p in world.procs()
        if any(v.startswith("VENVGUARD_RUN=") for v in p.environ)
        or (len(p.cmdline) >= 2 and os.path.basename(p.cmdline[1]) == "venvguard"
            and "exec" in p.cmdline)
    ]


def assert_settled(world, sh, env: str, before: list[str], *, venv: str | None = None) -> None:
    """The invariants every case ends with, checked at the shell `sh`'s prompt.

    venv  what must have become of .venv: GONE (a new one, by default), KEPT (an
          existing one, by default; or a new one rightly kept, and then listed by
          `venvguard status`) or COMPLETE (another run finished it: nothing is
          listed). Whatever is there must be usable.
    """
    venv = venv or (GONE if env == NEW else KEPT)
    if venv == GONE:
        assert not os.path.lexists(world.venv), "the half-made .venv survived the prompt"
    else:
        assert os.path.isdir(world.venv), f".venv is gone, but it must be {venv}"
        assert sh.output(".venv/bin/python -c 'print(6 * 7)'") == "42\n"
    expected = before if venv == GONE else sorted({*before, ".venv"})
    wait_for(lambda: user_listing(world) == expected,
             what="the project to hold what it held before the run",
             detail=lambda: f"before: {expected}\nnow:    {user_listing(world)}")
    with open(os.path.join(world.project, NOTES)) as f:
        assert f.read() == NOTES_TEXT, "the user's notes.txt was changed"
    world.wait_journal_empty()
    lines = sh.output("venvguard status").splitlines()
    if venv == KEPT and env == NEW:
        assert lines and all(line.startswith("kept") and ".venv" in line for line in lines), (
            f"`venvguard status` does not list the kept new .venv (alone): {lines}")
    elif venv == KEPT:
        assert lines == [NOTHING_LINE] or (
            lines and all(line.startswith("kept") and ".venv" in line for line in lines)
        ), f"`venvguard status` shows more than kept environments: {lines}"
    else:
        assert lines == [NOTHING_LINE], f"`venvguard status`: {lines}"
    wait_for(lambda: not run_processes(world), what="every process of the run to be gone",
             detail=lambda: "\n".join(map(repr, run_processes(world))))


def assert_interrupted_message(out: str, env: str) -> None:
    """The one line an interrupted run prints: removed for a new .venv, kept otherwise."""
    found = messages(out)
    if env == NEW:
        assert found == [REMOVED]
    else:
        assert len(found) == 1 and found[0].startswith(KEPT_EXISTING), found


# --- finding the run's processes ---------------------------------------------------


def find_uv(world, *, other_than: int | None = None) -> Proc:
    """The `uv sync` a guarded run started (it carries the run's marker)."""
    return world.find_proc(
        lambda p: p.program == "uv" and "sync" in p.cmdline and p.pid != other_than
        and any(v.startswith("VENVGUARD_RUN=") for v in p.environ),
        what="the guarded `uv sync`",
    )


def find_supervisor(uv: Proc) -> Proc:
    """The `venvguard exec -- uv sync` whose child the tool is."""
    supervisor = Proc(uv.ppid)
    assert len(supervisor.cmdline) >= 2 and supervisor.cmdline[1].endswith("venvguard"), (
        f"uv's parent is not the supervisor: {supervisor!r}")
    return supervisor


def find_watchdog(world, supervisor: Proc) -> Proc:
    """The supervisor's watchdog: a venvguard process of this world, outside the job's
    process group, forked by the supervisor."""
    return world.find_proc(
        lambda p: len(p.cmdline) >= 2 and os.path.basename(p.cmdline[1]) == "venvguard"
        and p.pgrp != supervisor.pgrp and p.ppid == supervisor.pid,
        what="the supervisor's watchdog",
    )


def start_uv_sync(sh, world) -> tuple[Proc, Proc]:
    """Type `uv sync` and wait until slowpkg's build is under way: (uv, supervisor)."""
    sh.type("uv sync")
    world.wait_ready()
    uv = find_uv(world)
    return uv, find_supervisor(uv)


def another_shell(start_shell, monkeypatch, **options):
    """A further shell in the same world."""
    return start_shell(**options)


def set_variable(sh, name: str, value: str) -> None:
    if sh.name == "fish":
        sh.run(f"set -gx {name} {value}")
    else:
        sh.run(f"export {name}={value}")


def unset_variable(sh, name: str) -> None:
    sh.run(f"set -e {name}" if sh.name == "fish" else f"unset {name}")


def assert_clean_at_this_prompt(world, env: str, before: list[str], step: str) -> None:
    """At the prompt after the Enter that follows a killed supervisor: settled already,
    with no .venv (if it was new) and nothing set aside left in the project."""
    if env == NEW:
        assert not os.path.lexists(world.venv), f".venv survived a supervisor killed at {step}"
    owners = {name: Proc(int(name.partition(".")[0])).state for name in world.journal()}
    assert user_listing(world) == before, (
        f"not settled at the next prompt after a kill at {step}: {user_listing(world)}; "
        f"runs/ and the state of the process each entry is named after: {owners}")


def owner_lives(entry_name: str) -> bool:
    """Does the process an entry is named after still run (a zombie does not)?"""
    return Proc(int(entry_name.partition(".")[0])).alive


def _stopped(pid: int) -> bool:
    return Proc(pid).state == "T"


def _in_foreground(pid: int) -> bool:
    proc = Proc(pid)
    return proc.alive and proc.state != "T" and proc.pgrp == proc.tpgid


# --- faults the terminal sends -----------------------------------------------------


@fault("Ctrl-C")
def test_ctrl_c(world, env, start_shell):
    sh = start_shell()
    before = user_listing(world)

    start_uv_sync(sh, world)
    sh.sendintr()
    out = sh.expect_prompt()

    assert_interrupted_message(out, env)
    assert sh.status() == 130
    assert_settled(world, sh, env, before)


@fault("Ctrl-C twice quickly")
def test_ctrl_c_twice_quickly(world, env, start_shell):
    """The second Ctrl-C lands while the supervisor cleans up: it must not cut that short."""
    sh = start_shell()
    before = user_listing(world)

    start_uv_sync(sh, world)
    sh.sendintr()
    sh.sendintr()
    out = sh.expect_prompt()

    assert_interrupted_message(out, env)
    assert sh.status() == 130
    assert_settled(world, sh, env, before)


@fault("Ctrl-Z, fg, Ctrl-C")
def test_ctrl_z_then_fg_then_ctrl_c(world, env, start_shell):
    """A suspended run is not over: nothing is touched until it really ends."""
    sh = start_shell()
    before = user_listing(world)

    uv, _supervisor = start_uv_sync(sh, world)
    sh.sendcontrol("z")
    out = sh.expect_prompt()
    wait_for(lambda: _stopped(uv.pid), what="uv to be stopped by Ctrl-Z")
    assert os.path.isdir(world.venv), "the suspended run's .venv was touched"
    assert messages(out) == []
    sh.type("fg")
    wait_for(lambda: _in_foreground(uv.pid), what="uv to run in the foreground after fg")
    sh.sendintr()
    out = sh.expect_prompt()

    assert_interrupted_message(out, env)
    assert_settled(world, sh, env, before)


@fault("terminal closed")
def test_terminal_closed(world, env, start_shell, monkeypatch):
    """A hang-up is handled like a Ctrl-C, with nobody left to read the message; the
    next shell finds everything settled."""
    sh = start_shell()
    before = user_listing(world)

    start_uv_sync(sh, world)
    sh.close()
    world.wait_journal_empty()
    wait_for(lambda: not run_processes(world), what="the hung-up run to end",
             detail=lambda: "\n".join(map(repr, run_processes(world))))
    next_shell = another_shell(start_shell, monkeypatch)

    assert messages(next_shell.tail()) == []
    assert_settled(world, next_shell, env, before)


# --- faults other processes send ---------------------------------------------------


@fault("SIGTERM to the job")
def test_sigterm_to_the_job(world, env, start_shell):
    """`kill -TERM -PGRP`: the tool and its supervisor both get it; the run is interrupted."""
    sh = start_shell()
    before = user_listing(world)

    _uv, supervisor = start_uv_sync(sh, world)
    assert supervisor.pgrp != Proc(sh.child.pid).pgrp, "the job is in the shell's group"
    os.killpg(supervisor.pgrp, signal.SIGTERM)
    out = sh.expect_prompt()

    assert_interrupted_message(out, env)
    assert sh.status() == 128 + signal.SIGTERM
    assert_settled(world, sh, env, before)


@fault("SIGTERM to the supervisor")
def test_sigterm_to_the_supervisor_alone(world, env, start_shell):
    """`kill PID` of `venvguard exec`: it passes the signal on to uv, and the run ends
    as interrupted, as it would have with uv killed directly."""
    sh = start_shell()
    before = user_listing(world)

    _uv, supervisor = start_uv_sync(sh, world)
    os.kill(supervisor.pid, signal.SIGTERM)
    out = sh.expect_prompt()

    assert_interrupted_message(out, env)
    assert sh.status() == 128 + signal.SIGTERM
    assert_settled(world, sh, env, before)


# --- the supervisor killed at each of its steps ------------------------------------


@fault("SIGKILL at {step}")
@pytest.mark.parametrize("step", STEPS_BEFORE_THE_TOOL)
def test_supervisor_killed_before_the_tool_ran(world, env, start_shell, step):
    """Killed before it released the tool (planned, journaled), or at the instant it did
    (running: the kernel then sends uv SIGTERM): the watchdog or the prompt hook
    settles what there is, and the tool does not run on unwatched."""
    sh = start_shell()
    before = user_listing(world)
    set_variable(sh, "VENVGUARD_TEST_DIE_AT", step)

    sh.type("uv sync")
    sh.expect_prompt()  # the shell sees its job die of SIGKILL
    sh.type("")  # Enter once more: the prompt hook has surely run
    sh.expect_prompt()

    assert_clean_at_this_prompt(world, env, before, step)
    unset_variable(sh, "VENVGUARD_TEST_DIE_AT")
    assert_settled(world, sh, env, before)


@fault("SIGKILL at {step}")
@pytest.mark.parametrize("step", STEPS_AFTER_AN_INTERRUPT)
def test_supervisor_killed_while_cleaning_up_after_ctrl_c(world, env, start_shell, step):
    """Ctrl-C, then the supervisor (or, at `deleting`, its background deleter) dies at
    `step` of the cleanup: the watchdog finishes it before the prompt, or the prompt
    hook at the first Enter once that process is dead."""
    sh = start_shell()
    before = user_listing(world)
    set_variable(sh, "VENVGUARD_TEST_DIE_AT", step)

    start_uv_sync(sh, world)
    sh.sendintr()
    sh.expect_prompt()
    wait_for(lambda: not any(owner_lives(name) for name in world.journal()),
             what="the process that held the run (the deleter, at `deleting`) to die",
             detail=lambda: f"runs/: {world.journal()}")
    sh.type("")  # Enter once more: the prompt hook now settles what is left
    sh.expect_prompt()

    assert_clean_at_this_prompt(world, env, before, step)
    unset_variable(sh, "VENVGUARD_TEST_DIE_AT")
    assert_settled(world, sh, env, before)


# --- two runs on one project -------------------------------------------------------


@fault("two shells, one project")
def test_two_shells_on_one_project(world, env, start_shell, monkeypatch):
    """A second shell's `uv sync` on the same project waits for the first one's lock.
    Ctrl-C in the first must not pull .venv from under the second (it is busy there):
    the first keeps it, the second finishes it, and the end state is one complete
    environment, no journal entry and nothing kept."""
    first = start_shell()
    second = another_shell(start_shell, monkeypatch, sleep=SECOND_RUN_SLEEP)
    before = user_listing(world)

    first_uv, _ = start_uv_sync(first, world)
    second.type("uv sync")
    find_uv(world, other_than=first_uv.pid)
    wait_for(lambda: len(world.journal()) == 2, what="both runs to be journaled",
             detail=lambda: f"runs/: {world.journal()}")
    first.sendintr()
    out = first.expect_prompt()

    if env == NEW:
        assert messages(out) == [KEPT_BUSY]
    else:
        assert len(messages(out)) == 1 and messages(out)[0].startswith(KEPT_EXISTING)
    assert os.path.isdir(world.venv), "the second run's .venv was pulled from under it"
    second_out = second.expect_prompt()
    assert messages(second_out) == []
    assert second.status() == 0, "the second run's `uv sync` did not finish"
    assert second.output(".venv/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    assert_settled(world, first, env, before, venv=COMPLETE)


# --- a reboot ----------------------------------------------------------------------


def boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise AssertionError("no btime in /proc/stat")


def start_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    return int(raw[raw.rfind(b")") + 2 :].split()[19])


ENTRY_PIDS = ("owner",)  # the processes the entry names


def assert_untouched(decoy_pids: list[int]) -> None:
    killed = [key for key, pid in zip(ENTRY_PIDS, decoy_pids, strict=True)
              if not Proc(pid).alive]
    assert not killed, (
        f"killed: the unrelated live process that now has the last boot's {killed} pid")


def reboot_during_uv_sync(world, sh, decoy_pids: list[int], *, env_before_boot: bool) -> None:
    """Cut a `uv sync` short as a reboot would: everything of the run dies at once
    (kill -9 of the watchdog, the supervisor, uv and the build backend), and the
    journal entry is left as the last boot wrote it: another boot id, pids that now
    belong to live unrelated processes (each with its very start time, as a pid reused
    at the same moment after a boot would have), and, if `env_before_boot`, the
    environment and the entry last written before this machine's boot time."""
    uv, supervisor = start_uv_sync(sh, world)
    watchdog = find_watchdog(world, supervisor)
    [name] = world.journal()
    entry = os.path.join(world.runs, name)
    aside = entry + ".aside"  # out of the prompt hook's sight until the "reboot" is over
    os.rename(entry, aside)
    token = next(v for v in uv.environ if v.startswith("VENVGUARD_RUN=")).partition("=")[2]
    of_the_run = [
        p.pid for p in world.procs() if f"VENVGUARD_RUN={token}" in p.environ
    ]
    for pid in (watchdog.pid, supervisor.pid, *of_the_run):
        os.kill(pid, signal.SIGKILL)
    sh.expect_prompt()  # the shell sees its job die of SIGKILL
    wait_for(lambda: not run_processes(world), what="every process of the run to be dead",
             detail=lambda: "\n".join(map(repr, run_processes(world))))

    with open(aside) as f:
        data = json.load(f)
    data["boot"] = str(uuid.uuid4())
    for key, pid in zip(ENTRY_PIDS, decoy_pids, strict=True):
        data[key] = [pid, start_ticks(pid)]
    moment = boot_time() - 3600
    if env_before_boot:  # the whole run, start and writes, happened before the boot
        data["started"] = moment - 60
    with open(aside, "w") as f:
        json.dump(data, f)
    if env_before_boot:
        for dirpath, dirnames, filenames in os.walk(world.venv, topdown=False):
            for n in dirnames + filenames:
                os.utime(os.path.join(dirpath, n), (moment, moment), follow_symlinks=False)
        os.utime(world.venv, (moment, moment), follow_symlinks=False)
        os.utime(aside, (moment, moment))
    os.rename(aside, entry)


@fault("reboot, env written before it")
def test_reboot_with_the_env_written_before_the_boot(world, env, start_shell, decoys):
    """All the run's work is older than the boot: a new .venv is the run's half-made
    one and goes; an existing one stays. Processes that now hold the entry's pids
    are nobody's business."""
    sh = start_shell()
    before = user_listing(world)
    decoy_pids = decoys(len(ENTRY_PIDS))

    reboot_during_uv_sync(world, sh, decoy_pids, env_before_boot=True)
    sh.type("")  # Enter at the prompt: the hook settles the run cut short by the reboot
    out = sh.expect_prompt()

    if env == NEW:
        assert messages(out) == [REMOVED_CUT_SHORT]
    else:
        assert len(messages(out)) == 1 and messages(out)[0].startswith(KEPT_EXISTING)
    assert_untouched(decoy_pids)
    assert_settled(world, sh, env, before)


@fault("reboot, env written after it")
def test_reboot_with_the_env_written_after_the_boot(world, env, start_shell, decoys):
    """The .venv was written since the boot, so after the run of the last boot: not
    provably that run's work, so it is kept, new or not."""
    sh = start_shell()
    before = user_listing(world)
    decoy_pids = decoys(len(ENTRY_PIDS))

    reboot_during_uv_sync(world, sh, decoy_pids, env_before_boot=False)
    sh.type("")
    out = sh.expect_prompt()

    if env == NEW:
        assert messages(out) == [KEPT_WRITTEN_AFTER]
    else:
        assert len(messages(out)) == 1 and messages(out)[0].startswith(KEPT_EXISTING)
    assert_untouched(decoy_pids)
    assert_settled(world, sh, env, before, venv=KEPT)
