"""The suite started the way a background job of a non-interactive shell, `nohup` or
some CI runners start it: with SIGINT ignored. An ignored signal survives fork and
exec, so unless the harness gives its shells default dispositions, uv never sees
the Ctrl-C of sendintr() and the interrupt tests fail for nothing."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from .conftest import Proc, pexpect, require

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# One real Ctrl-C test, in one shell: never this file, so the inner run cannot recurse.
INNER_TEST = (
    "tests/e2e/test_interrupt.py::test_ctrl_c_during_python_m_venv_removes_the_new_env[bash]"
)
NESTED = "VG_E2E_SUITE_START"  # set in the inner run: a second guard against recursion
INNER_TIMEOUT = 120  # seconds for the whole inner pytest run


def ignore_sigint_and_sigquit() -> None:
    """preexec_fn: start the inner suite as `nohup`, `cmd &` in a script, ... would."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def ignored_signals(pid: int) -> set[int]:
    """The signals a live process ignores, from the SigIgn mask in /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigIgn:"):
                mask = int(line.split()[1], 16)
                return {n for n in range(1, 65) if mask >> (n - 1) & 1}
    raise AssertionError(f"no SigIgn line in /proc/{pid}/status")


def kill_inner_run(proc: subprocess.Popen, basetemp: str) -> None:
    """End the inner pytest and the shells its test started (in their own sessions on
    their own ptys, so only their marker variable finds them), by pid."""
    with contextlib.suppress(OSError):
        proc.kill()
    proc.wait()
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = Proc(int(name))
            if any(e.startswith(f"VG_E2E_WORLD={basetemp}{os.sep}") for e in p.environ):
                with contextlib.suppress(OSError):
                    os.kill(p.pid, signal.SIGKILL)


def test_ctrl_c_tests_pass_when_the_suite_starts_with_sigint_ignored(tmp_path, tools):
    if os.environ.get(NESTED):
        pytest.skip("already inside the run this test starts")
    assert not INNER_TEST.startswith(os.path.relpath(__file__, ROOT))
    require(pexpect, "pexpect (pip install pexpect)")
    require(shutil.which("bash"), "the shell bash")
    basetemp = str(tmp_path / "inner")

    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         f"--basetemp={basetemp}", INNER_TEST],
        cwd=ROOT, env={**os.environ, NESTED: "1"}, preexec_fn=ignore_sigint_and_sigquit,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # Popen returns once the exec has happened, long before pytest is done: the
        # mask read here is the inner run's own, so the test cannot pass vacuously.
        ignored = ignored_signals(proc.pid)
        out, _ = proc.communicate(timeout=INNER_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_inner_run(proc, basetemp)
        out, _ = proc.communicate()
        pytest.fail(f"the inner run took over {INNER_TIMEOUT} s\n{out[-4000:]}")
    except BaseException:
        kill_inner_run(proc, basetemp)
        raise

    assert {signal.SIGINT, signal.SIGQUIT} <= ignored, f"the inner run ignored only {ignored}"
    assert proc.returncode == 0, f"the inner run exited with {proc.returncode}:\n{out[-4000:]}"
    assert re.search(r"^1 passed in ", out, re.MULTILINE), out[-4000:]
