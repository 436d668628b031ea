"""`pip install|uninstall ...` and `python -m pip install|uninstall ...`.

pip changes the environment of the interpreter that runs it: for `python -m pip`
the python named, for `pip` the one on its first line (`#!/env/bin/python`). That
environment always exists before the run, so it is never removed: an unfinished
run's leftovers are swept and what it touched is checked (verify.py). Guarded only
in a virtual environment (a `pyvenv.cfg` beside `bin/`), and not with `--target`,
`--prefix`, `--root` or `--user`, which send the files elsewhere.
"""

import os

from venvguard.tools import Plan, absolute

COMMANDS = frozenset({"install", "uninstall"})
# pip's general options that take a value (pip 23-26), which come before its command.
VALUE_OPTIONS = frozenset({
    "--python", "--log", "--log-file", "--local-log", "--proxy", "--retries", "--timeout",
    "--exists-action", "--trusted-host", "--cert", "--client-cert", "--cache-dir",
    "--keyring-provider", "--use-feature", "--use-deprecated", "--resume-retries",
})
ELSEWHERE = ("--target", "-t", "--prefix", "--root", "--user")


def plan_pip(program: str, args: list[str], cwd: str, environ) -> Plan | None:
    """`pip ARGS` (program: pip, pip3, pip3.N or a path to one)."""
    script = _which(program, environ.get("PATH", ""), cwd)
    interpreter = _shebang(script) if script else None
    return _plan(interpreter, args, cwd)


def plan_python_m_pip(python: str, args: list[str], cwd: str, environ) -> Plan | None:
    """`python -m pip ARGS` (python: the interpreter as typed)."""
    return _plan(_which(python, environ.get("PATH", ""), cwd), args, cwd)


def _plan(interpreter: str | None, args: list[str], cwd: str) -> Plan | None:
    command, python = None, interpreter
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("-"):
            name, has_value, value = arg.partition("=")
            if name in VALUE_OPTIONS and not has_value and i < len(args):
                value = args[i]
                i += 1
            if name == "--python":
                python = absolute(value, cwd) if value else None
            continue
        command = arg
        break
    if command not in COMMANDS or python is None:
        return None
    if any(a in ELSEWHERE or a.startswith(tuple(f"{o}=" for o in ELSEWHERE))
           for a in args[i:]):
        return None
    env = _environment(python)
    return Plan([(env, "venv")]) if env else None


def _environment(python: str) -> str | None:
    """The virtual environment `python` (a path, links not resolved) belongs to:
    python may also name the environment itself (pip's --python takes either)."""
    for root in (python, os.path.dirname(os.path.dirname(python))):
        if os.path.isfile(os.path.join(root, "pyvenv.cfg")):
            return absolute(root, "/")
    return None


def _which(program: str, path: str, cwd: str) -> str | None:
    if "/" in program:
        return absolute(program, cwd)
    for directory in path.split(os.pathsep):
        candidate = os.path.join(absolute(directory or ".", cwd), program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _shebang(script: str) -> str | None:
    """The interpreter on a script's first line, if it is a plain path to a python."""
    try:
        with open(script, "rb") as f:
            first = f.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode(errors="replace").split()
    if not words or not os.path.basename(words[0]).startswith("python"):
        return None
    return words[0]
