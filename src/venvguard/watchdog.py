"""The watchdog: a forked helper that settles a run at once if its supervisor dies.

A supervisor killed with SIGKILL cannot clean up, and the prompt hook only runs
when a shell is there to show a prompt (not in scripts or CI, not after the
terminal closed). So every guarded run has a watchdog, forked once the tool runs
(off the path to the tool's start) and moved out of the job's process group
(Ctrl-C and Ctrl-Z are not for it). It shares the supervisor's open journal
entry, and so its lock: nobody else settles the run while either lives. It waits
on a pipe only the supervisor holds; while it waits it touches the entry every
second, a heartbeat that bounds when the run can have ended. When the pipe
closes without the supervisor's last word, the supervisor died before finishing:
the watchdog ends what the run started and settles it, right then, before
anybody could have re-made the environment.
"""

import os

from venvguard import journal
from venvguard.processes import signal


def start(entry: journal.Entry, close: tuple[int, ...] = ()) -> tuple[int, int] | None:
    """Fork the watchdog for `entry`: (its pid, the pipe end to hold), or None if it
    cannot be forked (the run is then settled by the prompt hook)."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid:
        os.close(read_end)
        return pid, write_end
    try:
        os.close(write_end)
        for fd in close:
            os.close(fd)
        os.setpgid(0, 0)
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTSTP):
            signal.signal(sig, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _watch(read_end, entry)
    except BaseException:
        pass
    finally:
        os._exit(0)


DONE = "done"  # the supervisor's last word: the run is settled, nothing to do


def _watch(fd: int, entry: journal.Entry) -> None:
    """Heartbeat until the supervisor's word or death. It writes how the run ended as
    soon as it knows, then DONE once settled: a supervisor that dies during cleanup
    is finished for exactly the outcome it told, and only one that died before
    knowing is taken as cut short."""
    import select  # here, in the watchdog: a shared library the supervisor never needs

    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    said: list[str] = []
    while True:
        if not poller.poll(journal.HEARTBEAT * 1000):
            try:
                os.utime(entry.fd)
            except OSError:
                pass
            continue
        chunk = os.read(fd, 256)
        if not chunk:
            break  # the supervisor is gone without its last word
        said += chunk.decode(errors="replace").split()
        if DONE in said:
            return
    from venvguard import settle

    settle.abandoned(entry, said[-1] if said else None)


def tell(dog: tuple[int, int] | None, word: str) -> None:
    """Tell the watchdog how the run ended, or DONE (best effort: it may be gone)."""
    if dog is None:
        return
    try:
        os.write(dog[1], word.encode() + b"\n")
    except OSError:
        pass


def dismiss(dog: tuple[int, int] | None) -> None:
    """The run is settled: send the watchdog off and reap it, so that no zombie is
    left behind where pid 1 does not reap orphans (containers)."""
    if dog is None:
        return
    tell(dog, DONE)
    os.close(dog[1])
    try:
        os.waitpid(dog[0], 0)
    except ChildProcessError:
        pass
