"""Ctrl-C in a real interactive shell: an environment the run made goes, one that
existed before stays, and the shell carries on as if venvguard were not there."""

import os

from .conftest import Proc, messages, wait_for

REMOVED_VENV = "venvguard: removed .venv (made by the interrupted `uv sync`)"


def interrupt_uv_sync(sh, world) -> str:
    """Type `uv sync`, press Ctrl-C once slowpkg's build has started: the output up
    to the next prompt."""
    sh.type("uv sync")
    world.wait_ready()
    sh.sendintr()
    return sh.expect_prompt()


def test_ctrl_c_during_uv_sync_removes_the_venv_it_created(world, start_shell):
    sh = start_shell()
    before = world.listing()

    out = interrupt_uv_sync(sh, world)

    assert not os.path.lexists(world.venv), "the half-made .venv is still there at the prompt"
    assert messages(out) == [REMOVED_VENV]
    assert sh.status() == 130
    assert sh.output('echo "still-""usable"') == "still-usable\n"
    world.wait_listing(world.project, before)
    world.wait_journal_empty()


def test_ctrl_c_during_uv_sync_keeps_a_venv_that_existed_before(world, start_shell):
    world.uv("venv")
    sh = start_shell()

    out = interrupt_uv_sync(sh, world)

    assert os.path.isdir(world.venv)
    assert messages(out) == [
        "venvguard: kept .venv (it existed before); the interrupted `uv sync` touched no package"
    ]
    assert sh.status() == 130
    assert sh.output(".venv/bin/python -c 'print(6 * 7)'") == "42\n"
    world.wait_journal_empty()


def test_ctrl_c_during_python_m_venv_removes_the_new_env(world, start_shell):
    sh = start_shell(cwd=world.work)
    newenv = os.path.join(world.work, "newenv")

    sh.type("python3 -m venv newenv")
    world.find_proc(
        lambda p: "ensurepip" in p.cmdline and p.cmdline[0].startswith(newenv + os.sep),
        what="python -m venv to run ensurepip in newenv",
    )
    sh.sendintr()
    out = sh.expect_prompt()

    assert not os.path.lexists(newenv)
    assert messages(out) == [
        "venvguard: removed newenv (made by the interrupted `python3 -m venv newenv`)"
    ]
    assert sh.status() == 130
    world.wait_listing(world.work, [])
    world.wait_journal_empty()


def test_a_tool_that_catches_ctrl_c_and_exits_1_counts_as_interrupted(world, start_shell):
    sh = start_shell(cwd=world.work)
    newenv = os.path.join(world.work, "newenv")

    sh.type("virtualenv --seeder pip newenv")
    world.find_proc(
        lambda p: p.cmdline[:1] and p.cmdline[0].startswith(newenv + os.sep)
        and "install" in p.cmdline,
        what="virtualenv's pip seeder to run in newenv",
    )
    sh.sendintr()
    out = sh.expect_prompt()

    assert not os.path.lexists(newenv)
    assert messages(out) == [
        "venvguard: removed newenv (made by the interrupted `virtualenv --seeder pip newenv`)"
    ]
    assert sh.status() == 1
    world.wait_listing(world.work, [])
    world.wait_journal_empty()


def test_ctrl_c_twice_quickly_still_removes_the_venv(world, start_shell):
    sh = start_shell()
    before = world.listing()

    sh.type("uv sync")
    world.wait_ready()
    sh.sendintr()
    sh.sendintr()
    out = sh.expect_prompt()

    assert not os.path.lexists(world.venv)
    assert messages(out) == [REMOVED_VENV]
    world.wait_journal_empty()
    world.wait_listing(world.project, before)


def test_ctrl_z_then_fg_then_ctrl_c_leaves_no_half_made_venv(world, start_shell):
    sh = start_shell()
    before = world.listing()

    sh.type("uv sync")
    world.wait_ready()
    uv = world.find_proc(lambda p: p.program == "uv" and "sync" in p.cmdline, what="uv sync")
    sh.sendcontrol("z")
    out = sh.expect_prompt()
    wait_for(lambda: _stopped(uv.pid), what="uv to be stopped by Ctrl-Z")
    assert os.path.isdir(world.venv), "a suspended run's .venv was touched"
    assert messages(out) == []

    sh.type("fg")
    wait_for(lambda: _in_foreground(uv.pid), what="uv to run in the foreground again after fg")
    sh.sendintr()
    out = sh.expect_prompt()

    assert not os.path.lexists(world.venv)
    assert messages(out) == [REMOVED_VENV]
    world.wait_listing(world.project, before)
    world.wait_journal_empty()


def test_interrupted_uv_sync_stops_an_and_list(world, start_shell):
    sh = start_shell()

    sh.type('uv sync && echo "ne""xt"')
    world.wait_ready()
    sh.sendintr()
    out = sh.expect_prompt()
    status = sh.status()

    assert "next" not in out
    assert status == 130
    assert "next" not in sh.tail()
    assert not os.path.lexists(world.venv)


def _stopped(pid: int) -> bool:
    return Proc(pid).state == "T"


def _in_foreground(pid: int) -> bool:
    """Running (not stopped), and its process group owns the terminal."""
    proc = Proc(pid)
    return proc.alive and proc.state != "T" and proc.pgrp == proc.tpgid
