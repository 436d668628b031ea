"""Harness for the end-to-end tests: real interactive shells on a pseudo-terminal.

Every test gets its own world in a temp dir:

    home/            HOME, holding only the rc file: the init line and a prompt
    state/           XDG_STATE_HOME (the journal is state/venvguard/runs/<host>/)
    vg-bin/          venvguard -> the real console script (not a pyenv shim)
    tools-bin/       uv, python3, virtualenv -> the real ones
    project/         tests/fixtures/project, locked before the test starts
    slowpkg/         tests/fixtures/slowpkg, whose build sleeps $SLOWPKG_SLEEP seconds
    work/            an empty directory for `python3 -m venv` and virtualenv
    uv-cache/        a fresh uv cache, so that slowpkg is really built every time
    tmp/             TMPDIR (what interrupted tools leave there stays in the world)

PATH is vg-bin:tools-bin:/usr/bin:/bin, so that a test can take venvguard off PATH.
The shell types commands, presses Ctrl-C with sendintr() and the test looks at
the disk. Nothing waits with a bare sleep: `wait_for` polls a condition, and the
build backend writes $SLOWPKG_READY once the tool is mid-install.

A missing shell or tool skips the tests that need it on a developer machine and
fails them when CI is set.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

import pytest

try:
    import pexpect
except ImportError:  # reported per test by `require`, so that CI fails loudly
    pexpect = None

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")
SHELLS = ("bash", "zsh", "fish")
PROMPT = "<vg-e2e> "
TIMEOUT = 30  # seconds: the limit for any one step (a prompt, a poll)
INTERRUPTED_SLEEP = 60  # SLOWPKG_SLEEP for runs that get Ctrl-C: killed long before
ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, modes
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: window titles
    r"|\x1b[()][0-9A-Za-z]"  # character sets
    r"|\x1b[=>78]"  # keypad modes, save/restore cursor
)


# --- environment checks ------------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(found: object, what: str) -> None:
    """Skip (with the reason shown) when something is missing, but fail under CI:
    a CI run that quietly skips the end-to-end tests proves nothing."""
    if found:
        return
    if in_ci():
        pytest.fail(f"{what} is missing, and CI is set: the end-to-end tests must run here")
    pytest.skip(f"{what} is missing")


def console_script(name: str) -> str | None:
    """A console script of this Python's installation, never a pyenv shim."""
    candidate = os.path.join(sysconfig.get_path("scripts"), name)
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found and "/shims/" not in found:
        return found
    return None


# Where tests/install_tools.py puts poetry, pdm, hatch, pipenv, tox and nox.
TOOLS_BIN = os.path.join(os.path.dirname(HERE), ".tools", "bin")


def environment_tool(name: str) -> str | None:
    """An environment tool (poetry, pdm, ...): tests/.tools' own, else one on PATH."""
    candidate = os.path.join(TOOLS_BIN, name)
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    return found if found and "/shims/" not in found else None


def require_tool(name: str) -> str:
    """The path of an environment tool, or skip (fail under CI) naming the fix."""
    found = environment_tool(name)
    require(found, f"{name} (python3 tests/install_tools.py)")
    return found


