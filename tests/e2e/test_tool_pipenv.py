"""pipenv in a real interactive shell: Ctrl-C while `pipenv install` builds slowpkg.

The project (written by the test beside the world's slowpkg) has a Pipfile whose one
package is slowpkg by a file:// URL; PIPENV_SKIP_LOCK skips the lock (which would
need an index), so `pipenv install` makes the virtualenv in $WORKON_HOME and has pip
(with no index) build slowpkg into it. pipenv's KeyboardInterrupt ends it with a
traceback, dead of SIGINT (status 130), leaving the environment it had made (with its
`.project` file) without slowpkg.
"""

import os
import subprocess

import pytest

from venvguard import tools

from .conftest import TIMEOUT, messages, require_tool

PIPENV_ENV = {"PIP_NO_INDEX": "1", "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
              "PIPENV_SKIP_LOCK": "1", "PIPENV_YES": "1", "PIPENV_NOSPIN": "1",
              "PIPENV_IGNORE_VIRTUALENVS": "1"}
EXIT_ON_CTRL_C = 130
# pipenv writes `.project` (the project's directory) into every environment it makes
# (utils/virtualenv.py do_create_virtualenv); until decision.ENV_ENTRIES knows that
# entry, venvguard keeps such an environment it made as holding a foreign file.
SOURCE = '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\nname = "pypi"\n\n'


@pytest.fixture
def pipenv_world(world):
    """The world with a pipenv project at world.root/pipenvproj and WORKON_HOME
    world.root/venvs."""
    world.add_tool("pipenv", require_tool("pipenv"))
    world.workon_home = os.path.join(world.root, "venvs")
    world.extra_env.update(PIPENV_ENV, WORKON_HOME=world.workon_home)
    world.pipenv_project = os.path.join(world.root, "pipenvproj")
    os.makedirs(world.pipenv_project)
    write_pipfile(world, with_slowpkg=True)
    return world


def write_pipfile(world, *, with_slowpkg: bool) -> None:
    packages = f'slowpkg = {{file = "file://{world.slowpkg}"}}\n' if with_slowpkg else ""
    with open(os.path.join(world.pipenv_project, "Pipfile"), "w") as f:
        f.write(f"{SOURCE}[packages]\n{packages}")


def run_pipenv(world, *args, **extra):
    return subprocess.run(
        [os.path.join(world.tools_bin, "pipenv"), *args], cwd=world.pipenv_project,
        env={**world.environ(sleep=0), **extra}, check=True, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def planned(world, *args) -> list[str]:
    return tools.plan(["pipenv", *args], world.pipenv_project, world.environ(sleep=0)).paths


def interrupt(sh, world, line: str) -> str:
    sh.type(line)
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


def test_ctrl_c_during_pipenv_install_removes_the_env_it_created(pipenv_world, start_shell):
    world = pipenv_world
    [env] = planned(world, "install")
    sh = start_shell(cwd=world.pipenv_project)

    out = interrupt(sh, world, "pipenv install")

    assert not os.path.lexists(env), "the half-made environment is still there at the prompt"
    assert messages(out) == [
        f"venvguard: removed {env} (made by the interrupted `pipenv install`)"]
    assert sh.status() == EXIT_ON_CTRL_C
    world.wait_journal_empty()


def test_ctrl_c_during_pipenv_install_keeps_the_env_that_existed(pipenv_world, start_shell):
    world = pipenv_world
    [env] = planned(world, "install")
    write_pipfile(world, with_slowpkg=False)
    run_pipenv(world, "install")
    assert os.path.isfile(os.path.join(env, "pyvenv.cfg"))
    write_pipfile(world, with_slowpkg=True)
    sh = start_shell(cwd=world.pipenv_project)

    out = interrupt(sh, world, "pipenv install")

    assert os.path.isfile(os.path.join(env, "pyvenv.cfg"))
    [message] = messages(out)
    assert message.startswith(f"venvguard: kept {env} (it existed before)")
    assert "`pipenv install`" in message
    assert sh.status() == EXIT_ON_CTRL_C
    world.wait_journal_empty()


def test_a_finished_pipenv_install_is_left_alone_and_silent(pipenv_world, start_shell):
    world = pipenv_world
    [env] = planned(world, "install")
    sh = start_shell(cwd=world.pipenv_project, sleep=0)

    text, status = sh.capture("pipenv install")

    assert status == 0
    assert messages(text) == []
    assert sh.output(f"{env}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def where(world, **extra) -> list[str]:
    return [run_pipenv(world, "--venv", **extra).stdout.strip()]


def test_the_computed_environment_is_where_the_real_pipenv_puts_it(pipenv_world):
    """Outside any shell: `pipenv --venv` after `pipenv install` made the environment,
    for the default (WORKON_HOME and the hashed name), PIPENV_CUSTOM_VENV_NAME and
    PIPENV_VENV_IN_PROJECT."""
    world = pipenv_world
    write_pipfile(world, with_slowpkg=False)
    default = planned(world, "install")
    run_pipenv(world, "install")
    assert where(world) == default
    assert default[0].startswith(world.workon_home + "/pipenvproj-")

    world.extra_env["PIPENV_CUSTOM_VENV_NAME"] = "custom"
    custom = planned(world, "install")
    run_pipenv(world, "install")
    assert where(world) == custom == [os.path.join(world.workon_home, "custom")]
    del world.extra_env["PIPENV_CUSTOM_VENV_NAME"]

    world.extra_env["PIPENV_VENV_IN_PROJECT"] = "1"
    in_project = planned(world, "install")
    run_pipenv(world, "install")
    assert where(world) == in_project == [os.path.join(world.pipenv_project, ".venv")]

