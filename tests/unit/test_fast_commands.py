"""status, clean and doctor run without typer (entry.py's fast path) when given only
their own options, and go to typer otherwise; neither form prints colour."""

import json
import os
import pty
import subprocess
import sys

import pytest
import typer

from venvguard import clean, config, doctor, entry, status
from venvguard.cli import app

MODULES = {"status": status, "clean": clean, "doctor": doctor, "config": config}
FORBIDDEN = ("typer", "click", "pydantic", "rich", "shellingham")
FAST_CALLS = [
    ["status"], ["status", "--json"], ["doctor"], ["doctor", "--json"], ["clean"],
    ["clean", "-n"], ["clean", "--dry-run"], ["clean", "--json"], ["clean", "--json", "-n"],
    ["clean", "--dry-run", "--json"], ["config"], ["config", "--json"], ["--version"], ["-V"],
]
# Run entry.main with argv in a fresh interpreter; at its exit (entry.leave), write
# the modules then imported to a file. leave ends with os._exit: atexit never runs.
PROBE = """
import json, sys
from venvguard import entry
out, args = sys.argv[1], sys.argv[2:]
def leave(code):
    sys.stdout.flush()
    with open(out, "w") as f:
        json.dump({"code": code, "modules": sorted(sys.modules)}, f)
    raise SystemExit(code)
entry.leave = leave
sys.argv = ["venvguard", *args]
entry.main()
"""


def typer_command(name: str):
    """The click command typer builds for `name` (typer 0.29 carries its own click,
    so its classes are told by their param_type_name, not by isinstance)."""
    return typer.main.get_command(app).commands[name]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_fast_path_accepts_exactly_the_options_typer_declares(name):
    command = typer_command(name)
    assert command.params  # typer's command was found and read
    declared = {opt for param in command.params if param.param_type_name == "option"
                for opt in (*param.opts, *param.secondary_opts)}
    assert set(MODULES[name].FLAGS) == declared
    assert len(MODULES[name].FLAGS) == len(declared)
    # No arguments and no option taking a value: the fast path takes none.
    assert all(p.param_type_name == "option" and p.is_flag for p in command.params)


def test_every_fast_command_is_a_module_entry_dispatches():
    assert set(entry.FAST) == set(MODULES)


@pytest.mark.parametrize(("args", "fast"), [
    (["status"], True), (["status", "--json"], True), (["status", "--json", "--json"], True),
    (["clean", "-n", "--json"], True), (["doctor", "--json"], True),
    (["status", "-h"], False), (["doctor", "--help"], False), (["clean", "--json", "-h"], False),
    (["status", "--bogus"], False), (["clean", "extra"], False), (["clean", "-nx"], False),
    (["doctor", "--json=1"], False), (["status", "--"], False), (["repair"], False),
])
def test_the_fast_path_takes_only_a_commands_own_flags(args, fast):
    assert (entry.fast(args[0], args[1:]) is not None) is fast


@pytest.mark.parametrize("args", FAST_CALLS, ids=" ".join)
def test_a_fast_command_imports_none_of_typer_click_pydantic_rich(tmp_path, args):
    out = tmp_path / "probe.json"
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], capture_output=True,
                   timeout=60, cwd=tmp_path)
    probe = json.loads(out.read_text())
    assert [m for m in probe["modules"] if m.split(".")[0] in FORBIDDEN] == []
    assert probe["code"] in (0, 1)  # doctor: 1 when something is missing here


def run(*args: str, **environ):
    return subprocess.run([sys.executable, "-m", "venvguard", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **environ})


@pytest.mark.parametrize(("args", "error"), [
    (["status", "--bogus"], "Error: No such option: --bogus"),
    (["doctor", "--json", "extra"], "Error: Got unexpected extra argument"),
    (["clean", "--dry-run=1"], "Error: Option '--dry-run' does not take a value"),
])
def test_anything_else_gets_typers_usage_error(args, error):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert error in result.stderr


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_still_comes_from_typer(name, flag):
    result = run(name, flag)
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: venvguard {name} [OPTIONS]\n")
    assert "--json" in result.stdout


@pytest.mark.parametrize("no_color", [None, "1"])
@pytest.mark.parametrize("args", [*FAST_CALLS, ["--help"], ["status", "--help"],
                                  ["status", "--bogus"]], ids=" ".join)
def test_nothing_prints_colour_when_not_on_a_terminal(args, no_color):
    environ = {"TERM": "xterm-256color", "FORCE_COLOR": "1"}
    if no_color:
        environ["NO_COLOR"] = no_color
    result = run(*args, **environ)
    assert "\x1b" not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [["status"], ["doctor"], ["clean"], ["clean", "--json"],
                                  ["--help"], ["doctor", "--help"], ["status", "--bogus"]],
                         ids=" ".join)
def test_nothing_prints_colour_on_a_terminal_with_no_color(args):
    """stdout and stderr on a pseudo-terminal: NO_COLOR=1 leaves them plain."""
    main, child = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "venvguard", *args], stdin=subprocess.DEVNULL,
                       stdout=child, stderr=child, timeout=60,
                       env={**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color"})
        os.close(child)
        child = -1
        text = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            text += chunk
    finally:
        os.close(main)
        if child != -1:
            os.close(child)
    assert text  # something was printed: the check looked at real output
    assert b"\x1b" not in text
