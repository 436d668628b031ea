"""`venvguard run -- CMD` where there is no terminal and no init line: a script, a
Makefile, a CI job, cancelled the way runners cancel them.

Runners differ in whom they signal: the whole job's process group (`kill -TERM
-PGID`), the job's shell alone, or its command alone (`kill PID`). Each case here is
started in a session and process group of its own, as a runner starts a job, and
signalled once the tool is part-way. What must hold:

- the environment the run made is gone once the run is settled, and nothing of the
  run is left (journal empty, nothing set aside, no process carrying its marker);
- the exit status is the tool's: a shell whose own child venvguard was terminated
  sees 143, and a shell or make that was signalled itself dies of the signal;
- a process the run started that ignores SIGTERM is killed (SIGKILL) after
  processes.GRACE seconds, before the environment is removed;
- after SIGKILL to the whole job, the run's watchdog (in a process group of its own)
  settles it: there is no prompt to come in a script.

The interactive shells' cases (SIGTERM to the job, or to `venvguard exec` alone, in
bash, zsh and fish) are in test_fault_matrix.py; these add the non-interactive shells,
the `run` spelling, make, and a run that leaves a straggler.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import time

import pytest

from venvguard import processes

from .conftest import (
    FIXTURES,
    INTERRUPTED_SLEEP,
    TIMEOUT,
    Proc,
    default_signals,
    messages,
    require,
    wait_for,
)

DOCS_EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(FIXTURES)), "docs", "examples")
SCRIPT_SHELLS = ("bash", "sh", "zsh")
REMOVED_X = "venvguard: removed X (made by the interrupted `python3 -m venv X`)"
REMOVED_VENV = "venvguard: removed .venv (made by the interrupted `uv sync`)"
STRAGGLER_TAG = "vg-e2e-straggler"
# A process that ignores SIGTERM and carries on, as a build backend that traps TERM
# does; it says its pid (in a file, atomically) once SIGTERM is ignored.
STRAGGLER = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "with open(sys.argv[1] + '.tmp', 'w') as f:\n"
    "    f.write(str(os.getpid()))\n"
    "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "time.sleep(600)\n"
)


def program(name: str) -> str:
    found = shutil.which(name)
    package = {"sh": "dash"}.get(name, name)
    require(found, f"{name} (Debian package {package})")
    return found


class Started:
    """A command started as a CI runner starts a job: its own session and process group,
    default signal dispositions, no terminal, stdin from /dev/null, output to files."""

    def __init__(self, world, argv: list[str], *, cwd: str, env: dict[str, str] | None = None):
        self.out_path = os.path.join(world.root, "stdout")
        self.err_path = os.path.join(world.root, "stderr")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env or world.environ(sleep=INTERRUPTED_SLEEP),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True, preexec_fn=default_signals,
            )
        self.pid = self.proc.pid

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"{self.proc.args} did not end within {TIMEOUT} s\n{self.stderr()}")

    def running(self) -> bool:
        return self.proc.poll() is None

    def stderr(self) -> str:
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def stdout(self) -> str:
        with open(self.out_path, errors="replace") as f:
            return f.read()


def wait_part_made(run: Started, env_dir: str, *also: str) -> None:
    """Until the tool has written env_dir/pyvenv.cfg (and the files `also` exist); fail
    if the run ended first."""
    paths = [os.path.join(env_dir, "pyvenv.cfg"), *also]
    wait_for(lambda: all(map(os.path.exists, paths)) or not run.running(),
             what=f"{' and '.join(paths)} to appear", detail=run.stderr)
    assert run.running(), f"the run ended before it could be cut short:\n{run.stderr()}"


def run_processes(world) -> list[Proc]:
    """What is left of a guarded run: its supervisor, watchdog or deleter, and every
    process carrying its marker."""
    return [
        p for p in world.procs()
        if any(v.startswith(processes.MARKER + "=") for v in p.environ)
        or (len(p.cmdline) >= 2 and os.path.basename(p.cmdline[1]) == "venvguard")
    ]


def wait_settled(world, directory: str) -> None:
    """Until the journal is empty, nothing is set aside in `directory` and nothing of
    the run runs on (a shell that was signalled itself may end before its venvguard)."""
    wait_for(
        lambda: not world.journal() and not run_processes(world)
        and not any(n.startswith(".venvguard-") for n in os.listdir(directory)),
        what="the run to be settled",
        detail=lambda: (f"runs/: {world.journal()}\n{directory}: {os.listdir(directory)}\n"
                        + "\n".join(map(repr, run_processes(world)))),
    )


def supervisor(world, run: Started) -> Proc:
    """The `venvguard run` of the job: in the job's process group (its watchdog, a fork
    with the same command line, has a group of its own)."""
    return world.find_proc(
        lambda p: len(p.cmdline) >= 3 and os.path.basename(p.cmdline[1]) == "venvguard"
        and p.cmdline[2] == "run" and p.pgrp == run.pid,
        what="the `venvguard run` supervisor in the job's process group",
    )


# --- a shell script ------------------------------------------------------------------


@pytest.mark.parametrize("shell", SCRIPT_SHELLS)
def test_sigterm_to_the_job_of_a_one_line_script_removes_the_env(world, shell):
    """`SHELL -c 'venvguard run -- ...'` and `kill -TERM -PGID`, as a runner cancelling
    the job's process group: the shell (or the venvguard it exec'd) dies of SIGTERM."""
    x = os.path.join(world.work, "X")
    run = Started(world, [program(shell), "-c", "venvguard run -- python3 -m venv X"],
                  cwd=world.work)

    wait_part_made(run, x)
    os.killpg(run.pid, signal.SIGTERM)

    assert run.wait() == -signal.SIGTERM
    wait_settled(world, world.work)
    assert not os.path.lexists(x)
    assert os.listdir(world.work) == []
    assert messages(run.stderr()) == [REMOVED_X]


@pytest.mark.parametrize("shell", SCRIPT_SHELLS)
def test_sigterm_to_venvguard_alone_gives_the_script_143_and_stops_an_and_list(world, shell):
    """`kill PID` of the script's venvguard: it passes SIGTERM on to the tool and dies of
    it as the tool did, so the script's `$?` is 143 and `&& next` does not run."""
    x = os.path.join(world.work, "X")
    status_file = os.path.join(world.root, "status")
    next_file = os.path.join(world.root, "next-ran")
    script = os.path.join(world.root, "job.sh")
    with open(script, "w") as f:
        f.write(f"venvguard run -- python3 -m venv X && echo ran > {shlex.quote(next_file)}\n"
                f"code=$?\n"  # not `status`: read-only in zsh
                f"echo \"$code\" > {shlex.quote(status_file)}\n"
                f"exit \"$code\"\n")
    run = Started(world, [program(shell), script], cwd=world.work)

    wait_part_made(run, x)
    guard = supervisor(world, run)
    assert guard.ppid == run.pid, f"venvguard is not the script's child: {guard!r}"
    os.kill(guard.pid, signal.SIGTERM)

    assert run.wait() == 128 + signal.SIGTERM
    with open(status_file) as f:
        assert f.read() == "143\n"
    assert not os.path.exists(next_file), "`&& next` ran after a cancelled run"
    wait_settled(world, world.work)
    assert not os.path.lexists(x)
    assert messages(run.stderr()) == [REMOVED_X]


