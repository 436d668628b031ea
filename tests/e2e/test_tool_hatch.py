"""hatch in a real interactive shell: Ctrl-C while `hatch env create` installs slowpkg.

The project is written by the test beside the world's slowpkg: it skips installing
itself (`skip-install`) and depends on slowpkg by a file:// URL, so pip (with no
index) builds slowpkg while hatch makes the environment in $HATCH_DATA_DIR. hatch
catches the Ctrl-C (click's "Aborted!", status 1) and leaves the half-made
environment; venvguard removes it.
"""

import os
import subprocess

import pytest

from venvguard import tools

from .conftest import TIMEOUT, messages, require_tool, wait_for

HATCH_ENV = {"PIP_NO_INDEX": "1", "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
             "HATCH_INTERACTIVE": "0"}


@pytest.fixture
def hatch_world(world):
    """The world with a hatch project at world.root/hatchproj and the data dir
    world.root/hatch-data."""
    world.add_tool("hatch", require_tool("hatch"))
    world.hatch_data = os.path.join(world.root, "hatch-data")
    world.extra_env.update(HATCH_ENV, HATCH_DATA_DIR=world.hatch_data)
    world.hatch_project = os.path.join(world.root, "hatchproj")
    os.makedirs(world.hatch_project)
    with open(os.path.join(world.hatch_project, "pyproject.toml"), "w") as f:
        f.write(
            '[project]\nname = "hatchproj"\nversion = "0"\n\n'
            '[tool.hatch.envs.default]\nskip-install = true\n'
            f'dependencies = ["slowpkg @ file://{world.slowpkg}"]\n\n'
            '[[tool.hatch.envs.m.matrix]]\nv = ["a", "b"]\n'
        )
    return world


def run_hatch(world, *args, **extra):
    return subprocess.run(
        [os.path.join(world.tools_bin, "hatch"), *args], cwd=world.hatch_project,
        env={**world.environ(sleep=0), **extra}, check=True, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def planned(world, *args) -> list[str]:
    return tools.plan(["hatch", *args], world.hatch_project, world.environ(sleep=0)).paths


def interrupt(sh, world, line: str) -> str:
    sh.type(line)
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


def test_ctrl_c_during_hatch_env_create_removes_the_env_it_created(hatch_world, start_shell):
    world = hatch_world
    [env] = planned(world, "env", "create")
    sh = start_shell(cwd=world.hatch_project)

    out = interrupt(sh, world, "hatch env create")

    assert not os.path.lexists(env), "the half-made environment is still there at the prompt"
    assert messages(out) == [
        f"venvguard: removed {env} (made by the interrupted `hatch env create`)"]
    assert sh.status() == 1  # hatch's "Aborted!"
    world.wait_journal_empty()


def test_ctrl_c_during_hatch_env_create_keeps_a_matrix_env_that_existed(hatch_world,
                                                                       start_shell):
    """`env create m` skips m.a, which is there, and is stopped while making m.b."""
    world = hatch_world
    made, new = planned(world, "env", "create", "m")
    run_hatch(world, "env", "create", "m.a")
    os.unlink(world.ready)  # slowpkg's build for m.a wrote it
    sh = start_shell(cwd=world.hatch_project)

    out = interrupt(sh, world, "hatch env create m")

    assert os.path.isfile(os.path.join(made, "pyvenv.cfg"))
    assert not os.path.lexists(new)
    assert sorted(messages(out)) == sorted([
        f"venvguard: kept {made} (it existed before); the interrupted `hatch env create m` "
        "touched no package",
        f"venvguard: removed {new} (made by the interrupted `hatch env create m`)",
    ])
    assert sh.status() == 1
    assert sh.output(f"{made}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_a_finished_hatch_env_create_is_left_alone_and_silent(hatch_world, start_shell):
    world = hatch_world
    [env] = planned(world, "env", "create")
    sh = start_shell(cwd=world.hatch_project, sleep=0)

    text, status = sh.capture("hatch env create")

    assert status == 0
    assert messages(text) == []
    assert sh.output(f"{env}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_ctrl_c_in_the_program_hatch_run_started_keeps_the_env_it_made(hatch_world,
                                                                      start_shell):
    """Once the environment is whole, hatch runs the user's program and a Ctrl-C is
    the program's: the environment `hatch run` made stays, and nothing is said."""
    world = hatch_world
    [env] = planned(world, "run", "python")
    sh = start_shell(cwd=world.hatch_project, sleep=0)
    program = ("import os, time; open(os.environ['SLOWPKG_READY'] + '.run', 'w').write('1'); "
               "time.sleep(60)")
    ready = world.ready + ".run"

    sh.type(f'hatch run python -c "{program}"')
    world.wait_ready()  # slowpkg built: the environment is being made

    wait_for(lambda: os.path.exists(ready), what="the program hatch runs to start")
    sh.sendintr()
    out = sh.expect_prompt()

    assert messages(out) == []
    assert sh.status() == 254  # the program died of SIGINT (-2): hatch exits with -2 & 0xff
    assert os.path.isfile(os.path.join(env, "pyvenv.cfg"))
    assert sh.output(f"{env}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_the_computed_environment_is_where_the_real_hatch_puts_it(hatch_world):
    """Outside any shell: `hatch env find` for the default environment, a matrix, a
    relative [dirs.env] and a `path` option."""
    world = hatch_world
    assert planned(world, "env", "create") == run_hatch(world, "env", "find").stdout.split()
    assert planned(world, "env", "create", "m") == \
        run_hatch(world, "env", "find", "m").stdout.split()
    config = os.path.join(world.root, "hatch-config.toml")
    with open(config, "w") as f:
        f.write('[dirs.env]\nvirtual = ".envs"\n')
    world.extra_env["HATCH_CONFIG"] = config
    assert planned(world, "run", "m.b:x") == \
        run_hatch(world, "env", "find", "m.b").stdout.split() == \
        [os.path.join(world.hatch_project, ".envs", "m.b")]
    with open(os.path.join(world.hatch_project, "hatch.toml"), "w") as f:
        f.write('[envs.default]\npath = "../elsewhere"\n')
    assert planned(world, "env", "create") == run_hatch(world, "env", "find").stdout.split() \
        == [os.path.join(world.root, "elsewhere")]
