"""The `venvguard` command: hot paths first, typer only for the rest.

`init` runs at every shell start, `exec` at every guarded call and `_settle` from
the prompt hook: they are dispatched here with the standard library alone, and so
is `completion` (it prints a file).
`--version` is answered here too, and `status`, `clean`, `doctor`, `config` given
only their own flags run here (status.py, clean.py, doctor.py, config.py): importing typer (and
pydantic with it) costs a quarter of a second where no bytecode is written, as
under `uv tool install`. `--help`, the other commands and any other argument (a
wrong option gets typer's usage error) go to the typer CLI.
"""

import sys

HELP = ("-h", "--help")
FAST = ("status", "clean", "doctor", "config")  # each a module with FLAGS and main(args) -> int


def main() -> None:
    args = sys.argv[1:]
    command = args[0] if args else ""
    if command in ("exec", "run") and args[1:2] not in (["-h"], ["--help"]):
        try:
            from venvguard import supervisor

            supervisor.main(args[1:])
        except KeyboardInterrupt:  # Ctrl-C before the tool even started: no traceback
            die_of_sigint()
    elif command == "init" and not any(a in HELP for a in args[1:]):
        from venvguard import init

        leave(init.main(args[1:]))
    elif command == "completion" and not any(a in HELP for a in args[1:]):
        from venvguard import completion

        leave(completion.main(args[1:]))
    elif args in (["--version"], ["-V"]):  # scripts ask for it: no typer for one line
        from venvguard import __version__

        sys.stdout.write(f"venvguard {__version__}\n")
        leave(0)
    elif command == "_shell-state":  # the snippet's `venvguard doctor`: a shell script
        from venvguard import doctor

        leave(doctor.shell_state_main(args[1:]))
    elif command == "_settle":  # the prompt hook: one line at most, whatever happens
        from venvguard import settle
        from venvguard.messages import say

        try:
            settle.orphans()
        except Exception as e:
            say(f"could not settle earlier runs ({e}); `venvguard clean` retries")
        leave(0)
    elif (module := fast(command, args[1:])) is not None:
        try:
            code = module.main(args[1:])
        except KeyboardInterrupt:
            die_of_sigint()
            code = 130  # SIGINT blocked: the status a shell gives its death
        except BrokenPipeError:  # `venvguard status | head -1`
            code = 1
        leave(code)
    else:
        from venvguard.cli import app

        app(prog_name="venvguard")


def fast(command: str, args: list[str]):
    """The module that runs `command` without typer, if every one of `args` is one
    of its FLAGS (the options its typer command declares); else None, for typer."""
    if command not in FAST or any(a in HELP for a in args):
        return None
    __import__(f"venvguard.{command}")
    module = sys.modules[f"venvguard.{command}"]
    return module if all(a in module.FLAGS for a in args) else None


def die_of_sigint() -> None:
    """Ctrl-C: die of it, as the shell expects (`venvguard clean && next` stops)."""
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def leave(code: int) -> None:
    """Exit without the interpreter's teardown (a sixth of a Python start on these
    paths, at every shell start and prompt): flush, then _exit."""
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: `venvguard init bash | head -1`
        code = code or 1
    os._exit(code)