def uv_binary() -> str | None:
    try:
        import uv

        return os.path.realpath(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = console_script("uv")
        return os.path.realpath(found) if found else None


# --- polling -----------------------------------------------------------------------


def wait_for(cond, timeout: float = TIMEOUT, what: str = "a condition", detail=None):
    """Poll `cond()` every 10 ms until it returns something true, and return that;
    fail naming `what` (and showing `detail()`, if given) once `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}{extra}")
        time.sleep(0.01)


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


def line_after_tab(child, typed: str) -> str:
    """The command line of an interactive shell at its prompt (`child`, a pexpect
    spawn) after typing `typed` and one TAB, read back by wrapping it in
    `echo '[...@]'` (Ctrl-A, Ctrl-E) and running that. The `@` typed after the TAB
    keeps the space or slash it added, which zsh takes back if a cursor movement
    comes next."""
    child.send(typed + "\t@")
    child.send("\x01echo '[\x05]'\r")
    try:
        child.expect(r"\[(venvguard[^\]\r\n\x1b]*)@\]\r\n")
        line = child.match.group(1)
        child.expect_exact(PROMPT)
    except (pexpect.TIMEOUT, pexpect.EOF):
        pytest.fail(f"no prompt or no line after `{typed}<TAB>`; the shell printed:\n"
                    f"{strip_ansi(str(child.before))[-3000:]}")
    return line


def messages(text: str) -> list[str]:
    """venvguard's one-line messages in some output (ANSI stripped)."""
    return re.findall(r"venvguard: [^\n]*", strip_ansi(text))


# --- processes ---------------------------------------------------------------------


class Proc:
    """One process as /proc shows it (state None when it is gone)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cmdline = self._read_list("cmdline")
        self.environ = self._read_list("environ")
        try:
            self.cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            self.cwd = None
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                raw = f.read().decode(errors="replace")
            fields = raw[raw.rfind(")") + 2 :].split()
            self.state = fields[0]
            self.ppid, self.pgrp, self.tpgid = int(fields[1]), int(fields[2]), int(fields[5])
        except (OSError, IndexError, ValueError):
            self.state, self.ppid, self.pgrp, self.tpgid = None, None, None, None

    def _read_list(self, name: str) -> list[str]:
        try:
            with open(f"/proc/{self.pid}/{name}", "rb") as f:
                return [w.decode(errors="replace") for w in f.read().split(b"\0") if w]
        except OSError:
            return []

    @property
    def alive(self) -> bool:
        return self.state is not None and self.state not in ("Z", "X")

    @property
    def program(self) -> str:
        return os.path.basename(self.cmdline[0]) if self.cmdline else ""

    def __repr__(self) -> str:
        return f"<pid {self.pid} {self.state} pgrp={self.pgrp} {' '.join(self.cmdline)[:150]!r}>"


def marked_processes(marker: str) -> list[Proc]:
    """Live processes carrying this test's marker variable in their environment: the
    shell and everything it started, however detached."""
    tag = f"VG_E2E_WORLD={marker}"
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            proc = Proc(int(name))
            if proc.alive and tag in proc.environ:
                found.append(proc)
    return found


# --- the world: the files and directories of one test ------------------------------


DROPPED_VARIABLES = frozenset(
    {
        "VIRTUAL_ENV", "VIRTUAL_ENV_PROMPT", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP",
        "ZDOTDIR", "PROMPT_COMMAND", "BASH_ENV", "ENV", "PS1", "PS2", "COLUMNS", "LINES",
        "HISTFILE", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "TMUX", "STY",
    }
)


# The settings of the tools under test that the suite's own environment must not lend
# to the shells.
TOOL_VARIABLES = (
    "UV_", "VENVGUARD_", "VIRTUALENV_", "XDG_", "CONDA_", "PYENV", "POETRY_", "PDM_",
    "HATCH_", "PIPENV_", "WORKON_HOME", "TOX_", "NOX_", "PIP_", "PIXI_", "MAMBA_",
)


class World:
    def __init__(self, root: str) -> None:
        self.root = root
        self.home = os.path.join(root, "home")
        self.state = os.path.join(root, "state")
        self.runs = os.path.join(self.state, "venvguard", "runs", os.uname().nodename)
        self.vg_bin = os.path.join(root, "vg-bin")
        self.tools_bin = os.path.join(root, "tools-bin")
        self.project = os.path.join(root, "project")
        self.slowpkg = os.path.join(root, "slowpkg")
        self.work = os.path.join(root, "work")
        self.tmp = os.path.join(root, "tmp")
        self.venv = os.path.join(self.project, ".venv")
        self.ready = os.path.join(root, "slowpkg-ready")
        self.python = os.path.realpath(sys.executable)
        self.extra_env: dict[str, str] = {}  # a test's own variables, for every shell
        for d in (self.home, self.vg_bin, self.tools_bin, self.work, self.tmp):
            os.makedirs(d)
        shutil.copytree(os.path.join(FIXTURES, "project"), self.project)
        shutil.copytree(os.path.join(FIXTURES, "slowpkg"), self.slowpkg)

    def link_tools(self, venvguard: str, uv: str, virtualenv: str) -> None:
        os.symlink(venvguard, os.path.join(self.vg_bin, "venvguard"))
        os.symlink(uv, os.path.join(self.tools_bin, "uv"))
        os.symlink(self.python, os.path.join(self.tools_bin, "python3"))
        os.symlink(virtualenv, os.path.join(self.tools_bin, "virtualenv"))

    def add_tool(self, name: str, path: str) -> None:
        """Put one more real tool (poetry, pdm, ...) on the shells' PATH."""
        os.symlink(path, os.path.join(self.tools_bin, name))

    @property
    def path_without_venvguard(self) -> str:
        return os.pathsep.join([self.tools_bin, "/usr/bin", "/bin"])

    def environ(self, sleep: float) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(TOOL_VARIABLES)
            and k not in DROPPED_VARIABLES
        }
        env.update(
            HOME=self.home,
            PATH=os.pathsep.join([self.vg_bin, self.path_without_venvguard]),
            TERM="xterm",
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
            XDG_STATE_HOME=self.state,
            TMPDIR=self.tmp,
            UV_OFFLINE="1",
            UV_NO_CONFIG="1",
            UV_PYTHON_DOWNLOADS="never",
            UV_PYTHON=self.python,
            UV_CACHE_DIR=os.path.join(self.root, "uv-cache"),
            VIRTUALENV_NO_PERIODIC_UPDATE="1",
            SLOWPKG_READY=self.ready,
            SLOWPKG_SLEEP=str(sleep),
            VG_E2E_WORLD=self.root,
        )
        env.update(self.extra_env)
        return env

    def uv(self, *args: str) -> None:
        """Run the real uv in the project, outside any shell (test setup)."""
        subprocess.run(
            [os.path.join(self.tools_bin, "uv"), *args], cwd=self.project,
            env=self.environ(sleep=0), check=True, capture_output=True, timeout=TIMEOUT,
        )

    # -- what is on disk --

    def listing(self, directory: str | None = None) -> list[str]:
        """Every path below `directory` (the project by default), relative, sorted."""
        directory = directory or self.project
        out = []
        for dirpath, dirnames, filenames in os.walk(directory):
            rel = os.path.relpath(dirpath, directory)
            out.extend(os.path.normpath(os.path.join(rel, n)) for n in dirnames + filenames)
        return sorted(out)

    def journal(self) -> list[str]:
        try:
            return sorted(os.listdir(self.runs))
        except FileNotFoundError:
            return []

    def wait_journal_empty(self) -> None:
        wait_for(lambda: not self.journal(), what="the journal (runs/) to be empty",
                 detail=lambda: f"runs/: {self.journal()}")

    def wait_listing(self, directory: str, expected: list[str]) -> None:
        wait_for(lambda: self.listing(directory) == expected,
                 what=f"{directory} to hold what it held before the run",
                 detail=lambda: f"before: {expected}\nnow:    {self.listing(directory)}")

    def wait_ready(self) -> int:
        """Wait until slowpkg's build has started (uv is mid-install); its pid."""
        def ready():
            try:
                with open(self.ready) as f:
                    text = f.read()
            except FileNotFoundError:
                return None
            return int(text) if text.isdigit() else None

        return wait_for(ready, what="slowpkg's build to start ($SLOWPKG_READY)",
                        detail=lambda: "\n".join(map(repr, self.procs())))

    # -- processes --

    def procs(self) -> list[Proc]:
        return marked_processes(self.root)

    def find_proc(self, pred, what: str) -> Proc:
        """Poll for one of this test's processes that satisfies `pred`."""
        def search():
            return next((p for p in self.procs() if pred(p)), None)

        return wait_for(search, what=what, detail=lambda: "\n".join(map(repr, self.procs())))

    def kill_leftovers(self) -> None:
        """End every process this test started that is still there, by pid."""
        for proc in self.procs():
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)


