"""Bad state never blocks the user's command.

Whatever is wrong with the state directory (a file where a directory belongs, a
link, not private, another user's, a journal entry that is a FIFO, a link, a
directory, garbage, too large, an old format), every venvguard command says at
most one clear line about it (prefixed `venvguard:`), never a traceback, never
hangs, and a guarded tool still runs and exits with its own status. A broken
journal entry is at most set aside as `*.corrupt`, never followed, never read as
an entry and never acted upon: the environment it names stays as it was.

Each case runs the real command in a subprocess (`python -m venvguard ...`) with
HOME and XDG_STATE_HOME under tmp_path, against a matrix of state kinds (one
fixture each) and commands.
"""

import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from unit_helpers import make_env

from venvguard import journal, removal, tools

TIMEOUT = 20.0  # seconds; a command still running by then hangs
HOST = os.uname().nodename.replace("/", "_") or "localhost"
OTHER_UID = 65534  # nobody
PREFIX = "venvguard: "
MiB = 1024 * 1024
IS_ROOT = os.geteuid() == 0


# --- the commands ----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    exits: tuple[int, ...] = (0,)
    read_only: bool = False  # may not even set a broken entry aside

    @property
    def tool(self) -> list[str] | None:
        """The guarded or unguarded tool run by `exec`, None for venvguard's own commands."""
        return list(self.args[2:]) if self.args[:2] == ("exec", "--") else None


COMMANDS = {
    "exec-venv": Command(("exec", "--", "python3", "-m", "venv", "--without-pip", "E")),
    "exec-unguarded-exit-3": Command(
        ("exec", "--", "python3", "-c", "import sys; sys.exit(3)"), exits=(3,)
    ),
    "exec-venv-failing": Command(
        ("exec", "--", "python3", "-m", "venv", "--without-pip", "--upgrade-deps", "E"),
        exits=(1,),
    ),
    "_settle": Command(("_settle",)),
    "status": Command(("status",), read_only=True),
    "clean": Command(("clean",)),
    "clean-dry-run": Command(("clean", "--dry-run"), read_only=True),
    "doctor": Command(("doctor",), exits=(0, 1), read_only=True),
    "init-bash": Command(("init", "bash"), read_only=True),
    "init-zsh": Command(("init", "zsh"), read_only=True),
    "init-fish": Command(("init", "fish"), read_only=True),
    "version": Command(("--version",), read_only=True),
}


# --- running ---------------------------------------------------------------------------


@dataclass
class Result:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    def tail(self, count: int = 6) -> str:
        return "\n".join(self.lines[-count:])


