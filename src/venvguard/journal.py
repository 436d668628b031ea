"""The journal: one small file per guarded run, the marker the design rests on.

`$XDG_STATE_HOME/venvguard/runs/<host>/<pid>.<token>.json` exists from before
the tool starts until its cleanup is done, so an entry whose run is gone means the
run did not finish. Its owner holds an flock on it, shared with its watchdog, for
as long as either lives (the kernel drops the lock when both are gone, however
they die), so "is the run alive" never rests on a pid that may have been reused.
The pid in the file name lets the shell's prompt hook skip live runs with builtins
alone; the host in the path keeps another machine's runs (a home shared over NFS)
out of its sight.

Everything read back is distrusted: only private regular files of ours, opened
without blocking, of bounded size, with every field checked (docs/policy.md).
"""

import errno
import fcntl
import os
import stat
import time

from venvguard import decision, processes

FORMAT = 3
SUFFIX = ".json"
MAX_SIZE = 64 * 1024  # an entry is well under 4 KiB; a larger file is not ours
HEARTBEAT = 1.0  # seconds between a watchdog's touches of its run's entry
SLACK = 1.0  # how long a tool may take to die after its supervisor
SHAPES = frozenset({*decision.EARLY_ENTRIES, decision.REDIRECT, decision.CONDA})
KINDS = frozenset(
    {decision.ABSENT, decision.DIR, decision.SYMLINK, decision.FILE, decision.OTHER}
)


class JournalError(Exception):
    """An entry that cannot be read: reported in one line, never acted upon."""


class StateError(OSError):
    """The state directory cannot hold a journal: the run goes on unguarded."""


