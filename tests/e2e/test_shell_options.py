"""The snippets under the strict options users put in their rc files before the
init line: not one error message, at start-up, in a call, or at a prompt."""

import os

import pytest

from .conftest import messages

STRICT = {
    "bash": "set -u\n",
    "zsh": "setopt nounset ksh_arrays sh_word_split\n",
}
ERRORS = (
    "unbound variable",
    "parameter not set",
    "parameter null or not set",
    "bad substitution",
    "bad math expression",
    "bad pattern",
    "no matches found",
    "command not found",
    "not found",
    "syntax error",
    "parse error",
    "bad option",
    "invalid option",
    "__venvguard",
)


@pytest.mark.parametrize("shell_name", sorted(STRICT), indirect=True)
def test_strict_shell_options_before_the_init_line_cause_no_errors(world, start_shell, shell_name):
    sh = start_shell(rc_prefix=STRICT[shell_name])

    sh.type("uv sync")  # guarded, and interrupted: the whole cleanup path
    world.wait_ready()
    sh.sendintr()
    sh.expect_prompt()
    assert sh.status() == 130
    assert not os.path.lexists(world.venv)
    assert sh.output("uv --version").startswith("uv ")  # not guarded
    assert sh.output("python3 -c 'print(6 * 7)'") == "42\n"  # wrapped, not guarded
    sh.run("uv venv ../work/strict-env")  # guarded, and finished
    assert sh.status() == 0
    assert os.path.isfile(os.path.join(world.work, "strict-env", "pyvenv.cfg"))
    for _ in range(3):
        sh.run("")  # bare prompts: the hook alone
    world.wait_journal_empty()
    sh.run("")  # and one with an empty journal
    sh.sync()

    transcript = sh.tail(chars=10**6)
    assert [e for e in ERRORS if e in transcript] == [], transcript
    assert messages(transcript) == ["venvguard: removed .venv (made by the interrupted `uv sync`)"]
