"""The journal: one small file per guarded run, the marker the design rests on.

`$XDG_STATE_HOME/venvguard/runs/<host>/<pid>.<token>.json` exists from before
the tool starts until its cleanup is done, so an entry whose run is gone means the
run did not finish. Its owner holds an flock on it for as long as it lives (the
kernel drops the lock when the owner dies, however it dies), so "is the owner
alive" never rests on a pid that may have been reused. The pid in the file name
lets the shell's prompt hook skip live runs with builtins alone; the host in the
path keeps another machine's runs (a home shared over NFS) out of its sight.
"""

import fcntl
import json
import os
import stat
import time

from venvguard import decision

FORMAT = 1
SUFFIX = ".json"


class JournalError(Exception):
    """An entry that cannot be read: reported in one line, never acted upon."""


def state_dir(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    base = environ.get("XDG_STATE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "venvguard")


def runs_dir(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """This machine's journal: the hooks find it as runs/$HOSTNAME ($HOST, $hostname)."""
    host = os.uname().nodename.replace("/", "_") or "localhost"
    return os.path.join(state_dir(environ), "runs", host)


def entry_name(pid: int, token: str) -> str:
    return f"{pid}.{token}{SUFFIX}"


def parse_name(name: str) -> tuple[int, str] | None:
    """(pid, token) for a journal file name, None for anything else."""
    if not name.endswith(SUFFIX):
        return None
    pid, _, token = name[: -len(SUFFIX)].partition(".")
    if not (pid.isdigit() and token and token.isalnum()):
        return None
    return int(pid), token


def path_kind(path: str) -> str:
    """What is at a path, never following a link: the vocabulary of decision.py."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return decision.ABSENT
    except OSError:
        return decision.OTHER
    if stat.S_ISLNK(mode):
        return decision.SYMLINK
    if stat.S_ISDIR(mode):
        return decision.DIR
    if stat.S_ISREG(mode):
        return decision.FILE
    return decision.OTHER


# --- who is running --------------------------------------------------------------


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
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    fields = stat_line[stat_line.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot), None where unknown."""
    info = _stat(pid)
    return info[1] if info else None


def process_alive(pid: int, started: int | None, boot: str | None) -> bool:
    """Is this very process (not a later one with the same pid) still running?"""
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


# --- writing ---------------------------------------------------------------------


class Entry:
    """An entry held under its lock: by the run's supervisor, or by whoever settles it."""

    __slots__ = ("data", "fd", "path")

    def __init__(self, path: str, fd: int, data: dict) -> None:
        self.path = path
        self.fd = fd
        self.data = data

    @property
    def token(self) -> str:
        return self.data["token"]

    def rename_for(self, pid: int) -> None:
        """Hand the entry to another process (the background deleter)."""
        new = os.path.join(os.path.dirname(self.path), entry_name(pid, self.token))
        os.rename(self.path, new)
        self.path = new

    def remove(self) -> None:
        """Delete the entry: the run is settled."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.release()

    def release(self) -> None:
        """Let go of the entry without deleting it; it stays for a later settle."""
        os.close(self.fd)


def create(data: dict, environ: "os._Environ[str] | dict[str, str]" = os.environ) -> Entry:
    """Write a new entry atomically and lock it; raises OSError when the state dir is
    unwritable. The lock is taken before the entry becomes visible under its name."""
    directory = runs_dir(environ)
    os.makedirs(os.path.dirname(directory), mode=0o700, exist_ok=True)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, entry_name(os.getpid(), data["token"]))
    tmp = os.path.join(directory, "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps(data, separators=(",", ":")).encode())
        os.fsync(fd)
        os.rename(tmp, path)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return Entry(path, fd, data)


def new_data(*, argv: list[str], cwd: str, targets: list[list[str]], policy: str,
             repair: str | None, tool_pid: int, token: str) -> dict:
    return {
        "venvguard": FORMAT,
        "token": token,
        "host": os.uname().nodename,
        "boot": boot_id(),
        "owner": [os.getpid(), start_time(os.getpid())],
        "tool": [tool_pid, start_time(tool_pid)],
        "started": time.time(),
        "cwd": cwd,
        "argv": argv,
        "targets": targets,
        "policy": policy,
        "repair": repair,
    }


# --- reading ---------------------------------------------------------------------


def validate(data: object) -> dict:
    """The entry's data, or JournalError saying what is wrong with it."""
    if not isinstance(data, dict):
        raise JournalError("not a JSON object")
    if data.get("venvguard") != FORMAT:
        raise JournalError(f"format {data.get('venvguard')!r}, expected {FORMAT}")
    checks = {
        "token": str, "host": str, "cwd": str, "argv": list, "targets": list,
        "owner": list, "tool": list, "policy": str,
    }
    for key, kind in checks.items():
        if not isinstance(data.get(key), kind):
            raise JournalError(f"field {key!r} missing or not a {kind.__name__}")
    if not data["token"].isalnum():  # it names files beside the targets
        raise JournalError("field 'token' is not alphanumeric")
    if not all(isinstance(word, str) for word in data["argv"]):
        raise JournalError("field 'argv' is not a list of strings")
    for key in ("owner", "tool"):
        pid_start = data[key]
        if not (
            len(pid_start) == 2 and type(pid_start[0]) is int
            and (pid_start[1] is None or type(pid_start[1]) is int)
        ):
            raise JournalError(f"field {key!r} is not [pid, start time]")
    for target in data["targets"]:
        if not (
            isinstance(target, list) and len(target) == 2
            and all(isinstance(x, str) for x in target) and os.path.isabs(target[0])
        ):
            raise JournalError("a target is not [absolute path, kind]")
    return data


def read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read(1 << 20)
        return validate(json.loads(raw))
    except (ValueError, RecursionError) as e:  # RecursionError: absurdly deep nesting
        raise JournalError(f"not valid JSON ({e})") from None
    except OSError as e:
        raise JournalError(f"cannot be read ({e.strerror})") from None


def claim(path: str) -> Entry | None:
    """Lock an entry whose owner is gone; None while its owner still holds it.
    Raises JournalError when the locked entry cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    # The owner may have finished and removed the entry just before we locked it.
    if not os.path.exists(path):
        os.close(fd)
        return None
    try:
        return Entry(path, fd, read(path))
    except JournalError:
        os.close(fd)
        raise


def listing(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> list[str]:
    """Journal file paths, sorted by name; [] when there is no journal yet."""
    directory = runs_dir(environ)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(os.path.join(directory, n) for n in names if parse_name(n))
