"""tox in a real interactive shell: Ctrl-C while tox installs slowpkg into an env.

The project is a tox.ini written by the test beside the world's slowpkg: no package of
its own (`skipsdist`, `skip_install`), and `deps` naming slowpkg by a file:// URL, so
pip (with no index) builds slowpkg while tox fills `<work dir>/<env>`.
"""

import os
import subprocess

import pytest

from venvguard import tools

from .conftest import TIMEOUT, messages, require_tool

TOX_ENV = {"PIP_NO_INDEX": "1", "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture
def tox_world(world):
    """The world with a tox project at world.root/toxproj."""
    world.add_tool("tox", require_tool("tox"))
    world.extra_env.update(TOX_ENV)
    world.tox_project = os.path.join(world.root, "toxproj")
    os.makedirs(world.tox_project)
    with open(os.path.join(world.tox_project, "tox.ini"), "w") as f:
        f.write(
            "[tox]\nskipsdist = true\nenv_list = a, b\n\n"
            "[testenv]\nskip_install = true\npass_env = SLOWPKG_*\n"
            f"deps = slowpkg @ file://{world.slowpkg}\n"
            "commands = python -c 'import slowpkg; print(slowpkg.VALUE)'\n"
        )
    return world


def run_tox(world, *args, **extra):
    return subprocess.run(
        [os.path.join(world.tools_bin, "tox"), *args], cwd=world.tox_project,
        env={**world.environ(sleep=0), **extra}, check=True, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def planned(world, *args) -> list[str]:
    return tools.plan(["tox", *args], world.tox_project, world.environ(sleep=0)).paths


def env_dir(world, env, *args) -> str:
    """`tox config -e ENV -k env_dir`: where the real tox puts the environment."""
    out = run_tox(world, *args, "config", "-e", env, "-k", "env_dir").stdout
    return out.split("env_dir = ", 1)[1].strip()


def made_rel(world, env: str) -> str:
    """An environment as the messages name it: relative to the shell's directory."""
    return os.path.relpath(env, world.tox_project)


def interrupt(sh, world, line: str) -> str:
    sh.type(line)
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


def test_ctrl_c_during_tox_run_removes_the_env_it_created(tox_world, start_shell):
    world = tox_world
    [env] = planned(world, "-e", "a")
    sh = start_shell(cwd=world.tox_project)

    out = interrupt(sh, world, "tox -e a")

    assert not os.path.lexists(env), "the half-made environment is still there at the prompt"
    assert messages(out) == [
        f"venvguard: removed {made_rel(world, env)} (made by the interrupted `tox -e a`)"]
    assert sh.status() in (1, 254)  # tox tears down and exits 1, or -2 & 0xff: its pip died of it
    world.wait_journal_empty()


def test_ctrl_c_during_tox_run_keeps_the_env_that_existed(tox_world, start_shell):
    """`tox -e a,b` reuses a, which is there, and is stopped while making b."""
    world = tox_world
    run_tox(world, "-e", "a")
    os.unlink(world.ready)  # slowpkg's build for a wrote it
    made, new = planned(world, "-e", "a,b")
    sh = start_shell(cwd=world.tox_project)

    out = interrupt(sh, world, "tox -e a,b")

    assert os.path.isfile(os.path.join(made, "pyvenv.cfg"))
    assert not os.path.lexists(new)
    assert sorted(messages(out)) == sorted([
        f"venvguard: kept {made_rel(world, made)} (it existed before); the interrupted "
        "`tox -e a,b` touched no package",
        f"venvguard: removed {made_rel(world, new)} (made by the interrupted `tox -e a,b`)"])
    assert sh.status() in (1, 254)
    assert sh.output(f"{made}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_a_finished_tox_run_is_left_alone_and_silent(tox_world, start_shell):
    world = tox_world
    envs = planned(world)
    sh = start_shell(cwd=world.tox_project, sleep=0)

    text, status = sh.capture("tox")

    assert status == 0
    assert messages(text) == []
    for env in envs:
        assert sh.output(f"{env}/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()


def test_the_computed_environment_is_where_the_real_tox_puts_it(tox_world):
    """Outside any shell: `tox config -k env_dir` for the default work dir, the
    toxworkdir setting and --workdir."""
    world = tox_world
    assert planned(world) == [env_dir(world, "a"), env_dir(world, "b")]
    assert planned(world, "-e", "py3{11,12}") == [env_dir(world, "py311"), env_dir(world, "py312")]
    other = os.path.join(world.root, "other")
    assert planned(world, "--workdir", other, "-e", "a") == \
        [env_dir(world, "a", "--workdir", other)] == [os.path.join(other, "a")]
    with open(os.path.join(world.tox_project, "tox.ini"), "w") as f:
        f.write("[tox]\ntoxworkdir = ../elsewhere\nenv_list = a\nskipsdist = true\n")
    # tox leaves the `..` in (its root is resolved, so normalising it is exact)
    assert planned(world, "-e", "a") == [os.path.normpath(env_dir(world, "a"))] == [
        os.path.join(world.root, "elsewhere", "a")]
    os.unlink(os.path.join(world.tox_project, "tox.ini"))
    with open(os.path.join(world.tox_project, "tox.toml"), "w") as f:
        f.write('work_dir = "w"\nenv_list = ["x"]\nskipsdist = true\n')
    assert planned(world) == [env_dir(world, "x")] == [
        os.path.join(world.tox_project, "w", "x")]


def test_a_tox_run_whose_tests_fail_keeps_the_env_it_made(tox_world, start_shell):
    """tox exits with a failing test command's status: not an interrupt, so the env stays."""
    world = tox_world
    ini = os.path.join(world.tox_project, "tox.ini")
    with open(ini) as f:
        text = f.read().replace("import slowpkg; print(slowpkg.VALUE)", "raise SystemExit(3)")
    with open(ini, "w") as f:
        f.write(text)
    [env] = planned(world, "-e", "a")
    sh = start_shell(cwd=world.tox_project, sleep=0)

    text, status = sh.capture("tox -e a")

    assert status == 3  # the test command's own status
    assert messages(text) == []
    assert os.path.isfile(os.path.join(env, "pyvenv.cfg"))
    world.wait_journal_empty()
