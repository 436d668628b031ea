"""`venvguard init [SHELL]`: print the shell snippet (stdlib only: it runs at every
shell start).

The snippets are real files (shell/venvguard.bash, .zsh, .fish), found with
importlib.resources. The one thing filled in here is the list of python3.N
interpreters on PATH, which get a wrapper each like python and python3.
"""

import os
import sys
from importlib import resources

SHELLS = ("bash", "zsh", "fish")
# The wrapped names every snippet lists once; init appends the python3.N it finds.
WRAPPED = " python python3"


def main(args: list[str]) -> int:
    if len(args) > 1:
        _error("usage: venvguard init [bash|zsh|fish]")
        return 2
    shell = args[0] if args else detect()
    if shell is None:
        _error("cannot tell which shell this is; name it: venvguard init bash|zsh|fish")
        return 2
    if shell not in SHELLS:
        _error(f"unknown shell {shell!r}; venvguard knows bash, zsh and fish")
        return 2
    sys.stdout.write(snippet(shell, python_versions(os.environ.get("PATH", ""))))
    return 0


def snippet(shell: str, pythons: list[str]) -> str:
    text = resources.files("venvguard").joinpath("shell", f"venvguard.{shell}").read_text()
    return text.replace(WRAPPED, WRAPPED + "".join(" " + p for p in pythons), 1)


def python_versions(path: str) -> list[str]:
    """Every python3.N on PATH, once each, in version order."""
    found = set()
    for directory in path.split(os.pathsep):
        try:
            names = os.listdir(directory or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("python3.") and name[8:].isascii() and name[8:].isdigit():
                found.add(name)
    return sorted(found, key=lambda n: int(n[8:]))


def detect() -> str | None:
    """The shell this was started from, by shellingham (as `init` with no argument)."""
    import shellingham

    try:
        name, _path = shellingham.detect_shell()
    except shellingham.ShellDetectionFailure:
        return None
    return name


def _error(text: str) -> None:
    from venvguard.messages import say

    say(text)
