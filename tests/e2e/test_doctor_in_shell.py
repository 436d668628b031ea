"""`venvguard doctor` typed in a real interactive shell on a pseudo-terminal: told by
the snippet's `venvguard` function what this shell has loaded (the snippet and its
version, the prompt hook, what stands behind each wrapped name), and, typed past
that function, that this shell has no venvguard loaded. The function hands every
other command on unchanged (status, the background)."""

import json
import os
import shutil

import pytest

from .conftest import require

PID = {"bash": "$$", "zsh": "$$", "fish": "$fish_pid"}
USER_PIP = {"bash": "pip() { echo mine; }", "zsh": "pip() { echo mine; }",
            "fish": "function pip; echo mine; end"}
NO_HOOK = {"bash": "PROMPT_COMMAND=", "zsh": "precmd_functions=()",
           "fish": "functions -e __venvguard_hook"}


def doctor_json(sh, world, command: str = "venvguard doctor") -> tuple[dict, int]:
    """Run doctor --json in the shell: its checks by name, and its exit status."""
    out = os.path.join(world.root, "doctor.json")
    _text, status = sh.capture(f"{command} --json > '{out}'")
    with open(out) as f:
        return {check["check"]: check for check in json.load(f)["checks"]}, status


def test_doctor_sees_the_snippet_loaded_in_this_shell(world, start_shell, shell_name):
    sh = start_shell()
    pid = sh.output(f"echo {PID[shell_name]}").strip()
    checks, _status = doctor_json(sh, world)
    assert checks["shell"]["status"] == "ok"
    assert f", pid {pid}) has venvguard's snippet loaded" in checks["shell"]["detail"]
    assert checks["shell"]["detail"].startswith(f"this shell ({shell_name} ")
    assert checks["hook"]["status"] == "ok"
    wrapped = checks["wrapped"]["detail"].removeprefix("wrapped in this shell: ").split(", ")
    assert {"uv", "pip", "virtualenv", "poetry"} <= set(wrapped)


def test_doctor_names_a_function_that_replaced_a_wrapper(world, start_shell, shell_name):
    sh = start_shell()
    sh.run(USER_PIP[shell_name])
    checks, status = doctor_json(sh, world)
    assert checks["wrap:pip"]["status"] == "warn"
    assert "stands in for venvguard's wrapper" in checks["wrap:pip"]["detail"]
    assert "pip" not in checks["wrapped"]["detail"].split(": ", 1)[1].split(", ")
    assert status == 1


def test_doctor_sees_a_prompt_hook_taken_out(world, start_shell, shell_name):
    sh = start_shell()
    sh.run(NO_HOOK[shell_name])
    checks, status = doctor_json(sh, world)
    assert checks["hook"]["status"] == "warn"
    assert status == 1


def test_doctor_typed_past_the_function_says_this_shell_has_no_venvguard(
        world, start_shell, shell_name):
    sh = start_shell()
    checks, status = doctor_json(sh, world, command="command venvguard doctor")
    assert checks["shell"]["status"] == "warn"
    assert checks["shell"]["detail"].startswith(f"this {shell_name} (pid ")
    assert status == 1


def test_the_venvguard_function_hands_on_other_commands_and_their_status(
        world, start_shell):
    sh = start_shell()
    assert sh.output("venvguard --version").startswith("venvguard ")
    _text, status = sh.capture("venvguard exec -- python3 -c 'raise SystemExit(7)'")
    assert status == 7


def test_the_venvguard_function_sends_a_line_ending_in_ampersand_to_the_background(
        world, start_shell, shell_name):
    sh = start_shell()
    sh.run("venvguard exec -- python3 -c 'import time; time.sleep(60)' &")
    jobs = sh.output("jobs")
    assert "venvguard exec -- python3 -c 'import time; time.sleep(60)'" in jobs, jobs
    sh.run("kill (jobs -p)" if shell_name == "fish" else "kill %1")


@pytest.mark.parametrize("shell_name", ["fish"])  # bash and zsh run it in a subshell
def test_doctor_in_fish_leaves_no_variable_of_its_state_script_behind(world, start_shell,
                                                                      shell_name):
    require(shutil.which("fish"), "the shell fish")
    sh = start_shell()
    doctor_json(sh, world)
    assert sh.output("set -q name hook details; or echo none") == "none\n"
