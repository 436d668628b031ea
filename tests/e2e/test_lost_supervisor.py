"""Runs whose terminal or supervisor goes away: the journal entry they leave is
settled, so that the half-made environment still goes."""

import os
import signal


def test_closing_the_terminal_during_uv_sync_removes_the_venv(world, start_shell):
    sh = start_shell()
    before = world.listing()

    sh.type("uv sync")
    world.wait_ready()
    sh.close()

    world.wait_listing(world.project, before)
    assert not os.path.lexists(world.venv)
    world.wait_journal_empty()


def test_a_supervisor_killed_with_sigkill_is_settled_by_the_next_prompt(world, start_shell):
    sh = start_shell()
    before = world.listing()

    sh.type("uv sync")
    world.wait_ready()
    supervisor = world.find_proc(
        lambda p: p.cwd == world.project and len(p.cmdline) >= 2
        and os.path.basename(p.cmdline[1]) == "venvguard" and "exec" in p.cmdline
        and "uv" in p.cmdline and p.pgrp == p.tpgid,  # in the foreground: not its watchdog
        what="the `venvguard exec -- uv sync` supervisor",
    )
    os.kill(supervisor.pid, signal.SIGKILL)
    out = sh.expect_prompt()  # the shell sees its job die of SIGKILL
    sh.type("")  # Enter once: a fresh prompt, whose hook has surely run
    out += sh.expect_prompt()

    assert not os.path.lexists(world.venv), ".venv is still there at the prompt after a SIGKILL"
    assert "venvguard: removed .venv (made by the cut-short `uv sync`)" in out
    world.wait_listing(world.project, before)
    world.wait_journal_empty()
