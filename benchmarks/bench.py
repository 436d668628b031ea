#!/usr/bin/env python3
"""Measure venvguard's costs against the user's floor, side by side in one run.

    python benchmarks/bench.py [--check] [--rounds N] [--shells bash,zsh,fish]
                               [--venvguard PATH]

The floor is what a user who installs venvguard with pipx or `uv tool install`
has: a fresh virtual environment of the base interpreter, with this checkout
installed into it (not editable). It is built at start, in the sandbox, and its
console script and its python are used everywhere; the unit of every ratio is a
bare start of that python (`<floor>/bin/python -c pass`), measured in the same
rounds as the rest. The console script is pip's, which imports re (uv's does
not): -X importtime shows that share. `--venvguard PATH` uses a given console
script (and the python of its shebang) instead: for debugging, not for the record.

Every timing is a comparison made in the same run: the measured commands are
interleaved (round-robin, in a freshly shuffled order each round, after warm-up
rounds). "Added" times are medians of the per-round differences (A - B in the
same round), so a slow moment of the machine hits both sides of a pair. The
absolute limits are the prompt hook's, which runs inside the shell, and those of
the commands a user types, installed without bytecode (promise 8).

Promises checked (--check exits 1 if one is broken, 2 if the set-up failed):
  1. shell start-up added by `eval "$(venvguard init SHELL)"` (fish:
     `venvguard init fish | source`) <= 1.2 bare starts (bash, zsh, fish)
  2. the cached form (the rc line `venvguard init SHELL --cache` prints) adds no
     more start-up than `zoxide init SHELL` does (same rounds, paired), and starts
     no process: under strace the shell itself is the only program run
  3. a guarded no-op `uv sync` (tests/fixtures/project) <= 1.0 bare start added by
     `venvguard exec`, and one added program (venvguard; its watchdog is a fork
     without exec); the unguarded exec path (`exec -- uv --version`) likewise
  4. unguarded calls through the wrapper (`uv --version`, `uv pip list`, and where
     installed `pip list`, `poetry show`, `tox --version`) add no process: only the
     tool runs, as with `command TOOL`
  5. the prompt hook with nothing pending starts no process and costs < 100 µs a call
  6. typer, click, rich, pydantic, shellingham are never imported on the hot paths
     (init, exec of a guarded and of an unguarded command, _settle)
  7. the note a guarded run takes of an existing environment before the tool starts
     (its site-packages listing) costs <= 2 ms for 300 distributions
  8. installed without bytecode (a second venv, `pip install --no-compile`, run with
     PYTHONDONTWRITEBYTECODE=1, as `uv tool install` leaves it): `venvguard --version`
     < 50 ms; `venvguard --help`, `status`, `doctor` < 150 ms each (medians)
  9. the guarded no-op `uv sync` reads no config.toml where there is none: tomllib
     is not imported then (and is, with a file)

Shown beside them, not promised: the start-up `direnv hook SHELL` adds, the
processes each rc line starts, and for each hot path its `-X importtime` total with
the five modules that cost the most.

Standard library only. Uses the real uv binary; zoxide and direnv where installed
(a missing one is said, never skipped silently). HOME, XDG dirs, ZDOTDIR and uv's
cache point into a temporary directory.
"""

import argparse
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
SHELLS = ("bash", "zsh", "fish")
INIT_LIMIT = 1.2  # start-up added by the init line, in bare starts
GUARDED_LIMIT = 1.0  # time added by venvguard exec, in bare starts
HOOK_LIMIT = 100e-6  # seconds per prompt-hook call with nothing pending
IMPORT_RUNS = 5  # -X importtime runs per hot path (medians)
FORBIDDEN_IMPORTS = ("typer", "click", "rich", "pydantic", "shellingham")
NEIGHBOURS = ("zoxide", "direnv")  # other tools' init lines, for comparison

# The rc line of each variant; "cached" is filled in from `venvguard init S --cache`.
RC_LINES = {
    "empty": {s: "" for s in SHELLS},
    "init": {
        "bash": 'eval "$(venvguard init bash)"',
        "zsh": 'eval "$(venvguard init zsh)"',
        "fish": "venvguard init fish | source",
    },
    "zoxide": {
        "bash": 'eval "$(zoxide init bash)"',
        "zsh": 'eval "$(zoxide init zsh)"',
        "fish": "zoxide init fish | source",
    },
    "direnv": {
        "bash": 'eval "$(direnv hook bash)"',
        "zsh": 'eval "$(direnv hook zsh)"',
        "fish": "direnv hook fish | source",
    },
}
# A function each rc line defines: proof that the line took effect.
DEFINES = {
    "init": dict.fromkeys(SHELLS, "__venvguard_hook"),
    "cached": dict.fromkeys(SHELLS, "__venvguard_hook"),
    "zoxide": dict.fromkeys(SHELLS, "z"),
    "direnv": {"bash": "_direnv_hook", "zsh": "_direnv_hook", "fish": "__direnv_export_eval"},
}


class SetupError(Exception):
    pass


# --- running things -----------------------------------------------------------------


def capture(argv: list[str], what: str, **kw) -> str:
    """stdout of a command that must succeed; its output is in the error otherwise."""
    try:
        kw.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, **kw)
    except OSError as e:
        raise SetupError(f"{what}: {e}") from e
    if proc.returncode:
        raise SetupError(
            f"{what} exited with {proc.returncode}:\n{(proc.stdout + (proc.stderr or ''))[-2000:]}"
        )
    return proc.stdout


def version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
    return out.splitlines()[0] if out else "?"


def is_shim(path: str) -> bool:
    """A pyenv (or similar) shim: a small shell script that re-dispatches."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"#!") and b"pyenv" in head and len(head) < 4096


def real_program(name: str) -> str | None:
    """`name` on PATH, through a pyenv shim to the program it runs."""
    found = shutil.which(name)
    if found and is_shim(found) and shutil.which("pyenv"):
        found = version_of(["pyenv", "which", name])
    return found if found and os.access(found, os.X_OK) else None


def find_uv() -> str:
    """The uv this Python has installed (the real binary), else uv on PATH. Asked in
    a child, so that this file needs nothing beyond the standard library."""
    found = version_of([sys.executable, "-c", "import uv; print(uv.find_uv_bin())"])
    if os.path.isabs(found) and os.access(found, os.X_OK):
        return found
    found = real_program("uv")
    if not found:
        raise SetupError("uv not found (pip install uv)")
    return found


def shebang_python(script: str) -> str:
    """The interpreter a console script runs (for --venvguard PATH)."""
    with open(script, "rb") as f:
        first, second = f.readline().decode(), f.readline().decode()
    if not first.startswith("#!"):
        raise SetupError(f"{script} has no shebang line")
    words = shlex.split(first[2:])
    if words and os.path.basename(words[0]) == "sh":
        # pip's form for long paths: #!/bin/sh  +  '''exec' "/path/python" "$0" "$@"
        m = re.search(r"'''exec' \"?([^\" ]+)", second)
        if not m:
            raise SetupError(f"cannot read the interpreter from {script}")
        return m.group(1)
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
        found = shutil.which(words[0]) if words else None
        if not found:
            raise SetupError(f"{script}: interpreter {words[:1]} not on PATH")
        return found
    return words[0]


# --- the floor: a fresh venv with the checkout installed, as pipx makes ----------------


def base_python() -> str:
    """The interpreter this one was made from: the floor must not be a venv in a venv
    (its python would then start like the outer one, not like a user's)."""
    exe = getattr(sys, "_base_executable", "") or ""
    if not exe or (sys.prefix != sys.base_prefix and exe.startswith(sys.prefix + os.sep)):
        exe = os.path.join(
            sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}"
        )
    if not os.access(exe, os.X_OK):
        raise SetupError(f"no base interpreter at {exe}")
    return exe


