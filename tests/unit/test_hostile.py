"""Hostile and careless inputs, through the real command.

Each test feeds venvguard one input a hostile local user (or a careless one) could
give it: a target that is a link, a file, a FIFO, a mount point, the current
directory or home; names no terminal should see raw; directories swapped, made or
moved under a run; forged, damaged and odd journal entries; a state directory
that is missing, a file, a link, read-only, full, relative or somebody else's; no
helper on PATH, no tool, no current directory. Runs go through `venvguard exec --
...` as a subprocess (the console script), forged entries through the prompt
hook's `venvguard _settle`, with HOME and XDG_STATE_HOME in the test's tmp_path.

Every test asserts what is on disk afterwards (a victim compared byte for byte
with a snapshot taken before), the exit status, and that stderr holds no
traceback and each of venvguard's messages is one whole, printable line.

Runs that must be caught mid-way use `python3 -m venv` with ensurepip (seconds
long) or virtualenv, and freeze the tool's whole process tree (SIGSTOP, found by
the run's VENVGUARD_RUN marker) before the hostile act: whatever then happens to
a victim is venvguard's doing, not the tool's. The interrupt is a SIGTERM sent
to the supervisor, which passes it on to the tool.
"""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time

import pytest

from venvguard import journal, processes

TIMEOUT = 60  # seconds: the limit for any one command or poll
PROMPT = 10  # seconds: "returns promptly" (a blocked read would hang forever)
OTHER_UID = 65534  # nobody
PYTHON_BIN = os.path.dirname(sys.executable)  # python3, uv, virtualenv of this Python
FAILING_VENV = ("python3", "-m", "venv", "--without-pip", "--upgrade-deps")  # makes, then fails
TRASH = ".venvguard-removing-"


def _venvguard() -> list[str]:
    script = os.path.join(sysconfig.get_path("scripts"), "venvguard")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "venvguard"]


VENVGUARD = _venvguard()


def _uv() -> str | None:
    try:
        import uv

        return os.path.realpath(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


UV = _uv()


# --- what venvguard may say ----------------------------------------------------------

RUN = r"the (?:failed|interrupted|cut-short) `.+`"
MESSAGES = [
    re.compile(pattern)
    for pattern in (
        rf"venvguard: removed .+ \(made by {RUN}\)",
        rf"venvguard: removed .+ \(the redirect file made by {RUN}\)",
        r"venvguard: kept .+ \(.+\)",
        r"venvguard: journal entry .+ is unreadable: .+; set aside as \S+\.corrupt, "
        r"no environment touched",
        r"venvguard: cannot write the journal in .+ \(.+\); running `.+` unguarded",
        r"venvguard: could not remove .+ \(.+\); it may be incomplete",
        r"venvguard: left \S+ beside .+ alone: it is not what venvguard set aside",
        r"venvguard: usage: venvguard exec -- COMMAND \[ARGS\.\.\.\]",
        r"venvguard: \S.*: command not found",
        r"venvguard: the current directory is gone; running `.+` unguarded",
    )
]


def venvguard_lines(stderr: bytes) -> list[str]:
    """venvguard's messages in a command's stderr, after checking that there is no
    traceback and that each message is one whole line: valid UTF-8, printable (no
    raw newline, tab, escape or stray byte from a path), and of a known shape, so
    that a message cut in two by a raw newline in a name fails."""
    assert b"Traceback" not in stderr, stderr.decode(errors="backslashreplace")
    lines = []
    for raw in stderr.split(b"\n"):
        if not raw.startswith(b"venvguard: "):
            continue
        text = raw.decode("utf-8")  # a raw non-UTF-8 byte of a name fails here
        assert text.isprintable(), f"a control character in {text!r}"
        assert any(m.fullmatch(text) for m in MESSAGES), f"not one whole message: {text!r}"
        lines.append(text)
    return lines


# --- the disk ------------------------------------------------------------------------


def snapshot(root) -> dict:
    """Every path below `root` (not following links) with what it is: a directory's
    mode, a file's bytes, a link's target; and the identity of `root` itself, so that
    a copy put in its place does not pass for it."""
    top = os.fsencode(root)
    info = os.lstat(top)
    out: dict = {b"": ("identity", info.st_dev, info.st_ino)}

    def walk(path: bytes, rel: bytes) -> None:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            for name in sorted(os.listdir(path)):
                walk(path + b"/" + name, rel + b"/" + name)
        elif stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), f.read())
        else:
            out[rel] = ("other", stat.S_IFMT(st.st_mode))

    walk(top, b".")
    return out


def user_files(path):
    """Somebody's work: no environment tool writes any of it."""
    path.mkdir(parents=True)
    (path / "thesis.tex").write_text("\\chapter{One}\nnot backed up\n")
    (path / "photos").mkdir()
    (path / "photos" / "cat.jpg").write_bytes(bytes(range(256)) * 4)
    (path / ".git").mkdir()
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return path


