"""The packages as users get them: `python -m build` makes an sdist and a wheel (built
from that sdist), and each, installed into a fresh virtual environment, is a working
venvguard: `--version`, `init` for every shell from the snippets it ships, and a
guarded run that removes the environment an interrupted `python3 -m venv` made and
keeps the one a finished run made.

No network: the build runs with `--no-isolation` (build and hatchling come from the
test extras), and pip installs with `--no-index`. The wheel goes into an environment
of its own with `--no-deps`: the hot paths (`--version`, `init SHELL`, `exec`) need
the standard library only, so that proves them without typer or shellingham. The
sdist is installed with pip building it itself (`--no-build-isolation`), into an
environment that sees this interpreter's site-packages for its dependencies, so its
typer CLI (`--help`, `status`) runs too.

Missing build, hatchling or pip skips these tests (with CI set, fails them).
"""

import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile

import pytest

from .conftest import DROPPED_VARIABLES, TOOL_VARIABLES, require, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(ROOT, "src", "venvguard", "__init__.py")) as _f:
    VERSION = re.search(r"__version__ = \"([^\"]+)\"", _f.read()).group(1)  # the one place
PYTHON = os.path.realpath(sys.executable)  # never a pyenv shim
SHELLS = ("bash", "zsh", "fish")
SNIPPETS = tuple(f"{kind}.{shell}" for kind in ("venvguard", "cache") for shell in SHELLS)
# venvguard's own completion (`venvguard completion SHELL` prints it), under shell/
COMPLETIONS = {"bash": "completions/venvguard.bash", "zsh": "completions/_venvguard",
               "fish": "completions/venvguard.fish"}