def test_sigterm_to_the_scripts_shell_alone_does_not_reach_the_run(world):
    """What docs/scripts-and-ci.md warns of: a signal to a script's shell alone is not
    passed on to the command it waits for. bash dies of it; venvguard and the tool run
    on, undisturbed, and the run finishes (its environment whole, kept, nothing said).
    `exec venvguard run -- ...` is the cure (test_sigint_to_a_step_shell_that_execs_...)."""
    x = os.path.join(world.work, "X")
    script = os.path.join(world.root, "job.sh")
    with open(script, "w") as f:
        f.write("venvguard run -- python3 -m venv X\necho after\n")
    run = Started(world, [program("bash"), script], cwd=world.work)

    wait_part_made(run, x)
    os.kill(run.pid, signal.SIGTERM)

    assert run.wait() == -signal.SIGTERM
    wait_settled(world, world.work)
    assert os.path.isfile(os.path.join(x, "bin", "activate")), "the run did not finish"
    assert os.path.exists(os.path.join(x, "bin", "pip"))
    assert messages(run.stderr()) == []
    assert run.stdout() == ""


def test_sigkill_to_the_job_is_settled_by_the_watchdog(world):
    """`kill -KILL -PGID`, as runners do that kill a job without a grace period: the
    supervisor dies with its job, but its watchdog has a process group of its own, so
    it ends what is left of the run and removes the environment, with no prompt to come."""
    x = os.path.join(world.work, "X")
    run = Started(world, [program("bash"), "-c", "venvguard run -- python3 -m venv X"],
                  cwd=world.work)

    wait_part_made(run, x)
    os.killpg(run.pid, signal.SIGKILL)

    assert run.wait() == -signal.SIGKILL
    wait_settled(world, world.work)
    assert not os.path.lexists(x)
    assert messages(run.stderr()) == [
        "venvguard: removed X (made by the cut-short `python3 -m venv X`)"
    ]


