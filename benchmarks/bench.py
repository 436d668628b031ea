#!/usr/bin/env python3
"""Measure venvguard's costs against the promises, side by side in one run.

    python benchmarks/bench.py [--check] [--rounds N] [--shells bash,zsh,fish]

Every timing is a comparison made in the same run: the measured commands are
interleaved (round-robin, in a freshly shuffled order each round, after warm-up
rounds) and each promise is checked as a ratio to a bare start of the very Python
that runs venvguard, never against an absolute number. "Added" times are medians
of the per-round differences (A - B in the same round), so a slow moment of the
machine hits both sides of a pair.

Promises checked (--check exits 1 if one is broken, 2 if the set-up failed):
  1. shell start-up added by the init line  <= 2 bare Python starts (bash, zsh, fish)
  2. prompt hook with nothing pending: no process started (counted under strace)
  3. a non-guarded call through the wrapper (uv --version): only uv itself is run
  4. a guarded no-op `uv sync`: one added program (venvguard, plus its watchdog,
     a fork without exec) and
     <= 1.5 bare Python starts added; the unguarded exec path likewise
  5. typer, click, rich, pydantic, shellingham are never imported on the hot paths

Standard library only. Uses the real venvguard console script and the real uv
binary (pyenv shims resolved), first on PATH in every shell it starts; HOME, XDG
dirs, ZDOTDIR and uv's cache point into a temporary directory.
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
import sysconfig
import tempfile
import time

SHELLS = ("bash", "zsh", "fish")
STARTUP_LIMIT = 2.0  # added start-up, in bare Python starts
GUARDED_LIMIT = 1.5  # added time of a guarded no-op uv sync, in bare Python starts
FORBIDDEN_IMPORTS = ("typer", "click", "rich", "pydantic", "shellingham")
INIT_LINES = {
    "bash": 'eval "$(venvguard init bash)"\n',
    "zsh": 'eval "$(venvguard init zsh)"\n',
    "fish": "venvguard init fish | source\n",
}


class SetupError(Exception):
    pass


# --- finding the real programs -----------------------------------------------------


def is_shim(path: str) -> bool:
    """A pyenv (or similar) shim: a small shell script that re-dispatches."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"#!") and b"pyenv" in head and len(head) < 4096


def shebang_python(script: str) -> str:
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


def find_venvguard() -> str:
    candidate = os.path.join(sysconfig.get_path("scripts"), "venvguard")
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("venvguard")
    if found and is_shim(found) and shutil.which("pyenv"):
        found = run_text(["pyenv", "which", "venvguard"]).strip() or None
    if not found:
        raise SetupError("no venvguard console script (pip install -e . first)")
    return found


def find_uv(python: str) -> str:
    try:
        out = run_text([python, "-c", "import uv; print(uv.find_uv_bin())"]).strip()
        if out and os.access(out, os.X_OK):
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    found = shutil.which("uv")
    if found and is_shim(found) and shutil.which("pyenv"):
        found = run_text(["pyenv", "which", "uv"]).strip() or None
    if not found:
        raise SetupError("uv not found")
    return found


def run_text(argv: list[str], **kw) -> str:
    return subprocess.run(
        argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
    ).stdout


def version_of(argv: list[str]) -> str:
    try:
        out = run_text(argv).strip().splitlines()
        return out[0] if out else "?"
    except (OSError, subprocess.CalledProcessError):
        return "?"


# --- the sandbox ---------------------------------------------------------------------


