"""`python -m venv PATH...`, `python -m virtualenv PATH` and `virtualenv PATH`.

Every ENV_DIR of venv is a target; virtualenv has one destination, and since
version 21 may also write a PEP 832 `.venv` redirect file beside it (in the
destination's parent), which is a target too: if the run made it, it is removed
with the environment it points to.
"""

import os

from venvguard.decision import REDIRECT
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
    module, rest = module_of(args)
    if module == "venv":
        return _plan_venv(rest, cwd)
    if module == "virtualenv":
        return plan_virtualenv(rest, cwd)
    return None


def module_of(args: list[str]) -> tuple[str | None, list[str]]:
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


def _positionals(args: list[str], values) -> list[str] | None:
    """The words of an argparse command line that are not options or their values;
    None when it only asks for help. `values(option, rest)` says how many of the
    words after an option (without `=`) are its values."""
    words: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in HELP:
            return None
        if arg == "--":
            words.extend(args[i:])
            break
        if arg.startswith("-"):
            if "=" not in arg:
                i += values(arg, args[i:])
            continue
        words.append(arg)
    return words


def _venv_values(option: str, _rest: list[str]) -> int:
    # argparse accepts any unambiguous prefix: --pro, --prom, ... --prompt
    return int(len(option) >= 3 and "--prompt".startswith(option))


def _virtualenv_values(option: str, rest: list[str]) -> int:
    if option == "--extra-search-dir":  # one or more; a last word is the destination
        count = 1
        while count < len(rest) - 1 and not rest[count].startswith("-"):
            count += 1
        return count
    return int(option in VIRTUALENV_VALUE_OPTIONS)


def _plan_venv(args: list[str], cwd: str) -> Plan | None:
    dirs = _positionals(args, _venv_values)
    if not dirs:
        return None
    return Plan([(absolute(d, cwd), "venv") for d in dirs])


def plan_virtualenv(args: list[str], cwd: str) -> Plan | None:
    words = _positionals(args, _virtualenv_values)
    if not words:
        return None
    path = absolute(words[-1], cwd)
    targets = [(path, "virtualenv")]
    sibling = os.path.join(os.path.dirname(path), ".venv")
    if "--no-venv-redirect" not in args and sibling != path:
        targets.append((sibling, REDIRECT))
    return Plan(targets)