def test_sigint_to_a_step_shell_that_execs_venvguard_reaches_the_run(world):
    """GitHub Actions cancels a step by SIGINT to the step's shell alone (then SIGTERM,
    then SIGKILL): a step whose shell `exec`s venvguard hands it that signal."""
    x = os.path.join(world.work, "X")
    script = os.path.join(world.root, "step.sh")
    with open(script, "w") as f:
        f.write("exec venvguard run -- python3 -m venv X\n")
    argv = [program("bash"), "--noprofile", "--norc", "-eo", "pipefail", script]
    run = Started(world, argv, cwd=world.work)

    wait_part_made(run, x)
    assert Proc(run.pid).cmdline[2:4] == ["run", "--"], "the step's shell did not exec"
    os.kill(run.pid, signal.SIGINT)

    assert run.wait() == -signal.SIGINT
    wait_settled(world, world.work)
    assert not os.path.lexists(x)
    assert messages(run.stderr()) == [REMOVED_X]


# --- a straggler: a process the run started that ignores SIGTERM ---------------------


def straggler_env(world) -> tuple[dict[str, str], str]:
    """An environment whose python3 first starts a straggler (detached from the tool,
    as a build backend left running is), then becomes the real python3; and the file
    the straggler's pid appears in."""
    shim = os.path.join(world.root, "straggler-bin")
    os.makedirs(shim)
    pid_file = os.path.join(world.root, "straggler.pid")
    with open(os.path.join(shim, "python3"), "w") as f:
        f.write(
            "#!/bin/sh\n"
            f"{shlex.quote(world.python)} -c {shlex.quote(STRAGGLER)} {shlex.quote(pid_file)}"
            f" {STRAGGLER_TAG} </dev/null >/dev/null 2>&1 &\n"
            f"exec {shlex.quote(world.python)} \"$@\"\n"
        )
    os.chmod(os.path.join(shim, "python3"), 0o755)
    env = world.environ(sleep=INTERRUPTED_SLEEP)
    env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
    return env, pid_file


def straggler_alive(pid: int) -> bool:
    proc = Proc(pid)
    return proc.alive and STRAGGLER_TAG in proc.cmdline


