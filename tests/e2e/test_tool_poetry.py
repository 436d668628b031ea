"""poetry in a real interactive shell: Ctrl-C while `poetry install` builds slowpkg.

The project (tests/fixtures/poetry-project) is no package of its own (`package-mode =
false`, so poetry names it "non-package-mode") and depends on ../slowpkg by path
(develop = false), so it locks and installs with no index. On Ctrl-C slowpkg's build
dies of the SIGINT and poetry reports a failed PEP 517 build and exits 1, leaving the
virtualenv it had just made (with pip, without slowpkg).
"""

import os
import shutil
import subprocess
import sys

import pytest

from venvguard import tools

from .conftest import FIXTURES, TIMEOUT, messages, require_tool


@pytest.fixture
def poetry_world(world):
    """The world with the poetry project at world.root/poetryproj (beside slowpkg),
    locked; its central environment (made by the lock) is there."""
    world.add_tool("poetry", require_tool("poetry"))
    world.extra_env.update(
        POETRY_NO_INTERACTION="1", PIP_NO_INDEX="1",
        POETRY_CACHE_DIR=os.path.join(world.root, "poetry-cache"),
        POETRY_VIRTUALENVS_PATH=os.path.join(world.root, "poetry-venvs"),
        POETRY_CONFIG_DIR=os.path.join(world.root, "poetry-config"),
    )
    world.poetry_project = os.path.join(world.root, "poetryproj")
    shutil.copytree(os.path.join(FIXTURES, "poetry-project"), world.poetry_project)
    run_poetry(world, "lock")
    assert os.path.isfile(os.path.join(world.poetry_project, "poetry.lock"))
    return world


def run_poetry(world, *args, **extra):
    return subprocess.run(
        [os.path.join(world.tools_bin, "poetry"), *args], cwd=world.poetry_project,
        env={**world.environ(sleep=0), **extra}, check=True, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def central_env(world) -> str:
    [env] = [path for path in planned(world, "install").paths if os.path.isdir(path)]
    return env


def planned(world, *args, **extra):
    return tools.plan(["poetry", *args], world.poetry_project,
                      {**world.environ(sleep=0), **extra})


def interrupt(sh, world, line: str) -> str:
    sh.type(line)
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


def test_ctrl_c_during_poetry_install_removes_the_env_it_created(poetry_world, start_shell):
    world = poetry_world
    env = central_env(world)
    shutil.rmtree(env)
    sh = start_shell(cwd=world.poetry_project)

    out = interrupt(sh, world, "poetry install")

    assert not os.path.lexists(env), "the half-made environment is still there at the prompt"
    assert messages(out) == [f"venvguard: removed {env} (made by the interrupted `poetry install`)"]
    assert sh.status() == 1
    world.wait_journal_empty()


def test_ctrl_c_during_poetry_sync_keeps_an_env_that_existed_before(poetry_world, start_shell):
    world = poetry_world
    env = central_env(world)
    sh = start_shell(cwd=world.poetry_project)

    out = interrupt(sh, world, "poetry sync")

    assert os.path.isfile(os.path.join(env, "pyvenv.cfg"))
    assert messages(out) == [
        f"venvguard: kept {env} (it existed before); the interrupted `poetry sync` touched no"
        " package"
    ]
    assert sh.status() == 1
    assert sh.output(f"{env}/bin/python -c 'print(6 * 7)'") == "42\n"
    world.wait_journal_empty()


def test_a_finished_poetry_install_is_left_alone_and_silent(poetry_world, start_shell):
    world = poetry_world
    env = central_env(world)
    shutil.rmtree(env)
    sh = start_shell(cwd=world.poetry_project, sleep=0)

    text, status = sh.capture("poetry install")

    assert status == 0
    assert messages(text) == []
    assert sh.output(f"{env}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_the_computed_environment_is_where_the_real_poetry_puts_it(poetry_world):
    """Outside any shell: the central name poetry reports (`env info --path`) is one of
    the planned targets and is named for this python; in-project from poetry.toml; the
    default virtualenvs.path under the cache dir; `env use` recorded in envs.toml."""
    world = poetry_world
    reported = run_poetry(world, "env", "info", "--path").stdout.strip()
    assert reported in planned(world, "install").paths
    assert reported.endswith(f"-py3.{sys.version_info[1]}")

    environ = {k: v for k, v in world.environ(sleep=0).items()
               if k != "POETRY_VIRTUALENVS_PATH"}
    targets = tools.plan(["poetry", "lock"], world.poetry_project, environ).paths
    subprocess.run([os.path.join(world.tools_bin, "poetry"), "lock"], cwd=world.poetry_project,
                   env=environ, check=True, capture_output=True, timeout=TIMEOUT)
    made = [p for p in targets if os.path.isdir(p)]
    assert made and made[0].startswith(os.path.join(world.root, "poetry-cache", "virtualenvs"))

    for env in [*made, reported]:
        shutil.rmtree(env, ignore_errors=True)  # else poetry keeps using it
    with open(os.path.join(world.poetry_project, "poetry.toml"), "w") as f:
        f.write("[virtualenvs]\nin-project = true\n")
    assert planned(world, "install").paths == [os.path.join(world.poetry_project, ".venv")]
    run_poetry(world, "lock")
    assert os.path.isfile(os.path.join(world.poetry_project, ".venv", "pyvenv.cfg"))
    os.unlink(os.path.join(world.poetry_project, "poetry.toml"))
    shutil.rmtree(os.path.join(world.poetry_project, ".venv"))

    run_poetry(world, "env", "use", world.python)  # records py3.N in envs.toml
    assert planned(world, "install").paths == [reported]