TIMEOUT = 60
MARKER = "VG_E2E_WORLD"


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _pip_has_python_option() -> bool:
    """pip 22.3 and later can install into another interpreter's environment (`--python`),
    so the environments need no pip of their own (ensurepip costs seconds)."""
    try:
        major, minor = (int(n) for n in importlib.metadata.version("pip").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (22, 3)


def _run(argv, *, env=None, cwd=None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(map(str, argv))}` exited with {done.returncode}\n"
                    f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}")
    return done


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_CONFIG_FILE=os.devnull)
    return env


class Install:
    """venvguard installed into a fresh virtual environment."""

    def __init__(self, kind: str, root: str) -> None:
        self.kind = kind
        self.root = root
        self.bin = os.path.join(root, "bin")
        self.venvguard = os.path.join(self.bin, "venvguard")
        self.python = os.path.join(self.bin, "python")

    def site_packages(self) -> str:
        return _run([self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
                    ).stdout.strip()


def _install(kind: str, artifact: str, root: str) -> Install:
    """The wheel: `--no-deps` into a closed environment. The sdist: built by pip itself,
    in an environment that sees this interpreter's packages (typer, and hatchling for
    the build), with this checkout's own venvguard shadowed by the installed one."""
    sdist = kind == "sdist"
    flags = ["install", "--no-index", "--no-deps", "--no-compile"]
    if sdist:
        flags += ["--no-build-isolation", "--ignore-installed"]
    venv = [PYTHON, "-m", "venv", *(["--system-site-packages"] if sdist else []), root]
    if _pip_has_python_option():
        _run([*venv[:3], "--without-pip", *venv[3:]])
        _run([PYTHON, "-m", "pip", "--python", os.path.join(root, "bin", "python"), *flags,
              artifact], env=_pip_env(), timeout=120)
    else:
        _run(venv, timeout=120)
        _run([os.path.join(root, "bin", "python"), "-m", "pip", *flags, artifact],
             env=_pip_env(), timeout=120)
    return Install(kind, root)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, str]:
    """Build once for the module: {"sdist": path, "wheel": path}."""
    for name in ("build", "hatchling", "pip"):
        require(_installed(name), f"{name} (pip install {name}, or pip install -e '.[test]')")
    out = str(tmp_path_factory.mktemp("dist"))
    # Run from the output directory: `python -m` looks in the current directory first,
    # and a checkout often has a build/ directory (gitignored) that would shadow `build`.
    _run([PYTHON, "-m", "build", "--no-isolation", "--outdir", out, ROOT], env=_pip_env(),
         cwd=out, timeout=120)
    found = {"sdist": [], "wheel": []}
    for name in os.listdir(out):
        if name.endswith(".tar.gz"):
            found["sdist"].append(os.path.join(out, name))
        elif name.endswith(".whl"):
            found["wheel"].append(os.path.join(out, name))
    assert [len(v) for v in found.values()] == [1, 1], f"expected one of each in {out}: {found}"
    return {k: v[0] for k, v in found.items()}


@pytest.fixture(scope="module")
def installs(built, tmp_path_factory) -> dict[str, Install]:
    """Both installed, each into a fresh virtual environment of its own."""
    return {kind: _install(kind, built[kind], str(tmp_path_factory.mktemp(f"venv-{kind}")))
            for kind in ("wheel", "sdist")}


@pytest.fixture(params=["wheel", "sdist"])
def install(request, installs) -> Install:
    return installs[request.param]


@pytest.fixture
def scene(tmp_path):
    """A HOME, state directory and work directory of the test's own, and PATH with the
    real python3 (not a shim) and no venvguard at all but the installed one."""
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python3").symlink_to(PYTHON)
    for name in ("home", "state", "work", "tmp"):
        (tmp_path / name).mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(TOOL_VARIABLES) and k not in DROPPED_VARIABLES}
    env.update(
        PATH=f"{shims}:/usr/bin:/bin", HOME=str(tmp_path / "home"), LANG="C.UTF-8",
        XDG_STATE_HOME=str(tmp_path / "state"), TMPDIR=str(tmp_path / "tmp"), NO_COLOR="1",
        **{MARKER: str(tmp_path)},
    )
    yield tmp_path, env
    _kill_marked(str(tmp_path))


def _kill_marked(marker: str) -> None:
    """End, by pid, whatever this test started that is still running."""
    tag = f"{MARKER}={marker}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if tag in f.read().split(b"\0"):
                    os.kill(int(name), signal.SIGKILL)
        except OSError:
            pass


def _journal(state) -> list[str]:
    runs = state / "venvguard" / "runs" / os.uname().nodename
    try:
        return sorted(os.listdir(runs))
    except FileNotFoundError:
        return []


# --- what the packages hold ----------------------------------------------------------


def test_the_sdist_holds_the_snippets_the_script_and_what_builds_the_wheel(built):
    with tarfile.open(built["sdist"]) as sdist:
        names = sdist.getnames()
        top = os.path.commonpath(names)
        members = {name[len(top) + 1:]: sdist.getmember(name) for name in names if name != top}
        script = sdist.extractfile(members["src/bin/venvguard"].name).read()

    for name in (*SNIPPETS, *COMPLETIONS.values()):
        assert f"shell/{name}" in members, f"the sdist lacks shell/{name}"
        assert members[f"shell/{name}"].isfile()
        with open(os.path.join(ROOT, "shell", name), "rb") as f:
            assert len(f.read()) == members[f"shell/{name}"].size, f"shell/{name} differs"
    for name in ("pyproject.toml", "README.md", "install.sh", "src/venvguard/__init__.py",
                 "src/venvguard/init.py", "src/venvguard/supervisor.py",
                 "src/venvguard/completion.py", "completions/venvguard.fish"):
        assert name in members, f"the sdist lacks {name}"
    assert members["src/bin/venvguard"].mode & 0o111, "the command lost its execute bits"
    assert script.startswith(b"#!"), "the command is not a script"
    assert members["install.sh"].mode & 0o111
    assert not any(m.issym() or m.islnk() for m in members.values()), "links in the sdist"
    assert not any(n.startswith("tests/.tools/") or "__pycache__" in n for n in members)


def test_the_wheel_holds_the_package_the_snippets_the_script_and_its_dependencies(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = set(wheel.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(f"{info}/METADATA").decode()
        data = info.replace(".dist-info", ".data")
        script = wheel.read(f"{data}/scripts/venvguard")
        snippets = {name: wheel.read(f"venvguard/shell/{name}")
                    for name in (*SNIPPETS, *COMPLETIONS.values())
                    if f"venvguard/shell/{name}" in names}
        record = wheel.read(f"{info}/RECORD").decode()

    assert sorted(snippets) == sorted((*SNIPPETS, *COMPLETIONS.values())), \
        "the wheel lacks snippets init.py reads, or completion files"
    for name, text in snippets.items():
        with open(os.path.join(ROOT, "shell", name), "rb") as f:
            assert text == f.read(), f"venvguard/shell/{name} is not shell/{name}"
    for module in ("__init__", "entry", "init", "completion", "supervisor", "watchdog", "processes",
                   "journal", "settle", "decision", "removal", "cli", "tools/__init__"):
        assert f"venvguard/{module}.py" in names, f"the wheel lacks venvguard/{module}.py"
    # The command is a plain script whose first line the installer points at its Python.
    assert script.startswith(b"#!python\n"), script[:40]
    assert not any(n.startswith(("tests/", "benchmarks/", "shell/", "src/")) for n in names)
    assert f"{data}/scripts/venvguard," in record
    requires = re.findall(r"^Requires-Dist: ([^;\n]+)$", metadata, re.M)
    assert sorted(requires) == ["shellingham>=1.5", "typer>=0.12"], requires
    assert re.search(r"^Requires-Python: >=3\.11$", metadata, re.M)


# --- what each installs --------------------------------------------------------------


def test_the_installed_command_is_the_installed_package(install):
    with open(install.venvguard, "rb") as f:
        first = f.readline().decode().strip()
    assert first == f"#!{install.python}", "the command's first line is not its environment's"
    where = _run([install.python, "-c", "import venvguard; print(venvguard.__file__)"],
                 cwd="/").stdout.strip()
    assert where.startswith(install.site_packages() + os.sep), where


def test_the_installed_command_says_its_version(install, scene):
    _root, env = scene

    done = _run([install.venvguard, "--version"], env=env)

    assert done.stdout == f"venvguard {VERSION}\n"
    assert done.stderr == ""


@pytest.mark.parametrize("shell", SHELLS)
def test_the_installed_init_prints_the_shipped_snippet(install, scene, shell):
    """With no python3.N on PATH nothing is filled in, so the snippet is the file itself;
    and the shell that is installed parses it."""
    root, env = scene
    empty = root / "empty"
    empty.mkdir()

    done = _run([install.venvguard, "init", shell], env={**env, "PATH": str(empty)})

    with open(os.path.join(install.site_packages(), "venvguard", "shell",
                           f"venvguard.{shell}")) as f:
        assert done.stdout == f.read().replace("@VERSION@", VERSION)
    with open(os.path.join(ROOT, "shell", f"venvguard.{shell}")) as f:
        assert done.stdout == f.read().replace("@VERSION@", VERSION)
    assert done.stderr == ""
    program = shutil.which(shell)
    if program:
        check = ["--no-execute"] if shell == "fish" else ["-n"]
        snippet = root / f"snippet.{shell}"
        snippet.write_text(done.stdout)
        _run([program, *check, str(snippet)], env=env)


@pytest.mark.parametrize("shell", SHELLS)
def test_the_installed_completion_prints_the_shipped_file(install, scene, shell):
    _root, env = scene

    done = subprocess.run([install.venvguard, "completion", shell], env=env,
                          capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)

    assert (done.returncode, done.stderr) == (0, b"")
    with open(os.path.join(ROOT, "shell", COMPLETIONS[shell]), "rb") as f:
        assert done.stdout == f.read()


def test_the_installed_init_cache_writes_a_snippet_its_line_sources(install, scene):
    root, env = scene

    done = _run([install.venvguard, "init", "bash", "--cache"], env=env)

    cached = root / "home" / ".cache" / "venvguard" / "init.bash"
    assert cached.is_file()
    assert done.stdout.count("\n") == 1 and '"$HOME/.cache/venvguard/init.bash"' in done.stdout


def test_the_installed_exec_removes_the_env_an_interrupted_run_made(install, scene):
    """SIGINT to the run's process group (as Ctrl-C does) once `python3 -m venv X` has
    written X/pyvenv.cfg: the supervisor of the installed package removes X."""
    root, env = scene
    work = root / "work"
    started = time.monotonic()
    proc = subprocess.Popen(
        [install.venvguard, "exec", "--", "python3", "-m", "venv", "X"], cwd=work, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: (work / "X" / "pyvenv.cfg").exists() or proc.poll() is not None,
                 what="python3 -m venv to write X/pyvenv.cfg")
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    assert proc.returncode == -signal.SIGINT
    assert out == ""
    assert "venvguard: removed X (made by the interrupted `python3 -m venv X`)" in err
    assert not os.path.lexists(work / "X")
    wait_for(lambda: not _journal(root / "state") and os.listdir(work) == [],
             what="the run to be settled (journal empty, nothing set aside)",
             detail=lambda: f"runs: {_journal(root / 'state')}, work: {os.listdir(work)}")
    assert time.monotonic() - started < TIMEOUT


def test_the_installed_exec_keeps_the_env_a_finished_run_made(install, scene):
    root, env = scene
    work = root / "work"

    done = _run([install.venvguard, "exec", "--", "python3", "-m", "venv", "--without-pip", "Y"],
                env=env, cwd=work)

    assert done.stdout == "" and done.stderr == ""
    assert (work / "Y" / "pyvenv.cfg").is_file()
    assert os.path.exists(work / "Y" / "bin" / "python")
    assert _journal(root / "state") == []


def test_the_installed_typer_cli_runs_where_its_dependencies_are(installs, scene):
    """The sdist's environment sees typer and shellingham: the commands past the hot
    paths work from the installed package too."""
    _root, env = scene
    sdist = installs["sdist"]

    help_text = _run([sdist.venvguard, "--help"], env=env).stdout
    status = _run([sdist.venvguard, "status"], env=env)

    for command in ("init", "exec", "status", "scan", "repair", "clean", "doctor"):
        assert command in help_text
    assert status.stdout.startswith("nothing under way")