def env_shaped(path, *, packages=("requests",)):
    """A directory shaped as an environment tool writes one, pyvenv.cfg and all:
    somebody's real environment, or a run's half-made one."""
    path.mkdir(parents=True)
    (path / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    (path / "bin").mkdir()
    (path / "bin" / "python").write_text("#!/bin/sh\n")
    site = path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for name in packages:
        (site / name).mkdir()
        (site / name / "__init__.py").write_text(f"# {name}\n")
    return path


def no_trash(directory) -> bool:
    return not any(os.fsencode(TRASH) in n for n in os.listdir(os.fsencode(directory)))


def wait_for(cond, what: str, timeout: float = TIMEOUT, detail=None):
    """Poll `cond()` every 10 ms until it is true; fail naming `what` (and showing
    `detail()`) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}{extra}")
        time.sleep(0.01)


def _describe(pid: int) -> str:
    """What /proc says of a process, for a failure report."""
    out = []
    for name in ("stat", "wchan", "cmdline"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                out.append(f"{name}: {f.read().replace(bytes(1), b' ').decode(errors='replace')}")
        except OSError as e:
            out.append(f"{name}: {e}")
    return "\n".join(out)


# --- processes -----------------------------------------------------------------------


def _proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].split()[0].decode()


def marked(token: str) -> list[int]:
    """Live processes of run `token`: the tool and all it started (not the supervisor
    or its watchdog), found by the marker the supervisor puts in the tool's env."""
    needle = f"{processes.MARKER}={token}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
        except OSError:
            continue
        if _proc_state(int(name)) not in (None, "Z", "X"):
            found.append(int(name))
    return found


def children(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:  # the supervisor has one thread
            return {int(child) for child in f.read().split()}
    except OSError:
        return set()


def tool_of(supervisor: int, token: str) -> int:
    """The supervisor's child that carries the run's marker."""
    return wait_for(lambda: next(iter(children(supervisor) & set(marked(token))), None),
                    "the run's tool")


def watchdog_of(supervisor: int, token: str) -> int:
    """The supervisor's child that does not carry the run's marker."""
    return wait_for(lambda: next(iter(children(supervisor) - set(marked(token))), None),
                    "the run's watchdog")


def freeze(token: str) -> None:
    """Stop every process of the run (SIGSTOP), children forked meanwhile included:
    done once two listings in a row find none that is not stopped yet."""
    stopped: set[int] = set()
    quiet = 0
    deadline = time.monotonic() + TIMEOUT
    while quiet < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"could not freeze run {token} within {TIMEOUT} s")
        found = set(marked(token)) - stopped
        # A child between vfork and exec is left to exec first: stopped there, it
        # would hold its parent (all signals blocked, in D) forever. Caught after.
        fresh = {pid for pid in found if not _before_exec_of_vfork(pid)}
        quiet = 0 if found else quiet + 1
        if found and not fresh:
            time.sleep(0.01)  # a vfork child about to exec: look again
        for pid in fresh:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            stopped.add(pid)
        for pid in fresh:
            wait_for(lambda p=pid: _held(p), f"process {pid} to stop",
                     detail=lambda p=pid: _describe(p))


def _before_exec_of_vfork(pid: int) -> bool:
    """Forked but not yet exec'd (the same command line as its parent), or its parent
    is waiting in vfork for it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
        ppid = int(raw[raw.rfind(b")") + 2 :].split()[1])
        with open(f"/proc/{ppid}/wchan") as f:
            if f.read().strip() == "kernel_clone":
                return True
        with open(f"/proc/{pid}/cmdline", "rb") as mine, open(f"/proc/{ppid}/cmdline", "rb") as its:
            return mine.read() == its.read()
    except (OSError, ValueError, IndexError):
        return False


def _held(pid: int) -> bool:
    """Stopped, gone, or unable to run until it stops: a parent in vfork waits in D
    for a child that was stopped before its exec, with our SIGSTOP pending."""
    state = _proc_state(pid)
    if state in (None, "T", "t", "Z", "X"):
        return True
    return state == "D" and _pending(pid, signal.SIGSTOP)


def _pending(pid: int, sig: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return True  # gone
    mask = int(fields["ShdPnd"], 16) | int(fields["SigPnd"], 16)
    return bool(mask & (1 << (sig - 1)))


# --- the world: one test's home, state, working directory ----------------------------


class Result:
    def __init__(self, returncode: int, stdout: bytes, stderr: bytes, elapsed: float):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.lines = venvguard_lines(stderr)


class World:
    def __init__(self, root) -> None:
        self.root = root
        self.home = root / "home"
        self.state = root / "state"
        self.work = root / "work"
        self.tmp = root / "tmp"
        for d in (self.home, self.work, self.tmp):
            d.mkdir(exist_ok=True)
        self.runs = self.state / "venvguard" / "runs" / os.uname().nodename
        self.supervisors: list[subprocess.Popen] = []
        self.tokens: list[str] = []

    def env(self, **changes) -> dict:
        """The environment of a command: nothing from the test runner's own, HOME and
        XDG_STATE_HOME here, uv offline. A change to None unsets the variable."""
        path = PYTHON_BIN if not UV else f"{PYTHON_BIN}:{os.path.dirname(UV)}"
        env = {
            "PATH": f"{path}:/usr/bin:/bin",
            "HOME": str(self.home),
            "XDG_STATE_HOME": str(self.state),
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "UV_OFFLINE": "1",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_CACHE_DIR": str(self.root / "uv-cache"),
        }
        for key, value in changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, argv, *, cwd=None, env=None, timeout: float = TIMEOUT) -> Result:
        started = time.monotonic()
        done = subprocess.run(
            argv, cwd=cwd or self.work, env=env or self.env(), stdin=subprocess.DEVNULL,
            capture_output=True, timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def exec(self, *argv, cwd=None, env=None, timeout: float = TIMEOUT) -> Result:
        """`venvguard exec -- ARGV`, and the background deletion it may leave, done."""
        result = self.run([*VENVGUARD, "exec", "--", *argv], cwd=cwd, env=env, timeout=timeout)
        self.wait_settled(cwd or self.work)
        return result

    def settle(self, *, cwd=None, env=None, timeout: float = TIMEOUT) -> Result:
        """The prompt hook's `venvguard _settle`."""
        return self.run([*VENVGUARD, "_settle"], cwd=cwd, env=env, timeout=timeout)

    def entries(self) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.runs) if journal.parse_name(n))
        except OSError:
            return []

    def wait_settled(self, *dirs) -> None:
        """Until the journal holds no entry (a background deleter renames the entry to
        its own pid and deletes it when done) and nothing set aside is left."""
        wait_for(
            lambda: not self.entries() and all(no_trash(d) for d in dirs if os.path.isdir(d)),
            "the run to be settled",
        )

    # A run caught mid-way.

    def supervise(self, *argv, cwd=None) -> subprocess.Popen:
        """Start `venvguard exec -- ARGV` and return once its journal entry is written."""
        err = open(self.root / f"stderr-{len(self.supervisors)}", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [*VENVGUARD, "exec", "--", *argv], cwd=cwd or self.work, env=self.env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
        )
        err.close()
        proc.stderr_path = err.name
        self.supervisors.append(proc)
        proc.entry = wait_for(lambda: self._entry_of(proc.pid), "the run's journal entry")
        self.tokens.append(self.run_data(proc)["token"])
        return proc

    def _entry_of(self, pid: int) -> str | None:
        for name in self.entries():
            if journal.parse_name(name)[0] == pid:
                return str(self.runs / name)
        return None

    def run_data(self, proc) -> dict:
        with open(proc.entry) as f:
            return json.load(f)

    def interrupt(self, proc) -> Result:
        """SIGTERM to the supervisor; once it has passed it on to the (frozen) tool,
        let the tool go so that it dies of it. The rest of the run stays frozen until
        the supervisor ends it. Returns when the run is settled."""
        tool = tool_of(proc.pid, self.run_data(proc)["token"])
        os.kill(proc.pid, signal.SIGTERM)
        wait_for(lambda: _pending(tool, signal.SIGTERM), "SIGTERM to reach the tool")
        os.kill(tool, signal.SIGCONT)
        proc.wait(timeout=TIMEOUT)
        with open(proc.stderr_path, "rb") as f:
            stderr = f.read()
        self.wait_settled(self.work)
        return Result(proc.returncode, b"", stderr, 0.0)

    def cleanup(self) -> None:
        for proc in self.supervisors:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for token in self.tokens:
            for pid in marked(token):
                for sig in (signal.SIGKILL, signal.SIGCONT):
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.cleanup()


