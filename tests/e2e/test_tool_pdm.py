"""pdm in a real interactive shell: Ctrl-C while `pdm install` builds slowpkg.

The project (tests/fixtures/pdm-project) is no package of its own (`distribution =
false`) and depends on ../slowpkg by path, so it locks and installs with no index.
pdm lets its install jobs end, then dies of the SIGINT (status 130), leaving the
`.venv` it had just made without slowpkg.
"""

import os
import shutil
import subprocess
import sys

import pytest

from venvguard import tools

from .conftest import FIXTURES, TIMEOUT, messages, require_tool

PDM_ENV = {"PDM_CHECK_UPDATE": "0", "PDM_NON_INTERACTIVE": "1"}


@pytest.fixture
def pdm_world(world):
    """The world with the pdm project at world.root/pdmproj (beside slowpkg), locked."""
    pdm = require_tool("pdm")
    world.add_tool("pdm", pdm)
    world.extra_env.update(PDM_ENV)
    world.pdm_project = os.path.join(world.root, "pdmproj")
    shutil.copytree(os.path.join(FIXTURES, "pdm-project"), world.pdm_project)
    run_pdm(world, "lock")  # makes .venv too (pdm creates it to resolve)
    assert os.path.isfile(os.path.join(world.pdm_project, "pdm.lock"))
    return world


def run_pdm(world, *args, **extra):
    return subprocess.run(
        [os.path.join(world.tools_bin, "pdm"), *args], cwd=world.pdm_project,
        env={**world.environ(sleep=0), **extra}, check=True, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def forget_venv(world) -> str:
    venv = os.path.join(world.pdm_project, ".venv")
    shutil.rmtree(venv)
    os.unlink(os.path.join(world.pdm_project, ".pdm-python"))
    return venv


def interrupt(sh, world, line: str) -> str:
    sh.type(line)
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


def test_ctrl_c_during_pdm_install_removes_the_venv_it_created(pdm_world, start_shell):
    world = pdm_world
    venv = forget_venv(world)
    sh = start_shell(cwd=world.pdm_project)

    out = interrupt(sh, world, "pdm install")

    assert not os.path.lexists(venv), "the half-made .venv is still there at the prompt"
    assert messages(out) == ["venvguard: removed .venv (made by the interrupted `pdm install`)"]
    assert sh.status() == 130
    world.wait_journal_empty()


def test_ctrl_c_during_pdm_sync_keeps_a_venv_that_existed_before(pdm_world, start_shell):
    world = pdm_world
    venv = os.path.join(world.pdm_project, ".venv")
    sh = start_shell(cwd=world.pdm_project)

    out = interrupt(sh, world, "pdm sync")

    assert os.path.isfile(os.path.join(venv, "pyvenv.cfg"))
    assert messages(out) == [
        "venvguard: kept .venv (it existed before); the interrupted `pdm sync` touched no package"
    ]
    assert sh.status() == 130
    assert sh.output(".venv/bin/python -c 'print(6 * 7)'") == "42\n"
    world.wait_journal_empty()


def test_a_finished_pdm_install_is_left_alone_and_silent(pdm_world, start_shell):
    world = pdm_world
    venv = forget_venv(world)
    sh = start_shell(cwd=world.pdm_project, sleep=0)

    text, status = sh.capture("pdm install")

    assert status == 0
    assert messages(text) == []
    assert sh.output(".venv/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    assert os.path.isfile(os.path.join(venv, "pyvenv.cfg"))
    world.wait_journal_empty()


def test_the_computed_environment_is_where_the_real_pdm_puts_it(pdm_world):
    """Outside any shell: the central environment's hashed name (venv.in_project off,
    venv.location from the global config), and the in-project one pdm reports."""
    world = pdm_world
    environ = {**world.environ(sleep=0)}
    [(in_project, _shape)] = tools.plan(["pdm", "install"], world.pdm_project, environ).targets
    assert run_pdm(world, "info", "--python").stdout.strip() == f"{in_project}/bin/python"

    config = os.path.join(world.root, "pdm-config.toml")
    with open(config, "w") as f:
        f.write(f'[venv]\nlocation = "{world.root}/central"\nin_project = false\n')
    environ["PDM_CONFIG_FILE"] = config
    planned = tools.plan(["pdm", "venv", "create", "--name", "x"], world.pdm_project, environ)
    out = run_pdm(world, "venv", "create", "--name", "x", PDM_CONFIG_FILE=config).stdout
    [(central, _shape)] = planned.targets
    assert os.path.isfile(os.path.join(central, "pyvenv.cfg")), out
    assert central in run_pdm(world, "venv", "list", PDM_CONFIG_FILE=config).stdout

    shutil.rmtree(os.path.join(world.pdm_project, ".venv"))  # now `pdm use` makes a 3.N one
    planned = tools.plan(["pdm", "use", "-f", world.python], world.pdm_project, environ)
    run_pdm(world, "use", "-f", world.python, PDM_CONFIG_FILE=config)
    made = [path for path in planned.paths if os.path.isdir(path)]
    assert len(made) == 1, planned.paths
    assert os.path.basename(made[0]).rsplit("-", 1)[1] == f"3.{sys.version_info[1]}"