def state_dir(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """$XDG_STATE_HOME/venvguard; a relative XDG_STATE_HOME is ignored, as the XDG
    spec says, so that the journal never lands inside a project."""
    base = environ.get("XDG_STATE_HOME") or ""
    if not os.path.isabs(base):
        home = environ.get("HOME") or ""
        if not os.path.isabs(home):
            import pwd

            home = pwd.getpwuid(os.getuid()).pw_dir
        base = os.path.join(home, ".local", "state")
    return os.path.join(clean_path(base), "venvguard")


def runs_dir(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """This machine's journal: the hooks find it as runs/$HOSTNAME ($HOST, $hostname)."""
    host = os.uname().nodename.replace("/", "_") or "localhost"
    return os.path.join(state_dir(environ), "runs", host)


def kept_dir(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """Where kept.py records the environments kept although maybe incomplete."""
    return os.path.join(state_dir(environ), "kept")


def clean_path(path: str) -> str:
    """An absolute path in its one normal spelling (`//home/me` is `/home/me`)."""
    path = os.path.normpath(path)
    return "/" + path.lstrip("/") if path.startswith("//") else path


def entry_name(pid: int, token: str) -> str:
    return f"{pid}.{token}{SUFFIX}"


def parse_name(name: str) -> tuple[int, str] | None:
    """(pid, token) for a journal file name, None for anything else."""
    if not name.endswith(SUFFIX):
        return None
    pid, _, token = name[: -len(SUFFIX)].partition(".")
    if not (pid.isascii() and pid.isdigit() and token.isascii() and token.isalnum()):
        return None
    return int(pid), token


def path_kind(path: str, dir_fd: int | None = None) -> str:
    """What is at a path, never following a link: the vocabulary of decision.py."""
    try:
        mode = os.lstat(path, dir_fd=dir_fd).st_mode
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

    def finished(self) -> None:
        """The run finished: delete the entry first (one left behind would be taken
        for a run cut short), then drop its targets' kept records, a broken one only
        once it checks whole again. Kept records are rare: kept.py is imported only
        when there are any."""
        self.remove()
        if os.path.isdir(kept_dir()):
            from venvguard import kept

            kept.finished_on([target["path"] for target in self.data["targets"]],
                             self.data["argv"])

    def release(self) -> None:
        """Let go of the entry without deleting it; it stays for a later settle."""
        os.close(self.fd)


def private_dir(path: str) -> None:
    """Make `path` if needed (mode 0700, whatever the umask), and make sure it is a
    directory of ours that nobody else can write: a journal there could be forged,
    or moved away to hide live runs."""
    try:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except FileNotFoundError:  # $XDG_STATE_HOME itself is missing: the user's to own
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.mkdir(path, 0o700)
        info = os.lstat(path)
    except OSError as e:
        raise StateError(e.errno, f"{path}: {e.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise StateError(errno.ENOTDIR, f"{path} is not a directory")
    if not _private(info):
        raise StateError(errno.EPERM, f"{path} is not private (owner or mode)")


def _private(info: os.stat_result) -> bool:
    """A real directory of ours that nobody else can write."""
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & 0o022)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte or raise: a short write (a full disk) is an error."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "short write")
        view = view[written:]


def entry_path(token: str, environ: "os._Environ[str] | dict[str, str]" = os.environ) -> str:
    """Where this process's entry for run `token` is written."""
    return os.path.join(runs_dir(environ), entry_name(os.getpid(), token))


def create(data: dict, environ: "os._Environ[str] | dict[str, str]" = os.environ) -> Entry:
    """Write a new entry atomically and lock it; raises OSError (StateError) when the
    state dir cannot hold it. The lock is taken before the entry is visible."""
    directory = runs_dir(environ)
    for level in (state_dir(environ), os.path.dirname(directory), directory):
        private_dir(level)
    path = entry_path(data["token"], environ)
    tmp = os.path.join(directory, "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        write_all(fd, dumps(data).encode("ascii"))
        os.rename(tmp, path)  # no fsync: an entry a power cut loses or empties keeps all
    except BaseException:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return Entry(path, fd, data)


def dumps(value: object) -> str:
    """JSON for an entry's plain values, ASCII only, that json.loads reads back exactly
    (non-UTF-8 file names included). Written here because the json module imports
    `re`, which at every guarded call would cost about half a Python start; reading,
    which is rare, uses json."""
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not -decision.INF < value < decision.INF:  # nor NaN
            raise ValueError(f"{value} is not JSON")
        return float.__repr__(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(map(dumps, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_string(k) + ":" + dumps(v) for k, v in value.items()) + "}"
    raise TypeError(f"{type(value).__name__} is not JSON")


def _string(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for char in text:
        code = ord(char)
        if 0x20 <= code < 0x7F and char not in '"\\':
            out.append(char)
        elif code > 0xFFFF:  # beyond the BMP: a UTF-16 surrogate pair, as JSON has it
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:  # lone surrogates too (from non-UTF-8 file names): json reads them back
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def new_data(*, argv: list[str], cwd: str, environ: dict[str, str], targets: list[dict],
             policy: str, repair: str | None, token: str) -> dict:
    """The entry of a run that is about to start. `environ` holds the variables its
    plan read, so that a later settle can check the targets against the command."""
    boot = processes.boot_id()
    return {
        "venvguard": FORMAT,
        "token": token,
        "host": os.uname().nodename,
        "boot": boot,
        "owner": [os.getpid(), processes.start_time(os.getpid())],
        "started": time.time(),
        "cwd": cwd,
        "argv": argv,
        "environ": environ,
        "targets": targets,
        "policy": policy,
        "repair": repair,
    }


# --- reading ---------------------------------------------------------------------


def _pid_start(value: object, key: str) -> None:
    if not (
        isinstance(value, list) and len(value) == 2 and type(value[0]) is int
        and 0 < value[0] < processes.PID_MAX
        and (value[1] is None or (type(value[1]) is int and value[1] >= 0))
    ):
        raise JournalError(f"field {key!r} is not [pid, start time]")


def _target(target: object) -> None:
    if not isinstance(target, dict):
        raise JournalError("a target is not an object")
    path, anchor = target.get("path"), target.get("anchor")
    if not (isinstance(path, str) and os.path.isabs(path) and clean_path(path) == path
            and "\0" not in path and path != "/"):
        raise JournalError("a target path is not absolute and normalised")
    if target.get("existed") not in KINDS or target.get("shape") not in SHAPES:
        raise JournalError("a target's kind or shape is unknown")
    if anchor is not None and not (
        isinstance(anchor, list) and len(anchor) == 3 and isinstance(anchor[0], str)
        and clean_path(anchor[0]) == anchor[0] and os.path.isabs(anchor[0])
        and path.startswith(anchor[0].rstrip("/") + "/")
        and all(type(x) is int and x >= 0 for x in anchor[1:])
    ):
        raise JournalError("a target's anchor is not [directory above it, device, inode]")


def validate(data: object) -> dict:
    """The entry's data, or JournalError saying what is wrong with it."""
    if not isinstance(data, dict):
        raise JournalError("not a JSON object")
    if data.get("venvguard") != FORMAT:
        raise JournalError(f"format {data.get('venvguard')!r}, expected {FORMAT}")
    checks = {
        "token": str, "host": str, "cwd": str, "argv": list, "targets": list,
        "policy": str, "environ": dict,
    }
    for key, kind in checks.items():
        if not isinstance(data.get(key), kind):
            raise JournalError(f"field {key!r} missing or not a {kind.__name__}")
    token = data["token"]
    if not (token.isascii() and token.isalnum() and len(token) <= 64):
        raise JournalError("field 'token' is not a short alphanumeric word")
    if not data["argv"] or not all(isinstance(w, str) and "\0" not in w for w in data["argv"]):
        raise JournalError("field 'argv' is not a list of strings")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data["environ"].items()):
        raise JournalError("field 'environ' is not a table of strings")
    if not os.path.isabs(data["cwd"]) or data["policy"] not in decision.POLICIES:
        raise JournalError("field 'cwd' or 'policy' is off")
    started = data.get("started")
    if not (type(started) in (int, float) and 0 <= started < decision.INF):
        raise JournalError("field 'started' is not a time")
    if not (data.get("repair") is None or isinstance(data["repair"], str)):
        raise JournalError("field 'repair' is not a string")
    if not (data.get("boot") is None or isinstance(data["boot"], str)):
        raise JournalError("field 'boot' is not a string")
    _pid_start(data.get("owner"), "owner")
    for target in data["targets"]:
        _target(target)
    return data


def _load(fd: int) -> object:
    """The JSON in the small regular file of ours open on `fd`; JournalError else."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise JournalError("not a regular file")
    if info.st_uid != os.geteuid():
        raise JournalError(f"owned by another user (uid {info.st_uid})")
    if info.st_size > MAX_SIZE:
        raise JournalError(f"too large ({info.st_size} bytes)")
    chunks = []
    while True:
        chunk = os.read(fd, MAX_SIZE + 1)
        if not chunk:
            break
        chunks.append(chunk)
        if sum(map(len, chunks)) > MAX_SIZE:
            raise JournalError("too large")
    import json

    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as e:  # RecursionError: absurdly deep nesting
        raise JournalError(f"not valid JSON ({e})") from None


def _read_fd(fd: int) -> dict:
    return validate(_load(fd))


def _open(path: str) -> int:
    """Open an entry without ever blocking (a FIFO) or following a link."""
    return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)


def read_private_json(path: str) -> object:
    """The JSON in a small regular file of ours (a kept record), read as an entry is:
    JournalError or OSError for anything else, never blocking or following a link."""
    fd = _open(path)
    try:
        return _load(fd)
    finally:
        os.close(fd)


def read(path: str) -> dict:
    try:
        fd = _open(path)
    except OSError as e:
        raise JournalError(f"cannot be read ({e.strerror})") from None
    try:
        return _read_fd(fd)
    except OSError as e:
        raise JournalError(f"cannot be read ({e.strerror})") from None
    finally:
        os.close(fd)


def claim(path: str, wait: float = 0.0) -> Entry | None:
    """Lock an entry whose owner is gone; None while its owner still holds it (after
    waiting up to `wait` seconds for it to let go). Raises JournalError when the
    entry is not a readable entry of ours."""
    try:
        fd = _open(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise JournalError(f"cannot be opened ({e.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise JournalError("not a regular file")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return None
                time.sleep(0.01)
        # The owner may have finished and removed the entry just before we locked it.
        try:
            now = os.lstat(path)
        except FileNotFoundError:
            os.close(fd)
            return None
        if not os.path.samestat(now, info):
            os.close(fd)
            return None
        return Entry(path, fd, _read_fd(fd))
    except JournalError:
        os.close(fd)
        raise
    except OSError as e:
        os.close(fd)
        raise JournalError(f"cannot be read ({e.strerror})") from None


def listing(environ: "os._Environ[str] | dict[str, str]" = os.environ) -> list[str]:
    """Journal file paths, sorted by name; [] when there is no journal (or none that
    can be read: the supervisor then says so when it tries to write its entry)."""
    directory = runs_dir(environ)
    try:
        info = os.lstat(directory)
        if not _private(info):
            return []  # a link, or writable by others: nothing in it is trusted
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(os.path.join(directory, n) for n in names if parse_name(n))


def heartbeat_bound(path: str) -> float | None:
    """The latest time the run can have ended by the entry's heartbeat (its watchdog
    touches it every HEARTBEAT seconds while the supervisor lives), None if unknown."""
    try:
        return os.lstat(path).st_mtime + HEARTBEAT + SLACK
    except OSError:
        return None