@pytest.fixture
def mount(tmp_path):
    """mount(path, options): a tmpfs at `path`, unmounted after the test; the test is
    skipped, with the reason shown, where mounting is not allowed."""
    mounted = []

    def do(path, options: str) -> None:
        os.makedirs(path, exist_ok=True)
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                                  capture_output=True, text=True, timeout=TIMEOUT)
        except FileNotFoundError:
            pytest.skip("no mount command: this input needs a tmpfs mounted (root)")
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): this input "
                        "needs root with CAP_SYS_ADMIN")
        mounted.append(path)

    yield do
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=TIMEOUT)


def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")


# --- forged journal entries ----------------------------------------------------------


def anchor_of(path) -> list:
    """[nearest existing directory above, device, inode], as the supervisor records it."""
    directory = os.path.dirname(str(path))
    while not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    info = os.stat(directory)
    return [directory, info.st_dev, info.st_ino]


def target(path, *, existed="absent", shape="venv", anchor=None) -> dict:
    return {"path": str(path), "existed": existed, "shape": shape,
            "anchor": anchor if anchor is not None else anchor_of(path)}


def entry_data(*, argv, cwd, targets, pid, token="f0rged", policy="exit", **overrides) -> dict:
    """An entry as a supervisor killed with -9 (watchdog and all) leaves it."""
    data = {
        "venvguard": journal.FORMAT,
        "token": token,
        "host": os.uname().nodename,
        "boot": processes.boot_id(),
        "owner": [pid, None],
        "started": 0.0,  # long before anything the tests make
        "cwd": str(cwd),
        "argv": list(argv),
        "environ": {},
        "targets": targets,
        "policy": policy,
        "repair": None,
    }
    data.update(overrides)
    return data


def private_runs(world) -> None:
    """The journal directory as venvguard makes it: every level 0700."""
    for level in (world.state, world.state / "venvguard", world.runs.parent, world.runs):
        level.mkdir(mode=0o700, exist_ok=True)
        level.chmod(0o700)


def plant(world, content, *, pid, token="f0rged") -> str:
    """Put `content` (data, or raw bytes) in the journal, named as pid.token.json."""
    private_runs(world)
    path = str(world.runs / journal.entry_name(pid, token))
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    with open(path, "wb") as f:
        f.write(raw)
    return path


def half_made_run(world, dead_pid, name="env") -> tuple[object, dict]:
    """A half-made venv in work/ and the entry of the run that made it."""
    env = env_shaped(world.work / name)
    data = entry_data(argv=["python3", "-m", "venv", name], cwd=world.work,
                      targets=[target(env)], pid=dead_pid)
    return env, data


def assert_quarantined(world, path, result, problem: str) -> None:
    assert result.returncode == 0
    assert len(result.lines) == 1, result.lines
    assert result.lines[0].startswith(f"venvguard: journal entry {path} is unreadable: ")
    assert problem in result.lines[0]
    assert result.lines[0].endswith(
        f"; set aside as {os.path.basename(path)}.corrupt, no environment touched")
    assert not os.path.lexists(path)
    assert os.path.lexists(path + ".corrupt")


# ====================================================================================
# The harness itself: a well-formed orphan's half-made environment is removed, so
# that every "kept" below is the input's doing.
# ====================================================================================


def test_a_well_formed_orphan_entry_has_its_own_half_made_env_removed(world, dead_pid):
    """The control for every forged entry below: the same entry, undamaged, is acted on."""
    env, data = half_made_run(world, dead_pid)
    plant(world, data, pid=dead_pid)

    result = world.settle()

    assert result.lines == ["venvguard: removed env (made by the cut-short `python3 -m venv env`)"]
    assert not os.path.lexists(env)
    assert world.entries() == [] and no_trash(world.work)


# ====================================================================================
# The target is not a path the run can have made.
# ====================================================================================


@pytest.mark.skipif(UV is None, reason="uv is not installed")
def test_a_target_that_is_a_symlink_to_a_victim_dir_leaves_the_victim_byte_for_byte(world):
    """`uv venv LINK` fails before making anything: nothing of the victim may change."""
    victim = user_files(world.root / "victim")
    (world.work / "env").symlink_to(victim)
    before = snapshot(victim)

    result = world.exec("uv", "venv", "env", "--python", "/nonexistent")

    assert result.returncode == 2  # uv's own status: no interpreter there
    assert result.lines == []
    assert snapshot(victim) == before
    assert os.readlink(world.work / "env") == str(victim)


def test_python_venv_on_a_symlink_to_a_victim_dir_leaves_link_and_victim_byte_for_byte(world):
    """venv refuses a linked target; venvguard, seeing a link was there, does nothing."""
    victim = user_files(world.root / "victim")
    (world.work / "env").symlink_to(victim)
    before = snapshot(victim)

    result = world.exec(*FAILING_VENV, "env")

    assert result.returncode == 1
    assert result.lines == []
    assert snapshot(victim) == before
    assert os.readlink(world.work / "env") == str(victim)


def test_a_dangling_symlink_target_is_left_dangling_and_nothing_is_made_where_it_points(world):
    nowhere = world.root / "nowhere" / "env"
    (world.work / "env").symlink_to(nowhere)

    result = world.exec(*FAILING_VENV, "env")

    assert result.returncode == 1
    assert result.lines == []
    assert os.readlink(world.work / "env") == str(nowhere)
    assert not os.path.lexists(world.root / "nowhere")


def test_a_target_that_is_a_regular_file_is_left_byte_for_byte(world):
    (world.work / "env").write_bytes(b"my notes\n\x00\xff")
    before = snapshot(world.work)

    result = world.exec(*FAILING_VENV, "env")

    assert result.returncode == 1  # venv refuses the file
    assert result.lines == []
    assert snapshot(world.work) == before


def test_a_target_that_is_a_fifo_is_left_and_nothing_blocks_on_it(world):
    os.mkfifo(world.work / "env")

    result = world.exec(*FAILING_VENV, "env", timeout=PROMPT)

    assert result.returncode == 1
    assert result.lines == []
    assert stat.S_ISFIFO(os.lstat(world.work / "env").st_mode)


def test_a_target_that_is_a_mount_point_stays_mounted_with_its_files(world, mount):
    """An existing target is never removed: the mounted file system keeps its files."""
    mnt = world.work / "env"
    mount(mnt, "size=1m")
    user_files(mnt / "data")
    before = snapshot(mnt / "data")

    result = world.exec(*FAILING_VENV, "env")

    assert result.returncode == 1
    assert result.lines == []
    assert os.path.ismount(mnt)
    assert snapshot(mnt / "data") == before


def test_the_current_directory_as_target_keeps_every_file_in_it(world):
    """`python3 -m venv .`: the tool adds its files; none of the user's goes."""
    project = user_files(world.work / "project")
    before = snapshot(project)

    result = world.exec(*FAILING_VENV, ".", cwd=project)

    assert result.returncode == 1
    assert result.lines == []
    after = snapshot(project)
    assert {k: v for k, v in after.items() if k in before} == before
    assert (project / "pyvenv.cfg").exists()  # the tool's, left as the tool left it