def _session_members(sid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:  # field 6 of the line, the session id
            out.append(int(name))
    return out


def run(argv: list[str], *, cwd, env: dict[str, str]) -> Result:
    """Run argv in its own session; after TIMEOUT, kill that session (the command, its
    tool and its watchdog, which has a process group of its own) and say so."""
    started = time.monotonic()
    child = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        for pid in _session_members(child.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            out, err = child.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:  # something outside the session holds the pipes
            out, err = b"", b""
    return Result(child.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
                  time.monotonic() - started, timed_out)


# --- the sandbox -----------------------------------------------------------------------


def snapshot(path) -> dict | None:
    """Everything at `path`, links never followed: kind, owner, mode and content of each
    name below it (None when nothing is there). As root, mode 000 does not stop this."""
    path = os.fspath(path)
    if not os.path.lexists(path):
        return None
    out = {}

    def note(rel: str, full: str) -> None:
        info = os.lstat(full)
        kind = stat.S_IFMT(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            content = os.readlink(full)
        elif stat.S_ISREG(info.st_mode):
            with open(full, "rb") as f:
                content = f.read()
        else:
            content = None
        out[rel] = (kind, info.st_uid, stat.S_IMODE(info.st_mode), info.st_ino, content)
        if stat.S_ISDIR(info.st_mode):
            for name in sorted(os.listdir(full)):
                note(os.path.join(rel, name), os.path.join(full, name))

    note(".", path)
    return out


@dataclass
class Sandbox:
    """One case's world: HOME, XDG_STATE_HOME, a project directory to run in, a victim
    environment that no command here may touch, and what the state kind must keep."""

    root: Path
    dead_pid: int
    env: dict[str, str] = field(default_factory=dict)
    wrapper: list[str] = field(default_factory=list)  # runs the command (HOME unset)
    preserved: dict[str, dict | None] = field(default_factory=dict)  # path -> snapshot
    entry: str | None = None  # a broken journal entry: set aside at most, never acted on
    entry_before: dict | None = None  # its snapshot before the command

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.state = self.root / "state"  # XDG_STATE_HOME
        self.work = self.root / "work"  # the command's cwd
        self.elsewhere = self.root / "elsewhere"
        self.bin = self.root / "bin"
        for directory in (self.home, self.work, self.elsewhere, self.bin):
            directory.mkdir(exist_ok=True)
        # python3 is this very interpreter, without a version manager's shim in front.
        (self.bin / "python3").symlink_to(sys.executable)
        self.victim = make_env(self.work / "victim")
        self.victim_before = snapshot(self.victim)
        self.env = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.home),
            "XDG_STATE_HOME": str(self.state),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            "UV_OFFLINE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    @property
    def venvguard(self):
        return self.state / "venvguard"

    @property
    def runs(self):
        return self.venvguard / "runs"

    @property
    def journal(self):
        """This machine's journal directory, runs/<host>."""
        return self.runs / HOST

    def private(self, path):
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def preserve(self, path) -> None:
        """`path` must be exactly as it is now after every command."""
        self.preserved[os.fspath(path)] = snapshot(path)

    def forged_entry(self, *, token: str = "f0e1d2c3b4a5", **extra) -> dict:
        """A valid journal entry of a run whose supervisor is dead and that created the
        victim: read as an entry, it gets the victim removed (see the control test)."""
        argv = ["python3", "-m", "venv", "--without-pip", str(self.victim)]
        plan = tools.plan(argv, str(self.work), tools.Recorder({}))
        fd, anchor = removal.hold_anchor(str(self.victim))
        os.close(fd)
        data = journal.new_data(
            argv=argv, cwd=str(self.work), environ={},
            targets=[{"path": path, "existed": "absent", "shape": shape, "anchor": anchor}
                     for path, shape in plan.targets],
            policy=plan.policy, repair=plan.repair,
            token=token,
        )
        data["owner"] = [self.dead_pid, None]
        data.update(extra)
        return data

    def entry_name(self, token: str = "f0e1d2c3b4a5") -> str:
        return journal.entry_name(self.dead_pid, token)

    def write_entry(self, content: bytes, name: str | None = None):
        """A regular file in the journal named like an entry, holding `content`."""
        path = self.private(self.journal) / (name or self.entry_name())
        path.write_bytes(content)
        path.chmod(0o600)
        self.entry = os.fspath(path)
        return path


def _fake_passwd(home) -> str | None:
    """/etc/passwd with our own user's home moved to `home`, None if we are not in it."""
    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
        with open("/etc/passwd") as f:
            lines = f.read().splitlines()
    except (KeyError, OSError):
        return None
    out, found = [], False
    for line in lines:
        fields = line.split(":")
        if len(fields) == 7 and fields[0] == me:
            fields[5] = os.fspath(home)
            found = True
        out.append(":".join(fields))
    return "\n".join(out) + "\n" if found else None


WRAP = 'mount --bind "$0" /etc/passwd && exec "$@"'


@pytest.fixture(scope="session")
def can_move_home(tmp_path_factory) -> bool:
    """Can a command be run with our passwd home elsewhere (a private mount namespace)?"""
    if not IS_ROOT or shutil.which("unshare") is None:
        return False
    probe = tmp_path_factory.mktemp("passwd")
    text = _fake_passwd(probe)
    if text is None:
        return False
    (probe / "passwd").write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_STATE_HOME")}
    done = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c", WRAP, str(probe / "passwd"),
         sys.executable, "-c", "import os; print(os.path.expanduser('~'))"],
        capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )
    return done.returncode == 0 and done.stdout.strip() == str(probe)


@pytest.fixture
def sandbox(tmp_path, dead_pid) -> Sandbox:
    return Sandbox(tmp_path, dead_pid)


# --- the state kinds: each prepares $XDG_STATE_HOME/venvguard/... ----------------------


@pytest.fixture
def state_missing(sandbox):
    """No state directory yet (a first run)."""


@pytest.fixture
def state_venvguard_is_a_file(sandbox):
    sandbox.state.mkdir()
    sandbox.venvguard.write_text("not a directory\n")
    sandbox.preserve(sandbox.venvguard)


@pytest.fixture
def state_runs_is_a_file(sandbox):
    sandbox.private(sandbox.venvguard)
    sandbox.runs.write_text("not a directory\n")
    sandbox.preserve(sandbox.runs)