# --- the shell ---------------------------------------------------------------------


# An ignored signal stays ignored across fork and exec (and a blocked one stays
# blocked), so a suite started with SIGINT ignored (a background job of a
# non-interactive shell, nohup, some CI runners) would hand that on to every shell
# and to uv in it, which would then ignore the Ctrl-C that sendintr() sends.
DEFAULT_SIGNALS = (
    signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM, signal.SIGTSTP,
    signal.SIGTTIN, signal.SIGTTOU, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD,
    signal.SIGALRM, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH,
)


def default_signals() -> None:
    """preexec_fn of every shell: default dispositions and nothing blocked, whatever
    the suite itself was started with."""
    for sig in DEFAULT_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


class Shell:
    """An interactive shell on a pseudo-terminal whose rc file holds only the init
    line (after `rc_prefix`) and a prompt."""

    def __init__(self, name: str, world: World, *, rc_prefix: str = "", sleep: float,
                 cwd: str | None = None, fish_first_start: bool = False) -> None:
        self.name = name
        program = shutil.which(name)
        self.world = world
        self.transcript: list[str] = []
        self._syncs = 0
        self._failed = False
        home = world.home
        env = world.environ(sleep)
        if name == "bash":
            rc = os.path.join(home, ".bashrc")
            text = f"{rc_prefix}eval \"$(venvguard init bash)\"\nPS1='{PROMPT}'\n"
            argv = [program, "--rcfile", rc, "-i"]
        elif name == "zsh":
            rc = os.path.join(home, ".zshrc")
            env["ZDOTDIR"] = home
            text = f"{rc_prefix}eval \"$(venvguard init zsh)\"\nPS1='{PROMPT}'\n"
            argv = [program, "-i"]
        else:
            rc = os.path.join(home, ".config", "fish", "config.fish")
            os.makedirs(os.path.dirname(rc), exist_ok=True)
            # Without this directory fish's first start runs its man-page completion
            # generator (`python3 create_manpage_completions.py ... &`), which keeps a
            # core busy for many seconds: out of the way, but for the test of just that.
            if not fish_first_start:
                os.makedirs(os.path.join(home, ".local", "share", "fish", "generated_completions"),
                            exist_ok=True)
            text = (f"{rc_prefix}venvguard init fish | source\n"
                    f"function fish_prompt\n    printf '%s' '{PROMPT}'\nend\n")
            argv = [program, "-i"]
        with open(rc, "w") as f:
            f.write(text)
        self.status_var = "$status" if name == "fish" else "$?"
        self.log = open(os.path.join(world.root, f"transcript-{name}.log"), "w")  # noqa: SIM115
        self.child = pexpect.spawn(
            argv[0], argv[1:], env=env, cwd=cwd or world.project, dimensions=(40, 200),
            encoding="utf-8", codec_errors="replace", timeout=TIMEOUT,
            preexec_fn=default_signals,
        )
        self.child.delaybeforesend = None
        self.child.logfile_read = self.log
        self.expect_prompt()
        self.sync()

    # -- typing --

    def type(self, line: str) -> None:
        """Type a command line and press Enter; returns at once."""
        self.child.sendline(line)

    def sendintr(self) -> None:
        """Ctrl-C."""
        self.child.sendintr()

    def sendcontrol(self, char: str) -> None:
        self.child.sendcontrol(char)

    # -- reading --

    def _fail(self, what: str):
        if isinstance(self.child.before, str):
            self.transcript.append(strip_ansi(self.child.before))
        self._failed = True
        pytest.fail(f"{self.name}: {what}\n--- last output ---\n{self.tail()}")

    def expect_prompt(self, timeout: float = TIMEOUT) -> str:
        """Wait for the next prompt: the output since the last match, ANSI stripped."""
        try:
            self.child.expect_exact(PROMPT, timeout=timeout)
        except pexpect.TIMEOUT:
            self._fail(f"no prompt within {timeout} s")
        except pexpect.EOF:
            self._fail("the shell exited while a prompt was expected")
        out = strip_ansi(self.child.before)
        self.transcript.append(out + PROMPT)
        return out

    def expect_output(self, pattern: str, timeout: float = TIMEOUT) -> re.Match:
        """Wait for a regex in the raw output; the match."""
        try:
            self.child.expect(pattern, timeout=timeout)
        except pexpect.TIMEOUT:
            self._fail(f"no {pattern!r} within {timeout} s")
        except pexpect.EOF:
            self._fail(f"the shell exited while waiting for {pattern!r}")
        self.transcript.append(strip_ansi(self.child.before + self.child.after))
        return self.child.match

    def run(self, line: str) -> str:
        """Type a command line and wait for the prompt: its output, ANSI stripped
        (the echoed command line left out)."""
        self.type(line)
        return self.expect_prompt().partition("\n")[2]

    def status(self) -> int:
        """$? (fish: $status) of the last command, asked at the current prompt."""
        self.type(f'echo "st={self.status_var}"')
        match = self.expect_output(r"st=(\d+)\r?\n")
        self.expect_prompt()
        return int(match.group(1))

    def sync(self) -> None:
        """Make sure the shell has read all that was typed and is at a fresh prompt."""
        self._syncs += 1
        self.type(f'echo "vg""sync{self._syncs}"')
        self.expect_output(rf"vgsync{self._syncs}\r?\n")
        self.expect_prompt()

    def capture(self, line: str) -> tuple[str, int]:
        """The exact output (ANSI left in) and exit status of a command line."""
        self.type(f'echo "vg""begin"; {line}; echo "vg""end={self.status_var}"')
        match = self.expect_output(r"vgbegin\r\n(.*?)vgend=(\d+)\r?\n")
        self.expect_prompt()
        return match.group(1), int(match.group(2))

    def output(self, line: str) -> str:
        """The output of a command line that must succeed, ANSI stripped."""
        text, status = self.capture(line)
        assert status == 0, f"`{line}` exited with {status}: {strip_ansi(text)}"
        return strip_ansi(text)

    def tail(self, chars: int = 4000) -> str:
        """The end of all the shell printed, ANSI stripped (for failure reports)."""
        buffered = self.child.buffer if isinstance(self.child.buffer, str) else ""
        pending = "" if self._failed else buffered
        return strip_ansi("".join(self.transcript) + pending)[-chars:]

    def close(self) -> None:
        with contextlib.suppress(Exception):  # teardown: the shell may be long gone
            self.child.close(force=True)
        self.log.close()


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(params=SHELLS)
def shell_name(request) -> str:
    name = request.param
    require(pexpect, "pexpect (pip install pexpect)")
    require(shutil.which(name), f"the shell {name}")
    return name