def test_an_empty_target_name_is_the_current_directory_and_keeps_its_files(world):
    project = user_files(world.work / "project")
    before = snapshot(project)

    result = world.exec("python3", "-m", "venv", "--without-pip", "--upgrade-deps", "",
                        cwd=project)

    assert result.returncode == 1
    assert result.lines == []
    after = snapshot(project)
    assert {k: v for k, v in after.items() if k in before} == before


def test_the_parent_of_the_current_directory_as_target_keeps_every_file_in_it(world):
    parent = user_files(world.work / "parent")
    (parent / "here").mkdir()
    before = snapshot(parent)

    result = world.exec(*FAILING_VENV, "..", cwd=parent / "here")

    assert result.returncode == 1
    assert result.lines == []
    after = snapshot(parent)
    assert {k: v for k, v in after.items() if k in before} == before


def test_home_as_target_keeps_every_file_in_it(world):
    user_files(world.home / "documents")
    before = snapshot(world.home)

    result = world.exec(*FAILING_VENV, str(world.home))

    assert result.returncode == 1
    assert result.lines == []
    after = snapshot(world.home)
    assert {k: v for k, v in after.items() if k in before} == before


# ====================================================================================
# Names no terminal should see raw: the environment goes, the message stays one line.
# ====================================================================================


NAMES = [
    pytest.param("a\nb", "a\\nb", id="newline"),
    pytest.param("a\tb", "a\\tb", id="tab"),
    pytest.param("e\x1b[2J\x1b[31mred", "e\\x1b[2J\\x1b[31mred", id="terminal-escape"),
    pytest.param("it's\"quoted\"", "it's\"quoted\"", id="quotes"),
    pytest.param("$(touch pwned)`id`", "$(touch pwned)`id`", id="shell-syntax"),
    pytest.param(os.fsdecode(b"env\xff\xfe"), "env\\udcff\\udcfe", id="non-utf8-bytes"),
]


@pytest.mark.parametrize(("name", "shown"), NAMES)
def test_a_hostile_name_is_removed_and_said_in_one_escaped_line(world, name, shown):
    result = world.exec(*FAILING_VENV, name)

    assert result.returncode == 1
    assert len(result.lines) == 1
    assert result.lines[0].startswith(f"venvguard: removed {shown} (made by the failed `")
    assert os.listdir(world.work) == []
    assert not (world.work / "pwned").exists() and not (world.root / "pwned").exists()


def test_a_leading_dash_name_after_double_dash_is_removed_not_read_as_an_option(world):
    result = world.exec(*FAILING_VENV, "--", "-env")

    assert result.returncode == 1
    assert result.lines == [
        "venvguard: removed -env (made by the failed "
        "`python3 -m venv --without-pip --upgrade-deps -- -env`)"
    ]
    assert os.listdir(world.work) == []


def test_a_255_byte_name_is_removed_and_said_in_one_line(world):
    name = "n" * 255

    result = world.exec(*FAILING_VENV, name)

    assert result.returncode == 1
    assert len(result.lines) == 1
    assert result.lines[0].startswith(f"venvguard: removed {name} (made by the failed `")
    assert os.listdir(world.work) == []


def _deep_dir(base, total: int) -> str:
    """A directory whose absolute path is exactly `total` bytes long, made one name
    at a time (relative, so that no call sees the whole path)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    length = len(os.fsencode(str(base)))
    try:
        while length < total:
            name = "d" * min(200, total - length - 1)
            if total - length - 1 - len(name) == 1:  # a 1-byte rest could not be a name
                name = name[:-2]
            os.mkdir(name, dir_fd=fd)
            step = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = step
            length += 1 + len(name)
        return os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def test_a_target_near_path_max_is_removed_and_said_in_one_line(world):
    """4094 bytes: the tool fails making its first subdirectory (ENAMETOOLONG)."""
    deep = _deep_dir(world.work, 4090)
    assert len(os.fsencode(deep)) == 4090

    result = world.exec(*FAILING_VENV, "env", cwd=deep)

    assert result.returncode == 1
    assert result.lines == [
        "venvguard: removed env (made by the failed "
        "`python3 -m venv --without-pip --upgrade-deps env`)"
    ]
    assert os.listdir(deep) == []


# ====================================================================================
# Races: something changes at or around the target while the run is under way.
# ====================================================================================


def _started_venv(world, target="env"):
    """A `python3 -m venv TARGET` (with ensurepip: seconds) caught once its
    interpreter is there, frozen, with the supervisor still waiting for it."""
    proc = world.supervise("python3", "-m", "venv", target)
    wait_for(lambda: os.path.lexists(world.work / target / "bin" / "python"),
             "the tool to make bin/python")
    freeze(world.run_data(proc)["token"])
    return proc


def test_a_parent_swapped_for_a_symlink_to_a_victim_during_the_run_leaves_the_victim(world):
    (world.work / "p").mkdir()
    victim = world.root / "victim"
    env_shaped(victim / "env")
    user_files(victim / "work")
    before = snapshot(victim)
    proc = _started_venv(world, "p/env")

    os.rename(world.work / "p", world.work / "p-moved")
    (world.work / "p").symlink_to(victim)
    result = world.interrupt(proc)

    assert result.returncode == -signal.SIGTERM
    assert result.lines == [
        "venvguard: kept p/env (its parent directory was moved or replaced during the run)"
    ]
    assert snapshot(victim) == before
    assert (world.work / "p-moved" / "env" / "pyvenv.cfg").exists()  # kept, not chased


def test_a_target_swapped_for_a_symlink_to_a_victim_during_the_run_leaves_both(world):
    victim = env_shaped(world.root / "victim")
    before = snapshot(victim)
    proc = _started_venv(world)

    os.rename(world.work / "env", world.work / "env-moved")
    (world.work / "env").symlink_to(victim)
    result = world.interrupt(proc)

    assert result.returncode == -signal.SIGTERM
    assert result.lines == [
        "venvguard: kept env (it is a symbolic link, not an environment; "
        "what it points to is untouched)"
    ]
    assert snapshot(victim) == before
    assert os.readlink(world.work / "env") == str(victim)


def test_a_directory_someone_made_inside_the_target_during_the_run_keeps_the_target(world):
    proc = _started_venv(world)

    (world.work / "env" / "mydata").mkdir()
    (world.work / "env" / "mydata" / "report.pdf").write_bytes(b"%PDF-1.7 quarterly figures")
    before = snapshot(world.work / "env" / "mydata")
    result = world.interrupt(proc)

    assert result.returncode == -signal.SIGTERM
    assert result.lines == [
        "venvguard: kept env (it holds 'mydata', which no environment tool writes there)"
    ]
    assert snapshot(world.work / "env" / "mydata") == before


def test_an_environment_moved_in_at_the_target_during_the_run_is_kept(world):
    """Somebody's environment, made an hour before the run, renamed onto the target
    path while the tool was frozen: the run did not create it, so it must stay."""
    theirs = env_shaped(world.root / "theirs", packages=("mywork",))
    (theirs / "src").mkdir()
    (theirs / "src" / "checkout.py").write_text("uncommitted = True\n")
    hour_ago = time.time() - 3600
    for path in (*theirs.rglob("*"), theirs):
        os.utime(path, (hour_ago, hour_ago), follow_symlinks=False)
    before = snapshot(theirs)
    proc = _started_venv(world)

    os.rename(world.work / "env", world.work / "env-half-made")
    os.rename(theirs, world.work / "env")
    result = world.interrupt(proc)

    assert result.returncode == -signal.SIGTERM
    assert os.path.isdir(world.work / "env"), f"their environment is gone: {result.lines}"
    assert snapshot(world.work / "env") == before  # the same directory, moved


def test_an_env_remade_at_the_path_after_kill_9_of_supervisor_and_watchdog_is_kept(world):
    """Everything of the run dies at once (kill -9); later the user makes the env
    again by hand; the next prompt must not take that one for the run's."""
    proc = _started_venv(world)
    data = world.run_data(proc)
    dog = watchdog_of(proc.pid, data["token"])
    dog_started = processes.start_time(dog)
    os.kill(dog, signal.SIGKILL)
    wait_for(lambda: not processes.alive(dog, dog_started, None), "the watchdog to die")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    for pid in marked(data["token"]):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not marked(data["token"]), "the run's processes to die")
    bound = os.lstat(proc.entry).st_mtime + journal.HEARTBEAT + journal.SLACK
    wait_for(lambda: time.time() > bound + 0.1, "the run's end bound to pass", timeout=10)

    shutil.rmtree(world.work / "env")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(world.work / "env")],
                   check=True, timeout=TIMEOUT)
    before = snapshot(world.work / "env")
    result = world.settle()

    assert result.returncode == 0
    assert result.lines == [
        "venvguard: kept env (it was written after the cut-short `python3 -m venv env` "
        "ended, so it is not only the run's)"
    ]
    assert snapshot(world.work / "env") == before
    assert world.entries() == []


