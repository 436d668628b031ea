"""`python -m venv PATH...`, `python -m virtualenv PATH` and `virtualenv PATH`.

Every ENV_DIR of venv is a target; virtualenv has one destination, and since
version 21 may also write a PEP 832 `.venv` redirect file beside it (in the
destination's parent), which is a target too: if the run made it, it is removed
with the environment it points to.
"""

import os

from venvguard.tools import Plan, absolute

# CPython's own options that take a value (`-X dev`, `-W error`); `-c` and `-m` end
# the interpreter's options.
PYTHON_VALUE_OPTIONS = "WX"
VENV_VALUE_OPTIONS = ("--prompt",)
VIRTUALENV_VALUE_OPTIONS = frozenset(
    {
        "--app-data", "--discovery", "-p", "--python", "--try-first-with", "--creator",
        "--seeder", "--activators", "--prompt", "--extra-search-dir", "--pip",
        "--setuptools", "--wheel",
    }
)
HELP = frozenset({"-h", "--help", "--version"})


def plan_python(args: list[str], cwd: str) -> Plan | None:
    """`python [options] -m venv|virtualenv ARGS`; None for anything else."""
    module, rest = _module(args)
    if module == "venv":
        return _plan_venv(rest, cwd)
    if module == "virtualenv":
        return plan_virtualenv(rest, cwd)
    return None


def _module(args: list[str]) -> tuple[str | None, list[str]]:
    """The module named by -m and the arguments after it, reading options as CPython does."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--" or not arg.startswith("-") or arg == "-" or arg.startswith("--"):
            if arg.startswith("--check-hash-based-pycs"):
                if "=" not in arg:
                    i += 1  # its value
                continue
            return None, []  # a script, stdin, or the end of options: no -m
        for j, letter in enumerate(arg[1:], start=1):
            if letter == "c":
                return None, []
            if letter == "m" or letter in PYTHON_VALUE_OPTIONS:
                value = arg[j + 1 :]
                if not value and i < len(args):
                    value = args[i]
                    i += 1
                if letter == "m":
                    return value, args[i:]
                break
    return None, []


def _plan_venv(args: list[str], cwd: str) -> Plan | None:
    dirs: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in HELP:
            return None
        if arg == "--":
            dirs.extend(args[i:])
            break
        if arg.startswith("-"):
            # argparse accepts any unambiguous prefix: --pro, --prom, ... --prompt
            name = arg.partition("=")[0]
            if "=" not in arg and len(name) >= 3 and "--prompt".startswith(name):
                i += 1
            continue
        dirs.append(arg)
    if not dirs:
        return None
    return Plan([absolute(d, cwd) for d in dirs])


def plan_virtualenv(args: list[str], cwd: str) -> Plan | None:
    dest = None
    redirect = True
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in HELP:
            return None
        if arg == "--no-venv-redirect":
            redirect = False
        if arg.startswith("-"):
            if "=" not in arg and arg in VIRTUALENV_VALUE_OPTIONS:
                i += 1
            if arg == "--extra-search-dir":  # one or more; a last word is the destination
                while i < len(args) - 1 and not args[i].startswith("-"):
                    i += 1
            continue
        dest = arg
    if dest is None:
        return None
    path = absolute(dest, cwd)
    targets = [path]
    sibling = os.path.join(os.path.dirname(path), ".venv")
    if redirect and sibling != path:
        targets.append(sibling)
    return Plan(targets)