@pytest.fixture
def tools() -> dict[str, str]:
    found = {
        "venvguard": console_script("venvguard"),
        "uv": uv_binary(),
        "virtualenv": console_script("virtualenv"),
    }
    require(found["venvguard"], "the venvguard console script (pip install -e .)")
    require(found["uv"], "uv")
    require(found["virtualenv"], "virtualenv")
    return found


@pytest.fixture
def world(tmp_path, tools) -> World:
    """The test's temp world, with the project locked (`uv lock`, offline)."""
    w = World(str(tmp_path))
    w.link_tools(tools["venvguard"], tools["uv"], tools["virtualenv"])
    w.uv("lock")
    assert os.path.isfile(os.path.join(w.project, "uv.lock"))
    yield w
    w.kill_leftovers()


@pytest.fixture
def start_shell(request, world, shell_name):
    """start_shell(rc_prefix="", sleep=60, cwd=project): a Shell at its first prompt."""
    started: list[Shell] = []
    request.node.vg_shells = started

    def start(*, rc_prefix: str = "", sleep: float = INTERRUPTED_SLEEP,
              cwd: str | None = None) -> Shell:
        sh = Shell(shell_name, world, rc_prefix=rc_prefix, sleep=sleep, cwd=cwd)
        started.append(sh)
        return sh

    yield start
    for sh in started:
        sh.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for sh in getattr(item, "vg_shells", []):
            report.sections.append((f"{sh.name} transcript", sh.tail()))