def test_a_dot_venv_directory_someone_made_beside_a_virtualenv_run_is_kept(world):
    """virtualenv's redirect target `.venv` made as a directory by someone else
    during the run: not a redirect file, so kept; the run's own DEST goes."""
    proc = world.supervise("virtualenv", "dest")
    wait_for(lambda: os.path.lexists(world.work / "dest" / "pyvenv.cfg"),
             "virtualenv to write pyvenv.cfg")
    freeze(world.run_data(proc)["token"])
    (world.work / ".venv").mkdir()
    (world.work / ".venv" / "notes.txt").write_text("mine\n")
    before = snapshot(world.work / ".venv")

    result = world.interrupt(proc)

    assert result.returncode == -signal.SIGTERM
    assert result.lines == [
        "venvguard: removed dest (made by the interrupted `virtualenv dest`)",
        "venvguard: kept .venv (it is not a redirect file)",
    ]
    assert snapshot(world.work / ".venv") == before
    assert not os.path.lexists(world.work / "dest")


# ====================================================================================
# Forged and damaged journal entries: set aside in one line, nothing touched.
# ====================================================================================


def _mutated(change):
    def apply(data: dict) -> bytes:
        change(data)
        return json.dumps(data).encode()
    return apply


def _set(key, value):
    return _mutated(lambda d: d.__setitem__(key, value))


def _set_target(key, value):
    return _mutated(lambda d: d["targets"][0].__setitem__(key, value))


