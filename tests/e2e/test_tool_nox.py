"""nox in a real interactive shell: Ctrl-C while a session's `session.install` builds
slowpkg.

The noxfile is written by the test beside the world's slowpkg: its sessions install
`slowpkg @ file://...` with no index (PIP_NO_INDEX), so pip builds slowpkg while nox's
virtualenv is half made under .nox. nox catches the Ctrl-C (KeyboardInterrupt ends
the workflow with status 130) and leaves the environment; venvguard removes it.
"""

import os
import subprocess

import pytest

from venvguard import tools

from .conftest import TIMEOUT, messages, require_tool

NOX_ENV = {"PIP_NO_INDEX": "1", "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
NOXFILE = '''\
import nox

nox.options.sessions = ["a"]

@nox.session
def a(session):
    session.install("slowpkg @ file://{slowpkg}")

@nox.session(name="b-c")
def b(session):
    session.install("slowpkg @ file://{slowpkg}")

@nox.session(python=["{python}"], default=False)
@nox.parametrize("x", [1, 2])
def p(session, x):
    pass
'''
# Run by nox's own interpreter: the environments nox would use for a command line,
# from nox's workflow up to the chosen sessions (none is run), one path a line.
ORACLE = '''\
import os, sys
from nox import _options, tasks, workflow
from nox.sessions import resolve_venv_backends

config = _options.options.parse_args(sys.argv[1:])
out = []

def report(manifest, global_config):
    if isinstance(manifest, int):
        return manifest
    for session in manifest:
        backends = resolve_venv_backends(global_config, session.func)
        if session.func.python is not False and backends != ["none"]:
            out.append(os.path.abspath(session.envdir))
    return 0

status = workflow.execute(global_config=config, workflow=(
    tasks.load_nox_module, tasks.merge_noxfile_options, tasks.discover_manifest,
    tasks.filter_manifest, report))
print("\\n".join(out))
sys.exit(status)
'''


@pytest.fixture
def nox_world(world):
    """The world with a noxfile at world.root/noxproj."""
    world.nox = require_tool("nox")
    world.add_tool("nox", world.nox)
    world.extra_env.update(NOX_ENV)
    world.nox_project = os.path.join(world.root, "noxproj")
    os.makedirs(world.nox_project)
    python = "{}.{}".format(*__import__("sys").version_info[:2])
    with open(os.path.join(world.nox_project, "noxfile.py"), "w") as f:
        f.write(NOXFILE.replace("{slowpkg}", world.slowpkg).replace("{python}", python))
    return world


def run_nox(world, *args):
    return subprocess.run(
        [os.path.join(world.tools_bin, "nox"), *args], cwd=world.nox_project,
        env=world.environ(sleep=0), check=True, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def real_envs(world, *args) -> list[str]:
    """Where the real nox puts the environments of `nox ARGS`, in its own order."""
    with open(world.nox) as f:
        python = f.readline()[2:].strip()
    done = subprocess.run(
        [python, "-c", ORACLE, *args], cwd=world.nox_project, env=world.environ(sleep=0),
        check=True, capture_output=True, text=True, timeout=TIMEOUT,
    )
    return done.stdout.split()


def planned(world, *args) -> list[str]:
    return tools.plan(["nox", *args], world.nox_project, world.environ(sleep=0)).paths


def shown(world, path: str) -> str:
    """A path as the messages show it: relative to the shell's directory."""
    return os.path.relpath(path, world.nox_project)


def interrupt(sh, world, line: str) -> str:
    sh.type(line)
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


@pytest.mark.parametrize("line", ["nox -s a", "nox"])
def test_ctrl_c_during_a_nox_session_install_removes_the_env_it_created(
        nox_world, start_shell, line):
    world = nox_world
    [env] = planned(world, *line.split()[1:])
    sh = start_shell(cwd=world.nox_project)

    out = interrupt(sh, world, line)

    assert not os.path.lexists(env), "the half-made environment is still there at the prompt"
    assert messages(out) == [
        f"venvguard: removed {shown(world, env)} (made by the interrupted `{line}`)"]
    assert sh.status() == 130  # workflow.execute: KeyboardInterrupt is status 130
    world.wait_journal_empty()


def test_ctrl_c_during_nox_keeps_a_session_env_that_existed(nox_world, start_shell):
    """`nox -R -s a b-c` reuses a's environment without installing (-R) and is stopped
    while b-c's is being made."""
    world = nox_world
    made, new = planned(world, "-R", "-s", "a", "b-c")
    run_nox(world, "-s", "a")
    os.unlink(world.ready)  # slowpkg's build for a wrote it
    sh = start_shell(cwd=world.nox_project)

    out = interrupt(sh, world, "nox -R -s a b-c")

    assert os.path.isfile(os.path.join(made, "pyvenv.cfg"))
    assert not os.path.lexists(new)
    assert sorted(messages(out)) == sorted([
        f"venvguard: kept {shown(world, made)} (it existed before); "
        "the interrupted `nox -R -s a b-c` touched no package",
        f"venvguard: removed {shown(world, new)} (made by the interrupted `nox -R -s a b-c`)",
    ])
    assert sh.status() == 130
    assert sh.output(f"{made}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_a_finished_nox_run_is_left_alone_and_silent(nox_world, start_shell):
    world = nox_world
    [env] = planned(world, "-s", "b-c")
    sh = start_shell(cwd=world.nox_project, sleep=0)

    text, status = sh.capture("nox -s b-c")

    assert status == 0
    assert messages(text) == []
    assert sh.output(f"{env}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_the_computed_environments_are_where_the_real_nox_puts_them(nox_world):
    """Outside any shell, against nox's own workflow: the default sessions, a named
    and a parametrized python-list session, -k, an --envdir and a noxfile elsewhere."""
    world = nox_world
    root = world.nox_project
    assert planned(world) == real_envs(world) == [os.path.join(root, ".nox", "a")]
    assert planned(world, "-s", "b-c") == real_envs(world, "-s", "b-c") == [
        os.path.join(root, ".nox", "b-c")]
    python = "{}-{}".format(*__import__("sys").version_info[:2])
    assert planned(world, "-s", "p") == real_envs(world, "-s", "p") == [
        os.path.join(root, ".nox", f"p-{python}-x-{x}") for x in (1, 2)]
    assert sorted(planned(world, "-k", "a or b")) == sorted(real_envs(world, "-k", "a or b"))
    assert planned(world, "--envdir", "../envs") == real_envs(world, "--envdir", "../envs") \
        == [os.path.join(world.root, "envs", "a")]
    sub = os.path.join(world.root, "elsewhere")
    os.makedirs(sub)
    os.rename(os.path.join(root, "noxfile.py"), os.path.join(sub, "noxfile.py"))
    args = ["-f", "../elsewhere/noxfile.py", "-s", "b-c"]
    assert planned(world, *args) == real_envs(world, *args) == [
        os.path.join(sub, ".nox", "b-c")]


def test_ctrl_c_while_nox_remakes_an_env_that_existed_keeps_it(nox_world, start_shell):
    """Without -r nox deletes an existing environment and makes it again: it existed
    before the run, so venvguard keeps what is there, half made, and says what is
    broken in it."""
    world = nox_world
    [env] = planned(world, "-s", "a")
    run_nox(world, "-s", "a")
    os.unlink(world.ready)
    sh = start_shell(cwd=world.nox_project)

    out = interrupt(sh, world, "nox -s a")

    assert sh.status() == 130
    assert os.path.isfile(os.path.join(env, "pyvenv.cfg"))
    [said] = messages(out)
    assert said.startswith(f"venvguard: kept {shown(world, env)} (it existed before): ")
    assert "is broken" in said
    world.wait_journal_empty()