@pytest.fixture
def state_host_is_a_file(sandbox):
    sandbox.private(sandbox.runs)
    sandbox.journal.write_text("not a directory\n")
    sandbox.preserve(sandbox.journal)


@pytest.fixture
def state_host_is_a_symlink(sandbox):
    """runs/<host> leads elsewhere, to a directory holding a valid entry: neither is
    written nor read as the journal (the supervisor refuses to write a journal there)."""
    sandbox.private(sandbox.runs)
    target = sandbox.elsewhere / "journal"
    target.mkdir(mode=0o700)
    name = sandbox.entry_name()
    (target / name).write_text(json.dumps(sandbox.forged_entry()))
    (target / name).chmod(0o600)
    sandbox.journal.symlink_to(target)
    sandbox.preserve(sandbox.journal)
    sandbox.preserve(target)


@pytest.fixture
def state_host_is_a_dangling_symlink(sandbox):
    sandbox.private(sandbox.runs)
    sandbox.journal.symlink_to(sandbox.elsewhere / "nothing-here")
    sandbox.preserve(sandbox.journal)
    sandbox.preserve(sandbox.elsewhere)


@pytest.fixture
def state_runs_mode_000(sandbox):
    """Unreadable and unwritable runs/ (root is not stopped by it)."""
    sandbox.private(sandbox.journal)
    sandbox.runs.chmod(0)
    yield
    sandbox.runs.chmod(0o700)


@pytest.fixture
def state_world_writable(sandbox):
    """The state directory is group- and world-writable (0777): not private."""
    sandbox.private(sandbox.journal)
    sandbox.venvguard.chmod(0o777)


@pytest.fixture
def state_other_owner(sandbox):
    """The state directories belong to another user (nobody)."""
    if not IS_ROOT:
        pytest.skip("chown to another user needs root")
    sandbox.private(sandbox.journal)
    for path in (sandbox.venvguard, sandbox.runs, sandbox.journal):
        os.chown(path, OTHER_UID, OTHER_UID)


@pytest.fixture
def entry_fifo(sandbox):
    """A FIFO named like an entry: opening it must not block."""
    path = sandbox.private(sandbox.journal) / "123.abc.json"
    os.mkfifo(path, 0o600)
    sandbox.entry = os.fspath(path)


@pytest.fixture
def entry_symlink(sandbox):
    """An entry that is a link to a valid entry elsewhere: the link is not followed."""
    real = sandbox.elsewhere / "real.json"
    real.write_text(json.dumps(sandbox.forged_entry()))
    real.chmod(0o600)
    path = sandbox.private(sandbox.journal) / sandbox.entry_name()
    path.symlink_to(real)
    sandbox.entry = os.fspath(path)
    sandbox.preserve(real)


@pytest.fixture
def entry_directory(sandbox):
    path = sandbox.private(sandbox.journal) / sandbox.entry_name()
    path.mkdir(mode=0o700)
    (path / "inside").write_text("stays\n")
    sandbox.entry = os.fspath(path)


@pytest.fixture
def entry_empty(sandbox):
    sandbox.write_entry(b"")


@pytest.fixture
def entry_not_json(sandbox):
    sandbox.write_entry(b'{"venvguard": 2, "token": "f0e1d2c3b4a5", \x00\xff not json')


@pytest.fixture
def entry_format_1(sandbox):
    """An entry of the old format naming the victim: not read as a FORMAT 2 one."""
    old = sandbox.forged_entry(venvguard=1)
    old["targets"] = [[t["path"], t["existed"]] for t in old["targets"]]
    sandbox.write_entry(json.dumps(old).encode())


@pytest.fixture
def entry_huge(sandbox):
    """A valid entry padded to 1 MiB: over the size bound, so not read."""
    data = sandbox.forged_entry(pad="")
    data["pad"] = "x" * (MiB - len(json.dumps(data)))
    sandbox.write_entry(json.dumps(data).encode())


@pytest.fixture
def entry_other_owner(sandbox):
    """A valid entry, but another user's file: not ours to act on."""
    if not IS_ROOT:
        pytest.skip("chown to another user needs root")
    path = sandbox.write_entry(json.dumps(sandbox.forged_entry()).encode())
    os.chown(path, OTHER_UID, OTHER_UID)