def clean_env() -> dict[str, str]:
    """os.environ without what would steer a Python elsewhere (pip's own settings,
    such as its index, stay)."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def build_floor(root: str, base: str) -> tuple[str, str]:
    """Make <root>/floor and pip install the checkout into it; its python and
    console script. The install is timed: it is what a user waits for once."""
    floor = os.path.join(root, "floor")
    t0 = time.monotonic()
    capture([base, "-m", "venv", floor], "python -m venv (the floor)", env=clean_env())
    t1 = time.monotonic()
    pip = os.path.join(floor, "bin", "pip")
    capture(
        [pip, "install", "-q", "--disable-pip-version-check", REPO],
        "pip install of the checkout into the floor",
        env=clean_env(),
    )
    t2 = time.monotonic()
    python, venvguard = (os.path.join(floor, "bin", n) for n in ("python", "venvguard"))
    if not os.access(venvguard, os.X_OK):
        raise SetupError(f"pip install made no console script {venvguard}")
    print(
        f"floor      {floor}: `python -m venv` {t1 - t0:.1f} s, "
        f"`bin/pip install -q {REPO}` {t2 - t1:.1f} s (non-editable)"
    )
    return python, venvguard


# --- the sandbox ---------------------------------------------------------------------


class Sandbox:
    """Temporary HOME, XDG dirs, rc files, a bin dir with the real programs, the
    fixture project. PATH starts with bin/, holding links to the floor's console
    script and to uv, as pipx links its scripts into ~/.local/bin."""

    def __init__(self, root: str, venvguard: str, python: str, base: str, uv: str):
        self.root, self.venvguard, self.python, self.uv = root, venvguard, python, uv
        self.bin = self.mkdir("bin")
        os.symlink(venvguard, os.path.join(self.bin, "venvguard"))
        os.symlink(uv, os.path.join(self.bin, "uv"))
        # Other wrapped tools for the unguarded-call promise: the floor's own pip, and
        # poetry and tox where installed (tests/install_tools.py puts them in tests/.tools).
        self.tools = {"pip": os.path.join(os.path.dirname(venvguard), "pip")}
        for name in ("poetry", "tox"):
            found = os.path.join(REPO, "tests", ".tools", "bin", name)
            found = found if os.access(found, os.X_OK) else real_program(name)
            if found:
                self.tools[name] = found
        for name, path in self.tools.items():
            os.symlink(path, os.path.join(self.bin, name))
        self.elsewhere = self.mkdir("elsewhere")  # no project: poetry makes no env there
        self.marks = self.mkdir("marks")
        self.project = os.path.join(root, "project")
        self.state_empty = os.path.join(root, "state-empty")  # never created
        self.state_live = self.mkdir("state-live")
        self.state_run = self.mkdir("state-run")
        self.add_live_entry()
        self.rc: dict[tuple[str, str], str] = {}
        self.env = self.base_env(base)

    def add_live_entry(self) -> None:
        """One journal entry whose run is alive (this process), where the hook
        looks (runs/<host>/): the hook must skip it without starting anything."""
        runs = self.mkdir("state-live", "venvguard", "runs", os.uname().nodename)
        self.write(os.path.join(runs, f"{os.getpid()}.bench0live.json"), "{}\n")

    def base_env(self, base: str) -> dict[str, str]:
        """The environment of every command: nothing of the caller's Python, uv or
        shell set-up leaks in."""
        skip = ("VIRTUAL_ENV", "CONDA_PREFIX", "PROMPT_COMMAND", "BASH_ENV", "ENV")
        skip += ("ZDOTDIR", "HISTFILE", "fish_greeting", "LANGUAGE", "DIRENV_DIR")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("UV_", "VENVGUARD_", "PYTHON", "LC_", "PIP_", "_ZO_"))
            and k not in skip
        }
        env.update(
            PATH=self.bin + os.pathsep + os.environ.get("PATH", ""),
            HOME=self.mkdir("home"),
            XDG_CONFIG_HOME=self.mkdir("config"),
            XDG_DATA_HOME=self.mkdir("data"),
            XDG_CACHE_HOME=self.mkdir("cache"),
            XDG_STATE_HOME=self.state_run,
            LC_NUMERIC="C",
            UV_CACHE_DIR=self.mkdir("uv-cache"),
            UV_OFFLINE="1",
            UV_PYTHON=base,
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            NO_COLOR="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        return env

    def mkdir(self, *parts: str) -> str:
        path = os.path.join(self.root, *parts)
        os.makedirs(path, exist_ok=True)
        return path

    def write(self, path: str, text: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def shell_env(self, shell: str, variant: str) -> dict[str, str]:
        """The environment of an interactive `shell` whose rc holds the `variant`
        line: each variant has its own home, so rc files never collide."""
        home = os.path.join(self.root, f"{shell}-{variant}")
        env = dict(self.env)
        if shell == "bash":
            env["HOME"] = home
        elif shell == "zsh":
            env["HOME"] = env["ZDOTDIR"] = home
        else:
            env["XDG_CONFIG_HOME"] = home
        return env

    def rc_path(self, shell: str, variant: str) -> str:
        home = os.path.join(self.root, f"{shell}-{variant}")
        name = {"bash": ".bashrc", "zsh": ".zshrc", "fish": "fish/config.fish"}[shell]
        return os.path.join(home, name)

    def write_rcs(self, shells: list[str], variants: list[str]) -> None:
        """Every rc file; the cached line is what `venvguard init S --cache` prints,
        run with that shell's HOME and XDG dirs, so that the cache lands here."""
        for s in shells:
            for v in variants:
                if v == "cached":
                    line = capture(
                        [self.venvguard, "init", s, "--cache"],
                        f"venvguard init {s} --cache",
                        env=self.shell_env(s, v),
                    ).strip()
                else:
                    line = RC_LINES[v][s]
                self.rc[(s, v)] = line
                self.write(self.rc_path(s, v), line + "\n" if line else "")

    def make_project(self) -> str:
        """tests/fixtures/project (with slowpkg beside it), locked and synced
        offline, then synced once more so that `uv sync` is a no-op; uv's last
        word on it."""
        shutil.copytree(os.path.join(FIXTURES, "project"), self.project)
        shutil.copytree(os.path.join(FIXTURES, "slowpkg"), os.path.join(self.root, "slowpkg"))
        for argv in (["lock"], ["sync"], ["sync"]):
            out = capture(
                [self.uv, *argv],
                f"uv {argv[0]} in the fixture project",
                cwd=self.project,
                env=self.env,
                stderr=subprocess.STDOUT,
            )
        return out.strip().splitlines()[-1] if out.strip() else "?"


# --- timing of whole commands ----------------------------------------------------------