class Sandbox:
    """Temporary HOME, XDG dirs, rc files, a bin dir with the real programs, a project."""

    def __init__(self, root: str, venvguard: str, python: str, uv: str, shells: list[str]):
        self.root = root
        self.venvguard = venvguard
        self.python = python
        self.uv = uv
        self.shells = shells
        self.bin = self.mkdir("bin")
        os.symlink(venvguard, os.path.join(self.bin, "venvguard"))
        os.symlink(uv, os.path.join(self.bin, "uv"))
        self.marks = self.mkdir("marks")
        self.project = self.mkdir("project")
        self.state_empty = os.path.join(root, "state-empty")  # never created
        self.state_live = self.mkdir("state-live")
        self.state_run = self.mkdir("state-run")
        # One journal entry whose run is alive (this process): the hook must skip it.
        runs = os.path.join(self.state_live, "venvguard", "runs")
        os.makedirs(runs)
        with open(os.path.join(runs, f"{os.getpid()}.bench0live.json"), "w") as f:
            f.write("{}\n")

        home = self.mkdir("home")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("UV_", "VENVGUARD_", "PYTHON", "LC_"))
            and k
            not in (
                "VIRTUAL_ENV",
                "CONDA_PREFIX",
                "PROMPT_COMMAND",
                "BASH_ENV",
                "ENV",
                "ZDOTDIR",
                "HISTFILE",
                "fish_greeting",
                "LANGUAGE",
            )
        }
        env.update(
            PATH=self.bin + os.pathsep + os.environ.get("PATH", ""),
            HOME=home,
            XDG_CONFIG_HOME=self.mkdir("config"),
            XDG_DATA_HOME=self.mkdir("data"),
            XDG_CACHE_HOME=self.mkdir("cache"),
            XDG_STATE_HOME=self.state_run,
            LC_NUMERIC="C",
            UV_CACHE_DIR=self.mkdir("uv-cache"),
            UV_OFFLINE="1",
            UV_PYTHON=python,
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            NO_COLOR="1",
        )
        self.env = env

    def mkdir(self, *parts: str) -> str:
        path = os.path.join(self.root, *parts)
        os.makedirs(path, exist_ok=True)
        return path

    def write(self, path: str, text: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def shell_env(self, shell: str, init: bool) -> dict[str, str]:
        """The environment for an interactive `shell` whose rc is empty or holds only
        the init line."""
        variant = f"{shell}-{'init' if init else 'empty'}"
        home = os.path.join(self.root, variant)
        env = dict(self.env)
        text = INIT_LINES[shell] if init else ""
        if shell == "bash":
            self.write(os.path.join(home, ".bashrc"), text)
            env["HOME"] = home
        elif shell == "zsh":
            self.write(os.path.join(home, ".zshrc"), text)
            env["HOME"] = env["ZDOTDIR"] = home
        else:
            self.write(os.path.join(home, "fish", "config.fish"), text)
            env["XDG_CONFIG_HOME"] = home
        return env

    def make_project(self) -> None:
        self.write(
            os.path.join(self.project, "pyproject.toml"),
            '[project]\nname = "bench-noop"\nversion = "0"\nrequires-python = ">=3.8"\n'
            "dependencies = []\n\n[tool.uv]\npackage = false\n",
        )
        for _ in range(2):  # create .venv and uv.lock, then settle into a no-op
            proc = subprocess.run(
                [self.uv, "sync"],
                cwd=self.project,
                env=self.env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            if proc.returncode:
                raise SetupError(f"uv sync in the test project failed:\n{proc.stdout}")
        self.sync_output = proc.stdout.strip()


# --- timing of whole commands ----------------------------------------------------------


class Cmd:
    def __init__(self, key: str, label: str, argv: list[str], env: dict, cwd: str | None = None):
        self.key, self.label, self.argv, self.env, self.cwd = key, label, argv, env, cwd
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
        if code:
            raise SetupError(f"`{self.label}` exited with {code}")
        return elapsed


def interleave(cmds: list[Cmd], rounds: int, warmup: int, seed: int = 1) -> None:
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
    execs = [
        os.path.basename(re.match(r'"([^"]*)"', ev["args"]).group(1))
        for ev in evs
        if ev["name"] in ("execve", "execveat") and ev["ret"] == "0"
    ]
    failed_execs = sum(1 for ev in evs if ev["name"] in ("execve", "execveat") and ev["ret"] != "0")
    procs = threads = 0
    for ev in evs:
        if ev["name"] in ("fork", "vfork"):
            procs += 1
        elif ev["name"] in ("clone", "clone3"):
            if "CLONE_THREAD" in ev["args"]:
                threads += 1
            else:
                procs += 1
    return {"execs": execs, "failed_execs": failed_execs, "procs": procs, "threads": threads}


# --- the scripts run inside each shell -----------------------------------------------------


def q(s: str) -> str:
    return shlex.quote(s)


def strace_script(shell: str, sb: Sandbox, calls: int) -> str:
    m = sb.marks

    def mark(name: str, edge: str) -> str:
        path = os.path.join(m, f"{name}.{edge}")
        open(path, "w").close()
        return f"true < {q(path)}"

    if shell == "fish":
        setvar = "set -gx XDG_STATE_HOME {}"
        loop = "for i in $__r; __venvguard_hook; end"
        pre = f"set -g __r (seq {calls})"
    else:
        setvar = "export XDG_STATE_HOME={}"
        loop = f"for ((i=0; i<{calls}; i++)); do __venvguard_hook; done"
        pre = ":"
    lines = [pre]
    for name, state in (("hook-empty", sb.state_empty), ("hook-live", sb.state_live)):
        lines += [setvar.format(q(state)), mark(name, "start"), loop, mark(name, "end")]
    lines.append(setvar.format(q(sb.state_run)))
    lines += [
        mark("wrapped-version", "start"),
        "uv --version >/dev/null",
        mark("wrapped-version", "end"),
    ]
    lines += [
        mark("command-version", "start"),
        "command uv --version >/dev/null",
        mark("command-version", "end"),
    ]
    lines.append(f"cd {q(sb.project)}")
    lines += [mark("wrapped-sync", "start"), "uv sync >/dev/null 2>&1", mark("wrapped-sync", "end")]
    lines += [
        mark("command-sync", "start"),
        "command uv sync >/dev/null 2>&1",
        mark("command-sync", "end"),
    ]
    return "\n".join(lines) + "\n"


def timing_script(shell: str, sb: Sandbox, calls: int, reps: int, uv_reps: int) -> str:
    """Prints `T label seconds` lines (bash, zsh) or `L label` + fish `time` output."""
    if shell == "fish":
        out = [
            "function __bench_noop; return 0; end",
            f"set -g __r (seq {calls})",
        ]
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


# --- import check -------------------------------------------------------------------------------


def imported_modules(sb: Sandbox, args: list[str], cwd: str | None = None) -> list[str]:
    proc = subprocess.run(
        [sb.python, "-X", "importtime", sb.venvguard, *args],
        env=sb.env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode:
        raise SetupError(
            f"venvguard {' '.join(args)} exited with {proc.returncode}:\n" + proc.stderr[-2000:]
        )
    mods = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                mods.append(name)
    return mods


# --- report ---------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:6.2f} µs"


class Report:
    def __init__(self) -> None:
        self.promises: list[tuple[str, str, str, bool | None]] = []

    def promise(self, what: str, measured: str, limit: str, ok: bool | None) -> None:
        self.promises.append((what, measured, limit, ok))

    def broken(self) -> list[str]:
        return [p[0] for p in self.promises if p[3] is False]


def heading(text: str) -> None:
    print(f"\n## {text}")


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
    opts = ap.parse_args()

    try:
        return run(opts)
    except SetupError as e:
        print(f"\nbench: set-up failed: {e}", file=sys.stderr)
        return 2


def run(opts: argparse.Namespace) -> int:
    t_start = time.monotonic()
    venvguard = find_venvguard()
    python = shebang_python(venvguard)
    uv = find_uv(python)
    wanted = [s.strip() for s in opts.shells.split(",") if s.strip()]
    shells = [s for s in wanted if s in SHELLS and shutil.which(s)]
    strace = None if opts.no_strace else shutil.which("strace")
    if strace and subprocess.call(
        [strace, "-f", "-qq", "-o", os.devnull, "true"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ):
        strace = None  # present but not allowed to trace here (no ptrace)

    print("# venvguard benchmarks")
    print(
        f"machine    {platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"python     {python}  ({version_of([python, '-VV'])})")
    vg_version = version_of([python, "-c", "import venvguard; print(venvguard.__version__)"])
    print(f"venvguard  {venvguard}  ({vg_version})")
    print(f"uv         {uv}  ({version_of([uv, '--version'])})")
    for s in wanted:
        if s not in SHELLS:
            print(f"{s:<10} unknown shell (bash, zsh, fish): skipped")
            continue
        if s in shells:
            print(f"{s:<10} {shutil.which(s)}  ({version_of([s, '--version'])})")
        else:
            print(f"{s:<10} not installed: skipped")
    traced = version_of([strace, "-V"]) if strace else "not usable: processes are not counted"
    print(f"strace     {traced}")

    report = Report()
    with tempfile.TemporaryDirectory(prefix="venvguard-bench-") as root:
        sb = Sandbox(root, venvguard, python, uv, shells)
        sb.make_project()
        plan = run_text(
            [
                python,
                "-c",
                "import os; from venvguard import tools; "
                "p = tools.plan(['uv', 'sync'], os.getcwd(), os.environ); "
                "print(p.targets if p else None)",
            ],
            cwd=sb.project,
            env=sb.env,
        ).strip()
        print(
            f"project    {sb.project}: `uv sync` says {sb.sync_output.splitlines()[-1]!r}; "
            f"venvguard targets {plan}"
        )
        if plan in ("None", "[]"):
            raise SetupError("`uv sync` in the test project is not guarded: nothing to measure")

        # Sanity: the init line really takes effect in each shell.
        for s in shells:
            check = {
                "bash": "type -t __venvguard_hook",
                "zsh": "whence -w __venvguard_hook",
                "fish": "functions -q __venvguard_hook; and echo function",
            }[s]
            out = subprocess.run(
                shell_argv(s, check),
                env=sb.shell_env(s, True),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if "function" not in out.stdout:
                raise SetupError(
                    f"{s}: the init line did not define __venvguard_hook:\n" + out.stderr[-1500:]
                )

        timed(opts, sb, shells, report)
        in_shell(opts, sb, shells, report, strace)
        imports(sb, report)
        if opts.keep:
            keep = tempfile.mkdtemp(prefix="venvguard-bench-kept-")
            shutil.copytree(root, keep, symlinks=True, dirs_exist_ok=True)
            print(f"\n(kept a copy of the sandbox in {keep})")

    heading("Promises")
    width = max(len(p[0]) for p in report.promises)
    for what, measured, limit, ok in report.promises:
        verdict = {True: "ok", False: "BROKEN", None: "not measured"}[ok]
        print(f"  {what:<{width}}  {measured:<34} {limit:<26} {verdict}")
    broken = report.broken()
    kept = sum(1 for p in report.promises if p[3])
    unmeasured = sum(1 for p in report.promises if p[3] is None)
    print(
        f"\n{kept} of {len(report.promises)} kept"
        f"{f', {unmeasured} not measured' if unmeasured else ''}"
        f"{'; BROKEN: ' + ', '.join(broken) if broken else ''}"
        f"  ({time.monotonic() - t_start:.0f} s)"
    )
    return 1 if (opts.check and broken) else 0


def timed(opts, sb: Sandbox, shells: list[str], report: Report) -> None:
    env = sb.env
    vg = sb.venvguard
    cmds = {
        "py": Cmd("py", "python -c pass", [sb.python, "-c", "pass"], env),
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
        for init in (False, True):
            key = f"{s}-{'init' if init else 'empty'}"
            label = f"{s} -i -c exit  ({'init line' if init else 'empty rc'})"
            cmds[key] = Cmd(key, label, shell_argv(s, "exit"), sb.shell_env(s, init))
    heading(
        f"Whole commands: {opts.rounds} rounds after {opts.warmup} warm-up rounds, "
        "each round every command once in a shuffled order"
    )
    interleave(list(cmds.values()), opts.rounds, opts.warmup)
    print(f"  {'command':<44} {'median':>10} {'p25':>10} {'p75':>10}")
    for c in cmds.values():
        lo, hi = quartiles(c.times)
        print(f"  {c.label:<44} {ms(statistics.median(c.times))} {ms(lo)} {ms(hi)}")

    py = statistics.median(cmds["py"].times)
    heading("Shell start-up added by the init line (median of per-round differences)")
    print(
        f"  {'shell':<6} {'empty rc':>10} {'init line':>10} {'added':>10}  "
        f"{'added p25..p75':>19}  {'added / bare python':>20}"
    )
    for s in shells:
        a, b = cmds[f"{s}-init"], cmds[f"{s}-empty"]
        added, lo, hi = paired(a, b)
        ratio = added / py
        print(
            f"  {s:<6} {ms(statistics.median(b.times))} {ms(statistics.median(a.times))} "
            f"{ms(added)}  {lo * 1e3:7.2f}..{hi * 1e3:6.2f} ms  {ratio:18.2f} x"
        )
        report.promise(
            f"{s}: start-up added by the init line",
            f"+{added * 1e3:.2f} ms = {ratio:.2f} bare python",
            f"<= {STARTUP_LIMIT:g} bare python",
            ratio <= STARTUP_LIMIT,
        )

    heading("venvguard exec against the bare tool (median of per-round differences)")
    print(f"  bare python start (python -c pass): {ms(py)}")
    print(
        f"  {'':<34} {'bare':>10} {'via exec':>10} {'added':>10}  {'added p25..p75':>19}  "
        f"{'added / bare python':>20}"
    )
    for key, name, what in (
        ("sync", "uv sync (guarded, no-op)", "guarded no-op uv sync"),
        ("uvv", "uv --version (unguarded)", "unguarded exec path"),
    ):
        a, b = cmds["vg-" + key], cmds[key]
        added, lo, hi = paired(a, b)
        ratio = added / py
        print(
            f"  {name:<34} {ms(statistics.median(b.times))} {ms(statistics.median(a.times))} "
            f"{ms(added)}  {lo * 1e3:7.2f}..{hi * 1e3:6.2f} ms  {ratio:18.2f} x"
        )
        report.promise(
            f"{what}: time added by venvguard exec",
            f"+{added * 1e3:.2f} ms = {ratio:.2f} bare python",
            f"<= {GUARDED_LIMIT:g} bare python",
            ratio <= GUARDED_LIMIT,
        )


def in_shell(opts, sb: Sandbox, shells: list[str], report: Report, strace: str | None) -> None:
    strace_calls = 200
    heading(
        "Processes started, counted under strace -f (successful execve; "
        "fork/vfork/clone without CLONE_THREAD)"
    )
    if not strace:
        print(
            "  strace is not usable here: install it (apt-get install -y strace); the "
            "timings below compare the hook with an empty function instead"
        )
    counts: dict[str, dict[str, dict]] = {}
    for s in shells:
        if not strace:
            break
        out_file = os.path.join(sb.root, f"strace-{s}.txt")
        script = strace_script(s, sb, strace_calls)
        proc = subprocess.run(
            [
                strace,
                "-f",
                "-qq",
                "-s",
                "256",
                "-o",
                out_file,
                "-e",
                "trace=execve,execveat,clone,clone3,fork,vfork,openat",
                *shell_argv(s, script),
            ],
            env=sb.shell_env(s, True),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if proc.returncode:
            raise SetupError(
                f"{s} under strace exited with {proc.returncode}:\n" + proc.stderr[-1500:]
            )
        events = parse_strace(out_file)
        counts[s] = {
            name: count(region(events, sb.marks, name))
            for name in (
                "hook-empty",
                "hook-live",
                "wrapped-version",
                "command-version",
                "wrapped-sync",
                "command-sync",
            )
        }

    if counts:
        print(f"  {'shell':<6} {'what':<46} {'processes':>9} {'execve':>7}  programs run")
        rows = (
            ("hook-empty", f"__venvguard_hook x{strace_calls}, journal absent"),
            ("hook-live", f"__venvguard_hook x{strace_calls}, one live run journalled"),
            ("wrapped-version", "uv --version  (wrapper function)"),
            ("command-version", "command uv --version"),
            ("wrapped-sync", "uv sync  (wrapper: guarded, no-op)"),
            ("command-sync", "command uv sync"),
        )
        for s, by in counts.items():
            for key, what in rows:
                c = by[key]
                progs = " ".join(c["execs"]) or "-"
                print(f"  {s:<6} {what:<46} {c['procs']:>9} {len(c['execs']):>7}  {progs}")
    for s in shells:
        by = counts.get(s)
        if by is None:
            report.promise(f"{s}: prompt hook starts no process", "strace not usable", "0", None)
            continue
        n = sum(by[k]["procs"] + len(by[k]["execs"]) for k in ("hook-empty", "hook-live"))
        report.promise(
            f"{s}: prompt hook starts no process",
            f"{n} processes in {2 * strace_calls} calls",
            "0",
            n == 0,
        )
        w, c = by["wrapped-version"], by["command-version"]
        ok = w["execs"] == ["uv"] and w["procs"] == c["procs"]
        report.promise(
            f"{s}: non-guarded call adds no process",
            f"runs {' '.join(w['execs']) or '-'} ({w['procs']} process)",
            "uv only, as `command uv`",
            ok,
        )
        w, c = by["wrapped-sync"], by["command-sync"]
        added = [p for p in w["execs"]]
        for p in c["execs"]:
            if p in added:
                added.remove(p)
        # venvguard is the one program started; its watchdog is a fork of it (no exec).
        ok = added == ["venvguard"] and w["procs"] - c["procs"] == 2
        report.promise(
            f"{s}: guarded call adds one program start",
            f"adds {' '.join(added) or '-'} (+{w['procs'] - c['procs']} processes)",
            "venvguard only (+2: it and its watchdog fork)",
            ok,
        )

    heading(
        f"Inside one interactive shell: the hook per call (loops of {opts.hook_calls}, "
        "median of 7), uv --version through the wrapper vs `command uv` (30 pairs)"
    )
    print(
        f"  {'shell':<6} {'hook, no journal':>16} {'hook, live run':>16} "
        f"{'empty function':>16} {'wrapper uv':>11} {'command uv':>11} {'ratio':>6}"
    )
    for s in shells:
        script = timing_script(s, sb, opts.hook_calls, 7, 30)
        proc = subprocess.run(
            shell_argv(s, script),
            env=sb.shell_env(s, True),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        t = parse_timings(s, proc.stdout, proc.stderr)
        needed = ("hook-empty", "hook-live", "noop", "wrapped", "command")
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


def imports(sb: Sandbox, report: Report) -> None:
    heading("Modules imported on the hot paths (python -X importtime <console script> ...)")
    paths = (
        (["init", "bash"], None),
        (["init", "zsh"], None),
        (["init", "fish"], None),
        (["exec", "--", sb.uv, "--version"], None),
        (["exec", "--", sb.uv, "sync"], sb.project),
        (["_settle"], None),
    )
    bad_all = []
    for args, cwd in paths:
        mods = imported_modules(sb, args, cwd)
        bad = sorted({m for m in mods if m.split(".")[0] in FORBIDDEN_IMPORTS})
        ours = sorted(m for m in mods if m.startswith("venvguard"))
        shown = " ".join(a if a != sb.uv else "uv" for a in args)
        print(
            f"  venvguard {shown:<24} {len(mods):>3} modules, "
            f"{', '.join(bad) if bad else 'none of ' + '/'.join(FORBIDDEN_IMPORTS)}; "
            f"ours: {' '.join(m.removeprefix('venvguard.') for m in ours)}"
        )
        bad_all += bad
    report.promise(
        "hot paths never import typer & co",
        ", ".join(sorted(set(bad_all))) or "none imported",
        "none",
        not bad_all,
    )


if __name__ == "__main__":
    sys.exit(main())