@pytest.fixture
def kept_is_a_file(sandbox):
    """kept/ (the records of environments kept incomplete) is a file."""
    sandbox.private(sandbox.venvguard)
    (sandbox.venvguard / "kept").write_text("not a directory\n")
    sandbox.preserve(sandbox.venvguard / "kept")


@pytest.fixture
def kept_record_not_json(sandbox):
    kept = sandbox.private(sandbox.venvguard / "kept")
    (kept / "123.abcd1234.json").write_bytes(b'{"path": "/x", \xff')


@pytest.fixture
def kept_record_is_a_fifo(sandbox):
    """Beyond the brief's list: a FIFO named like a kept record must not hang status."""
    kept = sandbox.private(sandbox.venvguard / "kept")
    os.mkfifo(kept / "123.abcd1234.json", 0o600)


@pytest.fixture
def kept_record_with_wrong_types(sandbox):
    """Beyond the brief's list: valid JSON whose fields are not what status expects,
    for an environment that is there (so status lists it)."""
    kept = sandbox.private(sandbox.venvguard / "kept")
    record = {"path": str(sandbox.victim), "reason": 7, "argv": [1, None], "repair": 5,
              "when": "yesterday"}
    (kept / "123.abcd1234.json").write_text(json.dumps(record))


@pytest.fixture
def xdg_state_home_relative(sandbox):
    """A relative XDG_STATE_HOME is ignored (the XDG spec): no journal under the cwd."""
    sandbox.env["XDG_STATE_HOME"] = "state"


@pytest.fixture
def home_and_xdg_unset(sandbox, can_move_home):
    """Neither HOME nor XDG_STATE_HOME: the passwd home is used. So that the real one
    is never written, the command runs in a mount namespace whose /etc/passwd gives
    our user a home under tmp_path."""
    if not can_move_home:
        pytest.skip("needs root and unshare to give the passwd home a place under tmp_path")
    del sandbox.env["HOME"]
    del sandbox.env["XDG_STATE_HOME"]
    passwd_home = sandbox.root / "passwd-home"
    passwd_home.mkdir()
    fake = sandbox.root / "passwd"
    fake.write_text(_fake_passwd(passwd_home))
    sandbox.wrapper = ["unshare", "--mount", "--", "sh", "-c", WRAP, str(fake)]
    sandbox.preserve(sandbox.home)  # $HOME as the other cases set it: not used here


KINDS = [
    "state_missing",
    "state_venvguard_is_a_file",
    "state_runs_is_a_file",
    "state_host_is_a_file",
    "state_host_is_a_symlink",
    "state_host_is_a_dangling_symlink",
    "state_runs_mode_000",
    "state_world_writable",
    "state_other_owner",
    "entry_fifo",
    "entry_symlink",
    "entry_directory",
    "entry_empty",
    "entry_not_json",
    "entry_format_1",
    "entry_huge",
    "entry_other_owner",
    "kept_is_a_file",
    "kept_record_not_json",
    "kept_record_is_a_fifo",
    "kept_record_with_wrong_types",
    "xdg_state_home_relative",
    "home_and_xdg_unset",
]


@pytest.fixture(params=KINDS)
def broken(request, sandbox) -> Sandbox:
    """The sandbox with one kind of bad state prepared."""
    request.getfixturevalue(request.param)
    if sandbox.entry is not None:
        sandbox.entry_before = snapshot(sandbox.entry)
    return sandbox


# --- what the tool says by itself --------------------------------------------------------

CWD = "<cwd>"


@pytest.fixture(scope="session")
def tool_lines(tmp_path_factory, dead_pid_session) -> dict[str, set[str]]:
    """The stderr lines each exec'd tool prints run bare (no venvguard), with its cwd
    spelt CWD: under venvguard, any other line must be venvguard's own."""
    out = {}
    for name, command in COMMANDS.items():
        if command.tool is None:
            continue
        box = Sandbox(tmp_path_factory.mktemp(name), dead_pid=dead_pid_session)
        done = run(command.tool, cwd=box.work, env=box.env)
        out[name] = {line.replace(str(box.work), CWD) for line in done.lines}
    return out


@pytest.fixture(scope="session")
def healthy_lines(tmp_path_factory, dead_pid_session) -> dict[str, int]:
    """How many venvguard lines each command prints with a healthy (fresh) state."""
    out = {}
    for name, command in COMMANDS.items():
        box = Sandbox(tmp_path_factory.mktemp(name), dead_pid=dead_pid_session)
        done = run([sys.executable, "-m", "venvguard", *command.args], cwd=box.work,
                   env=box.env)
        out[name] = sum(line.startswith(PREFIX) for line in done.lines)
    return out