DAMAGED = [
    pytest.param(lambda d: b"", "not valid JSON", id="empty"),
    pytest.param(lambda d: json.dumps(d).encode()[: len(json.dumps(d)) // 2], "not valid JSON",
                 id="truncated"),
    pytest.param(lambda d: b"\x00\xffnot json\nsecond line\r\n", "not valid JSON",
                 id="not-json-binary"),
    pytest.param(lambda d: b"[" * 60000, "not valid JSON", id="nested-60000-deep"),
    pytest.param(lambda d: b" " * (1 << 20) + json.dumps(d).encode(), "too large",
                 id="huge-1MiB"),
    pytest.param(_set("venvguard", 4), "format 4, expected 3", id="future-version"),
    pytest.param(_set("owner", [-1, None]), "field 'owner'", id="negative-pid"),
    pytest.param(_set("owner", [2**64, None]), "field 'owner'", id="huge-pid"),
    pytest.param(_set("owner", [True, None]), "field 'owner'", id="boolean-pid"),
    pytest.param(_set("owner", [123, -5]), "field 'owner'", id="negative-start-time"),
    pytest.param(_set("started", float("nan")), "field 'started'", id="nan-time"),
    pytest.param(_set("started", float("inf")), "field 'started'", id="infinite-time"),
    pytest.param(_set("token", "../../home"), "field 'token'", id="token-with-a-path"),
    pytest.param(_set("argv", []), "field 'argv'", id="empty-argv"),
    pytest.param(_set("environ", {"UV_PROJECT_ENVIRONMENT": 7}), "field 'environ'",
                 id="environ-not-strings"),
    pytest.param(_set_target("path", "env"), "not absolute", id="relative-target"),
    pytest.param(_set_target("shape", "rm -rf"), "shape is unknown", id="unknown-shape"),
    pytest.param(_set_target("anchor", ["/", 0, -1]), "anchor", id="negative-inode-anchor"),
]


@pytest.mark.parametrize(("damage", "problem"), DAMAGED)
def test_a_damaged_entry_is_set_aside_in_one_line_and_its_env_untouched(
    world, dead_pid, damage, problem
):
    env, data = half_made_run(world, dead_pid)
    path = plant(world, damage(data), pid=dead_pid)
    before = snapshot(env)

    result = world.settle(timeout=PROMPT)

    assert_quarantined(world, path, result, problem)
    assert snapshot(env) == before


def test_an_entry_naming_a_path_that_climbs_out_with_dotdot_is_set_aside(world, dead_pid):
    """`work/env/../../victim` spelled unnormalised: refused before any lookup."""
    victim = env_shaped(world.root / "victim")
    _env, data = half_made_run(world, dead_pid)
    data["targets"][0]["path"] = f"{world.work}/env/../../victim"
    path = plant(world, data, pid=dead_pid)
    before = snapshot(victim)

    result = world.settle()

    assert_quarantined(world, path, result, "not absolute and normalised")
    assert snapshot(victim) == before


def test_an_entry_naming_the_root_directory_is_set_aside_and_nothing_at_root_changes(
    world, dead_pid
):
    data = entry_data(argv=["python3", "-m", "venv", "/"], cwd=world.work,
                      targets=[{"path": "/", "existed": "absent", "shape": "venv",
                                "anchor": None}], pid=dead_pid)
    path = plant(world, data, pid=dead_pid)
    before = sorted(os.listdir("/"))

    result = world.settle()

    assert_quarantined(world, path, result, "not absolute and normalised")
    assert sorted(os.listdir("/")) == before


def test_an_entry_that_is_a_symlink_is_set_aside_and_what_it_points_to_left(world, dead_pid):
    """A link to a well-formed entry elsewhere: never followed, so never acted on."""
    env, data = half_made_run(world, dead_pid)
    elsewhere = world.root / "elsewhere.json"
    elsewhere.write_text(json.dumps(data))
    private_runs(world)
    path = str(world.runs / journal.entry_name(dead_pid, "f0rged"))
    os.symlink(elsewhere, path)
    before = snapshot(env), elsewhere.read_bytes()

    result = world.settle()

    assert_quarantined(world, path, result, "cannot be opened")
    assert (snapshot(env), elsewhere.read_bytes()) == before
    assert os.path.islink(path + ".corrupt")


def test_an_entry_that_is_a_fifo_lets_the_prompt_hook_return_promptly(world, dead_pid):
    private_runs(world)
    path = str(world.runs / journal.entry_name(dead_pid, "f0rged"))
    os.mkfifo(path)

    result = world.settle(timeout=PROMPT)

    assert result.elapsed < PROMPT
    assert_quarantined(world, path, result, "not a regular file")


def test_an_entry_that_is_a_fifo_lets_a_guarded_run_go_ahead_promptly(world, dead_pid):
    private_runs(world)
    path = str(world.runs / journal.entry_name(dead_pid, "f0rged"))
    os.mkfifo(path)

    result = world.run([*VENVGUARD, "exec", "--", "python3", "-m", "venv", "--without-pip",
                        "env"], timeout=PROMPT)

    assert result.elapsed < PROMPT
    assert result.returncode == 0
    assert len(result.lines) == 1 and "not a regular file" in result.lines[0]
    assert stat.S_ISFIFO(os.lstat(path + ".corrupt").st_mode)
    assert (world.work / "env" / "pyvenv.cfg").exists()  # the tool's run, finished
    assert world.entries() == []


def test_an_entry_that_is_a_directory_is_set_aside_with_its_contents(world, dead_pid):
    private_runs(world)
    path = str(world.runs / journal.entry_name(dead_pid, "f0rged"))
    user_files(world.runs / os.path.basename(path))
    before = snapshot(path)

    result = world.settle()

    assert_quarantined(world, path, result, "not a regular file")
    assert snapshot(path + ".corrupt") == before


def test_an_entry_owned_by_another_user_is_set_aside_and_its_env_untouched(world, dead_pid):
    as_root()
    env, data = half_made_run(world, dead_pid)
    path = plant(world, data, pid=dead_pid)
    os.chown(path, OTHER_UID, OTHER_UID)
    before = snapshot(env)

    result = world.settle()

    assert_quarantined(world, path, result, f"owned by another user (uid {OTHER_UID})")
    assert snapshot(env) == before


def test_a_uv_sync_entry_naming_a_directory_of_user_files_elsewhere_leaves_it(world, dead_pid):
    """The run's command, planned again, names project/.venv: not this directory."""
    project = world.work / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    victim = user_files(world.root / "elsewhere" / "thesis")
    plant(world, entry_data(argv=["uv", "sync"], cwd=project, pid=dead_pid,
                            targets=[target(victim, shape="uv")]), pid=dead_pid)
    before = snapshot(victim)

    result = world.settle(cwd=project)

    assert result.lines == [
        f"venvguard: kept {victim} (the journal names it, but the run's command does not)"
    ]
    assert snapshot(victim) == before
    assert world.entries() == []


def test_a_uv_sync_entry_naming_somebodys_environment_elsewhere_leaves_it(world, dead_pid):
    """Shaped like an environment, pyvenv.cfg and all: only the plan check keeps it."""
    project = world.work / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    victim = env_shaped(world.root / "elsewhere" / "venv")
    plant(world, entry_data(argv=["uv", "sync"], cwd=project, pid=dead_pid,
                            targets=[target(victim, shape="uv")]), pid=dead_pid)
    before = snapshot(victim)

    result = world.settle(cwd=project)

    assert result.lines == [
        f"venvguard: kept {victim} (the journal names it, but the run's command does not)"
    ]
    assert snapshot(victim) == before


def test_an_entry_naming_a_directory_with_no_pyvenv_cfg_and_a_file_leaves_it(world, dead_pid):
    """`python -m venv` writes no file before pyvenv.cfg: bin/activate says not its."""
    env = world.work / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "activate").write_text("# my own script\n")
    (env / "lib").mkdir()
    plant(world, entry_data(argv=["python3", "-m", "venv", "env"], cwd=world.work,
                            targets=[target(env)], pid=dead_pid), pid=dead_pid)
    before = snapshot(env)

    result = world.settle()

    assert result.lines == [
        "venvguard: kept env (it has no pyvenv.cfg, so it may not be an environment)"
    ]
    assert snapshot(env) == before


def test_an_entry_whose_anchor_is_another_directory_leaves_the_target(world, dead_pid):
    """The recorded inode is not the directory there now: not reached safely."""
    env, data = half_made_run(world, dead_pid)
    data["targets"][0]["anchor"][2] += 1
    plant(world, data, pid=dead_pid)
    before = snapshot(env)

    result = world.settle()

    assert result.lines == [
        "venvguard: kept env (its parent directory was moved or replaced during the run)"
    ]
    assert snapshot(env) == before


def test_an_entry_reaching_its_target_through_a_symlinked_parent_leaves_the_victim(
    world, dead_pid
):
    victim = world.root / "victim"
    env_shaped(victim / "env")
    (world.work / "link").symlink_to(victim)
    plant(world, entry_data(argv=["python3", "-m", "venv", "link/env"], cwd=world.work,
                            targets=[target(world.work / "link" / "env",
                                            anchor=anchor_of(world.work / "x"))],
                            pid=dead_pid), pid=dead_pid)
    before = snapshot(victim)

    result = world.settle()

    assert result.lines == [
        "venvguard: kept link/env (its parent directory was moved or replaced during the run)"
    ]
    assert snapshot(victim) == before


