"""processes: who is alive, named by (pid, start time, boot) since pids are reused,
and ending every process of a guarded run, found by the VENVGUARD_RUN=<token>
marker in its environment."""

import os
import signal
import subprocess
import sys
import time

import pytest

from venvguard import processes


def token():
    return os.urandom(6).hex()


def marked(run, *, env=None):
    """A child carrying run `run`'s marker, as the tool of a guarded run does, once
    its exec is complete: Popen returns while the kernel may still be setting up the
    new image, when /proc/PID/environ still reads empty."""
    environ = dict(os.environ if env is None else env)
    if run is not None:
        environ[processes.MARKER] = run
    child = subprocess.Popen(["sleep", "60"], env=environ)
    deadline = time.monotonic() + 10
    while cmdline(child.pid) != b"sleep\x0060\x00":
        assert time.monotonic() < deadline, "sleep did not start"
        time.sleep(0.001)
    return child


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


@pytest.fixture
def children():
    """Children a test starts: killed and reaped after it."""
    started = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait()


def state(pid):
    """The state letter in /proc/PID/stat, None once the pid is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def wait_for_zombie(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while state(pid) != "Z":
        assert time.monotonic() < deadline, f"{pid} did not exit"
        time.sleep(0.01)


IGNORES_TERM = (
    sys.executable, "-c",
    "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); sys.stdin.read()",
)


def ignoring_term(run, children):
    """A marked child that ignores SIGTERM, once it has said so."""
    child = subprocess.Popen(list(IGNORES_TERM), env=os.environ | {processes.MARKER: run},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    children.append(child)
    assert child.stdout.readline() == "ready\n"
    return child


# --- start time and boot ----------------------------------------------------------------


def test_start_time_of_this_process_is_a_stable_int():
    first = processes.start_time(os.getpid())
    assert isinstance(first, int)
    assert processes.start_time(os.getpid()) == first


def test_a_later_process_has_a_later_start_time(live_child):
    assert processes.start_time(live_child.pid) >= processes.start_time(os.getpid())


def test_start_time_of_a_dead_process_is_none(dead_pid):
    assert processes.start_time(dead_pid) is None


def test_start_time_survives_a_command_name_with_spaces_and_parentheses():
    """The child renames itself (comm, field 2 of /proc/PID/stat) to look like more
    fields; the start time read before and after must agree."""
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; sys.stdin.readline(); "
         "open('/proc/self/comm', 'w').write('x) S 1 2 (y'); "
         "print('renamed', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        before = processes.start_time(child.pid)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "renamed\n"
        with open(f"/proc/{child.pid}/comm") as f:
            assert f.read().strip() == "x) S 1 2 (y"
        assert isinstance(before, int)
        assert processes.start_time(child.pid) == before
    finally:
        child.stdin.close()
        child.wait()


def test_boot_id_is_this_boots_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        assert processes.boot_id() == f.read().strip()


def test_boot_time_is_in_the_past():
    booted = processes.boot_time()
    assert isinstance(booted, float)
    assert 0 < booted <= time.time()


# --- alive ------------------------------------------------------------------------------


def test_this_process_is_alive():
    pid = os.getpid()
    assert processes.alive(pid, processes.start_time(pid), processes.boot_id())


def test_a_live_child_is_alive(live_child):
    started = processes.start_time(live_child.pid)
    assert processes.alive(live_child.pid, started, processes.boot_id())


def test_a_process_with_unknown_start_time_and_boot_counts_as_alive_when_its_pid_is():
    assert processes.alive(os.getpid(), None, None)


def test_a_reaped_child_is_dead(dead_pid):
    assert not processes.alive(dead_pid, None, None)


def test_a_live_pid_with_another_start_time_is_a_reused_pid_and_counts_as_dead(live_child):
    started = processes.start_time(live_child.pid)
    assert not processes.alive(live_child.pid, started + 1, processes.boot_id())
    assert not processes.alive(live_child.pid, started - 1, None)


def test_a_process_from_another_boot_is_dead():
    pid = os.getpid()
    assert not processes.alive(pid, processes.start_time(pid), "another-boot-id")


def test_a_child_that_exited_but_was_not_reaped_is_dead():
    """A zombie (a container's pid 1 may never reap it) runs nothing any more."""
    child = subprocess.Popen(["true"])
    started = processes.start_time(child.pid)
    try:
        wait_for_zombie(child.pid)
        assert not processes.alive(child.pid, started, processes.boot_id())
        assert not processes.alive(child.pid, None, None)
    finally:
        child.wait()


@pytest.mark.parametrize("pid", [0, -1, -os.getpid(), processes.PID_MAX, 1 << 40])
def test_a_pid_out_of_range_is_never_alive(pid):
    """kill(0) or kill(-1) would signal a whole group, and answer that it lives."""
    assert not processes.alive(pid, None, None)


def test_a_process_of_another_user_can_be_alive():
    """kill(pid, 0) says EPERM for another user's process: it still lives. Asked by
    a child running as nobody about this process when the tests run as root."""
    if os.geteuid() != 0:
        assert processes.alive(1, processes.start_time(1), processes.boot_id())
        return
    pid, started, boot = os.getpid(), processes.start_time(os.getpid()), processes.boot_id()
    child = os.fork()
    if child == 0:
        try:
            os.setgid(65534)
            os.setuid(65534)
            os._exit(0 if processes.alive(pid, started, boot) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- members of a run -----------------------------------------------------------------


def test_members_finds_a_child_carrying_the_runs_marker(children):
    run = token()
    child = marked(run)
    children.append(child)
    assert processes.members(run, None) == [child.pid]


def test_members_leaves_out_a_child_without_the_marker(children):
    run = token()
    children.append(marked(None))
    assert processes.members(run, None) == []


def test_members_leaves_out_another_runs_child_even_with_a_longer_token(children):
    run = token()
    children.append(marked(run + "0"))
    children.append(marked(run[:-1]))
    assert processes.members(run, None) == []


def test_members_leaves_out_a_child_whose_marker_is_only_part_of_another_variable(children):
    run = token()
    children.append(marked(None, env=os.environ | {"OTHER": f"{processes.MARKER}={run}"}))
    assert processes.members(run, None) == []


def test_members_finds_a_member_started_at_or_after_since(children):
    run = token()
    child = marked(run)
    children.append(child)
    assert processes.members(run, processes.start_time(child.pid)) == [child.pid]


def test_members_leaves_out_a_process_started_before_since(children):
    """The marker is inherited, not proof: a process older than the run's tool
    (a pid reused since, with the same environment by chance) is not the run's."""
    run = token()
    child = marked(run)
    children.append(child)
    assert processes.members(run, processes.start_time(child.pid) + 1) == []


def test_members_leaves_out_a_member_that_has_exited(children):
    run = token()
    child = marked(run)
    children.append(child)
    child.send_signal(signal.SIGTERM)
    wait_for_zombie(child.pid)
    assert processes.members(run, None) == []


def test_members_never_names_the_asking_process(monkeypatch):
    run = token()
    monkeypatch.setenv(processes.MARKER, run)  # /proc/self/environ is fixed at exec anyway
    child = subprocess.run(
        [sys.executable, "-c",
         "import os, sys; from venvguard import processes; "
         "print(os.getpid() in processes.members(sys.argv[1], None))", run],
        capture_output=True, text=True, check=True,
    )
    assert child.stdout == "False\n"


# --- ending a run ---------------------------------------------------------------------


def test_end_run_ends_the_tool_with_sigterm(children):
    run = token()
    tool = marked(run)
    children.append(tool)
    assert processes.end_run(run, None, processes.boot_id())
    assert tool.wait(timeout=10) == -signal.SIGTERM


def test_end_run_kills_a_tool_that_ignores_sigterm_after_the_grace(children):
    run = token()
    tool = ignoring_term(run, children)
    began = time.monotonic()
    assert processes.end_run(run, None, processes.boot_id())
    assert time.monotonic() - began >= processes.GRACE
    assert tool.wait(timeout=10) == -signal.SIGKILL


def test_end_run_ends_every_member_not_only_the_tool(children):
    """A build backend the tool started, re-parented once the tool died."""
    run = token()
    tool = marked(run)
    children.append(tool)
    backend = ignoring_term(run, children)
    assert processes.end_run(run, None, processes.boot_id())
    assert tool.wait(timeout=10) == -signal.SIGTERM
    assert backend.wait(timeout=10) == -signal.SIGKILL


def test_end_run_returns_false_when_nothing_of_the_run_is_alive():
    assert not processes.end_run(token(), None, processes.boot_id())


def test_end_run_leaves_a_member_started_before_the_run(children):
    """Started before the supervisor: not the run's, whatever its environment says."""
    run = token()
    member = marked(run)
    children.append(member)
    started = processes.start_time(member.pid)
    assert not processes.end_run(run, started + 1, processes.boot_id())
    assert member.poll() is None


def test_end_run_of_a_run_of_an_earlier_boot_ends_nothing(children):
    """After a reboot, the run's processes are long gone whatever carries its token."""
    run = token()
    member = marked(run)
    children.append(member)
    assert not processes.end_run(run, None, "an-earlier-boot")
    assert member.poll() is None


def test_end_run_leaves_processes_of_other_runs(children):
    run = token()
    other = marked(token())
    children.append(other)
    tool = marked(run)
    children.append(tool)
    assert processes.end_run(run, None, processes.boot_id())
    assert tool.wait(timeout=10) == -signal.SIGTERM
    assert other.poll() is None


# --- checkpoints for the fault matrix ------------------------------------------------------


def at_checkpoint(step, die_at):
    """A process that passes checkpoint `step` with VENVGUARD_TEST_DIE_AT=`die_at`."""
    environ = dict(os.environ)
    environ.pop("VENVGUARD_TEST_DIE_AT", None)
    if die_at is not None:
        environ["VENVGUARD_TEST_DIE_AT"] = die_at
    return subprocess.run(
        [sys.executable, "-c",
         "import sys; from venvguard import processes; "
         "processes.checkpoint(sys.argv[1]); print('passed')", step],
        env=environ, capture_output=True, text=True,
    )


def test_a_process_dies_of_sigkill_at_the_step_the_test_names():
    ran = at_checkpoint("running", "running")
    assert ran.returncode == -signal.SIGKILL
    assert ran.stdout == ""


def test_a_process_passes_every_other_step():
    ran = at_checkpoint("running", "ended")
    assert (ran.returncode, ran.stdout) == (0, "passed\n")


def test_a_process_passes_every_step_when_no_test_asks():
    ran = at_checkpoint("deleting", None)
    assert (ran.returncode, ran.stdout) == (0, "passed\n")


def test_a_step_is_named_exactly_not_by_prefix():
    ran = at_checkpoint("set-aside", "set")
    assert (ran.returncode, ran.stdout) == (0, "passed\n")
