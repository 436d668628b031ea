"""Shared fixtures for the unit tests: every test gets its own state directory and
home, so nothing here ever reads or writes the real journal."""

import os
import subprocess
import time

import pytest

from venvguard import processes

OTHER_UID = 65534  # nobody


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    """A private XDG_STATE_HOME and HOME (so no config.toml) for each test; returns
    the state base."""
    state = tmp_path / "state"
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in list(os.environ):  # a developer's own settings never reach a test
        if name.startswith("VENVGUARD_") or name == "XDG_CONFIG_HOME":
            monkeypatch.delenv(name)
    return state


@pytest.fixture
def dead_pid():
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def live_child():
    """A process that stays alive for the test; killed and reaped afterwards."""
    child = subprocess.Popen(["sleep", "60"])
    yield child
    child.kill()
    child.wait()


@pytest.fixture
def marked_process():
    """A factory: `sleep 60` carrying run TOKEN's marker, as a guarded run's tool does,
    returned once /proc shows its environment; killed and reaped afterwards."""
    started = []

    def start(token):
        child = subprocess.Popen(["sleep", "60"], env={**os.environ, processes.MARKER: token})
        started.append(child)
        deadline = time.monotonic() + 10
        while child.pid not in processes.members(token, None):
            assert time.monotonic() < deadline, "the marked process did not start"
            time.sleep(0.001)
        return child

    yield start
    for child in started:
        child.kill()
        child.wait()


@pytest.fixture
def make_foreign(monkeypatch):
    """Make a path belong to another user: really (chown) when the tests run as root,
    else by making this process's effective uid look like another one."""
    def make(path):
        if os.geteuid() == 0:
            os.lchown(path, OTHER_UID, OTHER_UID)
        else:
            uid = os.geteuid()
            monkeypatch.setattr(os, "geteuid", lambda: uid + 1)
    return make


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A uv project directory, which is also the current directory."""
    path = tmp_path / "project"
    path.mkdir()
    (path / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    monkeypatch.chdir(path)
    return path
