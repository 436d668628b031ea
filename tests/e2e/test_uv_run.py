"""`uv run` is guarded only while it has an environment to create, and counts as cut
short only when uv itself dies of the signal: once uv has started the program, a
Ctrl-C belongs to the program and the environment it runs in is finished."""

import os

from .conftest import messages, wait_for


def test_ctrl_c_while_uv_run_syncs_removes_the_venv_it_created(world, start_shell):
    sh = start_shell()
    before = world.listing()

    sh.type("uv run python -c 'import slowpkg'")
    world.wait_ready()
    sh.sendintr()
    out = sh.expect_prompt()

    assert not os.path.lexists(world.venv), "the half-made .venv is still there at the prompt"
    assert messages(out) == [
        "venvguard: removed .venv (made by the interrupted `uv run python -c 'import slowpkg'`)"
    ]
    assert sh.status() == 130
    world.wait_listing(world.project, before)
    world.wait_journal_empty()


def test_ctrl_c_in_the_program_uv_run_started_keeps_the_finished_venv(world, start_shell):
    sh = start_shell(sleep=0)
    started = os.path.join(world.work, "program-started")

    sh.type(
        "uv run python -c \"import time, slowpkg; open('" + started + "', 'w').close(); "
        "time.sleep(60)\""
    )
    wait_for(lambda: os.path.exists(started), what="the program uv run started")
    sh.sendintr()
    out = sh.expect_prompt()

    assert messages(out) == [], "venvguard spoke about a finished environment"
    assert sh.output(".venv/bin/python -c 'import slowpkg; print(slowpkg.VALUE)'") == "42\n"
    world.wait_journal_empty()