@pytest.fixture(scope="session")
def dead_pid_session():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def wait_for_background_deletion(directory) -> None:
    """A removed environment is renamed aside and deleted by a detached process after
    the command returns: wait (up to TIMEOUT) until nothing set aside is left."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and any(
        name.startswith(removal.TRASH_PREFIX) for name in os.listdir(directory)
    ):
        time.sleep(0.02)


# --- the checks ------------------------------------------------------------------------


def problems_with(result: Result, box: Sandbox, name: str, command: Command,
                  tool_lines: dict[str, set[str]], healthy: int) -> list[str]:
    """Every way in which this run broke the rule; [] when it kept it."""
    problems = []
    if result.timed_out:
        return [f"still running after {TIMEOUT:.0f} s (a hang)"]
    if "Traceback" in result.stderr:
        problems.append("a traceback on stderr")
    own = tool_lines.get(name, set())
    strangers = [line for line in result.lines
                 if not line.startswith(PREFIX) and line.replace(str(box.work), CWD) not in own]
    if strangers:
        problems.append(f"stderr lines neither venvguard's nor the tool's: {strangers[:3]!r}")
    said = sum(line.startswith(PREFIX) for line in result.lines)
    if said > healthy + 1:
        problems.append(f"{said} venvguard lines, {healthy} with a healthy state: more than "
                        "one line about the bad state")
    if result.returncode not in command.exits:
        problems.append(f"exit status {result.returncode}, expected one of {command.exits}")
    if name == "exec-venv" and not (box.work / "E" / "pyvenv.cfg").is_file():
        problems.append("the guarded `python3 -m venv E` did not create E")
    if snapshot(box.victim) != box.victim_before:
        problems.append("the victim environment was touched")
    left = sorted(set(os.listdir(box.work)) - {"victim", "E"})
    if left:
        problems.append(f"new names in the cwd: {left!r} (a journal under the cwd?)")
    for path, before in box.preserved.items():
        if snapshot(path) != before:
            problems.append(f"{path} was changed")
    if box.entry is not None:
        problems += _entry_problems(box, command)
    return problems


def _entry_problems(box: Sandbox, command: Command) -> list[str]:
    """A broken entry stays as it is, or is renamed `*.corrupt`, unchanged; a command
    that only looks (status, --dry-run, doctor, ...) does not even rename it."""
    before = box.entry_before
    here, aside = snapshot(box.entry), snapshot(box.entry + ".corrupt")
    if here == before and aside is None:
        return []
    if command.read_only:
        return ["the broken entry was moved or changed by a command that only looks"]
    if here is None and aside == before:
        return []
    return [f"the broken entry was changed (there: {here is not None}, "
            f".corrupt: {aside is not None})"]


# --- the matrix --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(COMMANDS))
def test_bad_state_never_blocks_the_command(broken, name, tool_lines, healthy_lines):
    """No traceback, no hang, at most one line about the bad state, the tool's own exit
    status, and no environment touched nor broken entry acted upon."""
    command = COMMANDS[name]
    result = run([*broken.wrapper, sys.executable, "-m", "venvguard", *command.args],
                 cwd=broken.work, env=broken.env)
    wait_for_background_deletion(broken.work)
    problems = problems_with(result, broken, name, command, tool_lines, healthy_lines[name])
    assert not problems, "\n".join([*problems, "stderr ends with:", result.tail()])


# --- the checks can fail -----------------------------------------------------------------


def test_the_forged_entry_gets_the_victim_removed_when_it_is_a_proper_entry(sandbox):
    """Control: the entries the broken kinds hide would remove the victim if they were
    read as entries, so "the victim stays" in the matrix means something."""
    path = sandbox.write_entry(json.dumps(sandbox.forged_entry()).encode())
    result = run([sys.executable, "-m", "venvguard", "clean"], cwd=sandbox.work,
                 env=sandbox.env)
    assert result.returncode == 0, result.stderr
    assert not sandbox.victim.exists()
    assert not path.exists()


def test_a_bare_tool_line_is_told_apart_from_venvguards(tool_lines):
    """Control: the bare failing venv says something of its own, which the matrix
    allows, and nothing that looks like venvguard's."""
    lines = tool_lines["exec-venv-failing"]
    assert lines
    assert not any(line.startswith(PREFIX) for line in lines)