def test_an_entry_naming_a_mount_point_leaves_the_mounted_files(world, dead_pid, mount):
    """Shaped like an environment and claimed as made by the run, but a mount point
    cannot be renamed aside: nothing in it is deleted."""
    mnt = world.work / "env"
    mount(mnt, "size=1m")
    (mnt / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (mnt / "bin").mkdir()
    (mnt / "lib").mkdir()
    (mnt / "lib" / "keep.txt").write_text("on the mounted file system\n")
    plant(world, entry_data(argv=["python3", "-m", "venv", "env"], cwd=world.work,
                            targets=[target(mnt)], pid=dead_pid), pid=dead_pid)
    before = snapshot(mnt)

    result = world.settle()

    assert result.returncode == 0
    assert len(result.lines) == 1
    assert result.lines[0].startswith("venvguard: could not remove env (")
    assert os.path.ismount(mnt)
    assert snapshot(mnt) == before


def test_an_entry_naming_the_current_directory_leaves_it(world, dead_pid):
    here = env_shaped(world.work / "here")
    plant(world, entry_data(argv=["python3", "-m", "venv", "here"], cwd=world.work,
                            targets=[target(here)], pid=dead_pid), pid=dead_pid)
    before = snapshot(here)

    result = world.settle(cwd=here)

    assert result.lines == [
        f"venvguard: kept {here} (it is the current directory, one of its parents or your home)"
    ]
    assert snapshot(here) == before


def test_an_entry_naming_a_parent_of_the_current_directory_leaves_it(world, dead_pid):
    above = env_shaped(world.work / "above")
    plant(world, entry_data(argv=["python3", "-m", "venv", "above"], cwd=world.work,
                            targets=[target(above)], pid=dead_pid), pid=dead_pid)
    before = snapshot(above)

    result = world.settle(cwd=above / "bin")

    assert result.lines == [
        f"venvguard: kept {above} (it is the current directory, one of its parents or your home)"
    ]
    assert snapshot(above) == before


def test_an_entry_naming_home_leaves_it(world, dead_pid):
    """A home that happens to hold only what an environment holds."""
    home = world.root / "envhome"
    env_shaped(home)
    plant(world, entry_data(argv=["python3", "-m", "venv", str(home)], cwd=world.work,
                            targets=[target(home)], pid=dead_pid), pid=dead_pid)
    before = snapshot(home)

    result = world.settle(env=world.env(HOME=str(home)))

    assert result.lines == [
        f"venvguard: kept {home} (it is the current directory, one of its parents or your home)"
    ]
    assert snapshot(home) == before


def test_an_unplanned_entry_does_not_finish_deleting_a_trash_named_directory(world, dead_pid):
    """A directory named as venvguard names what it sets aside, beside a target the
    entry's own command does not name: the entry is not acted upon, not even there."""
    env = env_shaped(world.work / "env")
    trash = env_shaped(world.work / f"{TRASH}f0rged-0")
    (trash / "lib" / "thesis.tex").write_text("not backed up\n")
    plant(world, entry_data(argv=["python3", "-m", "venv", "other"], cwd=world.work,
                            targets=[target(env)], pid=dead_pid), pid=dead_pid)
    before = snapshot(env), snapshot(trash)

    result = world.settle()

    assert "venvguard: kept env (the journal names it, but the run's command does not)" \
        in result.lines
    assert os.path.isdir(trash), f"the trash-named directory was deleted: {result.lines}"
    assert (snapshot(env), snapshot(trash)) == before


def test_a_copy_of_a_live_runs_entry_under_another_name_does_not_end_the_live_run(
    world, dead_pid
):
    """Unlocked (it is a copy), named after a dead pid, but its run is alive: the
    prompt hook must not kill that run's tool nor remove its environment."""
    proc = _started_venv(world)
    data = world.run_data(proc)
    copy = plant(world, data, pid=dead_pid, token=data["token"])
    tool = tool_of(proc.pid, data["token"])
    tool_started = processes.start_time(tool)

    result = world.settle()

    assert processes.alive(tool, tool_started, None), f"the tool was ended: {result.lines}"
    assert (world.work / "env" / "pyvenv.cfg").exists()
    assert os.path.exists(proc.entry)
    for leftover in (copy, copy + ".corrupt"):
        if os.path.lexists(leftover):
            os.unlink(leftover)
    assert world.interrupt(proc).returncode == -signal.SIGTERM


# ====================================================================================
# The state directory.
# ====================================================================================


def test_a_missing_state_dir_is_created_private_and_the_run_is_guarded(world):
    state = world.root / "not" / "yet" / "there"

    result = world.exec(*FAILING_VENV, "env", env=world.env(XDG_STATE_HOME=str(state)))

    assert result.returncode == 1
    assert result.lines == [
        "venvguard: removed env (made by the failed "
        "`python3 -m venv --without-pip --upgrade-deps env`)"
    ]
    assert stat.S_IMODE(os.stat(state / "venvguard").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / "venvguard" / "runs" / os.uname().nodename)
                        .st_mode) == 0o700
    assert not os.path.lexists(world.work / "env")


def _unguarded(world, result, *why: str) -> None:
    """One line saying why (in one of the words given), then the tool's own run: its
    status, its env left."""
    assert result.returncode == 1
    assert len(result.lines) == 1, result.lines
    assert result.lines[0].startswith("venvguard: cannot write the journal in ")
    assert any(w in result.lines[0] for w in why), result.lines[0]
    assert result.lines[0].endswith(
        "; running `python3 -m venv --without-pip --upgrade-deps env` unguarded")
    assert (world.work / "env" / "pyvenv.cfg").exists()


def test_a_state_dir_that_is_a_file_is_said_in_one_line_and_the_tool_runs(world):
    world.state.mkdir()
    (world.state / "venvguard").write_bytes(b"my notes\n")

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "is not a directory", "File exists")
    assert (world.state / "venvguard").read_bytes() == b"my notes\n"


def test_a_state_dir_that_is_a_dangling_symlink_is_refused_and_not_followed(world):
    world.state.mkdir()
    (world.state / "venvguard").symlink_to(world.root / "nowhere" / "state")

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "is not a directory", "File exists")
    assert not os.path.lexists(world.root / "nowhere")


def test_a_state_dir_that_is_a_symlink_to_a_directory_is_refused_and_not_written(world):
    world.state.mkdir()
    victim = user_files(world.root / "victim")
    victim.chmod(0o700)
    (world.state / "venvguard").symlink_to(victim)
    before = snapshot(victim)

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "is not a directory")
    assert snapshot(victim) == before


def test_a_read_only_state_dir_is_said_in_one_line_and_the_tool_runs(world, mount):
    mount(world.state, "ro,size=64k")

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "Read-only file system")


def test_a_full_state_dir_is_said_in_one_line_and_leaves_no_partial_entry(world, mount):
    mount(world.state, "size=8k")
    fd = os.open(world.state / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * 512):
            pass
    except OSError:  # full
        pass
    finally:
        os.close(fd)
    filler = (world.state / "filler").read_bytes()

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "No space left on device")
    left = [n for n in os.listdir(world.runs)] if os.path.isdir(world.runs) else []
    assert left == []  # neither an entry nor its temporary file
    assert (world.state / "filler").read_bytes() == filler