class Cmd:
    def __init__(self, key: str, label: str, argv: list[str], env: dict, cwd: str | None = None,
                 codes: tuple[int, ...] = (0,)):
        self.key, self.label, self.argv, self.env, self.cwd = key, label, argv, env, cwd
        self.codes = codes  # the exit statuses that are not a failure of the set-up
        self.times: list[float] = []  # seconds, one per measured round

    def once(self) -> float:
        start = time.perf_counter()
        code = subprocess.call(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - start
        if code not in self.codes:
            raise SetupError(f"`{self.label}` exited with {code}")
        return elapsed

    def median(self) -> float:
        return statistics.median(self.times)


def interleave(cmds: list[Cmd], rounds: int, warmup: int, seed: int = 1) -> None:
    """Every command once per round, in a new order each round: drift of the
    machine (load, frequency, caches) spreads over all of them alike."""
    rng = random.Random(seed)
    order = list(cmds)
    for r in range(warmup + rounds):
        rng.shuffle(order)
        for cmd in order:
            t = cmd.once()
            if r >= warmup:
                cmd.times.append(t)


def paired(a: Cmd, b: Cmd) -> tuple[float, float, float]:
    """Median, p25 and p75 over rounds of (a - b) in the same round, seconds."""
    diffs = [x - y for x, y in zip(a.times, b.times, strict=True)]
    lo, hi = quartiles(diffs)
    return statistics.median(diffs), lo, hi


def quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


# --- strace: counting processes ----------------------------------------------------------

LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
RESULT = re.compile(r"\)\s+=\s+(-?\d+|\?)(.*)$")
TRACED = "trace=execve,execveat,clone,clone3,fork,vfork,openat"


def usable_strace(wanted: bool) -> str | None:
    """strace, if it is installed and allowed to trace here (ptrace)."""
    strace = shutil.which("strace") if wanted else None
    if strace and subprocess.call(
        [strace, "-f", "-qq", "-o", os.devnull, "true"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ):
        return None
    return strace


def traced(strace: str, argv: list[str], env: dict, out_file: str) -> list[dict]:
    """Run argv under strace -f; its syscalls."""
    proc = subprocess.run(
        [strace, "-f", "-qq", "-s", "256", "-o", out_file, "-e", TRACED, *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode:
        raise SetupError(
            f"{argv[0]} under strace exited with {proc.returncode}:\n" + proc.stderr[-1500:]
        )
    return parse_strace(out_file)


def parse_strace(path: str) -> list[dict]:
    """Syscalls in the order they started: name, pid, args text, result."""
    events: list[dict] = []
    pending: dict[tuple[str, str], dict] = {}
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, body = m.groups()
            r = RESUMED.match(body)
            if r:
                ev = pending.pop((pid, r.group(1)), None)
                if ev is not None:
                    ev["args"] += r.group(2)
                    res = RESULT.search(r.group(2))
                    ev["ret"] = res.group(1) if res else "?"
                continue
            c = CALL.match(body)
            if not c:
                continue  # signals, exits
            ev = {"pid": pid, "name": c.group(1), "args": c.group(2), "ret": "?"}
            events.append(ev)
            if body.endswith("<unfinished ...>"):
                pending[(pid, c.group(1))] = ev
            else:
                res = RESULT.search(body)
                ev["ret"] = res.group(1) if res else "?"
    return events


def region(events: list[dict], marks: str, name: str) -> list[dict]:
    """The syscalls between the script's two marker opens for `name`."""
    start = f'openat(AT_FDCWD, "{os.path.join(marks, name + ".start")}"'
    end = f'openat(AT_FDCWD, "{os.path.join(marks, name + ".end")}"'
    idx = {}
    for i, ev in enumerate(events):
        if ev["name"] == "openat":
            text = f"openat({ev['args']}"
            if text.startswith(start) and "s" not in idx:
                idx["s"] = i
            elif text.startswith(end) and "s" in idx:
                idx["e"] = i
                break
    if "e" not in idx:
        raise SetupError(f"strace markers for {name!r} not found")
    return events[idx["s"] + 1 : idx["e"]]


def count(evs: list[dict]) -> dict:
    """Programs run (successful execve) and processes made (fork, vfork, clone
    without CLONE_THREAD)."""
    execs = [
        os.path.basename(re.match(r'"([^"]*)"', ev["args"]).group(1))
        for ev in evs
        if ev["name"] in ("execve", "execveat") and ev["ret"] == "0"
    ]
    procs = threads = 0
    for ev in evs:
        if ev["name"] in ("fork", "vfork"):
            procs += 1
        elif ev["name"] in ("clone", "clone3"):
            if "CLONE_THREAD" in ev["args"]:
                threads += 1
            else:
                procs += 1
    return {"execs": execs, "procs": procs, "threads": threads}


# --- the scripts run inside each shell -----------------------------------------------------


def q(s: str) -> str:
    return shlex.quote(s)


# Unguarded calls of the other wrapped tools, traced in a directory with no project.
TOOL_CALLS = {"pip": "pip list", "poetry": "poetry show", "tox": "tox --version"}


def tool_calls(sb: "Sandbox") -> list[tuple[str, str]]:
    """(marker, command) of each installed tool's unguarded call, wrapped and not."""
    out = []
    for name in sb.tools:
        call = TOOL_CALLS[name]
        out += [(f"wrapped-{name}", call), (f"command-{name}", f"command {call}")]
    return out


# Calls traced inside one shell with the init line: (marker, command, cwd is project).
TRACED_CALLS = (
    ("wrapped-version", "uv --version"),
    ("command-version", "command uv --version"),
    ("wrapped-piplist", "uv pip list"),
    ("command-piplist", "command uv pip list"),
    ("wrapped-sync", "uv sync"),
    ("command-sync", "command uv sync"),
)


def strace_script(shell: str, sb: Sandbox, calls: int) -> str:
    """The hook `calls` times in each state, then each traced call, each between
    two marker opens that `region` finds in the trace."""

    def mark(name: str, edge: str) -> str:
        path = os.path.join(sb.marks, f"{name}.{edge}")
        open(path, "w").close()
        return f"true < {q(path)}"

    if shell == "fish":
        setvar = "set -gx XDG_STATE_HOME {}"
        loop = "for i in $__r; __venvguard_hook; end"
        lines = [f"set -g __r (seq {calls})"]
    else:
        setvar = "export XDG_STATE_HOME={}"
        loop = f"for ((i=0; i<{calls}; i++)); do __venvguard_hook; done"
        lines = [":"]
    for name, state in (("hook-empty", sb.state_empty), ("hook-live", sb.state_live)):
        lines += [setvar.format(q(state)), mark(name, "start"), loop, mark(name, "end")]
    lines += [setvar.format(q(sb.state_run)), f"cd {q(sb.project)}"]
    for name, command in TRACED_CALLS:
        lines += [mark(name, "start"), f"{command} >/dev/null 2>&1", mark(name, "end")]
    lines.append(f"cd {q(sb.elsewhere)}")
    for name, command in tool_calls(sb):
        lines += [mark(name, "start"), f"{command} >/dev/null 2>&1", mark(name, "end")]
    return "\n".join(lines) + "\n"


def timing_script(shell: str, sb: Sandbox, calls: int, reps: int, uv_reps: int) -> str:
    """Prints `T label t0 t1` lines (bash, zsh) or `L label` + fish `time` output."""
    if shell == "fish":
        return fish_timing_script(sb, calls, reps, uv_reps)
    out = ["__bench_noop() { return 0; }"]
    if shell == "zsh":
        out.insert(0, "zmodload zsh/datetime")
    loop = f"for ((i=0; i<{calls}; i++)); do {{}}; done"
    for rep in range(reps):
        blocks = [
            ("hook-empty", f"XDG_STATE_HOME={q(sb.state_empty)}", loop.format("__venvguard_hook")),
            ("hook-live", f"XDG_STATE_HOME={q(sb.state_live)}", loop.format("__venvguard_hook")),
            ("noop", ":", loop.format("__bench_noop")),
        ]
        if rep % 2:
            blocks.reverse()
        for label, setup, body in blocks:
            out += [
                setup,
                "t0=$EPOCHREALTIME",
                body,
                "t1=$EPOCHREALTIME",
                f'echo "T {label} $t0 $t1"',
            ]
    out.append(f"XDG_STATE_HOME={q(sb.state_run)}")
    for rep in range(uv_reps):
        pair = [
            ("wrapped", "uv --version >/dev/null"),
            ("command", "command uv --version >/dev/null"),
        ]
        if rep % 2:
            pair.reverse()
        for label, body in pair:
            out += ["t0=$EPOCHREALTIME", body, "t1=$EPOCHREALTIME", f'echo "T {label} $t0 $t1"']
    return "\n".join(out) + "\n"


def fish_timing_script(sb: Sandbox, calls: int, reps: int, uv_reps: int) -> str:
    """fish has no $EPOCHREALTIME: its `time` reports each block on stderr."""
    out = ["function __bench_noop; return 0; end", f"set -g __r (seq {calls})"]
    for rep in range(reps):
        blocks = [
            (
                "hook-empty",
                f"set -gx XDG_STATE_HOME {q(sb.state_empty)}",
                "for i in $__r; __venvguard_hook; end",
            ),
            (
                "hook-live",
                f"set -gx XDG_STATE_HOME {q(sb.state_live)}",
                "for i in $__r; __venvguard_hook; end",
            ),
            ("noop", "", "for i in $__r; __bench_noop; end"),
        ]
        if rep % 2:
            blocks.reverse()
        for label, setup, body in blocks:
            out += [setup, f"echo 'L {label}' >&2", f"time {body}"]
    out.append(f"set -gx XDG_STATE_HOME {q(sb.state_run)}")
    for rep in range(uv_reps):
        pair = [
            ("wrapped", "uv --version >/dev/null"),
            ("command", "command uv --version >/dev/null"),
        ]
        if rep % 2:
            pair.reverse()
        for label, body in pair:
            out += [f"echo 'L {label}' >&2", f"time {body}"]
    return "\n".join(out) + "\n"


FISH_UNITS = {"micros": 1e-6, "millis": 1e-3, "secs": 1.0, "mins": 60.0}


def parse_timings(shell: str, stdout: str, stderr: str) -> dict[str, list[float]]:
    res: dict[str, list[float]] = {}
    if shell == "fish":
        label = None
        for line in stderr.splitlines():
            if line.startswith("L "):
                label = line[2:].strip()
                continue
            m = re.match(r"\s*Executed in\s+([\d.]+)\s+(\w+)", line)
            if m and label:
                res.setdefault(label, []).append(float(m.group(1)) * FISH_UNITS[m.group(2)])
                label = None
        return res
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "T":
            t0, t1 = (float(p.replace(",", ".")) for p in parts[2:])
            res.setdefault(parts[1], []).append(t1 - t0)
    return res


def shell_argv(shell: str, script: str) -> list[str]:
    return [shell, "-i", "-c", script]


def defines(sb: Sandbox, shell: str, variant: str) -> bool:
    """Did the variant's rc line take effect (define its function)?"""
    name = DEFINES[variant][shell]
    check = {
        "bash": f"type -t {name}",
        "zsh": f"whence -w {name}",
        "fish": f"functions -q {name}; and echo function",
    }[shell]
    out = subprocess.run(
        shell_argv(shell, check),
        env=sb.shell_env(shell, variant),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    return "function" in out.stdout


# --- import time -------------------------------------------------------------------------------

TOP_LEVEL = "top level (the script, or at run time)"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S.*)$")


def importtime(python: str, args: list[str], env: dict, cwd: str | None) -> dict[str, tuple]:
    """One `python -X importtime ARGS` run: {module: (self s, cumulative s, importer)}.
    The importer is what to change to drop a module; a module's imports are printed
    before it, one level deeper. The top level is the script, or a function that
    imports at run time (-X importtime cannot tell them apart)."""
    proc = subprocess.run(
        [python, "-X", "importtime", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode:
        raise SetupError(
            f"{' '.join(args)} under -X importtime exited with "
            f"{proc.returncode}:\n" + proc.stderr[-2000:]
        )
    mods, waiting = {}, {}  # waiting: depth -> modules whose importer comes later
    for line in proc.stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if not m:  # the header line (words, not numbers), the tool's own output
            continue
        name, depth = m.group(4).strip(), len(m.group(3)) // 2
        for child in waiting.pop(depth + 1, []):
            mods[child] = (*mods[child][:2], name)
        mods[name] = (int(m.group(1)) * 1e-6, int(m.group(2)) * 1e-6, TOP_LEVEL)
        waiting.setdefault(depth, []).append(name)
    return mods


def script_imports(script: str) -> set[str]:
    """The modules a console script imports itself, beside our package: pip's
    template imports re, which then costs every path, whatever venvguard does."""
    with open(script, errors="replace") as f:
        text = f.read()
    names = set(re.findall(r"^(?:import|from)\s+(\w+)", text, re.MULTILINE))
    return names - {"venvguard", "sys"}


class ImportProfile:
    """Medians over several -X importtime runs of one path: one run alone is noisy."""

    def __init__(self, runs: list[dict[str, tuple]]):
        self.runs = runs
        self.modules = sorted({m for run in runs for m in run})
        self.total = statistics.median(sum(v[0] for v in run.values()) for run in runs)
        self.self_s = {m: statistics.median(r[m][0] for r in runs if m in r) for m in self.modules}
        self.cum = {m: statistics.median(r[m][1] for r in runs if m in r) for m in self.modules}
        self.importer = {m: next(r[m][2] for r in runs if m in r) for m in self.modules}

    def beyond(self, known: set[str]) -> float:
        """Import time of the modules not in `known` (a bare start's), median over
        the runs: what the path adds, free of the bare start's own noise."""
        return statistics.median(
            sum(v[0] for m, v in run.items() if m not in known) for run in self.runs
        )

    def top(self, n: int, known: set[str]) -> list[str]:
        """The n modules with the largest cumulative time, of those not in `known`."""
        mine = [m for m in self.modules if m not in known]
        return sorted(mine, key=lambda m: -self.cum[m])[:n]


# --- report ---------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:6.2f} µs"


def spread(lo: float, hi: float) -> str:
    return f"{lo * 1e3:7.2f}..{hi * 1e3:6.2f} ms"


class Report:
    """The promises as measured: (number in the module docstring, what, measured,
    limit, ok), ok None when it could not be measured here."""

    def __init__(self) -> None:
        self.promises: list[tuple[int, str, str, str, bool | None]] = []

    def promise(self, n: int, what: str, measured: str, limit: str, ok: bool | None) -> None:
        self.promises.append((n, what, measured, limit, ok))

    def broken(self) -> list[str]:
        return [p[1] for p in self.promises if p[4] is False]

    def print(self) -> None:
        """In the docstring's order (they are measured in another), so that one
        promise's lines for each shell stand together."""
        heading("Promises")
        rows = sorted(self.promises, key=lambda p: p[0])
        widths = [max(len(p[i]) for p in rows) for i in range(1, 4)]
        for n, what, measured, limit, ok in rows:
            verdict = {True: "ok", False: "BROKEN", None: "not measured"}[ok]
            print(
                f"  {n}. {what:<{widths[0]}}  {measured:<{widths[1]}}  {limit:<{widths[2]}}  "
                f"{verdict}"
            )


def heading(text: str) -> None:
    print(f"\n## {text}")


# --- the run -------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a promise is broken")
    ap.add_argument("--rounds", type=int, default=40, help="measured rounds (default 40)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up rounds (default 3)")
    ap.add_argument("--shells", default=",".join(SHELLS), help="comma-separated subset")
    ap.add_argument(
        "--hook-calls", type=int, default=1000, help="hook calls per timed loop (default 1000)"
    )
    ap.add_argument("--no-strace", action="store_true", help="do not count processes")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument(
        "--venvguard",
        metavar="PATH",
        help="use this console script instead of building the floor (for debugging)",
    )
    opts = ap.parse_args()
    if opts.rounds < 2:
        ap.error("--rounds must be at least 2 (quartiles need two)")
    try:
        return run(opts)
    except SetupError as e:
        print(f"\nbench: set-up failed: {e}", file=sys.stderr)
        return 2


def run(opts: argparse.Namespace) -> int:
    t_start = time.monotonic()
    uv = find_uv()
    base = base_python()
    wanted = [s.strip() for s in opts.shells.split(",") if s.strip()]
    shells = [s for s in wanted if s in SHELLS and shutil.which(s)]
    neighbours = [n for n in NEIGHBOURS if shutil.which(n)]
    strace = usable_strace(not opts.no_strace)
    describe_machine(base, uv, wanted, shells, strace)

    report = Report()
    with tempfile.TemporaryDirectory(prefix="venvguard-bench-") as root:
        if opts.venvguard:
            venvguard = os.path.abspath(opts.venvguard)
            if is_shim(venvguard) and shutil.which("pyenv"):
                venvguard = version_of(["pyenv", "which", "venvguard"])
            python = shebang_python(venvguard)
            print(f"floor      not built: --venvguard {venvguard} given (debugging only)")
        else:
            python, venvguard = build_floor(root, base)
        vg_version = version_of([python, "-c", "import venvguard; print(venvguard.__version__)"])
        print(f"python     {python}  ({version_of([python, '-VV'])})")
        print(f"venvguard  {venvguard}  ({vg_version})")
        sb = Sandbox(root, venvguard, python, base, uv)
        set_up(sb, shells, neighbours)

        timed(opts, sb, shells, neighbours, report)
        in_shell(opts, sb, shells, report, strace)
        startup_processes(sb, shells, neighbours, report, strace)
        imports(sb, shells, report)
        existing_env_note(sb, report)
        no_bytecode(opts, sb, root, base, report)
        if opts.keep:
            keep = tempfile.mkdtemp(prefix="venvguard-bench-kept-")
            shutil.copytree(root, keep, symlinks=True, dirs_exist_ok=True)
            print(f"\n(kept a copy of the sandbox in {keep})")

    report.print()
    broken = report.broken()
    kept = sum(1 for p in report.promises if p[4])
    unmeasured = sum(1 for p in report.promises if p[4] is None)
    print(
        f"\n{kept} of {len(report.promises)} kept"
        f"{f', {unmeasured} not measured' if unmeasured else ''}"
        f"{'; BROKEN: ' + ', '.join(broken) if broken else ''}"
        f"  ({time.monotonic() - t_start:.0f} s)"
    )
    return 1 if (opts.check and broken) else 0


NOTE_SCRIPT = """
import os, statistics, sys, time
from venvguard import verify
env = sys.argv[1]
site = os.path.join(env, "lib", "python3.11", "site-packages")
for i in range(300):
    os.makedirs(os.path.join(site, f"pkg{i}"))
    os.makedirs(os.path.join(site, f"pkg{i}-1.0.dist-info"))
times = []
for _ in range(101):
    started = time.perf_counter()
    verify.note(env)
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"""
NOTE_LIMIT = 2e-3  # seconds the note may add to a guarded call on an existing environment


def existing_env_note(sb: Sandbox, report: Report) -> None:
    """The note a guarded run on an existing environment takes before the tool starts:
    its site-packages listing, here for 300 distributions (600 entries)."""
    heading("Guarded run on an existing environment: the note taken before the tool starts")
    env = sb.mkdir("note-env")
    seconds = float(capture([sb.python, "-c", NOTE_SCRIPT, env], "the note benchmark"))
    print(f"  site-packages listing of 300 distributions: {us(seconds)} (median of 101)")
    report.promise(7, "note of an existing env (300 distributions)", us(seconds),
                   f"<= {NOTE_LIMIT * 1e3:g} ms beyond the guarded call", seconds <= NOTE_LIMIT)


NO_BYTECODE_ROUNDS = 15  # at most: four whole commands a round, of up to 150 ms each
NO_BYTECODE_LIMITS = {"--version": 50e-3, "--help": 150e-3, "status": 150e-3, "doctor": 150e-3}


def no_bytecode(opts, sb: Sandbox, root: str, base: str, report: Report) -> None:
    """The checkout installed a second time, into a fresh venv, without bytecode
    (`pip install --no-compile`, run with PYTHONDONTWRITEBYTECODE=1), as `uv tool
    install` leaves it: every import compiles its source at each start, so what a
    command imports (typer and pydantic are a quarter of a second) shows in full.
    The commands a user types, timed whole; clean is shown, not promised."""
    rounds = min(opts.rounds, NO_BYTECODE_ROUNDS)
    heading(
        f"Installed without bytecode (as `uv tool install`): {rounds} rounds after "
        f"{opts.warmup} warm-up rounds, interleaved"
    )
    venv = os.path.join(root, "no-bytecode")
    capture([base, "-m", "venv", "--without-pip", venv], "python -m venv (no bytecode)",
            env=clean_env())
    python, venvguard = (os.path.join(venv, "bin", n) for n in ("python", "venvguard"))
    floor_pip = os.path.join(root, "floor", "bin", "pip")
    pip = [floor_pip] if os.access(floor_pip, os.X_OK) else [sys.executable, "-m", "pip"]
    env = {**clean_env(), "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.monotonic()
    capture([*pip, "--python", python, "install", "-q", "--disable-pip-version-check",
             "--no-compile", REPO], "pip install --no-compile of the checkout", env=env)
    print(f"  {venv}: `pip --python ... install --no-compile` {time.monotonic() - t0:.1f} s")
    env = {**sb.env, "PYTHONDONTWRITEBYTECODE": "1"}
    cmds = [Cmd("py", "python -c pass", [python, "-c", "pass"], env, sb.root)]
    for args in (["--version"], ["--help"], ["status"], ["doctor"], ["clean"]):
        cmds.append(Cmd(args[0], f"venvguard {args[0]}", [venvguard, *args], env, sb.root,
                        codes=(0, 1) if args == ["doctor"] else (0,)))  # 1: a check warns
    interleave(cmds, rounds, opts.warmup)
    compiled = sum(name.endswith(".pyc") for _top, _dirs, names in os.walk(venv)
                   for name in names)
    print(f"  .pyc files in it after the runs: {compiled}")
    print(f"  {'command':<24} {'median':>10} {'p25':>10} {'p75':>10}  limit")
    for c in cmds:
        lo, hi = quartiles(c.times)
        limit = NO_BYTECODE_LIMITS.get(c.key)
        shown = f"< {limit * 1e3:g} ms" if limit else "-"
        print(f"  {c.label:<24} {ms(c.median())} {ms(lo)} {ms(hi)}  {shown}")
        if limit:
            report.promise(8, f"no bytecode: venvguard {c.key}", f"{c.median() * 1e3:.1f} ms",
                           f"< {limit * 1e3:g} ms", c.median() < limit and compiled == 0)


def describe_machine(
    base: str, uv: str, wanted: list[str], shells: list[str], strace: str | None
) -> None:
    """What ran: the figures mean little without it."""
    print("# venvguard benchmarks")
    print(
        f"machine    {platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"base       {base}  ({version_of([base, '-VV'])})")
    print(f"uv         {uv}  ({version_of([uv, '--version'])})")
    for s in wanted:
        if s not in SHELLS:
            print(f"{s:<10} unknown shell (bash, zsh, fish): skipped")
        elif s in shells:
            print(f"{s:<10} {shutil.which(s)}  ({version_of([s, '--version'])})")
        else:
            print(f"{s:<10} skipped: {s} not installed")
    for n in NEIGHBOURS:
        found = shutil.which(n)
        flag = "--version" if n == "zoxide" else "version"
        print(
            f"{n:<10} {found}  ({version_of([n, flag])})"
            if found
            else f"{n:<10} skipped: {n} not installed (apt-get install {n})"
        )
    traced_by = version_of([strace, "-V"]) if strace else "not usable: processes are not counted"
    print(f"strace     {traced_by}")


def set_up(sb: Sandbox, shells: list[str], neighbours: list[str]) -> None:
    """The project, the rc files, and proof that each is what it should be: a
    benchmark of a line that silently did nothing would flatter it."""
    last = sb.make_project()
    plan = capture(
        [
            sb.python,
            "-c",
            "import os; from venvguard import tools; "
            "p = tools.plan(['uv', 'sync'], os.getcwd(), os.environ); "
            "print(p.targets if p else None)",
        ],
        "venvguard's plan of `uv sync`",
        cwd=sb.project,
        env=sb.env,
    ).strip()
    print(f"project    {sb.project}: `uv sync` says {last!r}; venvguard targets {plan}")
    if plan in ("None", "[]"):
        raise SetupError("`uv sync` in the test project is not guarded: nothing to measure")
    sb.write_rcs(shells, ["empty", "init", "cached", *neighbours])
    for s in shells:
        print(f"{s + ' rc':<10} cached form: {sb.rc[(s, 'cached')]}")
        for v in ("init", "cached", *neighbours):
            if not defines(sb, s, v):
                raise SetupError(
                    f"{s}: the rc line {sb.rc[(s, v)]!r} did not define {DEFINES[v][s]}"
                )


def timed(opts, sb: Sandbox, shells: list[str], neighbours: list[str], report: Report) -> None:
    cmds = whole_commands(sb, shells, neighbours)
    heading(
        f"Whole commands: {opts.rounds} rounds after {opts.warmup} warm-up rounds, "
        "each round every command once in a shuffled order"
    )
    interleave(list(cmds.values()), opts.rounds, opts.warmup)
    py = cmds["py"].median()
    print(f"  {'command':<52} {'median':>10} {'p25':>10} {'p75':>10} {'/ bare':>7}")
    for c in cmds.values():
        lo, hi = quartiles(c.times)
        print(f"  {c.label:<52} {ms(c.median())} {ms(lo)} {ms(hi)} {c.median() / py:6.2f}x")
    startup_added(cmds, shells, neighbours, py, report)
    exec_added(cmds, py, report)


def whole_commands(sb: Sandbox, shells: list[str], neighbours: list[str]) -> dict[str, Cmd]:
    """The commands measured in the same rounds; the floor's bare start is the unit."""
    env, vg = sb.env, sb.venvguard
    cmds = {
        "py": Cmd(
            "py", "floor python -c pass  (the unit: a bare start)", [sb.python, "-c", "pass"], env
        ),
        "uvv": Cmd("uvv", "uv --version", [sb.uv, "--version"], env),
        "vg-uvv": Cmd(
            "vg-uvv", "venvguard exec -- uv --version", [vg, "exec", "--", sb.uv, "--version"], env
        ),
        "sync": Cmd("sync", "uv sync (no-op)", [sb.uv, "sync"], env, sb.project),
        "vg-sync": Cmd(
            "vg-sync",
            "venvguard exec -- uv sync",
            [vg, "exec", "--", sb.uv, "sync"],
            env,
            sb.project,
        ),
    }
    for s in shells:
        for v in ("empty", "init", "cached", *neighbours):
            key = f"{s}-{v}"
            cmds[key] = Cmd(
                key,
                f"{s} -i -c exit  ({variant_name(v)})",
                shell_argv(s, "exit"),
                sb.shell_env(s, v),
            )
    return cmds


def variant_name(variant: str) -> str:
    return {
        "empty": "empty rc",
        "init": "venvguard init line",
        "cached": "venvguard cached line",
    }.get(variant, f"{variant} line")


def startup_added(
    cmds: dict[str, Cmd], shells: list[str], neighbours: list[str], py: float, report: Report
) -> None:
    heading(
        "Shell start-up added by each rc line (median of per-round differences "
        "against the empty rc)"
    )
    print(f"  {'shell':<6} {'rc line':<46} {'added':>10}  {'added p25..p75':>19}  {'/ bare':>7}")
    for s in shells:
        empty = cmds[f"{s}-empty"]
        added = {}
        for v in ("init", "cached", *NEIGHBOURS):
            if v not in neighbours and v in NEIGHBOURS:
                print(f"  {s:<6} {RC_LINES[v][s]:<46} skipped: {v} not installed")
                continue
            added[v], lo, hi = paired(cmds[f"{s}-{v}"], empty)
            line = RC_LINES[v][s] if v != "cached" else f"cached (venvguard init {s} --cache)"
            print(f"  {s:<6} {line:<46} {ms(added[v])}  {spread(lo, hi)}  {added[v] / py:6.2f}x")
        ratio = added["init"] / py
        report.promise(
            1,
            f"{s}: start-up added by the init line",
            f"+{added['init'] * 1e3:.2f} ms = {ratio:.2f} bare starts",
            f"<= {INIT_LIMIT:g} bare starts",
            ratio <= INIT_LIMIT,
        )
        cached_vs_zoxide(cmds, s, added, report)


def cached_vs_zoxide(cmds: dict[str, Cmd], s: str, added: dict[str, float], report: Report) -> None:
    """The cached line against zoxide's, paired round by round (both shells ran in
    the same round), so the verdict does not hang on the two medians' noise."""
    what = f"{s}: start-up added by the cached line"
    if "zoxide" not in added:
        report.promise(2, what, "skipped: zoxide not installed", "<= zoxide init's", None)
        return
    diff, lo, hi = paired(cmds[f"{s}-cached"], cmds[f"{s}-zoxide"])
    print(f"  {s:<6} {'cached line - zoxide line, same round':<46} {ms(diff)}  {spread(lo, hi)}")
    report.promise(
        2,
        what,
        f"+{added['cached'] * 1e3:.2f} ms vs zoxide +{added['zoxide'] * 1e3:.2f} ms "
        f"(paired {diff * 1e3:+.2f} ms)",
        "<= zoxide init's",
        diff <= 0,
    )


def exec_added(cmds: dict[str, Cmd], py: float, report: Report) -> None:
    heading("venvguard exec against the bare tool (median of per-round differences)")
    print(f"  bare start (floor python -c pass): {ms(py)}")
    print(
        f"  {'':<34} {'bare':>10} {'via exec':>10} {'added':>10}  {'added p25..p75':>19}  "
        f"{'/ bare':>7}"
    )
    for key, name, what in (
        ("sync", "uv sync (guarded, no-op)", "guarded no-op uv sync"),
        ("uvv", "uv --version (unguarded)", "unguarded exec path (uv --version)"),
    ):
        a, b = cmds["vg-" + key], cmds[key]
        added, lo, hi = paired(a, b)
        ratio = added / py
        print(
            f"  {name:<34} {ms(b.median())} {ms(a.median())} {ms(added)}  {spread(lo, hi)}  "
            f"{ratio:6.2f}x"
        )
        report.promise(
            3,
            f"{what}: time added by venvguard exec",
            f"+{added * 1e3:.2f} ms = {ratio:.2f} bare starts",
            f"<= {GUARDED_LIMIT:g} bare start",
            ratio <= GUARDED_LIMIT,
        )


def in_shell(opts, sb: Sandbox, shells: list[str], report: Report, strace: str | None) -> None:
    """Inside a shell with the init line: what the hook and the wrapped calls start
    (strace), and what the hook costs a call."""
    calls = 200
    heading(
        "Processes started inside a shell with the init line, counted under strace -f "
        "(successful execve; fork/vfork/clone without CLONE_THREAD)"
    )
    counts = {}
    if not strace:
        print("  strace is not usable here: install it (apt-get install -y strace)")
    else:
        for s in shells:
            events = traced(
                strace,
                shell_argv(s, strace_script(s, sb, calls)),
                sb.shell_env(s, "init"),
                os.path.join(sb.root, f"strace-{s}.txt"),
            )
            names = ["hook-empty", "hook-live"] + [n for n, _ in [*TRACED_CALLS, *tool_calls(sb)]]
            counts[s] = {n: count(region(events, sb.marks, n)) for n in names}
        print(f"  {'shell':<6} {'what':<46} {'processes':>9} {'execve':>7}  programs run")
        rows = [
            ("hook-empty", f"__venvguard_hook x{calls}, journal absent"),
            ("hook-live", f"__venvguard_hook x{calls}, one live run journalled"),
        ]
        rows += [
            (n, c + ("  (wrapper)" if n.startswith("wrapped") else ""))
            for n, c in [*TRACED_CALLS, *tool_calls(sb)]
        ]
        for s, by in counts.items():
            for key, what in rows:
                c = by[key]
                progs = " ".join(c["execs"]) or "-"
                print(f"  {s:<6} {what:<46} {c['procs']:>9} {len(c['execs']):>7}  {progs}")
    hook_costs = hook_timing(opts, sb, shells)
    for s in shells:
        process_promises(s, counts.get(s), calls, report, sb)
        worst = max(hook_costs[s]["hook-empty"], hook_costs[s]["hook-live"])
        report.promise(
            5,
            f"{s}: prompt hook, nothing pending: time a call",
            f"{worst * 1e6:.1f} µs (the slower of no journal / live run)",
            f"< {HOOK_LIMIT * 1e6:.0f} µs",
            worst < HOOK_LIMIT,
        )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es"


def process_promises(s: str, by: dict | None, calls: int, report: Report, sb: Sandbox) -> None:
    """Promises 3 to 5 on processes: the wrapper's and the hook's, from one shell's
    strace counts."""
    if by is None:
        for n, what in (
            (5, "prompt hook starts no process"),
            (4, "unguarded calls add no process"),
            (3, "guarded call adds one program start"),
        ):
            report.promise(n, f"{s}: {what}", "strace not usable", "-", None)
        return
    n = sum(by[k]["procs"] + len(by[k]["execs"]) for k in ("hook-empty", "hook-live"))
    report.promise(
        5, f"{s}: prompt hook starts no process", f"{n} processes in {2 * calls} calls", "0", n == 0
    )
    runs, ok = [], True
    for key in ("version", "piplist"):
        w, c = by[f"wrapped-{key}"], by[f"command-{key}"]
        runs.append(f"{' '.join(w['execs']) or '-'} ({w['procs']} process)")
        ok = ok and w["execs"] == ["uv"] == c["execs"] and w["procs"] == c["procs"]
    report.promise(
        4,
        f"{s}: unguarded calls add no process",
        "uv --version, uv pip list: " + ", ".join(runs),
        "uv only, as `command uv`",
        ok,
    )
    for name in ("pip", "poetry", "tox"):
        if name not in sb.tools:
            report.promise(4, f"{s}: unguarded `{TOOL_CALLS[name]}` adds no process",
                           f"{name} is not installed (python3 tests/install_tools.py)", "-", None)
            continue
        w, c = by[f"wrapped-{name}"], by[f"command-{name}"]
        report.promise(
            4,
            f"{s}: unguarded `{TOOL_CALLS[name]}` adds no process",
            f"{' '.join(w['execs']) or '-'} ({plural(w['procs'], 'process')})",
            f"as `command {name}`: {' '.join(c['execs']) or '-'} ({c['procs']})",
            "venvguard" not in w["execs"] and w["execs"] == c["execs"]
            and w["procs"] == c["procs"],
        )
    w, c = by["wrapped-sync"], by["command-sync"]
    added = list(w["execs"])
    for p in c["execs"]:
        if p in added:
            added.remove(p)
    # venvguard is the one program started; its watchdog is a fork of it (no exec).
    report.promise(
        3,
        f"{s}: guarded call adds one program start",
        f"adds {' '.join(added) or '-'} (+{w['procs'] - c['procs']} processes)",
        "venvguard (+2: it and its watchdog fork)",
        added == ["venvguard"] and w["procs"] - c["procs"] == 2,
    )


def hook_timing(opts, sb: Sandbox, shells: list[str]) -> dict[str, dict[str, float]]:
    """The hook per call, timed inside the shell (loops, median of 7), against an
    empty function; uv --version through the wrapper against `command uv`."""
    heading(
        f"Inside one interactive shell: the hook per call (loops of {opts.hook_calls}, "
        "median of 7), uv --version through the wrapper vs `command uv` (30 pairs)"
    )
    print(
        f"  {'shell':<6} {'hook, no journal':>16} {'hook, live run':>16} "
        f"{'empty function':>16} {'wrapper uv':>11} {'command uv':>11} {'ratio':>6}"
    )
    costs = {}
    needed = ("hook-empty", "hook-live", "noop", "wrapped", "command")
    for s in shells:
        proc = subprocess.run(
            shell_argv(s, timing_script(s, sb, opts.hook_calls, 7, 30)),
            env=sb.shell_env(s, "init"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        t = parse_timings(s, proc.stdout, proc.stderr)
        if proc.returncode or any(k not in t for k in needed):
            raise SetupError(
                f"{s}: in-shell timing failed (exit {proc.returncode}):\n" + proc.stderr[-1500:]
            )
        per = {k: statistics.median(t[k]) / opts.hook_calls for k in needed[:3]}
        wr, cm = statistics.median(t["wrapped"]), statistics.median(t["command"])
        print(
            f"  {s:<6} {us(per['hook-empty']):>16} {us(per['hook-live']):>16} "
            f"{us(per['noop']):>16} {ms(wr):>11} {ms(cm):>11} {wr / cm:5.2f}x"
        )
        costs[s] = per
    return costs


def startup_processes(
    sb: Sandbox, shells: list[str], neighbours: list[str], report: Report, strace: str | None
) -> None:
    """What each rc line starts when the shell starts: the cached line must start
    nothing, so that the shell is the only program run."""
    heading("Processes started by shell start-up (`SHELL -i -c exit` under strace -f)")
    if not strace:
        print("  strace is not usable here: install it (apt-get install -y strace)")
        for s in shells:
            report.promise(
                2,
                f"{s}: cached line starts no process",
                "strace not usable",
                "only the shell runs",
                None,
            )
        return
    print(f"  {'shell':<6} {'rc':<46} {'processes':>9} {'execve':>7}  programs run")
    for s in shells:
        by = {}
        for v in ("empty", "init", "cached", *neighbours):
            out = os.path.join(sb.root, f"strace-start-{s}-{v}.txt")
            by[v] = c = count(traced(strace, shell_argv(s, "exit"), sb.shell_env(s, v), out))
            rc = RC_LINES[v][s] if v != "cached" else f"cached (venvguard init {s} --cache)"
            print(
                f"  {s:<6} {rc or '(empty)':<46} {c['procs']:>9} {len(c['execs']):>7}  "
                f"{' '.join(c['execs']) or '-'}"
            )
        c = by["cached"]
        report.promise(
            2,
            f"{s}: cached line starts no process",
            f"runs {' '.join(c['execs']) or '-'} (+{c['procs']} processes)",
            "only the shell runs",
            c["execs"] == [s] and c["procs"] == 0,
        )


def imports(sb: Sandbox, shells: list[str], report: Report) -> None:
    """Import time of each hot path (the floor's python, the console script run as
    a file, as its shebang would), and no typer & co on them. The runs of all paths
    are interleaved, like the timings, so that a slow moment hits them alike."""
    heading(
        f"Import time on the hot paths: {sb.python} -X importtime {sb.venvguard} ..., "
        f"median of {IMPORT_RUNS} runs; top 5 by cumulative "
        "time of the modules a bare start does not import"
    )
    paths: list[tuple[list[str], str]] = [(["-c", "pass"], sb.root)]
    paths += [([sb.venvguard, "init", s], sb.root) for s in shells]
    paths += [
        ([sb.venvguard, "exec", "--", sb.uv, "sync"], sb.project),
        ([sb.venvguard, "exec", "--", sb.uv, "--version"], sb.root),
        ([sb.venvguard, "_settle"], sb.root),
    ]
    runs: list[list[dict]] = [[] for _ in paths]
    for _ in range(IMPORT_RUNS):
        for i, (args, cwd) in enumerate(paths):
            runs[i].append(importtime(sb.python, args, sb.env, cwd))
    bare = ImportProfile(runs[0])
    print(
        f"  bare start (python -c pass): total {bare.total * 1e3:.2f} ms, "
        f"{len(bare.modules)} modules (encodings, site, ...: every path pays these)"
    )
    extra = sorted(script_imports(sb.venvguard) - set(bare.modules))
    print(f"  the console script itself imports: {' '.join(extra) or 'nothing beyond sys'}")
    bad_all: set[str] = set()
    for (args, _cwd), path_runs in zip(paths[1:], runs[1:], strict=True):
        prof = ImportProfile(path_runs)
        bad = {m for m in prof.modules if m.split(".")[0] in FORBIDDEN_IMPORTS}
        bad_all |= bad
        shown = " ".join("uv" if a == sb.uv else a for a in args[1:])
        by_script = sum(prof.cum[m] for m in extra if prof.importer.get(m) == TOP_LEVEL)
        print(
            f"  venvguard {shown:<24} total {prof.total * 1e3:6.2f} ms "
            f"(+{prof.beyond(set(bare.modules)) * 1e3:.2f} ms beyond a bare start's modules, "
            f"{by_script * 1e3:.2f} of it the script's own imports), {len(prof.modules)} "
            f"modules; "
            f"{', '.join(sorted(bad)) if bad else 'none of ' + '/'.join(FORBIDDEN_IMPORTS)}"
        )
        for m in prof.top(5, set(bare.modules)):
            cum, own = prof.cum[m] * 1e3, prof.self_s[m] * 1e3
            print(
                f"      {cum:6.2f} ms cumulative {own:5.2f} ms self  {m:<22} "
                f"imported by {prof.importer[m]}"
            )
    report.promise(
        6,
        "hot paths never import typer & co",
        ", ".join(sorted(bad_all)) or "none imported",
        "none",
        not bad_all,
    )
    config_file_cost(sb, runs[len(shells) + 1], report)


def config_file_cost(sb: Sandbox, without: list[dict], report: Report) -> None:
    """The guarded call reads config.toml only where it exists: without one it never
    imports tomllib; with one (VENVGUARD_CONFIG), what reading it costs."""
    config = os.path.join(sb.root, "config.toml")
    with open(config, "w") as f:
        f.write('quiet = true\nunguarded = ["uv lock"]\n')
    env = {**sb.env, "VENVGUARD_CONFIG": config}
    args = [sb.venvguard, "exec", "--", sb.uv, "sync"]
    plain, with_file = ImportProfile(without), ImportProfile(
        [importtime(sb.python, args, env, sb.project) for _ in range(IMPORT_RUNS)])
    read = with_file.cum.get("tomllib")
    print(f"  venvguard exec -- uv sync with a config.toml: tomllib "
          f"{f'{read * 1e3:.2f} ms' if read is not None else 'not imported'}, "
          f"total {with_file.total * 1e3:.2f} ms (without one: {plain.total * 1e3:.2f} ms)")
    report.promise(
        9,
        "guarded uv sync reads config.toml only where it exists",
        f"tomllib: {'imported' if 'tomllib' in plain.modules else 'not imported'} without "
        f"the file, {'imported' if read is not None else 'not imported'} with it",
        "not without, yes with",
        "tomllib" not in plain.modules and read is not None,
    )


if __name__ == "__main__":
    sys.exit(main())
