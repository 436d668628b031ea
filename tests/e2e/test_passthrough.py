"""What venvguard must not change: a finished run, the tools' own output and exit
status, and the shell's behaviour when venvguard is gone or switched off."""

import os

from .conftest import messages


def test_a_finished_uv_sync_is_untouched_and_silent(world, start_shell):
    sh = start_shell(sleep=0)

    out = sh.run("uv sync")
    status = sh.status()

    assert status == 0
    assert messages(out) == []
    assert world.journal() == []
    assert sh.output('.venv/bin/python -c "import slowpkg; print(slowpkg.VALUE)"') == "42\n"


def test_uv_version_gives_what_the_bare_uv_gives(world, start_shell):
    sh = start_shell()

    bare = sh.capture("command uv --version")
    wrapped = sh.capture("uv --version")

    assert bare[1] == 0 and "uv " in bare[0]
    assert wrapped == bare


def test_a_failing_uv_sync_gives_what_the_bare_uv_gives(world, start_shell):
    sh = start_shell()
    before = world.listing()

    bare = sh.capture("command uv sync --no-such-flag")
    wrapped = sh.capture("uv sync --no-such-flag")

    assert bare[1] == 2 and "--no-such-flag" in bare[0]
    assert wrapped == bare
    assert world.listing() == before
    assert world.journal() == []


def test_uv_sync_works_when_venvguard_is_taken_off_path_after_init(world, start_shell):
    sh = start_shell(sleep=0)
    if sh.name == "fish":
        sh.run("set -gx PATH " + world.path_without_venvguard.replace(os.pathsep, " "))
    else:
        sh.run(f"PATH={world.path_without_venvguard}")
    # the command, not the snippet's `venvguard` function
    lookup = {"bash": "type -P", "zsh": "whence -p", "fish": "command -v"}[sh.name]
    assert sh.capture(f"{lookup} venvguard")[1] != 0

    sh.run("uv sync")

    assert sh.status() == 0
    assert os.path.isfile(os.path.join(world.venv, "pyvenv.cfg"))
    assert sh.output('.venv/bin/python -c "import slowpkg; print(slowpkg.VALUE)"') == "42\n"
    assert not os.path.exists(world.runs), "venvguard ran although it is not on PATH"


def test_venvguard_disable_passes_an_interrupted_uv_sync_straight_through(world, start_shell):
    sh = start_shell()
    if sh.name == "fish":
        sh.run("set -gx VENVGUARD_DISABLE 1")
    else:
        sh.run("export VENVGUARD_DISABLE=1")

    sh.type("uv sync")
    world.wait_ready()
    sh.sendintr()
    out = sh.expect_prompt()

    assert os.path.isfile(os.path.join(world.venv, "pyvenv.cfg")), "venvguard acted, though off"
    assert messages(out) == []
    assert sh.status() == 130
    assert not os.path.exists(world.runs), "venvguard journalled a run although disabled"
