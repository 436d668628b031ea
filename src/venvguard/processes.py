"""Processes: who is alive, and ending every process a guarded run started.

Liveness never rests on a pid alone (pids are reused): a process is named by its
pid, its start time (clock ticks since boot) and the boot it belongs to. The
tool of a guarded run, and everything it starts, carries `VENVGUARD_RUN=<token>`
in its environment, so the whole tree can be found again after its supervisor
is gone, even the build backends that were re-parented to init.
"""

import os
import time

try:
    # The signal module is this plus enum wrappers, whose enum import costs about
    # half a Python start at every guarded call; plain numbers do here.
    import _signal as signal
except ImportError:  # not CPython
    import signal

MARKER = "VENVGUARD_RUN"
PID_MAX = 1 << 22  # Linux's upper bound for pid_max
GRACE = 0.5  # seconds a process gets between SIGTERM and SIGKILL


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def boot_time() -> float | None:
    """When this machine booted (seconds since the epoch), None where unknown."""
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from /proc, None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat_line = f.read()
        # The command name (field 2) may hold spaces and parentheses: count from its end.
        fields = stat_line[stat_line.rfind(b")") + 2 :].split()
        return fields[0].decode(), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot), None where unknown."""
    info = _stat(pid)
    return info[1] if info else None


def alive(pid: int, started: int | None, boot: str | None) -> bool:
    """Is this very process (not a later one with the same pid) still running?"""
    if not 0 < pid < PID_MAX:
        return False
    if boot is not None and boot != boot_id():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    info = _stat(pid)
    if info is None:
        return True  # no /proc: cannot tell a reused pid apart, assume alive, so keep
    state, now = info
    if state in ("Z", "X"):
        return False  # exited, not yet reaped (a container's pid 1 may never reap it)
    return started is None or now == started


def members(token: str, since: int | None) -> list[int]:
    """Live processes carrying this run's marker, started at or after `since` (ticks)."""
    needle = f"{MARKER}={token}".encode()
    found = []
    try:
        pids = [int(n) for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue  # gone, or another user's
        if needle not in environ.split(b"\0"):
            continue
        info = _stat(pid)
        if info and info[0] not in ("Z", "X") and (since is None or info[1] >= since):
            found.append(pid)
    return found


def end_run(token: str, since: int | None, boot: str | None) -> bool:
    """End every process of a run: those carrying its marker, started at or after
    `since` (its supervisor's start, in ticks of boot `boot`). SIGTERM, then SIGKILL
    after GRACE. Returns whether any was still alive: then the run had not ended
    until now. The run is scanned again while it dies, so that a process caught
    mid-exec (its environment not yet readable) or just started is ended too."""
    if boot is not None and boot != boot_id():
        return False  # every process of an earlier boot is gone
    pids = set(members(token, since))
    if not pids:
        return False
    signalled: set[int] = set()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        signalled.clear()
        deadline = time.monotonic() + GRACE
        while pids:
            for pid in pids - signalled:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            signalled |= pids
            if time.monotonic() >= deadline:
                break
            time.sleep(0.01)
            pids = {p for p in pids if alive(p, None, None)} | set(members(token, since))
        if not pids:
            break
    return True


def checkpoint(step: str) -> None:
    """Die here, as if killed with SIGKILL, when a test asks for it (the fault matrix:
    VENVGUARD_TEST_DIE_AT names the step). Costs one lookup otherwise."""
    if os.environ.get("VENVGUARD_TEST_DIE_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)
