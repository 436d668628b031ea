"""`venvguard scan` over a directory of environments, most of them left by real
tools really cut short (SIGINT, as Ctrl-C sends): each gets its verdict, and
`--fix --yes` sweeps, repairs and removes what it should, and nothing else."""

import glob
import os
import signal
import subprocess
import sys

import pytest

from .conftest import TIMEOUT, console_script, require, uv_binary, wait_for
from .wheels import build_wheel

FILES = 5_000


def environ(root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UV_", "VENVGUARD_", "PIP_", "VIRTUAL_ENV", "XDG_"))}
    env.update(UV_OFFLINE="1", UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never",
               UV_PYTHON=sys.executable, UV_CACHE_DIR=os.path.join(root, "uv-cache"),
               UV_LINK_MODE="copy", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               XDG_STATE_HOME=os.path.join(root, "state"), HOME=os.path.join(root, "home"))
    return env


def site(env_dir: str) -> str:
    [found] = glob.glob(os.path.join(env_dir, "lib", "python3.*", "site-packages"))
    return found


def cut_short(argv, env, cwd, ready, what):
    """Run a real tool; SIGINT once `ready()` holds (as Ctrl-C would); wait it out."""
    tool = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: ready() or tool.poll() is not None, what=what)
        assert tool.poll() is None, f"{argv[0]} finished before it could be cut short"
        tool.send_signal(signal.SIGINT)
        tool.wait(timeout=TIMEOUT)
    finally:
        if tool.poll() is None:
            tool.kill()
            tool.wait()


def count_files(directory: str) -> int:
    return sum(len(files) for _top, _dirs, files in os.walk(directory))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A directory of environments: whole ones, and ones real tools left cut short."""
    uv = uv_binary()
    require(uv, "uv")
    require(console_script("venvguard"), "the venvguard console script (pip install -e .)")
    root = str(tmp_path_factory.mktemp("scan"))
    env = environ(root)
    os.makedirs(env["HOME"])
    wheels = os.path.join(root, "wheels")
    os.makedirs(wheels)
    one = build_wheel(wheels, "bigpkg", "1.0", FILES)
    two = build_wheel(wheels, "bigpkg", "2.0", FILES)
    env.update(UV_FIND_LINKS=wheels, PIP_FIND_LINKS=wheels)  # where the repairs find them
    work = os.path.join(root, "work")
    os.makedirs(work)
    run = {"env": env, "cwd": work, "check": True, "capture_output": True, "timeout": TIMEOUT}

    # whole: made by uv, and by python -m venv with pip
    subprocess.run([uv, "venv", "uv-whole"], **run)
    subprocess.run([sys.executable, "-m", "venv", "venv-whole"], **run)

    # half-made: python -m venv cut short in ensurepip
    half = os.path.join(work, "venv-half")
    cut_short([sys.executable, "-m", "venv", half], env, work,
              lambda: any("ensurepip" in _cmdline(p) and half in _cmdline(p)
                          for p in _pids()), "python -m venv to run ensurepip")

    # broken: uv copying bigpkg into an environment, cut short once RECORD is in
    subprocess.run([uv, "venv", "uv-broken"], **run)
    uv_broken = os.path.join(work, "uv-broken")
    record = os.path.join(site(uv_broken), "bigpkg-1.0.dist-info", "RECORD")
    cut_short([uv, "pip", "install", "--python", uv_broken, one], env, work,
              lambda: os.path.exists(record), "uv to link bigpkg's RECORD")

    # broken: pip writing a new package cut short before its .dist-info
    pip_half = os.path.join(work, "pip-half")
    subprocess.run([sys.executable, "-m", "venv", pip_half], **run)
    package = os.path.join(site(pip_half), "bigpkg", "data")
    cut_short([os.path.join(pip_half, "bin", "python"), "-m", "pip", "install", one], env,
              work, lambda: os.path.isdir(package) and count_files(package) > 100,
              "pip to write bigpkg's files")

    # broken: pip upgrading bigpkg cut short after stashing 1.0 away
    pip_stash = os.path.join(work, "pip-stash")
    subprocess.run([sys.executable, "-m", "venv", pip_stash], **run)
    pip = os.path.join(pip_stash, "bin", "python")
    subprocess.run([pip, "-m", "pip", "install", one], **run)
    cut_short([pip, "-m", "pip", "install", two], env, work,
              lambda: glob.glob(os.path.join(site(pip_stash), "~*")),
              "pip to stash bigpkg 1.0")
    return {"root": root, "work": work, "env": env, "uv": uv}


def _pids():
    return [n for n in os.listdir("/proc") if n.isdigit()]


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def scan(prepared, *args):
    return subprocess.run(["venvguard", "scan", *args], cwd=prepared["work"],
                          env=prepared["env"], capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def verdicts(out: str) -> dict[str, str]:
    lines = [line.split(None, 2) for line in out.splitlines()]
    return {path.rstrip(":"): verdict for verdict, path, *_ in lines}


def test_scan_gives_every_environment_its_verdict(prepared):
    done = scan(prepared)

    assert done.returncode == 1
    assert verdicts(done.stdout) == {
        "pip-half": "broken", "pip-stash": "broken", "uv-broken": "broken",
        "uv-whole": "whole", "venv-half": "half-made", "venv-whole": "whole",
    }


def test_scan_says_what_is_wrong_and_how_to_fix_it(prepared):
    lines = {line.split(None, 2)[1].rstrip(":"): line for line in scan(prepared).stdout
             .splitlines()}

    assert "no bin/activate: python -m venv was cut short" in lines["venv-half"]
    assert "bigpkg 1.0 (" in lines["uv-broken"] and "files missing)" in lines["uv-broken"]
    assert ("repair: `uv pip install --reinstall --no-deps --python uv-broken bigpkg==1.0`"
            in lines["uv-broken"])
    assert "bigpkg claimed by no installed distribution" in lines["pip-half"]
    assert "pip's stash" in lines["pip-stash"]


def test_scan_fix_sweeps_repairs_and_removes_the_half_made_one_only(prepared):
    before_whole = count_files(os.path.join(prepared["work"], "venv-whole"))

    done = scan(prepared, "--fix", "--yes")

    assert not os.path.lexists(os.path.join(prepared["work"], "venv-half"))
    assert count_files(os.path.join(prepared["work"], "venv-whole")) == before_whole
    assert os.path.isdir(os.path.join(prepared["work"], "uv-whole"))
    after = verdicts(done.stdout)
    assert after["uv-broken"] == "whole", done.stdout + done.stderr
    assert count_files(os.path.join(site(os.path.join(prepared["work"], "uv-broken")),
                                    "bigpkg", "data")) == FILES
    # A package directory no distribution claims may have been put there by hand:
    # reported, never removed.
    assert after["pip-half"] == "broken"
    assert os.path.isdir(os.path.join(site(os.path.join(prepared["work"], "pip-half")),
                                      "bigpkg"))
