"""The `venvguard` command: hot paths first, typer only for the rest.

`init` runs at every shell start, `exec` at every guarded call and `_settle` from
the prompt hook: they are dispatched here with the standard library alone.
`--version` is answered here too; `status`, `clean`, `doctor` and `--help` go to
the typer CLI.
"""

import sys

HELP = ("-h", "--help")


def main() -> None:
    args = sys.argv[1:]
    command = args[0] if args else ""
    if command in ("exec", "run") and args[1:2] not in (["-h"], ["--help"]):
        try:
            from venvguard import supervisor

            supervisor.main(args[1:])
        except KeyboardInterrupt:  # Ctrl-C before the tool even started: no traceback
            import os
            import signal

            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
    elif command == "init" and not any(a in HELP for a in args[1:]):
        from venvguard import init

        leave(init.main(args[1:]))
    elif args in (["--version"], ["-V"]):  # scripts ask for it: no typer for one line
        from venvguard import __version__

        sys.stdout.write(f"venvguard {__version__}\n")
        leave(0)
    elif command == "_settle":  # the prompt hook: one line at most, whatever happens
        from venvguard import settle
        from venvguard.messages import say

        try:
            settle.orphans()
        except Exception as e:
            say(f"could not settle earlier runs ({e}); `venvguard clean` retries")
        leave(0)
    else:
        from venvguard.cli import app

        app(prog_name="venvguard")


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