def ignores_sigterm(pid: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        ignored = next(int(line.split()[1], 16) for line in f if line.startswith("SigIgn:"))
    return bool(ignored & (1 << (signal.SIGTERM - 1)))


def read_pid(path: str) -> int:
    with open(path) as f:
        return int(f.read())


@pytest.mark.parametrize("whom", ["job", "venvguard"])
def test_a_straggler_that_ignores_sigterm_is_killed_after_the_grace_period(world, whom):
    """The tool dies of SIGTERM; what it started and left running gets SIGTERM from the
    supervisor, then SIGKILL after processes.GRACE s, before the environment goes."""
    x = os.path.join(world.work, "X")
    env, pid_file = straggler_env(world)
    run = Started(world, [program("bash"), "-c", "venvguard run -- python3 -m venv X"],
                  cwd=world.work, env=env)

    wait_part_made(run, x, pid_file)
    straggler = read_pid(pid_file)
    assert straggler_alive(straggler) and ignores_sigterm(straggler)
    target = supervisor(world, run).pid
    signalled = time.monotonic()
    if whom == "job":
        os.killpg(run.pid, signal.SIGTERM)
    else:
        os.kill(target, signal.SIGTERM)

    assert run.wait() == -signal.SIGTERM
    took = time.monotonic() - signalled
    assert not straggler_alive(straggler), "the straggler outlived its run's supervisor"
    assert took >= processes.GRACE, f"ended after {took:.2f} s, before the grace period"
    wait_settled(world, world.work)
    assert not os.path.lexists(x)
    assert messages(run.stderr()) == [REMOVED_X]


def test_a_finished_run_leaves_what_it_started_running(world):
    """Only a run that did not finish has its processes ended: a finished one is left
    exactly as it would be without venvguard."""
    y = os.path.join(world.work, "Y")
    env, pid_file = straggler_env(world)
    run = Started(world, [program("bash"), "-c",
                          "venvguard run -- python3 -m venv --without-pip Y"],
                  cwd=world.work, env=env)

    assert run.wait() == 0
    wait_for(lambda: os.path.exists(pid_file), what="the straggler to start")
    straggler = read_pid(pid_file)
    assert straggler_alive(straggler)
    assert os.path.isfile(os.path.join(y, "pyvenv.cfg"))
    assert world.journal() == []
    assert messages(run.stderr()) == []
    os.kill(straggler, signal.SIGKILL)


# --- make ----------------------------------------------------------------------------


@pytest.fixture
def example_makefile(world) -> str:
    """docs/examples/Makefile, in the test's project (`uv sync` of slowpkg)."""
    make = program("make")
    shutil.copy(os.path.join(DOCS_EXAMPLES, "Makefile"), os.path.join(world.project, "Makefile"))
    return make


def test_the_example_makefile_cancelled_by_sigterm_leaves_no_venv(world, example_makefile):
    """`make sync` (docs/examples/Makefile) and SIGTERM to the job while uv builds: make
    dies of it, and the .venv uv made is gone."""
    before = world.listing()
    run = Started(world, [example_makefile, "sync"], cwd=world.project)

    world.wait_ready()
    assert run.running()
    os.killpg(run.pid, signal.SIGTERM)

    assert run.wait() == -signal.SIGTERM
    wait_settled(world, world.project)
    assert not os.path.lexists(world.venv)
    assert world.listing() == before
    assert messages(run.stderr()) == [REMOVED_VENV]
    assert re.search(r"make: \*\*\* \[Makefile:\d+: sync\] Terminated", run.stderr())


def test_the_example_makefile_finished_is_untouched_and_silent(world, example_makefile):
    run = Started(world, [example_makefile, "sync"], cwd=world.project,
                  env=world.environ(sleep=0))

    assert run.wait() == 0, run.stderr()
    assert messages(run.stderr()) == []
    assert world.journal() == []
    check = subprocess.run(
        [os.path.join(world.venv, "bin", "python"), "-c", "import slowpkg; print(slowpkg.VALUE)"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert check.stdout == "42\n"


MAKEFILE = (
    "venv:\n\tvenvguard run -- python3 -m venv --without-pip .venv\n"
    "fail:\n\tvenvguard run -- python3 -m venv --without-pip --upgrade-deps .venv\n"
    "three:\n\tvenvguard run -- python3 -c \"import sys; sys.exit(3)\"\n"
)


@pytest.mark.parametrize(("target", "status", "venv"), [
    ("venv", 0, "kept"),  # finished: its .venv stays, nothing said
    ("fail", 1, "removed"),  # guarded, failed: the .venv it made goes, the status is venv's
    ("three", 3, None),  # not guarded (nothing to guard): run as is, its status passed
])
def test_make_sees_the_tools_exit_status(world, target, status, venv):
    make = program("make")
    with open(os.path.join(world.work, "Makefile"), "w") as f:
        f.write(MAKEFILE)

    run = Started(world, [make, target], cwd=world.work)
    code = run.wait()
    wait_settled(world, world.work)

    dot_venv = os.path.join(world.work, ".venv")
    said = messages(run.stderr())
    if status == 0:
        assert code == 0
    else:
        assert code == 2  # make's own status for a failed recipe
        assert re.search(rf"make: \*\*\* \[Makefile:\d+: {target}\] Error {status}$",
                         run.stderr(), re.M), run.stderr()
    if venv == "kept":
        assert os.path.isfile(os.path.join(dot_venv, "pyvenv.cfg"))
        assert said == []
    elif venv == "removed":
        assert not os.path.lexists(dot_venv)
        assert said == ["venvguard: removed .venv (made by the failed "
                        "`python3 -m venv --without-pip --upgrade-deps .venv`)"]
    else:
        assert not os.path.lexists(dot_venv)
        assert said == []
    assert sorted(os.listdir(world.work)) == sorted(["Makefile", *([".venv"] * (venv == "kept"))])