def test_a_relative_xdg_state_home_is_ignored_and_the_journal_stays_out_of_the_project(world):
    result = world.exec(*FAILING_VENV, "env", env=world.env(XDG_STATE_HOME="rel-state"))

    assert result.returncode == 1
    assert result.lines == [
        "venvguard: removed env (made by the failed "
        "`python3 -m venv --without-pip --upgrade-deps env`)"
    ]
    assert os.listdir(world.work) == []  # no rel-state/ in the project
    assert os.path.isdir(world.home / ".local" / "state" / "venvguard" / "runs")


def test_a_state_dir_owned_by_another_user_is_refused_and_the_tool_runs(world):
    as_root()
    (world.state / "venvguard").mkdir(parents=True, mode=0o700)
    os.chown(world.state / "venvguard", OTHER_UID, OTHER_UID)

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "is not private")
    assert os.listdir(world.state / "venvguard") == []


def test_a_state_dir_others_can_write_is_refused_and_the_tool_runs(world):
    (world.state / "venvguard").mkdir(parents=True)
    os.chmod(world.state / "venvguard", 0o777)

    result = world.exec(*FAILING_VENV, "env")

    _unguarded(world, result, "is not private")
    assert os.listdir(world.state / "venvguard") == []


def test_a_runs_dir_that_is_a_fifo_is_said_in_one_line_promptly(world):
    (world.state / "venvguard" / "runs").mkdir(parents=True, mode=0o700)
    (world.state / "venvguard").chmod(0o700)
    os.mkfifo(world.runs)

    result = world.exec(*FAILING_VENV, "env", timeout=PROMPT)

    _unguarded(world, result, "is not a directory", "File exists")
    assert stat.S_ISFIFO(os.lstat(world.runs).st_mode)


def test_a_state_dir_inside_the_target_keeps_the_target(world):
    """XDG_STATE_HOME=env/state: the journal is made inside the env-to-be, so the
    env holds something no tool writes, and is kept (with the journal)."""
    result = world.exec(*FAILING_VENV, "env",
                        env=world.env(XDG_STATE_HOME=str(world.work / "env" / "state")))

    assert result.returncode == 1
    assert result.lines == [
        "venvguard: kept env (it holds 'state', which no environment tool writes there)"
    ]
    assert os.path.isdir(world.work / "env" / "state" / "venvguard")


def test_with_home_unset_the_run_is_still_guarded(world):
    result = world.exec(*FAILING_VENV, "env", env=world.env(HOME=None))

    assert result.returncode == 1
    assert result.lines == [
        "venvguard: removed env (made by the failed "
        "`python3 -m venv --without-pip --upgrade-deps env`)"
    ]
    assert os.listdir(world.work) == []


# ====================================================================================
# Missing pieces: the helper, the tool, the command, the current directory.
# ====================================================================================


def _bash_without_venvguard(world, script: str):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    tools = world.root / "tools-bin"
    tools.mkdir()
    (tools / "python3").symlink_to(sys.executable)
    if UV:
        (tools / "uv").symlink_to(UV)
    snippet = world.run([*VENVGUARD, "init", "bash"]).stdout.decode()
    assert "__venvguard_run" in snippet
    env = world.env(PATH=f"{tools}:/usr/bin:/bin", VG_SNIPPET=snippet)
    done = subprocess.run([bash, "--norc", "--noprofile", "-i", "-c",
                           f'eval "$VG_SNIPPET"\n{script}'],
                          cwd=world.work, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=TIMEOUT)
    assert venvguard_lines(done.stderr) == []
    assert b"command not found" not in done.stderr
    return done.stdout.decode()


@pytest.mark.skipif(UV is None, reason="uv is not installed")
def test_without_venvguard_on_path_the_bash_wrappers_pass_calls_through_with_their_status(
    world,
):
    reference = world.root / "reference"
    reference.mkdir()
    expected_venv = subprocess.run([sys.executable, *FAILING_VENV[1:], "d"], cwd=reference,
                                   capture_output=True).returncode
    expected_uv = subprocess.run([UV, "venv", "d2", "--python", "/nonexistent"],
                                 cwd=reference, env=world.env(), capture_output=True).returncode

    out = _bash_without_venvguard(world, (
        "type -t python3 uv\n"
        "python3 -m venv --without-pip --upgrade-deps made-by-python; echo \"python3 $?\"\n"
        "uv venv made-by-uv --python /nonexistent; echo \"uv $?\"\n"
    ))

    assert out.splitlines() == ["function", "function", f"python3 {expected_venv}",
                                f"uv {expected_uv}"]
    assert (expected_venv, expected_uv) == (1, 2)
    assert (world.work / "made-by-python" / "pyvenv.cfg").exists()  # unguarded: left


def test_without_venvguard_on_path_the_prompt_hook_keeps_the_status_and_touches_nothing(
    world, dead_pid
):
    path = plant(world, b"garbage", pid=dead_pid)

    out = _bash_without_venvguard(world, '(exit 7); __venvguard_hook; echo "hook $?"\n')

    assert out.splitlines() == ["hook 7"]
    with open(path, "rb") as f:
        assert f.read() == b"garbage"  # not even set aside: no helper ran


def test_a_tool_that_is_not_installed_exits_127_with_one_line(world):
    result = world.exec("uv-does-not-exist", "sync")

    assert result.returncode == 127
    assert result.lines == ["venvguard: uv-does-not-exist: command not found"]
    assert os.listdir(world.work) == []


def test_a_guarded_tool_that_is_not_installed_exits_127_with_one_line_and_no_entry(world):
    project = world.work / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')

    result = world.exec("uv", "sync", cwd=project, env=world.env(PATH="/nonexistent-bin"))

    assert result.returncode == 127
    assert result.lines == ["venvguard: uv: command not found"]
    assert sorted(os.listdir(project)) == ["pyproject.toml"]
    assert world.entries() == []


def test_an_empty_command_gives_the_usage_in_one_line_and_exit_2(world):
    result = world.run([*VENVGUARD, "exec", "--", ""])

    assert result.returncode == 2
    assert result.lines == ["venvguard: usage: venvguard exec -- COMMAND [ARGS...]"]
    assert result.stdout == b""


def test_no_command_at_all_gives_the_usage_in_one_line_and_exit_2(world):
    result = world.run([*VENVGUARD, "exec", "--"])

    assert result.returncode == 2
    assert result.lines == ["venvguard: usage: venvguard exec -- COMMAND [ARGS...]"]


def test_a_deleted_current_directory_is_said_in_one_line_and_the_tool_runs(world):
    gone = world.work / "gone"
    gone.mkdir()
    env = world.work / "env"

    result = world.run(["sh", "-c", 'cd "$0" && rmdir "$0" && exec "$@"', str(gone),
                        *VENVGUARD, "exec", "--", "python3", "-m", "venv", "--without-pip",
                        str(env)])

    assert result.returncode == 0
    assert len(result.lines) == 1
    assert result.lines[0].startswith(
        "venvguard: the current directory is gone; running `python3 -m venv --without-pip ")
    assert (env / "pyvenv.cfg").exists()
    assert world.entries() == []