def pytest_collection_modifyitems(items):
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.e2e)


# --- the fault matrix's table (test_fault_matrix.py) -------------------------------

# One row per fault-matrix case that ran: {"shell", "fault", "env", "outcome"}. The
# test module's autouse fixture appends the row (and hangs it on the test item);
# the hook below marks it failed or skipped; the summary prints the table.
FAULT_MATRIX: list[dict[str, str]] = []


# (A second makereport hook, so the one above stays as it is: pytest takes only
# names that start with pytest_, and `specname` says which hook it implements.)
@pytest.hookimpl(hookwrapper=True, specname="pytest_runtest_makereport")
def pytest_runtest_makereport_fault_matrix(item, call):
    outcome = yield
    report = outcome.get_result()
    row = getattr(item, "vg_fault_case", None)
    if row is None:
        return
    if report.failed:
        row["outcome"] = "failed"
    elif report.skipped and row["outcome"] == "passed":
        row["outcome"] = "skipped"


def pytest_terminal_summary(terminalreporter):
    """When fault-matrix cases ran: a table, one row per fault, a column per shell and
    environment (new / existing), each cell the case's outcome."""
    if not FAULT_MATRIX:
        return
    shells = [s for s in SHELLS if any(r["shell"] == s for r in FAULT_MATRIX)]
    envs = [e for e in ("new", "existing") if any(r["env"] == e for r in FAULT_MATRIX)]
    columns = [(s, e) for s in shells for e in envs]
    faults = list(dict.fromkeys(r["fault"] for r in FAULT_MATRIX))
    cells = {(r["fault"], r["shell"], r["env"]): r["outcome"] for r in FAULT_MATRIX}
    first = max(len("fault"), *map(len, faults))
    width = max(len("existing") + 1, *(len(f"{s} {e}") for s, e in columns))
    terminalreporter.write_sep("=", "fault matrix")

    def write(text: str) -> None:
        terminalreporter.write_line(text.rstrip())

    write("fault".ljust(first) + "".join(f"  {s + ' ' + e:<{width}}" for s, e in columns))
    write("-" * (first + (width + 2) * len(columns)))
    for name in faults:
        row = "".join(f"  {cells.get((name, s, e), '-'):<{width}}" for s, e in columns)
        write(name.ljust(first) + row)
    counts = {o: sum(r["outcome"] == o for r in FAULT_MATRIX)
              for o in ("passed", "failed", "skipped")}
    write(f"{len(FAULT_MATRIX)} cases: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
