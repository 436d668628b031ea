"""A wrapped command sent to the background with `&` must stay in the background.

fish runs a function in the foreground even when its line ends with `&`, so its
wrappers background the real command themselves, and are defined only at the first
prompt, after fish's own first-start work (which runs `python3 ... &`).
"""

import shutil

from .conftest import Proc, Shell, require


def test_a_wrapped_command_sent_to_the_background_gives_the_prompt_back(
    world, start_shell, shell_name
):
    sh = start_shell(cwd=world.work)

    sh.type("python3 -c 'import time; time.sleep(60)' &")
    job = world.find_proc(
        lambda p: p.program == "python3" and "import time; time.sleep(60)" in p.cmdline,
        what="the background python3",
    )

    assert job.pgrp != job.tpgid, "the `&` job owns the terminal: it runs in the foreground"
    sh.expect_prompt(timeout=15)
    assert sh.output('echo "still-""usable"') == "still-usable\n"


def test_the_job_list_names_the_wrapped_command_sent_to_the_background(
    world, start_shell, shell_name
):
    sh = start_shell(cwd=world.work)
    sh.run("python3 -c 'import time; time.sleep(60)' &")
    jobs = sh.output("jobs")
    assert "python3 -c 'import time; time.sleep(60)'" in jobs, jobs
    assert "$argv" not in jobs
    sh.run("kill (jobs -p)" if shell_name == "fish" else "kill %1")


def test_fish_first_start_keeps_its_completion_generator_in_the_background(world):
    require(shutil.which("fish"), "the shell fish")
    sh = Shell("fish", world, sleep=0, cwd=world.work, fish_first_start=True)
    try:
        generator = world.find_proc(
            lambda p: any("create_manpage_completions" in w for w in p.cmdline),
            what="fish's man-page completion generator",
        )
        assert sh.output('echo "first-""prompt"') == "first-prompt\n"
        # It takes many seconds: still running means it never held the prompt back.
        assert Proc(generator.pid).alive, "the generator ended before the prompt came"
        assert sh.output("type -t python3") == "function\n", "python3 is wrapped after all"
    finally:
        sh.close()
